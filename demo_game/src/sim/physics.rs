//! Movement on ice, dashes and disc-disc bumps, all in integer fixed point.

use super::state::{ArenaState, DISC_RADIUS, HIT_FLASH_FRAMES, PlayerInput, UNIT};

/// Acceleration from steering, sub-units per frame squared.
const ACCEL: i32 = 80;
/// Speed added by a dash.
const DASH_IMPULSE: i32 = 6 * UNIT;
/// Frames between two dashes.
const DASH_COOLDOWN: u16 = 75;
/// Velocity kept per frame, out of 256 (ice: little friction).
const FRICTION_KEEP: i32 = 250;
/// Top speed in sub-units per frame.
const MAX_SPEED: i32 = 10 * UNIT;
/// Bounciness of a bump, out of 256.
const RESTITUTION: i32 = 240;
/// Normal speed above which a bump counts as a hit (flash, sound).
const HIT_THRESHOLD: i32 = 2 * UNIT;

/// The unit direction (scaled by [`UNIT`]) of a steering input.
fn unit_direction(input: PlayerInput) -> (i32, i32) {
    match input.direction() {
        (0, 0) => (0, 0),
        (x, 0) => (x * UNIT, 0),
        (0, y) => (0, y * UNIT),
        (x, y) => (x * 181, y * 181), // 181/256 ~ 1/sqrt(2)
    }
}

fn len(x: i64, y: i64) -> i64 {
    ((x * x + y * y) as u64).isqrt() as i64
}

/// Steering, dash, friction and speed cap for every disc on the platform.
pub fn drive(state: &mut ArenaState, inputs: &[PlayerInput]) {
    for (disc, input) in state.discs.iter_mut().zip(inputs) {
        disc.hit_flash = disc.hit_flash.saturating_sub(1);
        disc.dash_cooldown = disc.dash_cooldown.saturating_sub(1);
        if !disc.alive {
            disc.fallen_for = disc.fallen_for.saturating_add(1);
            disc.vel = (disc.vel.0 * 230 / 256, disc.vel.1 * 230 / 256);
            disc.pos = (disc.pos.0 + disc.vel.0, disc.pos.1 + disc.vel.1);
            continue;
        }
        let (dx, dy) = unit_direction(*input);
        disc.vel.0 += dx * ACCEL / UNIT;
        disc.vel.1 += dy * ACCEL / UNIT;
        if input.has(PlayerInput::DASH) && disc.dash_cooldown == 0 && (dx, dy) != (0, 0) {
            disc.vel.0 += dx * DASH_IMPULSE / UNIT;
            disc.vel.1 += dy * DASH_IMPULSE / UNIT;
            disc.dash_cooldown = DASH_COOLDOWN;
        }
        disc.vel = (
            disc.vel.0 * FRICTION_KEEP / 256,
            disc.vel.1 * FRICTION_KEEP / 256,
        );
        let speed = len(i64::from(disc.vel.0), i64::from(disc.vel.1));
        if speed > i64::from(MAX_SPEED) {
            disc.vel.0 = (i64::from(disc.vel.0) * i64::from(MAX_SPEED) / speed) as i32;
            disc.vel.1 = (i64::from(disc.vel.1) * i64::from(MAX_SPEED) / speed) as i32;
        }
        disc.pos = (disc.pos.0 + disc.vel.0, disc.pos.1 + disc.vel.1);
    }
}

/// Resolves overlaps between discs on the platform, pair by pair in handle
/// order (the order is part of determinism).
pub fn bump(state: &mut ArenaState) {
    let n = state.discs.len();
    for i in 0..n {
        for j in (i + 1)..n {
            let (a, b) = (state.discs[i], state.discs[j]);
            if !a.alive || !b.alive {
                continue;
            }
            let dx = i64::from(b.pos.0 - a.pos.0);
            let dy = i64::from(b.pos.1 - a.pos.1);
            let min = i64::from(2 * DISC_RADIUS);
            if dx * dx + dy * dy >= min * min {
                continue;
            }
            let dist = len(dx, dy);
            // Unit normal from a to b, scaled by UNIT; coincident centres push along x.
            let (nx, ny) = if dist == 0 {
                (i64::from(UNIT), 0)
            } else {
                (dx * i64::from(UNIT) / dist, dy * i64::from(UNIT) / dist)
            };
            let unit = i64::from(UNIT);
            let rel =
                (i64::from(b.vel.0 - a.vel.0) * nx + i64::from(b.vel.1 - a.vel.1) * ny) / unit;
            if rel < 0 {
                let impulse = -rel * (256 + i64::from(RESTITUTION)) / 512;
                let (ix, iy) = ((nx * impulse / unit) as i32, (ny * impulse / unit) as i32);
                state.discs[i].vel.0 -= ix;
                state.discs[i].vel.1 -= iy;
                state.discs[j].vel.0 += ix;
                state.discs[j].vel.1 += iy;
                if -rel > i64::from(HIT_THRESHOLD) {
                    state.discs[i].hit_flash = HIT_FLASH_FRAMES;
                    state.discs[j].hit_flash = HIT_FLASH_FRAMES;
                    state.hits = state.hits.wrapping_add(1);
                }
            }
            let push = (min - dist) / 2 + 1;
            let (px, py) = ((nx * push / unit) as i32, (ny * push / unit) as i32);
            state.discs[i].pos.0 -= px;
            state.discs[i].pos.1 -= py;
            state.discs[j].pos.0 += px;
            state.discs[j].pos.1 += py;
        }
    }
}

/// Marks discs whose centre left the platform as fallen.
pub fn fall(state: &mut ArenaState) {
    let r = i64::from(state.arena_radius);
    for disc in state.discs.iter_mut().filter(|d| d.alive) {
        let (x, y) = (i64::from(disc.pos.0), i64::from(disc.pos.1));
        if x * x + y * y > r * r {
            disc.alive = false;
            disc.fallen_for = 0;
        }
    }
}
