//! Glue between the screens and the two libraries: the process's mDNS
//! daemon, the lobby connection, and turning a `MatchPlan` into a session.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use bevy::platform::cell::SyncCell;
use bevy::prelude::*;
use nearplay_matchmaker::lan::{Discovery, Interfaces};
use nearplay_matchmaker::lobby::message::RosterEntry;
use nearplay_matchmaker::lobby::tcp::{LobbyClient, LobbyHost};
use nearplay_matchmaker::rendezvous::{OnlineClient, OnlineHost, RoomCode};
use nearplay_netcode::bevy::NetCommandsExt;
use nearplay_netcode::{Conditioned, LinkProfile, MatchPlan, NetSessionBuilder, UdpTransport};

use crate::cli::Shared;
use crate::match_setup::{MatchInfo, Seat, begin_match};
use crate::rollback::{DemoConfig, LocalControl};
use crate::screen::Screen;

/// The game id lobbies advertise: other games' lobbies show as incompatible.
pub const GAME_ID: &str = "nearplay-bumper";
/// The game version: lobbies of another version show as incompatible.
pub const GAME_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The process's one mDNS daemon, created at start-up so the list is warm.
#[derive(Resource, Clone)]
pub struct Lan {
    /// The daemon, or why there is none (the game still runs locally).
    pub discovery: Result<Discovery, String>,
}

impl Lan {
    /// Starts mDNS on the interfaces named by `--interface`.
    pub fn start(interface: &str) -> Lan {
        let interfaces = match interface {
            "all" => Interfaces::All,
            "lo" | "loopback" => Interfaces::LoopbackOnly,
            names => Interfaces::Named(names.split(',').map(str::to_string).collect()),
        };
        Lan {
            discovery: Discovery::new(interfaces).map_err(|e| format!("LAN discovery is off: {e}")),
        }
    }
}

/// Network options from the command line.
#[derive(Resource, Clone, Debug, Default)]
pub struct NetOptions {
    /// Simulated impairment of game packets, if asked for.
    pub sim: Option<LinkProfile>,
    /// The local player is an AI.
    pub bot: bool,
    /// Ready up and (host) start without a click: headless and bot runs.
    pub auto: bool,
    /// Host: start when this many players are ready.
    pub start_at: Option<usize>,
}

impl NetOptions {
    /// Options from the shared CLI flags.
    pub fn from_cli(shared: &Shared) -> Self {
        let sim =
            (shared.sim_latency > 0 || shared.sim_jitter > 0 || shared.sim_loss > 0.0).then(|| {
                LinkProfile::latency(
                    Duration::from_millis(u64::from(shared.sim_latency)),
                    Duration::from_millis(u64::from(shared.sim_jitter)),
                )
                .with_loss(f64::from(shared.sim_loss.clamp(0.0, 100.0)) / 100.0)
            });
        NetOptions {
            sim,
            bot: shared.bot,
            auto: shared.headless || shared.bot,
            start_at: None,
        }
    }
}

/// Our side of a lobby.
pub enum LobbyRole {
    /// We host it on the LAN.
    Host(LobbyHost),
    /// We joined it on the LAN.
    Member(LobbyClient),
    /// We host a rendezvous room (WebRTC).
    OnlineHost(Box<OnlineHost>),
    /// We joined a rendezvous room (WebRTC).
    OnlineMember(Box<OnlineClient>),
    /// The room's link went into the match (online lobbies end at the start).
    Gone,
}

/// The lobby we are in, with what the lobby screen shows.
#[derive(Resource)]
pub struct LobbyConn {
    /// Host or member (the lobby handles hold channel receivers, which are
    /// `Send` but not `Sync`; `SyncCell` gives access through `&mut` only).
    pub role: SyncCell<LobbyRole>,
    /// Whether we host (readable without `&mut`).
    pub hosting: bool,
    /// Lobby name as advertised.
    pub lobby_name: String,
    /// The room code of an online lobby (to show and share).
    pub code: Option<RoomCode>,
    /// The game socket, bound before joining (its port is in our hello).
    pub socket: Option<UdpSocket>,
    /// Its port, to bind again for a rematch.
    pub game_port: u16,
    /// Members and their ready flags.
    pub roster: Vec<RosterEntry>,
    /// Chat and lobby notes, oldest first.
    pub log: Vec<String>,
    /// When we started joining, and how long the join took.
    pub join_started: Instant,
    /// Connect -> in the roster.
    pub join_time: Option<Duration>,
    /// Whether we said we are ready.
    pub ready: bool,
    /// Channel fingerprints by member id, to compare between screens: the
    /// host holds every member's, a member its own.
    pub fingerprints: std::collections::BTreeMap<u32, String>,
    /// Wrong passwords the host has counted (host only).
    pub failed_guesses: u64,
}

impl LobbyConn {
    /// Binds the game socket on all interfaces, port chosen by the OS
    /// (or `port` again for a rematch).
    pub fn bind_game_socket(port: u16) -> std::io::Result<UdpSocket> {
        UdpSocket::bind(("0.0.0.0", port))
    }

