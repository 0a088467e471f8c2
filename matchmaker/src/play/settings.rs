//! What a game asks for: the lobby it hosts ([`LobbySettings`]), the player
//! it joins as ([`PlayerSettings`]), and where it joins ([`JoinTarget`]).

use std::net::SocketAddr;
use std::time::Duration;

use nearplay_netcode::NetSettings;

use crate::lobby::Timeouts;
use crate::lobby::host::HostConfig;
use crate::lobby::secure::limits::{GuessLimits, Rate};

use super::list::{LobbyEntry, LobbyPlace};
use super::reconnect_schedule::ReconnectPolicy;
use super::ticket::RejoinTicket;

/// Where a hosted lobby is found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Venue {
    /// Advertised over mDNS on the local network (the default).
    #[default]
    Lan,
    /// In a room of the [`MatchmakerConfig::rendezvous`](super::MatchmakerConfig::rendezvous)
    /// server, joined by its code; `public` rooms are also listed by the
    /// server (and so in every player's [`LobbyList`](super::LobbyList)).
    Online {
        /// Listed in the server's `GET /lobbies`.
        public: bool,
    },
}

/// The lobby a player hosts: what [`HostConfig`] holds, minus the game id
/// and version (the [`Matchmaker`](super::Matchmaker)'s) and the game port
/// (the library binds the game socket itself). `Debug` hides the password.
#[derive(Clone)]
pub struct LobbySettings {
    /// Lobby display name (on the LAN also the DNS-SD instance name, made
    /// unique with a suffix if taken).
    pub lobby_name: String,
    /// The host player's name.
    pub player_name: String,
    /// LAN or a rendezvous room. Default [`Venue::Lan`].
    pub venue: Venue,
    /// Player limit, the host included. Default 4.
    pub max_players: u16,
    /// Password of a private lobby. Default `None` (public).
    pub password: Option<String>,
    /// Game mode shown in lobby lists. Default `"default"`.
    pub mode: String,
    /// Netcode settings put into the match plan (fps, input delay, ...).
    pub net: NetSettings,
    /// Whether the host counts as ready from the start. Default `true`: the
    /// host is ready unless it says otherwise, so a lobby starts as soon as
    /// the joiners are ready; `false` makes the host's own
    /// [`set_ready`](super::Lobby::set_ready) count like anyone's.
    pub host_ready: bool,
    /// The host's own auto-ready (the option a joiner has in
    /// [`PlayerSettings`]): `true` makes the host ready from the start,
    /// whatever `host_ready` says. Default `false`.
    pub auto_ready: bool,
    /// The host starts the match by itself once at least this many members
    /// (the host included) are in the lobby and every one of them is ready.
    /// Default `None`: the game calls [`start`](super::Lobby::start).
    pub start_when_ready: Option<usize>,
    /// Game-defined TXT keys added to the LAN advertisement.
    pub txt_extras: Vec<(String, String)>,
    /// Lobby timers (hello, idle, keepalive). Default [`Timeouts::default`].
    pub timeouts: Timeouts,
    /// Backoff on wrong passwords per source address.
    pub guesses: GuessLimits,
    /// Chat lines per member: default a burst of 8, then 4 a second.
    pub chat_rate: Rate,
    /// Ready toggles per member: default a burst of 6, then 4 a second.
    pub ready_rate: Rate,
    /// Keep seats open after the start (up to `max_players`): a newcomer
    /// who passes the lobby's normal admission, password included, takes
    /// one during the match (LAN). Default `false`.
    pub late_join: bool,
}

impl LobbySettings {
    /// A public LAN lobby for 4 players with every default above.
    pub fn new(lobby_name: &str, player_name: &str) -> Self {
        let defaults = HostConfig::new(lobby_name, player_name, "", "");
        LobbySettings {
            lobby_name: lobby_name.to_string(),
            player_name: player_name.to_string(),
            venue: Venue::Lan,
            max_players: defaults.max_players,
            password: None,
            mode: defaults.mode,
            net: defaults.settings,
            host_ready: true,
            auto_ready: false,
            start_when_ready: None,
            txt_extras: Vec::new(),
            timeouts: defaults.timeouts,
            guesses: defaults.guesses,
            chat_rate: defaults.chat_rate,
            ready_rate: defaults.ready_rate,
            late_join: defaults.late_join,
        }
    }

    /// The same lobby, keeping its free seats open to newcomers during the
    /// match (`true`) or not.
    pub fn late_join(mut self, late_join: bool) -> Self {
        self.late_join = late_join;
        self
    }

    /// The same lobby in a rendezvous room (listed by the server if `public`).
    pub fn online(mut self, public: bool) -> Self {
        self.venue = Venue::Online { public };
        self
    }

    /// The same lobby with a player limit (the host included).
    pub fn max_players(mut self, max_players: u16) -> Self {
        self.max_players = max_players;
        self
    }

