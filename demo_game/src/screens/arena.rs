//! The match on screen: platform, discs, names, scores, round timer and banners.
//!
//! Everything here only *reads* [`ArenaState`]; the game itself advances in
//! the rollback schedule (`rollback.rs`).

use bevy::prelude::*;

use super::Screen;
use crate::effects::EffectsPlugin;
use crate::match_setup::MatchInfo;
use crate::sim::{ArenaState, DISC_RADIUS, Phase, UNIT};
use crate::ui::{self, Fonts};

/// Frames the final result stays in the arena before the results screen.
const MATCH_OVER_LINGER: u32 = 180;

/// Draws the match and moves to the results when it is over.
pub struct ArenaPlugin;

impl Plugin for ArenaPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(EffectsPlugin)
            .add_systems(OnEnter(Screen::Match), spawn_arena)
            .add_systems(
                Update,
                (sync_platform, sync_discs, sync_hud, to_results).run_if(in_state(Screen::Match)),
            );
    }
}

#[derive(Component)]
struct Platform;

#[derive(Component)]
struct DiscView(usize);

#[derive(Component)]
struct ScoreLine(usize);

#[derive(Component)]
struct RoundLine;

#[derive(Component)]
struct Banner;

/// The arena's bottom block: the key hints, and above them whatever a view
/// layered over the match adds (the replay viewer's status), so the lines
/// stack in one column instead of overlapping.
#[derive(Component)]
pub struct ArenaFooter;

/// The key-hint line at the bottom of the arena (the replay viewer puts
/// its own keys there).
#[derive(Component)]
pub struct KeyHint;

fn px_of(sub_units: i32) -> f32 {
    sub_units as f32 / UNIT as f32
}

fn spawn_arena(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    fonts: Res<Fonts>,
    info: Res<MatchInfo>,
) {
    let f = &*fonts;
    let unit_circle = meshes.add(Circle::new(1.0));
    // Dark water under the ice, then the ice itself (scaled each frame).
    commands.spawn((
        Mesh2d(unit_circle.clone()),
        MeshMaterial2d(materials.add(ColorMaterial::from_color(Color::srgb(0.08, 0.12, 0.2)))),
        Transform::from_scale(Vec3::splat(px_of(crate::sim::ARENA_START_RADIUS) + 40.0)),
        DespawnOnExit(Screen::Match),
    ));
    commands.spawn((
        Platform,
        Mesh2d(unit_circle.clone()),
        MeshMaterial2d(materials.add(ColorMaterial::from_color(Color::srgb(0.72, 0.86, 0.95)))),
        Transform::from_xyz(0.0, 0.0, 1.0),
        DespawnOnExit(Screen::Match),
    ));
    let disc_mesh = meshes.add(Circle::new(px_of(DISC_RADIUS)));
    let rim_mesh = meshes.add(Circle::new(px_of(DISC_RADIUS) + 3.0));
    for (handle, seat) in info.seats.iter().enumerate() {
        let color = ui::player_color(handle);
        commands
            .spawn((
                DiscView(handle),
                Mesh2d(disc_mesh.clone()),
                MeshMaterial2d(materials.add(ColorMaterial::from_color(color))),
                Transform::from_xyz(0.0, 0.0, 3.0),
                DespawnOnExit(Screen::Match),
            ))
            .with_children(|disc| {
                disc.spawn((
                    Mesh2d(rim_mesh.clone()),
                    MeshMaterial2d(
                        materials.add(ColorMaterial::from_color(Color::srgb(0.1, 0.1, 0.15))),
                    ),
                    Transform::from_xyz(0.0, 0.0, -0.5),
                ));
                disc.spawn((
                    Text2d::new(seat.name.clone()),
                    TextFont {
                        font: f.bold.clone().into(),
                        font_size: FontSize::Px(16.0),
                        ..default()
                    },
                    TextColor(color),
                    Transform::from_xyz(0.0, px_of(DISC_RADIUS) + 16.0, 1.0),
                ));
            });
    }
    commands
        .spawn((
            Node {
                width: percent(100),
                height: percent(100),
                flex_direction: FlexDirection::Column,
                align_items: AlignItems::Center,
                padding: UiRect::all(px(12)),
                ..default()
            },
            DespawnOnExit(Screen::Match),
        ))
        .with_children(|hud| {
            hud.spawn(Node {
                column_gap: px(36),
                ..default()
            })
            .with_children(|row| {
                for handle in 0..info.seats.len() {
                    row.spawn((
                        ui::title(f, "", 24.0, ui::player_color(handle)),
                        ScoreLine(handle),
                    ));
                }
            });
            hud.spawn((ui::text(f, "", 18.0, ui::DIM), RoundLine));
            hud.spawn(Node {
                flex_grow: 1.0,
                ..default()
            });
            hud.spawn((ui::title(f, "", 64.0, ui::TEXT), Banner));
            hud.spawn(Node {
                flex_grow: 1.0,
                ..default()
            });
            hud.spawn((
                Node {
                    flex_direction: FlexDirection::Column,
                    align_items: AlignItems::Center,
                    row_gap: px(8),
                    ..default()
                },
                ArenaFooter,
            ))
            .with_children(|footer| {
                footer.spawn((
                    ui::text(f, "F3: network overlay   Esc: leave", 14.0, ui::DIM),
                    KeyHint,
                ));
            });
        });
}

