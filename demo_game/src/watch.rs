//! Watching a match: a spectator runs the same simulation as the players,
//! from the confirmed inputs the relay tree brings
//! ([`SpectateStream`]), a few frames behind them. Catching up (joined
//! late, or after a relay left) runs many frames per update. Every frame
//! watched goes into the match's replay, as a player's does.

use bevy::prelude::*;
use nearplay::bevy::{ReplayRecording, SpectateStream};

use crate::rollback::ChecksumLog;
use crate::screen::Screen;
use crate::sim::{ArenaState, PlayerInput, step};

/// Frames simulated per update at most when behind (catch-up speed: at 120
/// updates a second, 240 times real time).
pub const CATCH_UP_FRAMES: u32 = 480;

/// Adds the spectator's simulation.
pub struct WatchPlugin;

impl Plugin for WatchPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Update,
            advance_watched_arena.run_if(in_state(Screen::Match)),
        );
    }
}

/// A spectator: every confirmed frame held and not yet simulated.
fn advance_watched_arena(
    stream: Option<Res<SpectateStream>>,
    state: Option<ResMut<ArenaState>>,
    mut log: ResMut<ChecksumLog>,
    mut recording: Option<ResMut<ReplayRecording<PlayerInput>>>,
) {
    let (Some(stream), Some(mut state)) = (stream, state) else {
        return;
    };
    if !stream.is_spectator() {
        return;
    }
    for _ in 0..CATCH_UP_FRAMES {
        let Some(inputs) = stream.inputs::<PlayerInput>(state.frame) else {
            return;
        };
        step(&mut state, &inputs);
        log.0.insert(state.frame, state.checksum());
        if let Some(recording) = recording.as_mut() {
            recording.record_watched(state.frame, &inputs, state.checksum());
        }
        if log.0.len() > 2 * CATCH_UP_FRAMES as usize {
            log.0.pop_first();
        }
    }
}
