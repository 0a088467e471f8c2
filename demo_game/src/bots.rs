//! Deterministic AI players: `--bot` in the CLI, and the tests' players.
//!
//! A bot reads the (possibly predicted) state outside the rollback schedule
//! and produces an input like a keyboard would; GGRS ships it to the peers, so
//! bots need no determinism of their own, but they have it anyway (a pure
//! function of state, handle and frame) so test runs replay.

use crate::sim::{ArenaState, Phase, PlayerInput, UNIT};

/// How close to the edge (in pixels) a bot starts to worry.
const EDGE_MARGIN_PX: i64 = 70;
/// Distance (in pixels) under which a bot dashes at its target.
const DASH_RANGE_PX: i64 = 110;

/// The input the bot playing `handle` gives on this frame.
pub fn bot_input(state: &ArenaState, handle: usize) -> PlayerInput {
    let Some(me) = state.discs.get(handle) else {
        return PlayerInput::default();
    };
    if !me.alive || state.phase != Phase::Playing {
        return PlayerInput::default();
    }
    let unit = i64::from(UNIT);
    let (mx, my) = (i64::from(me.pos.0), i64::from(me.pos.1));
    let from_centre = ((mx * mx + my * my) as u64).isqrt() as i64;
    let danger = from_centre > i64::from(state.arena_radius) - EDGE_MARGIN_PX * unit;

    // Each bot hesitates on a different rhythm, so matches are not symmetric.
    let wobble = (state.frame / 20 + handle as u32 * 7) % 9 == 0;

    let target = state
        .alive()
        .filter(|&h| h != handle)
        .map(|h| (h, state.discs[h].pos))
        .min_by_key(|&(h, (tx, ty))| {
            let (dx, dy) = (i64::from(tx) - mx, i64::from(ty) - my);
            (dx * dx + dy * dy, h)
        });

    let (aim_x, aim_y, dash) = match (danger, target) {
        (true, _) | (false, None) => (-mx, -my, false),
        (false, Some((_, (tx, ty)))) => {
            // Aim a little past the target, away from the centre: push it out.
            let (tx, ty) = (i64::from(tx), i64::from(ty));
            let (ax, ay) = (tx + tx / 6 - mx, ty + ty / 6 - my);
            let dist = ((ax * ax + ay * ay) as u64).isqrt() as i64;
            (ax, ay, dist < DASH_RANGE_PX * unit && !wobble)
        }
    };
    if wobble && !danger {
        return PlayerInput::default();
    }
    let mut bits = 0;
    let big = aim_x.abs().max(aim_y.abs()).max(1);
    if aim_x * 5 > big * 2 {
        bits |= PlayerInput::RIGHT;
    } else if aim_x * 5 < -big * 2 {
        bits |= PlayerInput::LEFT;
    }
    if aim_y * 5 > big * 2 {
        bits |= PlayerInput::UP;
    } else if aim_y * 5 < -big * 2 {
        bits |= PlayerInput::DOWN;
    }
    if dash {
        bits |= PlayerInput::DASH;
    }
    PlayerInput(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::step;

    #[test]
    fn bots_finish_a_match_with_a_winner() {
        let mut state = ArenaState::new(3, 42);
        let mut frames = 0;
        while !matches!(state.phase, Phase::MatchOver { .. }) && frames < 60 * 60 * 10 {
            let inputs: Vec<_> = (0..3).map(|h| bot_input(&state, h)).collect();
            step(&mut state, &inputs);
            frames += 1;
        }
        assert!(
            matches!(state.phase, Phase::MatchOver { .. }),
            "no winner after {frames} frames: {:?}",
            state.scores
        );
        assert!(state.hits > 0, "bots never touched each other");
    }

    #[test]
    fn a_bot_near_the_edge_steers_back_to_the_centre() {
        let mut state = ArenaState::new(2, 1);
        state.phase = Phase::Playing;
        state.discs[0].pos = (state.arena_radius - 10 * UNIT, 0);
        let input = bot_input(&state, 0);
        assert!(input.has(PlayerInput::LEFT) && !input.has(PlayerInput::RIGHT));
    }
}
