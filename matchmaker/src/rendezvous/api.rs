//! The rendezvous server's HTTP JSON API, shared by server and client.
//!
//! ```text
//! POST /rooms               RoomRequest  -> 201 RoomCreated | error
//! POST /quickmatch          RoomRequest  -> 200 QuickMatch (join it, or host it if `host`)
//! GET  /rooms/{CODE}                     -> 200 RoomInfo    | 404 room_not_found | 409 room_full
//! GET  /lobbies?game=G&proto=P&after=C   -> 200 LobbyPage   (public rooms only, by code,
//!                                            at most a page; `next` is the next `after`)
//! GET  /health                           -> 200 Health
//! GET  /{CODE}   (websocket upgrade)     matchbox signaling in room CODE
//! GET  /{name}[?next=N]                  stock matchbox rooms, as matchbox_server
//! ```
//!
//! Every refusal is an [`ErrorBody`] with a stable [`Refusal`] kind, and the
//! same words go into the websocket close frame when a connection is cut.
//!
//! Every string field of a room is bounded ([`RoomRequest::check`], the
//! `MAX_*` constants): the server refuses a longer one at creation, and the
//! client drops a listed room that breaks a bound.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::code::RoomCode;

/// Longest room name in bytes (a DNS-SD instance label, as on the LAN).
pub const MAX_NAME_BYTES: usize = 63;
/// Longest game id in bytes.
pub const MAX_GAME_BYTES: usize = 64;
/// Longest game version in bytes.
pub const MAX_VERSION_BYTES: usize = 32;
/// Longest game mode in bytes.
pub const MAX_MODE_BYTES: usize = 32;
/// Longest stock matchbox room name (the websocket path, `?next=N` apart).
pub const MAX_STOCK_ROOM_BYTES: usize = 64;
/// Most rooms in one `GET /lobbies` page a client accepts (the server's
/// page is at most `Limits::lobbies_page`, default 50).
pub const MAX_PAGE_ROOMS: usize = 200;

/// Whether `s` is 1..=`max` bytes with no control character.
fn bounded_text(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control)
}

/// What a host asks for when it creates a room: the LAN TXT record's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRequest {
    /// Lobby name shown in lists.
    pub name: String,
    /// Game id (only rooms of the same game are listed together).
    pub game: String,
    /// Lobby protocol version.
    pub proto: u16,
    /// Game version.
    pub version: String,
    /// Most players the room admits (the server caps it at its own limit).
    pub max_players: u16,
    /// Whether joining needs a password (checked by the host, never the server).
    pub password: bool,
    /// Game mode, free text.
    pub mode: String,
    /// Listed in `GET /lobbies`; a private room is reached by its code only.
    pub public: bool,
    /// Spectator places beside the players, at most
    /// [`MAX_SPECTATORS`](nearplay_netcode::MAX_SPECTATORS): the room admits
    /// [`capacity`](Self::capacity) peers (the server caps it at its own
    /// limit). Absent (older hosts): 0.
    #[serde(default)]
    pub spectators: u16,
}

impl RoomRequest {
    /// Every field within its bound: name (not blank), game, version and
    /// mode 1..=`MAX_*` bytes without control characters, `max_players`
    /// at least 2. The server refuses anything else with `bad_request`.
    pub fn check(&self) -> Result<(), Refusal> {
        let ok = bounded_text(&self.name, MAX_NAME_BYTES)
            && !self.name.trim().is_empty()
            && bounded_text(&self.game, MAX_GAME_BYTES)
            && bounded_text(&self.version, MAX_VERSION_BYTES)
            && bounded_text(&self.mode, MAX_MODE_BYTES)
            && self.max_players >= 2
            && usize::from(self.spectators) <= nearplay_netcode::MAX_SPECTATORS;
        if ok { Ok(()) } else { Err(Refusal::BadRequest) }
    }

    /// Peers the room admits: its players and its spectators.
    pub fn capacity(&self) -> u16 {
        self.max_players.saturating_add(self.spectators)
    }
}

/// One page of `GET /lobbies`: public rooms by code, after the `after`
/// code asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyPage {
    /// The rooms of this page, in code order.
    pub rooms: Vec<RoomInfo>,
    /// The `after` of the next page; `None` on the last page.
    pub next: Option<RoomCode>,
}

/// The answer to `POST /rooms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCreated {
    /// The room's code, to share with friends.
    pub code: RoomCode,
}

/// The answer to `POST /quickmatch`: a public room of the same game,
/// protocol, version and mode with a free seat, or a new one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickMatch {
    /// The room's code.
    pub code: RoomCode,
    /// True when the room was created for the caller, who then hosts it.
    pub host: bool,
}

