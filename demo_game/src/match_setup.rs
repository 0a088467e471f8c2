//! What a match is made of, whoever started it: seats, names, how to leave,
//! and the transition into the arena.

use bevy::prelude::*;
use bevy_ggrs::Session;

use crate::rollback::{ChecksumLog, DemoConfig, LocalControl};

use crate::screen::Screen;
use crate::sim::ArenaState;

/// A seat in the match, by handle.
#[derive(Clone, Debug)]
pub struct Seat {
    /// Display name.
    pub name: String,
    /// Played on this machine.
    pub local: bool,
    /// Where a remote seat's packets come from (to name it in banners).
    pub addr: Option<nearplay_netcode::PeerAddr>,
}

/// The match being played: inserted with the session when a match starts.
#[derive(Resource, Clone, Debug)]
pub struct MatchInfo {
    /// Seats by handle.
    pub seats: Vec<Seat>,
    /// The seed of the match's RNG.
    pub seed: u64,
    /// Input delay in frames (shown in the overlay).
    pub input_delay: usize,
    /// How far GGRS may predict ahead of confirmed input, in frames.
    pub max_prediction: usize,
    /// The LAN match plan, when the match came from a lobby (a rematch
    /// starts from `plan.rematch()`).
    pub plan: Option<nearplay_netcode::MatchPlan>,
}

/// Starts a match: inserts the state, the session and the info, then shows the arena.
///
/// The caller inserts the session (a `Session` resource) itself.
pub fn begin_match(
    commands: &mut Commands,
    next: &mut NextState<Screen>,
    info: MatchInfo,
    control: LocalControl,
) {
    commands.insert_resource(ArenaState::new(info.seats.len(), info.seed));
    commands.insert_resource(ChecksumLog::default());
    commands.insert_resource(control);
    commands.insert_resource(info);
    next.set(Screen::Match);
}

/// Ends a match: drops the session (its socket closes) and the state.
pub fn end_match(commands: &mut Commands) {
    commands.remove_resource::<Session<DemoConfig>>();
    commands.remove_resource::<ArenaState>();
}
