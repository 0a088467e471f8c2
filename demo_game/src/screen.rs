//! The screen on show, and the notice it carries: a leaf module, so the
//! game's flow and its screens can name screens without depending on each
//! other.

use bevy::prelude::*;

/// The screen on show.
#[derive(States, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Screen {
    /// Title and main menu.
    #[default]
    Menu,
    /// Settings.
    Settings,
    /// Live list of LAN lobbies.
    Browser,
    /// Host or join a room on a rendezvous server.
    Online,
    /// A lobby, as host or member.
    Lobby,
    /// A match in progress.
    Match,
    /// The match result.
    Results,
}

/// A message shown at the bottom of the next screen (errors in words).
#[derive(Resource, Default, Clone, Debug)]
pub struct Notice(pub Option<String>);
