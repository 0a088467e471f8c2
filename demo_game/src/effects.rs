//! Cosmetic effects: particles on hits and short sounds.
//!
//! Driven by changes seen in [`ArenaState`] from frame to frame, outside the
//! rollback schedule; a rollback may at worst replay a sound, never change
//! the game. With no audio device the game stays silent, it does not fail.

use bevy::prelude::*;

use crate::prefs::Prefs;
use crate::screen::Screen;
use crate::sim::{ArenaState, Phase, UNIT};
use crate::ui;

/// Particles and sounds in the arena.
pub struct EffectsPlugin;

impl Plugin for EffectsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, load_sounds).add_systems(
            Update,
            (react_to_state, move_particles).run_if(in_state(Screen::Match)),
        );
    }
}

#[derive(Resource)]
struct Sounds {
    bump: Handle<AudioSource>,
    fall: Handle<AudioSource>,
    beep: Handle<AudioSource>,
    go: Handle<AudioSource>,
    win: Handle<AudioSource>,
}

#[derive(Component)]
struct Particle {
    vel: Vec2,
    life: f32,
}

fn load_sounds(mut commands: Commands, assets: Res<AssetServer>) {
    commands.insert_resource(Sounds {
        bump: assets.load("sounds/bump.wav"),
        fall: assets.load("sounds/fall.wav"),
        beep: assets.load("sounds/beep.wav"),
        go: assets.load("sounds/go.wav"),
        win: assets.load("sounds/win.wav"),
    });
}

/// What the previous frame looked like, to spot changes.
#[derive(Default)]
struct Seen {
    frame: u32,
    hits: u32,
    alive: Vec<bool>,
    phase: Option<Phase>,
    seed: u32,
}

#[allow(clippy::too_many_arguments)]
fn react_to_state(
    mut commands: Commands,
    state: Option<Res<ArenaState>>,
    sounds: Option<Res<Sounds>>,
    prefs: Res<Prefs>,
    mut seen: Local<Seen>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    mut mesh: Local<Option<Handle<Mesh>>>,
) {
    let Some(state) = state else { return };
    if state.frame == seen.frame {
        return;
    }
    if state.frame < seen.frame {
        *seen = Seen::default();
    }
    let mut play = |sound: Option<&Handle<AudioSource>>| {
        if let (true, Some(sound)) = (prefs.sound, sound) {
            commands.spawn((AudioPlayer::new(sound.clone()), PlaybackSettings::DESPAWN));
        }
    };
    let snd = sounds.as_deref();
    if state.hits > seen.hits && seen.frame > 0 {
        play(snd.map(|s| &s.bump));
    }
    let alive: Vec<bool> = state.discs.iter().map(|d| d.alive).collect();
    if alive.len() == seen.alive.len()
        && alive
            .iter()
            .zip(&seen.alive)
            .any(|(now, was)| *was && !*now)
    {
        play(snd.map(|s| &s.fall));
    }
    match (seen.phase, state.phase) {
        (Some(Phase::Countdown { left: a }), Phase::Countdown { left: b })
            if a / 50 != b / 50 && b > 0 =>
        {
            play(snd.map(|s| &s.beep))
        }
        (Some(Phase::Countdown { .. }), Phase::Playing) => play(snd.map(|s| &s.go)),
        (Some(p), Phase::MatchOver { .. }) if !matches!(p, Phase::MatchOver { .. }) => {
            play(snd.map(|s| &s.win))
        }
        _ => {}
    }
    // Sparks from every disc that was just hit.
    let mesh = mesh
        .get_or_insert_with(|| meshes.add(Circle::new(3.0)))
        .clone();
    for (handle, disc) in state.discs.iter().enumerate() {
        if disc.hit_flash != crate::sim::HIT_FLASH_FRAMES {
            continue;
        }
        let color = ui::player_color(handle);
        let material = materials.add(ColorMaterial::from_color(color));
        for k in 0..12u32 {
            seen.seed = seen.seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let angle = (k as f32 / 12.0 + (seen.seed >> 16) as f32 / 65_536.0 * 0.1)
                * std::f32::consts::TAU;
            let speed = 120.0 + (seen.seed % 200) as f32;
            commands.spawn((
                Particle {
                    vel: Vec2::from_angle(angle) * speed,
                    life: 0.5,
                },
                Mesh2d(mesh.clone()),
                MeshMaterial2d(material.clone()),
                Transform::from_xyz(
                    disc.pos.0 as f32 / UNIT as f32,
                    disc.pos.1 as f32 / UNIT as f32,
                    4.0,
                ),
                DespawnOnExit(Screen::Match),
            ));
        }
    }
    seen.frame = state.frame;
    seen.hits = state.hits;
    seen.alive = alive;
    seen.phase = Some(state.phase);
}

fn move_particles(
    mut commands: Commands,
    time: Res<Time>,
    mut particles: Query<(Entity, &mut Particle, &mut Transform)>,
) {
    let dt = time.delta_secs();
    for (entity, mut p, mut t) in &mut particles {
        p.life -= dt;
        if p.life <= 0.0 {
            commands.entity(entity).despawn();
            continue;
        }
        t.translation += (p.vel * dt).extend(0.0);
        p.vel *= 0.92;
        t.scale = Vec3::splat(p.life * 2.0);
    }
}
