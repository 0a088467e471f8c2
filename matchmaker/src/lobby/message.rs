//! Lobby protocol messages: what host and client say to each other.
//!
//! Every message travels in a frame whose header carries
//! [`PROTOCOL_VERSION`] (see [`codec`](super::codec)), so a peer speaking
//! another version is told "host runs protocol X, you run Y" instead of
//! failing to parse. Bodies are serde + postcard.
//!
//! Only [`HostMsg::Greeting`], [`ClientMsg::Offer`], [`HostMsg::Answer`] and
//! a [`HostMsg::Reject`] before the answer travel in clear: they carry the
//! key exchange of [`secure`](super::secure). Everything else (hello,
//! roster, chat, plan) is sealed in the channel, and a machine takes each
//! message only in its own phase and form.

use std::net::SocketAddr;

use nearplay_netcode::{MatchKey, MatchPlan};
use serde::{Deserialize, Serialize};

/// Version of the lobby protocol spoken by this crate; carried in every frame
/// header and in the `proto` TXT key.
/// Version 2: the channel is encrypted, passwords go through SPAKE2, and
/// roster entries carry game addresses.
/// Version 3: a member joins as a player or a spectator (`Hello::spectator`,
/// `RosterEntry::spectator`), and plans list spectators.
/// Version 4: the lobby stays open during the match (seat news, key
/// epochs, `RosterEntry::vacant`), plans carry member secrets, and a hello
/// may ask for a vacant seat back (`Hello::rejoin`).
/// Version 5: members exchange the netcode's resume messages through the
/// host during the match (`ClientMsg::Resume`, `HostMsg::Resume`).
pub const PROTOCOL_VERSION: u16 = 5;

/// Longest resume message a member may send through the lobby, in bytes:
/// one sealed frame with room for the envelope. A game whose rollback state
/// is larger cannot be resumed over the LAN lobby (yet).
pub const MAX_LOBBY_RESUME_BYTES: usize = 60 * 1024;

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
    /// Whether the member watches (a spectator) rather than plays.
    pub spectator: bool,
    /// The seat's member dropped out of the running match: the seat waits
    /// for it (a rejoin with the seat's secret) or, in a late-join lobby,
    /// for a newcomer. Always `false` before the match.
    pub vacant: bool,
}

/// A joiner's claim on a vacant seat of the running match: the seat's
/// player handle and a proof that it holds the seat's
/// [`MemberSecret`](nearplay_netcode::MemberSecret), bound to this channel
/// (see [`rejoin_proof`]): a fake host or a man in the middle who reads
/// it cannot replay it on another channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejoinRequest {
    /// The seat's player handle in the running match.
    pub handle: u16,
    /// `rejoin_proof(secret, channel fingerprint)`.
    pub proof: [u8; 32],
}

/// The rejoin proof of `secret` on the channel whose fingerprint is
/// `channel`: a BLAKE3 keyed hash, so the secret itself never travels.
pub fn rejoin_proof(
    secret: &nearplay_netcode::MemberSecret,
    channel: &super::secure::Fingerprint,
) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(&secret.0);
    h.update(b"nearplay rejoin proof v1");
    h.update(channel.as_bytes());
    *h.finalize().as_bytes()
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
    /// Joins to watch: a spectator takes no player seat (at most
    /// [`MAX_SPECTATORS`](nearplay_netcode::MAX_SPECTATORS) per lobby) and
    /// receives the match's confirmed inputs through the relay tree.
    pub spectator: bool,
    /// Asks for a vacant seat of the running match back (a player whose
    /// game restarted or whose network dropped). `None`: a new member.
    pub rejoin: Option<RejoinRequest>,
}

/// The joiner's half of the key exchange (clear).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// SPAKE2 message A (33 bytes) for a locked lobby, `None` for a public one.
    pub pake: Option<Vec<u8>>,
    /// Noise handshake message 1 (`-> e`).
    pub noise: Vec<u8>,
}

