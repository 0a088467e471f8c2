//! Watching a match: a spectator runs the same simulation as the players,
//! from the confirmed inputs the relay tree brings
//! ([`SpectateStream`]), a few frames behind them. Catching up (joined
//! late, or after a relay left) runs many frames per update. Every frame
//! watched goes into the match's replay, as a player's does.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use nearplay::bevy::{ReplayRecording, SpectateStream};

use crate::report::MatchGoal;
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
        app.init_resource::<CatchUp>()
            .add_systems(OnEnter(Screen::Match), reset_catch_up)
            .add_systems(
                Update,
                advance_watched_arena.run_if(in_state(Screen::Match)),
            );
    }
}

/// A spectator's catch-up: how long from the start of watching until the
/// simulation ran out of held frames for the first time (so it follows the
/// stream live from there), and at which frame. A spectator who came to a
/// running match replays everything before at up to [`CATCH_UP_FRAMES`]
/// frames per update; one there from the start catches up at once.
///
/// The past comes in full datagrams sent back to back: an update that
/// simulated a whole datagram's worth of frames and ran out is between two
/// of them (its next update had the rest; seen as "caught up at frame 146
/// after 2 ms"), not live yet. Live, an update has a few frames.
#[derive(Resource, Debug, Clone)]
pub struct CatchUp {
    /// When watching started.
    pub started: Instant,
    /// When it caught up and the frame it had reached then.
    pub caught_up: Option<(Duration, u32)>,
}

impl Default for CatchUp {
    fn default() -> Self {
        CatchUp {
            started: Instant::now(),
            caught_up: None,
        }
    }
}

fn reset_catch_up(mut catch_up: ResMut<CatchUp>) {
    *catch_up = CatchUp::default();
}

/// A spectator: every confirmed frame held and not yet simulated.
fn advance_watched_arena(
    stream: Option<Res<SpectateStream>>,
    state: Option<ResMut<ArenaState>>,
    mut log: ResMut<ChecksumLog>,
    mut recording: Option<ResMut<ReplayRecording<PlayerInput>>>,
    mut catch_up: ResMut<CatchUp>,
    goal: Option<Res<MatchGoal>>,
) {
    let (Some(stream), Some(mut state)) = (stream, state) else {
        return;
    };
    if !stream.is_spectator() {
        return;
    }
    // `--frames N`: the watched match (and its replay) ends at frame N,
    // whether the players stop there or play on.
    let last = goal.and_then(|g| g.frames).unwrap_or(u32::MAX);
    let datagram = stream.node().history().shape().frames_per_datagram();
    for simulated in 0..CATCH_UP_FRAMES as usize {
        if state.frame >= last {
            return;
        }
        let Some(inputs) = stream.inputs::<PlayerInput>(state.frame) else {
            if catch_up.caught_up.is_none() && state.frame > 0 && simulated < datagram {
                catch_up.caught_up = Some((catch_up.started.elapsed(), state.frame));
            }
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