    /// Appends a line to the lobby log (bounded).
    pub fn note(&mut self, line: impl Into<String>) {
        self.log.push(line.into());
        if self.log.len() > 50 {
            self.log.remove(0);
        }
    }

    /// Whether we host.
    pub fn is_host(&self) -> bool {
        self.hosting
    }

    /// Sets our ready flag.
    pub fn set_ready(&mut self, ready: bool) {
        self.ready = ready;
        match self.role.get() {
            LobbyRole::Host(h) => h.set_ready(ready),
            LobbyRole::Member(c) => c.set_ready(ready),
            LobbyRole::OnlineHost(h) => h.set_ready(ready),
            LobbyRole::OnlineMember(c) => c.set_ready(ready),
            LobbyRole::Gone => {}
        }
    }

    /// Sends a chat line.
    pub fn chat(&mut self, text: &str) {
        match self.role.get() {
            LobbyRole::Host(h) => h.chat(text),
            LobbyRole::Member(c) => c.chat(text),
            LobbyRole::OnlineHost(h) => h.chat(text),
            LobbyRole::OnlineMember(c) => c.chat(text),
            LobbyRole::Gone => {}
        }
    }

    /// Whether the lobby runs over a rendezvous room.
    pub fn is_online(&self) -> bool {
        self.code.is_some()
    }

    /// Makes sure the game socket is bound (again, after a match); online
    /// lobbies play over their room's link and need none.
    pub fn ensure_socket(&mut self) -> std::io::Result<()> {
        if self.socket.is_none() && !self.is_online() {
            self.socket = Some(Self::bind_game_socket(self.game_port)?);
        }
        Ok(())
    }
}

/// Leaves (or closes) the lobby: dropping the connection tells the others.
pub fn leave_lobby(commands: &mut Commands, conn: Option<&mut LobbyConn>) {
    if let Some(conn) = conn {
        match conn.role.get() {
            LobbyRole::Host(h) => h.close(),
            LobbyRole::Member(c) => c.leave(),
            // Dropping an online lobby closes its link.
            LobbyRole::OnlineHost(_) | LobbyRole::OnlineMember(_) | LobbyRole::Gone => {}
        }
    }
    commands.remove_resource::<LobbyConn>();
}

/// Why a match could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The game socket is gone.
    #[error("the game socket is not bound: {0}")]
    Socket(#[from] std::io::Error),
    /// The plan's addresses do not fit a UDP transport.
    #[error("the match plan does not fit a UDP match: {0}")]
    Transport(#[from] nearplay_netcode::TransportError),
    /// GGRS refused the session.
    #[error("could not build the session: {0}")]
    Session(#[from] nearplay_netcode::SessionError),
}

type Started = (ggrs::P2PSession<DemoConfig>, nearplay_netcode::NetMonitor);

/// Builds the session over `transport`, through the link conditioner when
/// the player asked for a simulated bad network.
fn with_impairment<T: nearplay_netcode::Transport>(
    builder: NetSessionBuilder<DemoConfig>,
    transport: T,
    sim: Option<LinkProfile>,
    seed: u64,
) -> Result<Started, nearplay_netcode::SessionError> {
    match sim {
        Some(profile) => builder.build_monitored(Conditioned::new(transport, profile, seed)),
        None => builder.build_monitored(transport),
    }
}

/// Starts the match `plan` (LAN: on our game socket; online: over the
/// room's WebRTC link) and shows the arena.
pub fn start_lan_match(
    commands: &mut Commands,
    next: &mut NextState<Screen>,
    conn: &mut LobbyConn,
    plan: &MatchPlan,
    options: &NetOptions,
) -> Result<(), StartError> {
    let builder = NetSessionBuilder::<DemoConfig>::from_plan(plan);
    let sim = options.sim;
    let (session, monitor) = match std::mem::replace(conn.role.get(), LobbyRole::Gone) {
        LobbyRole::OnlineHost(host) => {
            with_impairment(builder, host.into_transport(plan)?, sim, plan.seed)?
        }
        LobbyRole::OnlineMember(client) => {
            with_impairment(builder, client.into_transport(plan)?, sim, plan.seed)?
        }
        lan => {
            *conn.role.get() = lan;
            conn.ensure_socket()?;
            let socket = conn
                .socket
                .take()
                .ok_or_else(|| std::io::Error::other("socket missing"))?;
            with_impairment(
                builder,
                UdpTransport::from_plan(socket, plan)?,
                sim,
                plan.seed,
            )?
        }
    };
    commands.start_net_session(session, monitor);
    let seats = plan
        .players
        .iter()
        .map(|p| Seat {
            name: p.name.clone(),
            local: p.handle == plan.local_handle,
            addr: Some(p.addr),
        })
        .collect();
    let info = MatchInfo {
        seats,
        seed: plan.seed,
        input_delay: plan.settings.input_delay,
        max_prediction: plan.settings.max_prediction,
        plan: Some(plan.clone()),
    };
    let control = LocalControl {
        bots: if options.bot {
            vec![plan.local_handle]
        } else {
            Vec::new()
        },
    };
    conn.ready = false;
    begin_match(commands, next, info, control);
    Ok(())
}
