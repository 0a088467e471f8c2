//! Rejoin tickets in the demo: saved in the user's data directory when a
//! match starts (`$XDG_DATA_HOME/nearplay/rejoin/`), and used when the
//! player joins that lobby again while its seat is vacant, so a restarted
//! game takes its seat back (the library checks and moves the secret; the
//! demo only decides when).

use nearplay::matchmaker::{Lobby, LobbyEntry, RejoinTicket};

/// Saves our seat's ticket for the match `lobby` just started (nothing for
/// the host or a spectator). `player` is the name we joined with, the key
/// [`ticket_for`] looks it up by. Returns what to tell the player.
pub fn save_ticket(lobby: &Lobby, player: &str) -> Option<String> {
    let ticket = lobby.rejoin_ticket()?;
    let key = match lobby.code() {
        Some(code) => room_key(code.as_str()),
        None => lobby.name().to_string(),
    };
    let saved =
        RejoinTicket::default_path(&key, player).and_then(|path| ticket.save(&path).map(|()| path));
    Some(match saved {
        Ok(path) => format!("rejoin ticket saved to {}", path.display()),
        Err(e) => format!("could not save the rejoin ticket: {e}"),
    })
}

/// What an online room's ticket is saved under: its code as the player
/// types it (`join --code`), not the host's lobby name, which a joiner by
/// code does not know before it is in.
pub fn room_key(code: &str) -> String {
    format!("Room {}", code.trim().to_uppercase())
}

/// Our saved ticket for the room `code` (see [`room_key`]).
pub fn saved_room_ticket(code: &str, player: &str) -> Option<RejoinTicket> {
    saved_ticket(&room_key(code), player)
}

/// Our ticket for `entry`, if we saved one and the lobby is in a match.
/// The list may not show our seat vacant yet (a game restarted at once is
/// back before the listing changed): the host takes a seat still held by
/// a connection back too, for the one who proves its secret.
pub fn ticket_for(entry: &LobbyEntry, player: &str) -> Option<RejoinTicket> {
    if !entry.stage.in_match() {
        return None;
    }
    saved_ticket(&entry.name, player)
}

/// Our saved ticket for the lobby named `lobby`, whatever its listing says
/// (a retry after "the match has already started": the listing we joined
/// from was older than the match).
pub fn saved_ticket(lobby: &str, player: &str) -> Option<RejoinTicket> {
    let path = RejoinTicket::default_path(lobby, player).ok()?;
    let ticket = RejoinTicket::load(&path).ok()?;
    (ticket.player == player).then_some(ticket)
}