/// The host's half of the key exchange (clear).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// SPAKE2 message B for a locked lobby.
    pub pake: Option<Vec<u8>>,
    /// Noise handshake message 2 (`<- e, ee[, psk]`).
    pub noise: Vec<u8>,
}

/// Messages from a client to the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// The key exchange, answering the host's greeting (clear).
    Offer(Offer),
    /// Join request, the first sealed message.
    Hello(Hello),
    /// Ready toggle.
    SetReady(bool),
    /// A chat line.
    Chat(String),
    /// The member leaves the lobby.
    Leave,
    /// Nothing to say; keeps the idle timeout from firing.
    KeepAlive,
    /// During the match: an encoded
    /// [`ResumeMessage`](nearplay_netcode::resume::ResumeMessage) for the
    /// player at handle `to` (the host relays it, or takes it if `to` is
    /// its own handle). At most [`MAX_LOBBY_RESUME_BYTES`].
    Resume {
        /// The receiving player's handle.
        to: u16,
        /// The encoded message (checked by the host and the receiver).
        bytes: Vec<u8>,
    },
}

/// Why the host turned a join request away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    /// The lobby already has `max` players.
    Full {
        /// Player limit of the lobby.
        max: u16,
    },
    /// The lobby is private and the joiner offered no password.
    WrongPassword,
    /// This address failed the password too often: it may try again later.
    TooManyGuesses {
        /// How long until the next try is taken, in milliseconds.
        retry_after_ms: u32,
    },
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
    /// The match has already started (and the lobby takes no newcomer).
    AlreadyStarted,
    /// The rejoin claim names no vacant seat or its proof does not match
    /// the seat's secret; it counts as a wrong guess for the address.
    BadRejoin,
    /// The client did not say hello in time.
    HelloTimeout,
}

/// Messages from the host to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostMsg {
    /// First message on every connection (clear): which key exchange to run.
    Greeting {
        /// Whether the lobby is locked (SPAKE2 with its password).
        password_required: bool,
    },
    /// The host's half of the key exchange (clear).
    Answer(Answer),
    /// The join succeeded.
    Welcome {
        /// The member id the host gave the client.
        you: MemberId,
        /// The lobby's display name.
        lobby_name: String,
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
    /// The match starts: the member's copy of the plan. Also sent to a
    /// member who rejoins, takes a free seat or comes to watch mid-match.
    Start(MatchPlan),
    /// A seat of the running match changed hands.
    Seat(SeatNews),
    /// The host made a new match key (a seat was retaken or taken): only
    /// the members connected now receive it.
    Rekey {
        /// The new epoch (one more than the last).
        epoch: u32,
        /// The new key.
        key: MatchKey,
    },
    /// The host closed the lobby.
    Closed,
    /// Nothing to say; keeps the idle timeout from firing.
    KeepAlive,
    /// During the match: an encoded
    /// [`ResumeMessage`](nearplay_netcode::resume::ResumeMessage) from the
    /// player at handle `from` (the host, or a member it relays).
    Resume {
        /// The sending player's handle, as the host knows it.
        from: u16,
        /// The encoded message (decoded as hostile bytes by the receiver).
        bytes: Vec<u8>,
    },
}

/// What happened to a seat of the running match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatChange {
    /// Its member's connection dropped (or it left): the seat is vacant.
    Vacated,
    /// Its member came back with the seat's secret.
    Retaken,
    /// A newcomer took the free seat (late join).
    Taken,
    /// A spectator came to watch the running match.
    Watching,
    /// A spectator stopped watching (its handle is not given out again).
    Left,
}

/// One seat's news, as the host tells its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatNews {
    /// The seat's handle in the plan.
    pub handle: u16,
    /// Who sits (or sat) there.
    pub name: String,
    /// The seat's game address now (a rejoined game may have a new port).
    pub addr: SocketAddr,
    /// What happened.
    pub change: SeatChange,
}

/// Cleans a name or chat line from the network: drops control characters
/// and bidirectional overrides (as [`printable`](crate::lan::printable)
/// does for lobby records), trims, and cuts to `max_chars` characters.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !crate::lan::text::is_hidden_control(*c))
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_string()
}
