//! [`Matchmaker`]: the process's matchmaking context, and where lobbies
//! ([`Lobby`]) and lobby lists ([`LobbyList`]) come from.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use crate::lan::{Discovery, Interfaces};
use crate::lobby::client::JoinConfig;
use crate::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};

use super::backend::Backend;
use super::events::{LobbyError, LobbyPhase};
use super::list::LobbyList;
use super::lobby::Lobby;
use super::settings::{JoinTarget, LIST_REFRESH, LobbySettings, PlayerSettings, Venue};
use super::ticket::RejoinTicket;

/// How a [`Matchmaker`] is set up. Plain fields with documented defaults.
#[derive(Clone, Debug)]
pub struct MatchmakerConfig {
    /// The game's id: lobbies of other games are listed as incompatible and
    /// refuse our joins.
    pub game: String,
    /// The game's build version (lockstep needs one build on every seat).
    pub game_version: String,
    /// mDNS interfaces for LAN lobbies. Default `Some(Interfaces::All)`;
    /// `None`: no mDNS (LAN lobbies are then neither advertised nor listed,
    /// but can still be hosted and joined by address).
    pub lan: Option<Interfaces>,
    /// The rendezvous server for online rooms: `"host:port"`,
    /// `"http://host:port"` or `"ws://host:port"`. Default `None`.
    pub rendezvous: Option<String>,
    /// Address to bind the lobby and game sockets on. Default `None`:
    /// lobby dual stack (`[::]`, else `0.0.0.0`), game socket `0.0.0.0`
    /// (or `[::]` to join a lobby by an IPv6 address).
    pub bind: Option<IpAddr>,
    /// Time limit of one HTTP call to the rendezvous server. Default 3 s.
    pub http_timeout: Duration,
    /// How often a [`LobbyList`] fetches the server's public rooms.
    /// Default 3 s.
    pub list_refresh: Duration,
    /// STUN/TURN servers of the WebRTC link (feature `rendezvous`).
    /// Default none (enough on one network or with open NATs).
    #[cfg(feature = "rendezvous")]
    pub webrtc: nearplay_netcode::transport::webrtc::WebRtcConfig,
}

impl MatchmakerConfig {
    /// The defaults above for `game` at `game_version`.
    pub fn new(game: &str, game_version: &str) -> Self {
        MatchmakerConfig {
            game: game.to_string(),
            game_version: game_version.to_string(),
            lan: Some(Interfaces::All),
            rendezvous: None,
            bind: None,
            http_timeout: Duration::from_secs(3),
            list_refresh: LIST_REFRESH,
            #[cfg(feature = "rendezvous")]
            webrtc: Default::default(),
        }
    }
}

/// Why a [`Matchmaker`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MatchmakerError {
    /// The rendezvous server's address is not one.
    #[error("not a rendezvous server address: {0}")]
    BadServer(String),
    /// A rendezvous server was given but this build lacks the `rendezvous` feature.
    #[error("this build has no rendezvous client (feature `rendezvous`)")]
    NoRendezvousFeature,
}

/// The process's matchmaking context: the game's id and version, the LAN's
/// mDNS daemon (if any) and the rendezvous server (if any). Create it once
/// at start-up (a fresh mDNS daemon misses its first queries, and the list
/// is warm by the time a menu opens); cheap to clone, `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Matchmaker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: MatchmakerConfig,
    discovery: Option<Discovery>,
    lan_status: Result<(), String>,
    /// The lobby name claimed ahead of hosting ([`Matchmaker::claim_lobby_name`]).
    claim: std::sync::Mutex<Option<crate::lan::NameClaim>>,
    #[cfg(feature = "rendezvous")]
    server: Option<crate::rendezvous::RendezvousClient>,
}

impl Matchmaker {
    /// Starts the LAN daemon (if `config.lan`) and checks the server
    /// address. A daemon that cannot start is not fatal: the LAN is off and
    /// [`lan_status`](Self::lan_status) says why.
    pub fn new(config: MatchmakerConfig) -> Result<Matchmaker, MatchmakerError> {
        let (discovery, lan_status) = match &config.lan {
            None => (None, Err("mDNS is off in the configuration".to_string())),
            Some(interfaces) => match Discovery::new(interfaces.clone()) {
                Ok(d) => (Some(d), Ok(())),
                Err(e) => (None, Err(e.to_string())),
            },
        };
        Self::build(config, discovery, lan_status)
    }

    /// A matchmaker over an mDNS daemon of the caller's (a namespace's,
    /// loopback only, custom probing); `config.lan` is not used.
    pub fn with_discovery(
        config: MatchmakerConfig,
        discovery: Discovery,
    ) -> Result<Matchmaker, MatchmakerError> {
        Self::build(config, Some(discovery), Ok(()))
    }

