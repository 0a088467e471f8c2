//! Online lobbies through a rendezvous server: host a room and share its
//! code, or join by code. The match then runs over WebRTC data channels.

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
    lobby.join_code(code, player_settings(prefs, password).spectator(spectator));
    let mut log = LobbyLog::default();
    log.note(format!("Joining room {code} on {server}..."));
    lobby.commands().insert_resource(log);
    Ok(())
}