fn sync_platform(
    state: Option<Res<ArenaState>>,
    mut platform: Query<&mut Transform, With<Platform>>,
) {
    let Some(state) = state else { return };
    for mut t in &mut platform {
        t.scale = Vec3::splat(px_of(state.arena_radius));
    }
}

fn sync_discs(
    state: Option<Res<ArenaState>>,
    mut discs: Query<(&DiscView, &mut Transform, &MeshMaterial2d<ColorMaterial>)>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    let Some(state) = state else { return };
    for (view, mut t, material) in &mut discs {
        let Some(disc) = state.discs.get(view.0) else {
            continue;
        };
        t.translation.x = px_of(disc.pos.0);
        t.translation.y = px_of(disc.pos.1);
        // A fallen disc sinks: shrinks and drops below the ice.
        let sink = if disc.alive {
            1.0
        } else {
            (1.0 - disc.fallen_for as f32 / 40.0).max(0.0)
        };
        t.scale = Vec3::splat(sink);
        t.translation.z = if disc.alive { 3.0 } else { 0.5 };
        if let Some(mut m) = materials.get_mut(&material.0) {
            let base = ui::player_color(view.0);
            let flash = f32::from(disc.hit_flash) / 14.0;
            m.color = base.mix(&Color::WHITE, flash * 0.8);
        }
    }
}

fn sync_hud(
    state: Option<Res<ArenaState>>,
    session: Option<Res<bevy_ggrs::Session<crate::rollback::DemoConfig>>>,
    info: Res<MatchInfo>,
    mut score: Query<(&mut Text, &ScoreLine), (Without<RoundLine>, Without<Banner>)>,
    mut round: Query<&mut Text, (With<RoundLine>, Without<ScoreLine>, Without<Banner>)>,
    mut banner: Query<&mut Text, (With<Banner>, Without<ScoreLine>, Without<RoundLine>)>,
) {
    let Some(state) = state else { return };
    let name = |h: u8| {
        info.seats
            .get(usize::from(h))
            .map(|s| s.name.as_str())
            .unwrap_or("?")
    };
    for (mut t, ScoreLine(handle)) in &mut score {
        let (Some(seat), Some(won)) = (info.seats.get(*handle), state.scores.get(*handle)) else {
            continue;
        };
        let won = usize::from((*won).min(crate::sim::ROUNDS_TO_WIN));
        let left = usize::from(crate::sim::ROUNDS_TO_WIN) - won;
        t.0 = format!(
            "{} {}{}",
            seat.name,
            "\u{25CF}".repeat(won),
            "\u{25CB}".repeat(left)
        );
    }
    let secs = state.round_frames / 60;
    for mut t in &mut round {
        t.0 = format!(
            "Round {}   {}:{:02}   first to 3",
            state.round,
            secs / 60,
            secs % 60
        );
    }
    let waiting = matches!(session.as_deref(), Some(bevy_ggrs::Session::P2P(s)) if s.current_state() != ggrs::SessionState::Running);
    let text = match state.phase {
        _ if waiting => "Waiting for the other players...".to_string(),
        Phase::Countdown { left } => format!("{}", u32::from(left).div_ceil(50).min(3)),
        Phase::Playing if state.round_frames < 40 => "GO!".to_string(),
        Phase::Playing => String::new(),
        Phase::RoundOver {
            winner: Some(w), ..
        } => format!("{} takes the round", name(w)),
        Phase::RoundOver { winner: None, .. } => "Nobody left standing".to_string(),
        Phase::MatchOver { winner } => format!("{} wins the match!", name(winner)),
    };
    for mut t in &mut banner {
        t.0.clone_from(&text);
    }
}

fn to_results(
    state: Option<Res<ArenaState>>,
    mut over_since: Local<Option<u32>>,
    mut next: ResMut<NextState<Screen>>,
    keys: Res<ButtonInput<KeyCode>>,
) {
    if keys.just_pressed(KeyCode::Escape) {
        *over_since = None;
        next.set(Screen::Results);
        return;
    }
    let Some(state) = state else { return };
    if let Phase::MatchOver { .. } = state.phase {
        let since = *over_since.get_or_insert(state.frame);
        if state.frame.saturating_sub(since) > MATCH_OVER_LINGER {
            *over_since = None;
            next.set(Screen::Results);
        }
    } else {
        *over_since = None;
    }
}
