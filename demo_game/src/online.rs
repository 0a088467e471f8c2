//! Online lobbies through a rendezvous server: host a room and share its
//! code, or join by code. The match then runs over WebRTC data channels.

use bevy::prelude::Resource;
use nearplay::bevy::LobbyCommands;

use crate::lobby_flow::LobbyLog;
use crate::net::{lobby_settings, player_settings, with_server};
use crate::prefs::Prefs;

/// Creates a room on `server` (public unless password-locked; show
/// `Screen::Lobby`); the code arrives with `LobbyOpened`. Fails only on a server
/// address that is not one.
pub fn host_online(lobby: &mut LobbyCommands, server: &str, prefs: &Prefs) -> Result<(), String> {
    let matchmaker = with_server(lobby.matchmaker(), server)?;
    lobby.set_matchmaker(matchmaker);
    lobby.host(lobby_settings(prefs).online(prefs.password.is_none()));
    let mut log = LobbyLog::default();
    log.note(format!("Opening a room on {server}..."));
    lobby.commands().insert_resource(log);
    Ok(())
}

/// Joins the room `code` on `server` (show `Screen::Lobby`), to play or
/// (`spectator`) to watch.
pub fn join_online(
    lobby: &mut LobbyCommands,
    server: &str,
    code: &str,
    prefs: &Prefs,
    password: Option<&str>,
    spectator: bool,
) -> Result<(), String> {
    let matchmaker = with_server(lobby.matchmaker(), server)?;
    lobby.set_matchmaker(matchmaker);
    let player = player_settings(prefs, password).spectator(spectator);
    let mut log = LobbyLog::default();
    // A room whose match we were in (our game crashed): take our seat
    // back with the saved ticket; if the room has no seat of ours (a
    // stale ticket), the join is retried once without it.
    match crate::rejoin::saved_room_ticket(code, &prefs.name).filter(|_| !spectator) {
        Some(ticket) => {
            lobby.join_code(code, player.clone().rejoin(ticket));
            lobby.commands().insert_resource(RoomRejoin {
                code: code.to_string(),
                player,
            });
            log.note(format!("Rejoining room {code} on {server}..."));
        }
        None => {
            lobby.join_code(code, player);
            log.note(format!("Joining room {code} on {server}..."));
        }
    }
    lobby.commands().insert_resource(log);
    Ok(())
}

/// A join by code that presented our saved ticket: what to join with if
/// the host refuses the ticket.
#[derive(Resource)]
pub struct RoomRejoin {
    code: String,
    player: nearplay::matchmaker::PlayerSettings,
}

/// The host did not take us back with our ticket (`BadRejoin`): join the
/// room again without it, once (a lobby, or a free late-join seat). True
/// if it did.
pub fn retry_without_ticket(
    error: &nearplay::matchmaker::LobbyError,
    lobby: &mut LobbyCommands,
    retry: Option<&RoomRejoin>,
) -> bool {
    use nearplay::matchmaker::{JoinError, LobbyError};
    let (LobbyError::Join(JoinError::BadRejoin), Some(retry)) = (error, retry) else {
        return false;
    };
    let (code, player) = (retry.code.clone(), retry.player.clone());
    lobby.commands().remove_resource::<RoomRejoin>();
    println!("lobby: the room did not take our ticket; joining it without");
    lobby.join_code(&code, player);
    true
}
