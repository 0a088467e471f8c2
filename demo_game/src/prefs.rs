//! Player preferences chosen in the menu and settings (and from CLI flags).

use bevy::prelude::*;

/// The rendezvous server a player types when they do not say: a local one
/// (`make rendezvous`).
pub const DEFAULT_SERVER: &str = "127.0.0.1:3536";

/// What the player chose; read when hosting, joining or starting a match.
#[derive(Resource, Clone, Debug)]
pub struct Prefs {
    /// Player name shown to others.
    pub name: String,
    /// Frames of input delay (the host's choice applies to a LAN match).
    pub input_delay: usize,
    /// Players a hosted lobby waits for (2 to 4).
    pub players: u8,
    /// Most spectators one player uploads to (the host's choice applies).
    pub spectate_fanout: u16,
    /// Sound effects on.
    pub sound: bool,
    /// Password of a hosted lobby, if any.
    pub password: Option<String>,
    /// Lobby name when hosting.
    pub lobby_name: Option<String>,
    /// The rendezvous server for online play (`host:port`).
    pub rendezvous: String,
    /// A hosted lobby keeps its free seats open during the match.
    pub late_join: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            name: "Player".into(),
            input_delay: 2,
            players: 2,
            spectate_fanout: 4,
            sound: true,
            password: None,
            lobby_name: None,
            rendezvous: DEFAULT_SERVER.into(),
            late_join: false,
        }
    }
}
