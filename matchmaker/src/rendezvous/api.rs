//! The rendezvous server's HTTP JSON API, shared by server and client.
//!
//! ```text
//! POST /rooms               RoomRequest  -> 201 RoomCreated | error
//! POST /quickmatch          RoomRequest  -> 200 QuickMatch (join it, or host it if `host`)
//! GET  /rooms/{CODE}                     -> 200 RoomInfo    | 404 room_not_found | 409 room_full
//! GET  /lobbies?game=G&proto=P           -> 200 [RoomInfo]  (public rooms only)
//! GET  /health                           -> 200 Health
//! GET  /{CODE}   (websocket upgrade)     matchbox signaling in room CODE
//! GET  /{name}[?next=N]                  stock matchbox rooms, as matchbox_server
//! ```
//!
//! Every refusal is an [`ErrorBody`] with a stable [`Refusal`] kind, and the
//! same words go into the websocket close frame when a connection is cut.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::code::RoomCode;

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
}

impl Refusal {
    /// Every refusal, for counters.
    pub const ALL: [Refusal; 10] = [
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
            Refusal::RateLimited => 429,
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