    /// The same lobby locked by `password`.
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_string());
        self
    }

    /// The same lobby, started by the host's lobby itself once `n` members
    /// (the host included) are present and all ready.
    pub fn start_when_ready(mut self, n: usize) -> Self {
        self.start_when_ready = Some(n);
        self
    }

    /// The same lobby with the host's ready flag at start set to `ready`.
    pub fn host_ready(mut self, ready: bool) -> Self {
        self.host_ready = ready;
        self
    }

    /// The [`HostConfig`] the lobby machine runs with.
    pub(super) fn host_config(&self, game: &str, game_version: &str, game_port: u16) -> HostConfig {
        let mut c = HostConfig::new(&self.lobby_name, &self.player_name, game, game_version);
        c.max_players = self.max_players;
        c.password = self.password.clone();
        c.mode = self.mode.clone();
        c.settings = self.net.clone();
        c.game_port = game_port;
        c.timeouts = self.timeouts;
        c.guesses = self.guesses;
        c.chat_rate = self.chat_rate;
        c.ready_rate = self.ready_rate;
        c.late_join = self.late_join;
        c
    }
}

impl std::fmt::Debug for LobbySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LobbySettings")
            .field("lobby_name", &self.lobby_name)
            .field("player_name", &self.player_name)
            .field("venue", &self.venue)
            .field("max_players", &self.max_players)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("mode", &self.mode)
            .field("host_ready", &self.host_ready)
            .field("auto_ready", &self.auto_ready)
            .field("start_when_ready", &self.start_when_ready)
            .field("late_join", &self.late_join)
            .finish_non_exhaustive()
    }
}

/// Who joins a lobby. `Debug` hides the password.
#[derive(Clone)]
pub struct PlayerSettings {
    /// Wanted display name (the host may add a suffix to make it unique).
    pub name: String,
    /// Password of a locked lobby. Default `None`.
    pub password: Option<String>,
    /// Say "ready" as soon as we are in the lobby. Default `false`.
    pub auto_ready: bool,
    /// Join to watch, not to play: the member takes no player seat, is
    /// listed apart in the roster (`RosterEntry::spectator`) and in the
    /// plan's `spectators`, and follows the match through the relay tree of
    /// `nearplay_netcode::spectate`. Default `false`.
    pub spectator: bool,
    /// Take our seat of a running match back (after a crash or a dropped
    /// network) with this ticket. Default `None`.
    pub rejoin: Option<RejoinTicket>,
    /// Lobby timers. Default [`Timeouts::default`].
    pub timeouts: Timeouts,
    /// Whether and how the lobby takes our seat back by itself when the
    /// connection to a LAN host drops during the match (a window that
    /// stayed open). Default [`ReconnectPolicy::default`]: on.
    pub reconnect: ReconnectPolicy,
}

impl PlayerSettings {
    /// A player without password nor auto-ready.
    pub fn new(name: &str) -> Self {
        PlayerSettings {
            name: name.to_string(),
            password: None,
            auto_ready: false,
            spectator: false,
            rejoin: None,
            timeouts: Timeouts::default(),
            reconnect: ReconnectPolicy::default(),
        }
    }

    /// The same player, reconnecting by itself after a drop as `policy`
    /// says ([`ReconnectPolicy::off`] to let a drop end the match's
    /// control channel).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// The same player, asking for its seat back with `ticket` (see
    /// [`RejoinTicket`]).
    pub fn rejoin(mut self, ticket: RejoinTicket) -> Self {
        self.rejoin = Some(ticket);
        self
    }

    /// The same player with a password for a locked lobby.
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_string());
        self
    }

    /// The same player, ready as soon as it is in (`true`) or not.
    pub fn auto_ready(mut self, auto_ready: bool) -> Self {
        self.auto_ready = auto_ready;
        self
    }

    /// The same member, joining to watch (`true`) or to play.
    pub fn spectator(mut self, spectator: bool) -> Self {
        self.spectator = spectator;
        self
    }
}

impl std::fmt::Debug for PlayerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlayerSettings")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("auto_ready", &self.auto_ready)
            .field("rejoin", &self.rejoin)
            .field("spectator", &self.spectator)
            .field("timeouts", &self.timeouts)
            .field("reconnect", &self.reconnect)
            .finish()
    }
}

/// Which lobby to join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinTarget {
    /// A LAN lobby's TCP address (what [`LobbyEntry`] of the list holds).
    Lan(SocketAddr),
    /// A rendezvous room code as a player typed it (checked when joining:
    /// a bad code arrives as a typed failure event).
    Code(String),
}

impl JoinTarget {
    /// A room code as typed (`"H69QE5"`, case and look-alikes forgiven).
    pub fn code(code: &str) -> Self {
        JoinTarget::Code(code.to_string())
    }
}

impl From<SocketAddr> for JoinTarget {
    fn from(addr: SocketAddr) -> Self {
        JoinTarget::Lan(addr)
    }
}

impl From<&LobbyEntry> for JoinTarget {
    fn from(entry: &LobbyEntry) -> Self {
        match &entry.place {
            LobbyPlace::Lan { addr, .. } => JoinTarget::Lan(*addr),
            LobbyPlace::Online { code } => JoinTarget::Code(code.to_string()),
        }
    }
}

/// How long the list waits between two fetches of the server's public
/// rooms. (Kept here with the other documented defaults.)
pub const LIST_REFRESH: Duration = Duration::from_secs(3);
