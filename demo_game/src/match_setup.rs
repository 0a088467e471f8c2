//! What a match is made of, whoever started it: seats, names, how to leave,
//! and the transition into the arena.

use bevy::prelude::*;
use bevy_ggrs::Session;
use nearplay::bevy::LobbyCommands;
use nearplay_netcode::MatchPlan;

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
    /// Whether the match came from a lobby (a rematch goes through it).
    pub networked: bool,
}

impl MatchInfo {
    /// The match a lobby's plan describes.
    pub fn from_plan(plan: &MatchPlan) -> Self {
        MatchInfo {
            seats: plan
                .players
                .iter()
                .map(|p| Seat {
                    name: p.name.clone(),
                    local: p.handle == plan.local_handle,
                    addr: Some(p.addr),
                })
                .collect(),
            seed: plan.seed,
            input_delay: plan.settings.input_delay,
            max_prediction: plan.settings.max_prediction,
            networked: true,
        }
    }
}

/// Starts a match: inserts the state and the info, then shows the arena.
///
/// The session is already there (the nearplay plugin inserts a lobby's;
/// local play inserts its own).
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

/// Ends a match, local or from a lobby: drops the session (a lobby keeps
/// its socket for a rematch) and the state.
pub fn end_match(lobby: &mut LobbyCommands) {
    lobby.end_match();
    lobby.commands().remove_resource::<Session<DemoConfig>>();
    lobby.commands().remove_resource::<ArenaState>();
}