    fn build(
        config: MatchmakerConfig,
        discovery: Option<Discovery>,
        lan_status: Result<(), String>,
    ) -> Result<Matchmaker, MatchmakerError> {
        #[cfg(feature = "rendezvous")]
        let server = match &config.rendezvous {
            None => None,
            Some(url) => Some(
                crate::rendezvous::RendezvousClient::new(url)
                    .map_err(|e| MatchmakerError::BadServer(e.to_string()))?
                    .with_timeout(config.http_timeout),
            ),
        };
        #[cfg(not(feature = "rendezvous"))]
        if config.rendezvous.is_some() {
            return Err(MatchmakerError::NoRendezvousFeature);
        }
        Ok(Matchmaker {
            inner: Arc::new(Inner {
                config,
                discovery,
                lan_status,
                claim: std::sync::Mutex::new(None),
                #[cfg(feature = "rendezvous")]
                server,
            }),
        })
    }

    /// `Ok` if LAN lobbies are advertised and listed, else why not.
    pub fn lan_status(&self) -> Result<(), String> {
        self.inner.lan_status.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &MatchmakerConfig {
        &self.inner.config
    }

    /// Claims the LAN lobby name `name` now, so that a later
    /// [`host`](Self::host) under the same name is listed at once instead of
    /// after most of a second of mDNS probing (RFC 6762; the name stays
    /// unique: see [`Discovery::claim_name`]). Call it as soon as the name is
    /// known: when the menu shows the player's name, when the Host screen
    /// opens. One claim is held at a time (a new call withdraws the previous
    /// one); hosting under the claimed name takes it over. Without LAN
    /// discovery there is nothing to claim and this does nothing.
    pub fn claim_lobby_name(&self, name: &str) -> Result<(), crate::lan::LanError> {
        let Some(discovery) = &self.inner.discovery else {
            return Ok(());
        };
        let mut held = self
            .inner
            .claim
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Withdraw the old claim first, so a claim of the same name again
        // does not come out as "Name (2)".
        *held = None;
        *held = Some(discovery.claim_name(name)?);
        Ok(())
    }

    /// The mDNS daemon, if the LAN is on.
    pub fn discovery(&self) -> Option<&Discovery> {
        self.inner.discovery.as_ref()
    }

    /// Hosts a lobby. Never blocks: on the LAN it is open at once
    /// ([`LobbyEvent::Opened`](super::LobbyEvent::Opened) first; advertised
    /// over mDNS, or not at all with `lan: None`, for joins by address;
    /// `Failed(NoLan)` if the mDNS daemon could not start); online
    /// the room is created off-thread and `Opened` (with its code) or
    /// `Failed` follows.
    pub fn host(&self, settings: LobbySettings) -> Lobby {
        let host_ready = settings.host_ready || settings.auto_ready;
        let mut lobby = match settings.venue {
            Venue::Lan => self.host_lan(&settings),
            Venue::Online { public } => self.host_online(&settings, public),
        };
        lobby.start_when_ready = settings.start_when_ready;
        if !host_ready && lobby.phase != LobbyPhase::Closed {
            lobby.queued_ready = Some(false);
            if lobby.phase == LobbyPhase::InLobby {
                lobby.flush_queue();
            }
        }
        lobby
    }

    fn host_lan(&self, settings: &LobbySettings) -> Lobby {
        let c = &self.inner.config;
        let name = settings.lobby_name.clone();
        // mDNS wanted but its daemon did not start: nobody would find the
        // lobby, so say so (with `lan: None` it opens unadvertised, for
        // joins by address).
        if let (Some(_), None, Err(why)) = (&c.lan, &self.inner.discovery, &self.inner.lan_status) {
            return Lobby::failed(true, name, LobbyError::NoLan(why.clone()));
        }
        let socket = match bind_game_socket(c.bind, false) {
            Ok(s) => s,
            Err(e) => return Lobby::failed(true, name, e),
        };
        let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
        let config = settings.host_config(&c.game, &c.game_version, port);
        let options = HostOptions {
            bind: c.bind,
            discovery: self.inner.discovery.clone(),
            txt_extras: settings.txt_extras.clone(),
        };
        let host = match LobbyHost::open(config, options) {
            Ok(h) => h,
            Err(e) => return Lobby::failed(true, name, LobbyError::Open(e)),
        };
        // A claim of this name was taken over by the lobby (dropping it is
        // then a no-op); a claim of another name is withdrawn.
        *self
            .inner
            .claim
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        let name = host.instance_name().unwrap_or(name);
        let roster = host.roster();
        let mut lobby = Lobby::new(
            true,
            LobbyPhase::InLobby,
            name.clone(),
            Backend::LanHost(host),
        );
        lobby.core().socket = Some(socket);
        lobby.roster = roster;
        lobby.you = Some(0);
        lobby.push(super::LobbyEvent::Opened { name, code: None });
        lobby
    }

    #[cfg(feature = "rendezvous")]
    fn host_online(&self, settings: &LobbySettings, public: bool) -> Lobby {
        use crate::rendezvous::OnlineHost;
        let c = &self.inner.config;
        let Some(server) = self.inner.server.clone() else {
            return Lobby::failed(true, settings.lobby_name.clone(), LobbyError::NoServer);
        };
        let config = settings.host_config(&c.game, &c.game_version, 1);
        let webrtc = c.webrtc.clone();
        let work = super::backend::OffThread::spawn("nearplay-room-open", move || {
            OnlineHost::open(&server, config, public, &webrtc)
                .map(|h| Backend::OnlineHost(Box::new(h)))
                .map_err(LobbyError::from)
        });
        Lobby::new(
            true,
            LobbyPhase::Opening,
            settings.lobby_name.clone(),
            Backend::Connecting(work),
        )
    }

    #[cfg(not(feature = "rendezvous"))]
    fn host_online(&self, settings: &LobbySettings, _public: bool) -> Lobby {
        Lobby::failed(true, settings.lobby_name.clone(), LobbyError::NoServer)
    }

    /// Joins a lobby: a LAN address (or a [`LobbyEntry`](super::LobbyEntry)
    /// of the list) or a room code. Never blocks: the room code is checked
    /// off-thread; `Joined` or `Failed` follows.
    pub fn join(&self, target: impl Into<JoinTarget>, player: PlayerSettings) -> Lobby {
        let c = &self.inner.config;
        let mut config = JoinConfig::new(&player.name, &c.game, &c.game_version, 0);
        config.password = player.password.clone();
        config.spectator = player.spectator;
        config.rejoin = player.rejoin.as_ref().map(RejoinTicket::claim);
        config.timeouts = player.timeouts;
        let mut lobby = match target.into() {
            JoinTarget::Lan(addr) => self.join_lan(addr, config, player.reconnect),
            JoinTarget::Code(code) => self.join_code(code, config),
        };
        lobby.auto_ready = player.auto_ready;
        lobby
    }

    fn join_lan(
        &self,
        addr: SocketAddr,
        mut config: JoinConfig,
        reconnect: super::ReconnectPolicy,
    ) -> Lobby {
        let name = addr.to_string();
        let socket = match bind_game_socket(self.inner.config.bind, addr.is_ipv6()) {
            Ok(s) => s,
            Err(e) => return Lobby::failed(false, name, e),
        };
        config.game_port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
        let again = super::reconnect_schedule::Reconnector::new(reconnect, addr, config.clone());
        let client = LobbyClient::join(addr, config);
        let mut lobby = Lobby::new(false, LobbyPhase::Joining, name, Backend::LanClient(client));
        lobby.core().socket = Some(socket);
        lobby.reconnect = Some(again);
        lobby
    }

    #[cfg(feature = "rendezvous")]
    fn join_code(&self, code: String, config: JoinConfig) -> Lobby {
        use crate::rendezvous::OnlineClient;
        let name = format!("Room {}", crate::lan::printable(&code));
        let Some(server) = self.inner.server.clone() else {
            return Lobby::failed(false, name, LobbyError::NoServer);
        };
        let webrtc = self.inner.config.webrtc.clone();
        let work = super::backend::OffThread::spawn("nearplay-room-join", move || {
            OnlineClient::join(&server, &code, config, &webrtc)
                .map(|c| Backend::OnlineClient(Box::new(c)))
                .map_err(LobbyError::from)
        });
        Lobby::new(false, LobbyPhase::Joining, name, Backend::Connecting(work))
    }

    #[cfg(not(feature = "rendezvous"))]
    fn join_code(&self, code: String, _config: JoinConfig) -> Lobby {
        let name = format!("Room {}", crate::lan::printable(&code));
        Lobby::failed(false, name, LobbyError::NoServer)
    }

    /// The list of lobbies to join: the LAN's and, with a rendezvous
    /// server, its public rooms (fetched off-thread every
    /// [`list_refresh`](MatchmakerConfig::list_refresh)).
    pub fn browse(&self) -> LobbyList {
        let c = &self.inner.config;
        LobbyList::open(
            c,
            self.inner.discovery.as_ref(),
            #[cfg(feature = "rendezvous")]
            self.inner.server.clone(),
        )
    }
}

/// Binds the game socket: `bind` if given, else `0.0.0.0` (`[::]` for an
/// IPv6 lobby), port 0.
fn bind_game_socket(bind: Option<IpAddr>, v6: bool) -> Result<UdpSocket, LobbyError> {
    let ip = bind.unwrap_or(if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    UdpSocket::bind((ip, 0)).map_err(|e| LobbyError::Socket(e.to_string()))
}
