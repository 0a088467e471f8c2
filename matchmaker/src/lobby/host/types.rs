//! Public types of the host side: configuration, outputs, events, errors.

use std::net::SocketAddr;
use std::time::Duration;

use nearplay_netcode::{MatchKey, MatchPlan, NetSettings};

use crate::lobby::Timeouts;
use crate::lobby::message::{MemberId, RejectReason, RosterEntry, SeatNews};
use crate::lobby::secure::Fingerprint;
use crate::lobby::secure::limits::{GuessLimits, Rate};

/// What a host is, and the rules of its lobby. `Debug` hides the password.
#[derive(Clone)]
pub struct HostConfig {
    /// Lobby display name (also the DNS-SD instance name).
    pub lobby_name: String,
    /// The host player's name.
    pub host_name: String,
    /// Game id; joiners must match it.
    pub game: String,
    /// Game build version; joiners must match it.
    pub game_version: String,
    /// Player limit, the host included. Default 4.
    pub max_players: u16,
    /// Password of a private lobby; `None` for a public one.
    pub password: Option<String>,
    /// Game mode shown in the browser.
    pub mode: String,
    /// Netcode settings put into the [`MatchPlan`].
    pub settings: NetSettings,
    /// UDP port of the host's own game socket.
    pub game_port: u16,
    /// Lobby timers.
    pub timeouts: Timeouts,
    /// Backoff on wrong passwords per source address (see [`GuessLimits`]).
    pub guesses: GuessLimits,
    /// Chat lines per member: default a burst of 8, then 4 a second. Lines
    /// past it are dropped (and counted), so one member cannot flood the
    /// others.
    pub chat_rate: Rate,
    /// Ready toggles per member: default a burst of 6, then 4 a second.
    pub ready_rate: Rate,
    /// Keep the seats up to `max_players` open after the start: a newcomer
    /// who passes the lobby's normal admission (password included) takes
    /// one during the match. Default `false` (a running match takes only
    /// its own members back, and spectators).
    pub late_join: bool,
}

impl HostConfig {
    /// A public lobby with defaults: 4 players, mode "default".
    pub fn new(lobby_name: &str, host_name: &str, game: &str, game_version: &str) -> Self {
        HostConfig {
            lobby_name: lobby_name.to_string(),
            host_name: host_name.to_string(),
            game: game.to_string(),
            game_version: game_version.to_string(),
            max_players: 4,
            password: None,
            mode: "default".to_string(),
            settings: NetSettings::default(),
            game_port: 0,
            timeouts: Timeouts::default(),
            guesses: GuessLimits::default(),
            chat_rate: Rate {
                burst: 8,
                per: Duration::from_millis(250),
            },
            ready_rate: Rate {
                burst: 6,
                per: Duration::from_millis(250),
            },
            late_join: false,
        }
    }
}

impl std::fmt::Debug for HostConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostConfig")
            .field("lobby_name", &self.lobby_name)
            .field("host_name", &self.host_name)
            .field("game", &self.game)
            .field("game_version", &self.game_version)
            .field("max_players", &self.max_players)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("mode", &self.mode)
            .field("settings", &self.settings)
            .field("game_port", &self.game_port)
            .field("timeouts", &self.timeouts)
            .field("guesses", &self.guesses)
            .field("chat_rate", &self.chat_rate)
            .field("ready_rate", &self.ready_rate)
            .field("late_join", &self.late_join)
            .finish()
    }
}

/// Identifies one connection; chosen by the shell, unique for the host's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Something the shell must do on a connection, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostTransmit {
    /// Write `frame` to `conn`.
    Send {
        /// Target connection.
        conn: ConnId,
        /// Encoded frame.
        frame: Vec<u8>,
    },
    /// Close `conn` once what was queued before is written.
    Close {
        /// Connection to close.
        conn: ConnId,
    },
}

/// Why a member left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    /// It said goodbye.
    Left,
    /// The host kicked it.
    Kicked,
    /// It went silent past the idle timeout.
    TimedOut,
    /// Its connection dropped.
    Disconnected,
    /// It sent bytes that are not the protocol.
    ProtocolError(String),
    /// It stopped reading: its write queue overflowed, and the host dropped
    /// it rather than let it stall the others.
    TooSlow,
}

/// Something that happened in the lobby, for the host's game.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostEvent {
    /// A player joined.
    MemberJoined {
        /// Its id.
        id: MemberId,
        /// Its (unique) name.
        name: String,
        /// The fingerprint of its channel, to compare with the one its
        /// player sees.
        fingerprint: Fingerprint,
    },
    /// A connection answered with the lobby's SPAKE2 went away without
    /// proving the password: a wrong guess (or a lost connection).
    GuessFailed {
        /// Who tried.
        peer: SocketAddr,
        /// Failed guesses from that source so far.
        failures: u32,
        /// How long that source now waits before its next try is taken.
        retry_after: Duration,
    },
    /// A player left.
    MemberLeft {
        /// Its id.
        id: MemberId,
        /// Its name.
        name: String,
        /// Why.
        reason: LeaveReason,
    },
    /// A join request was turned away.
    Rejected {
        /// Who asked.
        peer: SocketAddr,
        /// Why it was refused.
        reason: RejectReason,
    },
    /// The roster changed (join, leave, ready); the host's shell updates the TXT.
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
    /// The match started; the host's copy of the plan (handle 0).
    Started(MatchPlan),
    /// A seat of the running match changed: vacated (its member's
    /// connection dropped or it left), retaken (its member came back with
    /// the seat's secret), taken by a late joiner, or a spectator came.
    Seat(SeatNews),
    /// A new match key (after a seat was retaken or taken): the members
    /// connected now received it; a member who left for good did not.
    Rekeyed {
        /// The key's epoch (0 at the start, one more each time).
        epoch: u32,
        /// The new key.
        key: MatchKey,
    },
    /// An encoded resume message for the host's own player, from the
    /// player at handle `from` (size checked; still hostile bytes).
    Resume {
        /// The sender's player handle.
        from: u16,
        /// The encoded message.
        bytes: Vec<u8>,
    },
    /// The lobby is closed.
    Closed,
}

/// Why [`HostMachine::start`](super::HostMachine::start) refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartRefused {
    /// Some members are not ready.
    #[error("not everyone is ready: {0:?}")]
    NotReady(Vec<String>),
    /// The lobby is no longer open.
    #[error("the lobby is not open")]
    NotOpen,
}
