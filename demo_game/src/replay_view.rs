//! The replay viewer's controls and on-screen help, over the arena: 1, 2,
//! 4 set the speed, Space pauses, Left/Right seek 10 s, Home restarts,
//! Esc leaves (to the results).

use bevy::prelude::*;
use nearplay::bevy::ReplayPlaybackState;

use crate::screen::Screen;
use crate::screens::arena::{ArenaFooter, KeyHint};
use crate::sim::PlayerInput;
use crate::ui::{self, Fonts};

/// Seconds a Left/Right press seeks.
const SEEK_SECONDS: u32 = 10;

/// The viewer's keys, in the arena's key-hint line.
fn keys() -> String {
    format!(
        "[1] [2] [4] speed   [Space] pause   [Left] [Right] seek {SEEK_SECONDS} s   [Home] start   [Esc] leave"
    )
}

/// The viewer's HUD and keys.
pub struct ReplayViewPlugin;

impl Plugin for ReplayViewPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(OnExit(Screen::Match), leave_replay)
            .add_systems(
                Update,
                (attach_hud, replay_keys, update_hud)
                    .chain()
                    .run_if(in_state(Screen::Match)),
            );
    }
}

type Playback = ReplayPlaybackState<PlayerInput>;

#[derive(Component)]
struct ReplayHud;

/// Once the arena's footer exists: the status panel goes above its key
/// hints (one column: they cannot overlap at any window size), and the
/// hint line shows the viewer's keys instead of the match's (no network
/// overlay in a replay).
fn attach_hud(
    mut commands: Commands,
    fonts: Res<Fonts>,
    state: Option<Res<Playback>>,
    attached: Query<(), With<ReplayHud>>,
    footer: Query<Entity, With<ArenaFooter>>,
    mut hints: Query<&mut Text, With<KeyHint>>,
) {
    if state.is_none() || !attached.is_empty() {
        return;
    }
    let Ok(footer) = footer.single() else { return };
    let status = commands
        .spawn((
            ui::text(&fonts, "", 18.0, ui::TEXT),
            ReplayHud,
            Node {
                padding: UiRect::axes(px(14), px(8)),
                ..default()
            },
            BackgroundColor(ui::PANEL),
        ))
        .id();
    commands.entity(footer).insert_children(0, &[status]);
    for mut hint in &mut hints {
        hint.0 = keys();
    }
}

fn leave_replay(mut commands: Commands, state: Option<Res<Playback>>) {
    if state.is_some() {
        commands.queue(nearplay::bevy::stop_playback::<crate::rollback::DemoConfig>);
    }
}

fn replay_keys(keys: Res<ButtonInput<KeyCode>>, state: Option<ResMut<Playback>>) {
    let Some(mut state) = state else { return };
    let fps = state.file.plan.settings.fps.max(1) as u32;
    for (key, speed) in [
        (KeyCode::Digit1, 1),
        (KeyCode::Digit2, 2),
        (KeyCode::Digit4, 4),
    ] {
        if keys.just_pressed(key) {
            state.speed = speed;
        }
    }
    if keys.just_pressed(KeyCode::Space) {
        state.paused = !state.paused;
    }
    let at = state.seek_to.unwrap_or(state.frame);
    if keys.just_pressed(KeyCode::ArrowRight) {
        state.seek(at.saturating_add(SEEK_SECONDS * fps));
    }
    if keys.just_pressed(KeyCode::ArrowLeft) {
        state.seek(at.saturating_sub(SEEK_SECONDS * fps));
    }
    if keys.just_pressed(KeyCode::Home) {
        state.seek(0);
    }
}

fn update_hud(state: Option<Res<Playback>>, mut hud: Query<&mut Text, With<ReplayHud>>) {
    let Some(state) = state else { return };
    let fps = state.file.plan.settings.fps.max(1) as u32;
    let clock = |frame: u32| format!("{}:{:02}", frame / fps / 60, frame / fps % 60);
    let status = if state.seek_to.is_some() {
        "seeking".to_string()
    } else if state.finished() {
        "end".to_string()
    } else if state.paused {
        "paused".to_string()
    } else {
        format!("{}x", state.speed)
    };
    let line = format!(
        "REPLAY  {} / {}  (frame {} of {})  {status}",
        clock(state.frame),
        clock(state.file.frames),
        state.frame,
        state.file.frames,
    );
    for mut text in &mut hud {
        if text.0 != line {
            text.0 = line.clone();
        }
    }
}
