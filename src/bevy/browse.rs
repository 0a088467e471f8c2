//! The lobby list while browsing: LAN lobbies and, with a rendezvous
//! server, its public rooms.

use bevy::prelude::*;
use nearplay_matchmaker::{ListEvent, LobbyEntry, LobbyList};

use super::commands::MatchmakerRes;
use super::lobby::LOBBY_EVENTS_PER_FRAME;
use super::{NearplaySystems, NetState};

/// Opens the lobby list on entering [`NetState::Browsing`], drops it on
/// leaving, and keeps [`AvailableLobbies`] fresh in between.
pub(crate) struct BrowsePlugin;

impl Plugin for BrowsePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<AvailableLobbies>()
            .add_systems(OnEnter(NetState::Browsing), open_list)
            .add_systems(OnExit(NetState::Browsing), close_list)
            .add_systems(
                Update,
                refresh_list
                    .run_if(resource_exists::<LobbyBrowser>)
                    .in_set(NearplaySystems::Lobby),
            );
    }
}

/// The live lobby list (polled by the plugin; read [`AvailableLobbies`]).
#[derive(Resource, Deref, DerefMut)]
pub struct LobbyBrowser(pub LobbyList);

/// Lobbies a player can pick from, compatible first, then by name; empty
/// outside [`NetState::Browsing`].
#[derive(Resource, Debug, Clone, Default)]
pub struct AvailableLobbies {
    /// The lobbies, as the list sorts them.
    pub lobbies: Vec<LobbyEntry>,
    /// The rendezvous server's last error, if its rooms could not be
    /// fetched (the LAN's lobbies are still listed).
    pub server_error: Option<String>,
    /// Why LAN lobbies are not listed, if they are not.
    pub lan_error: Option<String>,
}

impl AvailableLobbies {
    /// The lobbies this game can join now as a new player: compatible,
    /// with a free seat, taking joins ([`LobbyEntry::takes_newcomers`];
    /// locked ones included: the player needs the password).
    pub fn joinable(&self) -> impl Iterator<Item = &LobbyEntry> {
        self.lobbies.iter().filter(|l| l.takes_newcomers())
    }
}

fn open_list(mut commands: Commands, matchmaker: Res<MatchmakerRes>) {
    commands.insert_resource(LobbyBrowser(matchmaker.0.browse()));
}

fn close_list(mut commands: Commands, mut available: ResMut<AvailableLobbies>) {
    commands.remove_resource::<LobbyBrowser>();
    *available = AvailableLobbies::default();
}

fn refresh_list(mut list: ResMut<LobbyBrowser>, mut available: ResMut<AvailableLobbies>) {
    let mut changed = false;
    // Bounded per frame, as the lobby's events (the rest wait).
    for _ in 0..LOBBY_EVENTS_PER_FRAME {
        let Some(event) = list.poll() else { break };
        match event {
            ListEvent::ServerError(error) => available.server_error = Some(error),
            ListEvent::LanError(error) => available.lan_error = Some(error),
            ListEvent::Added(_) | ListEvent::Updated(_) | ListEvent::Removed(_) => changed = true,
        }
    }
    if changed {
        available.lobbies = list.lobbies().to_vec();
    }
}
