//! Online lobbies through a rendezvous server: host a room and share its
//! code, or join by code. The match then runs over WebRTC data channels.

use std::time::{Duration, Instant};

use bevy::platform::cell::SyncCell;
use nearplay_matchmaker::JoinConfig;
use nearplay_matchmaker::rendezvous::{OnlineClient, OnlineHost, RendezvousClient};
use nearplay_netcode::transport::WebRtcConfig;

use crate::lobby_flow::host_config;
use crate::net::{GAME_ID, GAME_VERSION, LobbyConn, LobbyRole};
use crate::prefs::Prefs;

/// The server a player types when they do not say: a local one (`make rendezvous`).
pub const DEFAULT_SERVER: &str = "127.0.0.1:3536";

/// Creates a room on `server` and hosts its lobby; the code is in `LobbyConn::code`.
pub fn host_online(server: &str, prefs: &Prefs) -> Result<LobbyConn, String> {
    let client = RendezvousClient::new(server).map_err(|e| e.to_string())?;
    let config = host_config(prefs);
    let lobby_name = config.lobby_name.clone();
    let public = prefs.password.is_none();
    let host = OnlineHost::open(&client, config, public, &WebRtcConfig::default())
        .map_err(|e| format!("cannot host online: {e}"))?;
    let code = host.code();
    let mut conn = LobbyConn {
        roster: host.roster(),
        role: SyncCell::new(LobbyRole::OnlineHost(Box::new(host))),
        hosting: true,
        lobby_name,
        code: Some(code),
        socket: None,
        game_port: 0,
        log: Vec::new(),
        join_started: Instant::now(),
        join_time: Some(Duration::ZERO),
        ready: false,
        fingerprints: Default::default(),
        failed_guesses: 0,
    };
    conn.note(format!("Room {code} is open on {server}: share the code."));
    Ok(conn)
}

/// Joins the room `code` on `server`.
pub fn join_online(
    server: &str,
    code: &str,
    prefs: &Prefs,
    password: Option<String>,
) -> Result<LobbyConn, String> {
    let client = RendezvousClient::new(server).map_err(|e| e.to_string())?;
    let mut config = JoinConfig::new(&prefs.name, GAME_ID, GAME_VERSION, 0);
    config.password = password;
    let joined = OnlineClient::join(&client, code, config, &WebRtcConfig::default())
        .map_err(|e| format!("cannot join room {code}: {e}"))?;
    let code = joined.code();
    let mut conn = LobbyConn {
        role: SyncCell::new(LobbyRole::OnlineMember(Box::new(joined))),
        hosting: false,
        lobby_name: format!("Room {code}"),
        code: Some(code),
        socket: None,
        game_port: 0,
        roster: Vec::new(),
        log: Vec::new(),
        join_started: Instant::now(),
        join_time: None,
        ready: false,
        fingerprints: Default::default(),
        failed_guesses: 0,
    };
    conn.note(format!("Joining room {code} on {server}..."));
    Ok(conn)
}
