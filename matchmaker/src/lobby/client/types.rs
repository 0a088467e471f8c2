//! Public types of the client side: configuration, events, errors.

use nearplay_netcode::{MatchKey, MatchPlan, MemberSecret, PlanError};

use crate::lobby::Timeouts;
use crate::lobby::message::{MemberId, RosterEntry, SeatNews};
use crate::lobby::secure::Fingerprint;

/// Who joins, with what. `Debug` hides the password.
#[derive(Clone)]
pub struct JoinConfig {
    /// Wanted display name.
    pub name: String,
    /// Game id; must equal the host's.
    pub game: String,
    /// Game build version; must equal the host's.
    pub game_version: String,
    /// Password for a private lobby.
    pub password: Option<String>,
    /// UDP port of the game socket the client already bound.
    pub game_port: u16,
    /// Join as a spectator. Default `false`.
    pub spectator: bool,
    /// Take a vacant seat of the running match back (a rejoin). Default
    /// `None`: join as a new member.
    pub rejoin: Option<RejoinClaim>,
    /// Lobby timers.
    pub timeouts: Timeouts,
}

/// What a rejoin needs: the seat and its member secret (from the plan of
/// the match, kept in a [`RejoinTicket`](crate::RejoinTicket)). The secret
/// never travels: the hello carries a proof bound to the channel.
#[derive(Clone, PartialEq, Eq)]
pub struct RejoinClaim {
    /// The seat's player handle.
    pub handle: u16,
    /// The seat's secret (`Debug` redacts it).
    pub secret: MemberSecret,
}

impl std::fmt::Debug for RejoinClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RejoinClaim")
            .field("handle", &self.handle)
            .field("secret", &self.secret)
            .finish()
    }
}

impl JoinConfig {
    /// A join without password; set `game_port` to the bound game socket's port.
    pub fn new(name: &str, game: &str, game_version: &str, game_port: u16) -> Self {
        JoinConfig {
            name: name.to_string(),
            game: game.to_string(),
            game_version: game_version.to_string(),
            password: None,
            game_port,
            spectator: false,
            rejoin: None,
            timeouts: Timeouts::default(),
        }
    }
}

impl std::fmt::Debug for JoinConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinConfig")
            .field("name", &self.name)
            .field("game", &self.game)
            .field("game_version", &self.game_version)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("game_port", &self.game_port)
            .field("spectator", &self.spectator)
            .field("rejoin", &self.rejoin)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// Why a join failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The host speaks another protocol version.
    #[error("host runs protocol {host}, you run {ours}")]
    VersionMismatch {
        /// The host's version.
        host: u16,
        /// Ours.
        ours: u16,
    },
    /// The lobby is full.
    #[error("the lobby is full ({max} players)")]
    Full {
        /// Player limit.
        max: u16,
    },
    /// The lobby is private and no password was given.
    #[error("this lobby needs a password")]
    PasswordRequired,
    /// The password was wrong (or someone between us and the host does not
    /// know it: the two cannot be told apart, by design).
    #[error("wrong password")]
    WrongPassword,
    /// We gave a password but the host did not ask for one: not the locked
    /// lobby we meant, or someone in between stripped the lock.
    #[error("the host did not ask for the password you gave (is it the lobby you meant?)")]
    PasswordNotAsked,
    /// Our address failed the password too often; the host takes no guess
    /// from it for a while.
    #[error("too many wrong passwords from your address: try again in {retry_after_ms} ms")]
    TooManyGuesses {
        /// How long the host said to wait, in milliseconds.
        retry_after_ms: u32,
    },
    /// The host runs another game.
    #[error("host runs game {host:?}, you run {ours:?}")]
    WrongGame {
        /// Host's game id.
        host: String,
        /// Ours.
        ours: String,
    },
    /// The host runs another build of the game.
    #[error("host runs game version {host}, you run {ours}")]
    GameVersion {
        /// Host's game version.
        host: String,
        /// Ours.
        ours: String,
    },
    /// The name was refused.
    #[error("invalid player name")]
    InvalidName,
    /// The match already started.
    #[error("the match has already started")]
    AlreadyStarted,
    /// The host refused our claim on a seat: no vacant seat of its running
    /// match takes our secret.
    #[error("the host did not take us back into the seat (no vacant seat with our secret)")]
    BadRejoin,
    /// The host did not answer in time (or we were too slow to say hello).
    #[error("the host did not answer in time")]
    Timeout,
    /// The host could not be reached.
    #[error("could not reach the host: {0}")]
    Unreachable(String),
    /// The host sent something that is not the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The host's match plan failed validation (bounds, our seat, or
    /// addresses that are not the lobby members'); no session was built.
    #[error("the host sent a bad match plan: {0}")]
    BadPlan(PlanError),
}

/// Why the lobby ended for this member (other than the match starting).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// The host closed the lobby.
    #[error("the host closed the lobby")]
    HostClosed,
    /// The host kicked us.
    #[error("you were kicked")]
    Kicked,
    /// The host went silent past the idle timeout.
    #[error("the host stopped answering")]
    HostGone,
    /// The connection dropped.
    #[error("the connection to the host dropped")]
    Disconnected,
    /// We left.
    #[error("you left the lobby")]
    Left,
    /// The host sent something that is not the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Something that happened, for the client's game.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// We are in the lobby.
    Joined {
        /// Our member id.
        you: MemberId,
        /// Our name (maybe with a suffix).
        name: String,
        /// The lobby's name.
        lobby: String,
        /// Player limit.
        max_players: u16,
        /// The roster.
        roster: Vec<RosterEntry>,
        /// The fingerprint of our channel to the host: the host's screen
        /// shows the same one for us unless someone sits in between.
        fingerprint: Fingerprint,
    },
    /// The join failed; the connection is closed.
    JoinFailed(JoinError),
    /// The roster changed.
    RosterChanged(Vec<RosterEntry>),
    /// A chat line.
    Chat {
        /// Sender id.
        from: MemberId,
        /// Sender name.
        name: String,
        /// The line.
        text: String,
    },
    /// The match starts (or we were seated in the running one): our copy
    /// of the plan, already validated against what we saw in the lobby
    /// (see [`ClientMachine`](super::ClientMachine)). The lobby stays open.
    Started(MatchPlan),
    /// A seat of our running match changed (name cleaned).
    Seat(SeatNews),
    /// The host made a new match key (newer epoch than ours).
    Rekeyed {
        /// The key's epoch.
        epoch: u32,
        /// The new key.
        key: MatchKey,
    },
    /// An encoded resume message from the player at handle `from`, of at
    /// most [`MAX_LOBBY_RESUME_BYTES`](crate::lobby::message::MAX_LOBBY_RESUME_BYTES)
    /// (still hostile: the netcode decodes and checks it).
    Resume {
        /// The sender's player handle, as the host named it.
        from: u16,
        /// The encoded message.
        bytes: Vec<u8>,
    },
    /// The lobby is over for us.
    LobbyClosed(CloseReason),
}

/// Something the shell must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientTransmit {
    /// Write this frame.
    Send(Vec<u8>),
    /// Close the connection once what was queued before is written.
    Close,
}