/// A room as `GET /rooms/{code}` and `GET /lobbies` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// The room's code.
    pub code: RoomCode,
    /// What the host asked for.
    #[serde(flatten)]
    pub request: RoomRequest,
    /// Peers connected now.
    pub players: u16,
    /// The first peer that joined the room (the host, who creates it and
    /// connects at once), as 32 hex digits of its WebRTC id. Members take
    /// lobby messages from this peer only.
    #[serde(default)]
    pub host_peer: Option<String>,
}

impl RoomInfo {
    /// Within the API's bounds: the request's fields ([`RoomRequest::check`]),
    /// no more peers than seats and spectator places, a host id of 32 hex digits. What a
    /// client checks of a room a server describes before it uses or shows it.
    pub fn check(&self) -> Result<(), Refusal> {
        self.request.check()?;
        let host_ok = self
            .host_peer
            .as_deref()
            .is_none_or(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if self.players <= self.request.capacity() && host_ok {
            Ok(())
        } else {
            Err(Refusal::ProtocolError)
        }
    }
}

/// `GET /health`: liveness and counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"`, or `"closing"` during shutdown.
    pub status: String,
    /// Rooms open (code rooms and stock rooms).
    pub rooms: u64,
    /// Websocket peers connected.
    pub peers: u64,
    /// Refusals so far, by [`Refusal::kind`].
    pub refused: std::collections::BTreeMap<String, u64>,
    /// Websocket messages that were not matchbox requests (the sender is cut).
    pub garbage: u64,
    /// TCP connections open now (HTTP and websockets).
    #[serde(default)]
    pub connections: u64,
}

/// Why the server refused or cut something. Stable `kind()` strings.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Error, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No room has this code (never created, or closed).
    #[error("room not found")]
    RoomNotFound,
    /// The room has as many peers as it admits.
    #[error("room full")]
    RoomFull,
    /// The server holds as many rooms as it may.
    #[error("server full: too many rooms")]
    TooManyRooms,
    /// The server is shutting down.
    #[error("server closing")]
    ServerClosing,
    /// The request was malformed (bad JSON, empty name, bad code).
    #[error("bad request")]
    BadRequest,
    /// A websocket message exceeded the size limit.
    #[error("message too large")]
    MessageTooLarge,
    /// More messages per second than the limit.
    #[error("too many messages")]
    RateLimited,
    /// The connection said nothing within the handshake timeout.
    #[error("handshake timeout")]
    HandshakeTimeout,
    /// The connection was silent longer than the idle timeout.
    #[error("idle timeout")]
    IdleTimeout,
    /// A message that is not a matchbox signaling request.
    #[error("protocol error")]
    ProtocolError,
    /// The client's address has as many connections, or rooms, open as it may.
    #[error("too many connections or rooms from this address")]
    AddressLimit,
}

impl Refusal {
    /// Every refusal, for counters.
    pub const ALL: [Refusal; 11] = [
        Refusal::RoomNotFound,
        Refusal::RoomFull,
        Refusal::TooManyRooms,
        Refusal::ServerClosing,
        Refusal::BadRequest,
        Refusal::MessageTooLarge,
        Refusal::RateLimited,
        Refusal::HandshakeTimeout,
        Refusal::IdleTimeout,
        Refusal::ProtocolError,
        Refusal::AddressLimit,
    ];

    /// The stable snake_case name used in JSON and close frames.
    pub fn kind(self) -> &'static str {
        match self {
            Refusal::RoomNotFound => "room_not_found",
            Refusal::RoomFull => "room_full",
            Refusal::TooManyRooms => "too_many_rooms",
            Refusal::ServerClosing => "server_closing",
            Refusal::BadRequest => "bad_request",
            Refusal::MessageTooLarge => "message_too_large",
            Refusal::RateLimited => "rate_limited",
            Refusal::HandshakeTimeout => "handshake_timeout",
            Refusal::IdleTimeout => "idle_timeout",
            Refusal::ProtocolError => "protocol_error",
            Refusal::AddressLimit => "address_limit",
        }
    }

    /// The refusal named `kind`, if any.
    pub fn from_kind(kind: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.kind() == kind)
    }

    /// The HTTP status that carries it.
    pub fn http_status(self) -> u16 {
        match self {
            Refusal::RoomNotFound => 404,
            Refusal::RoomFull => 409,
            Refusal::TooManyRooms | Refusal::ServerClosing => 503,
            Refusal::BadRequest | Refusal::ProtocolError => 400,
            Refusal::MessageTooLarge => 413,
            Refusal::RateLimited | Refusal::AddressLimit => 429,
            Refusal::HandshakeTimeout | Refusal::IdleTimeout => 408,
        }
    }
}

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The refusal, as [`Refusal::kind`].
    pub error: Refusal,
    /// The same in a sentence, for logs.
    pub message: String,
}
