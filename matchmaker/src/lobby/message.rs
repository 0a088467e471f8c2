//! Lobby protocol messages: what host and client say to each other.
//!
//! Every message travels in a frame whose header carries
//! [`PROTOCOL_VERSION`] (see [`codec`](super::codec)), so a peer speaking
//! another version is told "host runs protocol X, you run Y" instead of
//! failing to parse. Bodies are serde + postcard.

use std::net::SocketAddr;

use nearplay_netcode::MatchPlan;
use serde::{Deserialize, Serialize};

/// Version of the lobby protocol spoken by this crate; carried in every frame
/// header and in the `proto` TXT key. 2: roster entries carry game addresses.
pub const PROTOCOL_VERSION: u16 = 2;

/// Longest player name accepted, in characters (longer names are cut).
pub const MAX_NAME_CHARS: usize = 32;

/// Longest chat line accepted, in characters (longer lines are cut).
pub const MAX_CHAT_CHARS: usize = 256;

/// A lobby member's id, stable while it stays in the lobby; the host is 0.
pub type MemberId = u32;

/// One line of the roster every member sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    /// Member id (0 is the host).
    pub id: MemberId,
    /// Display name, unique within the lobby.
    pub name: String,
    /// Whether the member said it is ready to start.
    pub ready: bool,
    /// Where the member's game socket is reached, as the host saw it (the
    /// address the plan will give it). A joiner accepts a plan only if its
    /// members are at addresses the roster showed.
    pub game_addr: SocketAddr,
}

/// The first message of a client: who it is and what it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Game id; must equal the host's.
    pub game: String,
    /// Game build version; must equal the host's (lockstep needs one build).
    pub game_version: String,
    /// Wanted display name (the host may add a suffix to make it unique).
    pub name: String,
    /// UDP port of the game socket the client bound before joining.
    pub game_port: u16,
    /// Password proof (see [`password_proof`]), `None` for a public lobby.
    pub proof: Option<[u8; 32]>,
}

/// Messages from a client to the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// Join request, answering the host's challenge.
    Hello(Hello),
    /// Ready toggle.
    SetReady(bool),
    /// A chat line.
    Chat(String),
    /// The member leaves the lobby.
    Leave,
    /// Nothing to say; keeps the idle timeout from firing.
    KeepAlive,
}

/// Why the host turned a join request away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    /// The lobby already has `max` players.
    Full {
        /// Player limit of the lobby.
        max: u16,
    },
    /// The lobby is private and the proof did not match.
    WrongPassword,
    /// The client runs another game.
    WrongGame {
        /// The host's game id.
        host: String,
    },
    /// The client runs another build of the game.
    GameVersion {
        /// The host's game version.
        host: String,
    },
    /// The client speaks another lobby protocol version.
    Protocol {
        /// The host's protocol version.
        host: u16,
    },
    /// The name is empty or made only of control characters.
    InvalidName,
    /// The match has already started.
    AlreadyStarted,
    /// The client did not say hello in time.
    HelloTimeout,
}

/// Messages from the host to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostMsg {
    /// First message on every connection: a fresh nonce for the password proof.
    Challenge {
        /// Random bytes, never reused.
        nonce: [u8; 32],
        /// Whether the lobby wants a password proof.
        password_required: bool,
        /// The lobby's display name.
        lobby_name: String,
    },
    /// The join succeeded.
    Welcome {
        /// The member id the host gave the client.
        you: MemberId,
        /// The client's name, made unique.
        name: String,
        /// Player limit of the lobby.
        max_players: u16,
        /// The current roster (the client included).
        roster: Vec<RosterEntry>,
    },
    /// The join failed; the host closes the connection after this.
    Reject(RejectReason),
    /// The roster changed.
    Roster(Vec<RosterEntry>),
    /// A chat line from a member (or the host).
    Chat {
        /// Sender id.
        from: MemberId,
        /// Sender name at the time of sending.
        name: String,
        /// The line.
        text: String,
    },
    /// The host removed this member.
    Kicked,
    /// The match starts: the member's copy of the plan.
    Start(MatchPlan),
    /// The host closed the lobby.
    Closed,
    /// Nothing to say; keeps the idle timeout from firing.
    KeepAlive,
}

/// The password proof a client sends: a blake3 keyed hash of the host's nonce,
/// keyed by a key derived from the password. The password never travels.
pub fn password_proof(password: &str, nonce: &[u8; 32]) -> [u8; 32] {
    let key = blake3::derive_key("nearplay lobby password v1", password.as_bytes());
    *blake3::keyed_hash(&key, nonce).as_bytes()
}

/// Checks a proof in constant time.
pub fn verify_proof(password: &str, nonce: &[u8; 32], proof: &[u8; 32]) -> bool {
    let key = blake3::derive_key("nearplay lobby password v1", password.as_bytes());
    blake3::keyed_hash(&key, nonce) == blake3::Hash::from(*proof)
}

/// Cleans a name or chat line from the network: drops control characters,
/// trims, and cuts to `max_chars` characters.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_string()
}
