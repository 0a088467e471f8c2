//! [`NetSessionBuilder`]: from a [`MatchPlan`] (or your own addresses) to a
//! ready GGRS [`P2PSession`].
//!
//! The builder collects players, spectators and [`NetSettings`], and checks
//! them all in [`build`](NetSessionBuilder::build), so a bad plan is one typed
//! [`SessionError`] instead of a GGRS panic or a silent stall.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use ggrs::{
    Config, DesyncDetection, GgrsError, P2PSession, PlayerHandle, PlayerType, SessionBuilder,
    SpectatorSession,
};
use thiserror::Error;

use crate::addr::PeerAddr;
use crate::handshake::RedundantHandshake;
use crate::plan::{MatchPlan, NetSettings};
use crate::plan_check::{MAX_PLAYERS, MAX_SPECTATORS, PlanError, PlanLimits};
use crate::stats::NetMonitor;
use crate::sync::{DEFAULT_SYNC_TIMEOUT, SyncWatch};
use crate::transport::Transport;

/// Why a session could not be built.
#[derive(Debug, Error)]
pub enum SessionError {
    /// No player was added.
    #[error("no players")]
    NoPlayers,
    /// Player handles must be exactly `0..n`; this one is missing.
    #[error("player handle {handle} is missing (handles must be 0..n)")]
    MissingHandle {
        /// The missing handle.
        handle: PlayerHandle,
    },
    /// A handle was used twice (players and spectators share one space).
    #[error("handle {handle} is used twice")]
    DuplicateHandle {
        /// The handle.
        handle: PlayerHandle,
    },
    /// No player is local: every session plays at least one seat.
    #[error("no local player")]
    NoLocalPlayer,
    /// The plan's local handle names no player (a spectator builds its
    /// session with [`NetSessionBuilder::spectate`]).
    #[error("local handle {handle} is not a player of the plan")]
    LocalNotAPlayer {
        /// The plan's local handle.
        handle: PlayerHandle,
    },
    /// The plan's local handle names no spectator either.
    #[error("local handle {handle} is not a spectator of the plan")]
    LocalNotASpectator {
        /// The plan's local handle.
        handle: PlayerHandle,
    },
    /// A spectator handle is below the number of players, as GGRS forbids.
    #[error("spectator handle {handle} must be at least the number of players")]
    SpectatorHandle {
        /// The handle.
        handle: PlayerHandle,
    },
    /// A spectator's host handle names no player.
    #[error("spectator {handle} is hosted by {host}, which is not a player")]
    SpectatorHost {
        /// The spectator handle.
        handle: PlayerHandle,
        /// Its host handle.
        host: PlayerHandle,
    },
    /// The plan or the settings are out of bounds (see [`MatchPlan::validate`]).
    #[error("invalid plan: {0}")]
    Plan(#[from] PlanError),
    /// More players or spectators than a session accepts.
    #[error("{count} seats; at most {max} are allowed")]
    TooManySeats {
        /// Players or spectators added.
        count: usize,
        /// The limit ([`MAX_PLAYERS`] or [`MAX_SPECTATORS`]).
        max: usize,
    },
    /// GGRS refused the configuration.
    #[error("ggrs: {0}")]
    Ggrs(#[from] GgrsError),
}

/// Builds a GGRS [`P2PSession`] over any transport.
///
/// ```text
/// from_plan(&plan)                  players, spectators hosted by us, settings
/// new().local_player(0)             or: your own handles and addresses
///      .remote_player(1, addr)
///      .settings(NetSettings{..})
/// .build(transport)                 -> P2PSession<C>
/// .build_monitored(transport)       -> (P2PSession<C>, NetMonitor)
/// ```
#[derive(Debug)]
pub struct NetSessionBuilder<C> {
    players: Vec<(PlayerHandle, PlayerType<PeerAddr>)>,
    spectators: Vec<(PlayerHandle, PeerAddr)>,
    settings: NetSettings,
    errors: Vec<SessionError>,
    /// Display names by handle (from a plan), for sync-timeout messages.
    names: BTreeMap<PlayerHandle, String>,
    sync_timeout: Duration,
    _config: PhantomData<fn() -> C>,
}

impl<C: Config<Address = PeerAddr>> Default for NetSessionBuilder<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Config<Address = PeerAddr>> NetSessionBuilder<C> {
    /// An empty builder with default [`NetSettings`], for games that bring
    /// their own addresses.
    pub fn new() -> Self {
        NetSessionBuilder {
            players: Vec::new(),
            spectators: Vec::new(),
            settings: NetSettings::default(),
            errors: Vec::new(),
            names: BTreeMap::new(),
            sync_timeout: DEFAULT_SYNC_TIMEOUT,
            _config: PhantomData,
        }
    }

    /// A builder for the member holding `plan`: the local player, every
    /// other player as remote, the spectators this member hosts, and the
    /// plan's settings.
    ///
    /// The plan is always checked with [`MatchPlan::validate`] (structure
    /// and bounds, [`PlanLimits::default`]); a bad plan makes
    /// [`build`](Self::build) fail with [`SessionError::Plan`], so no GGRS
    /// session is ever built from an unchecked plan. Members' names are
    /// kept for the [`SyncWatch`] of
    /// [`build_monitored`](Self::build_monitored).
    pub fn from_plan(plan: &MatchPlan) -> Self {
        let mut b = Self::new().settings(plan.settings.clone());
        b.names = plan
            .players
            .iter()
            .map(|p| (p.handle, p.name.clone()))
            .chain(plan.spectators.iter().map(|s| (s.handle, s.name.clone())))
            .collect();
        if plan.local_player().is_none() {
            b.errors.push(SessionError::LocalNotAPlayer {
                handle: plan.local_handle,
            });
        }
        for p in &plan.players {
            b = if p.handle == plan.local_handle {
                b.local_player(p.handle)
            } else {
                b.remote_player(p.handle, p.addr)
            };
        }
        // Spectators fed by the relay tree are no GGRS endpoint: players
        // never wait on them.
        for s in plan.spectators.iter().filter(|s| !s.is_relayed()) {
            if !plan.players.iter().any(|p| p.handle == s.host_handle) {
                b.errors.push(SessionError::SpectatorHost {
                    handle: s.handle,
                    host: s.host_handle,
                });
            }
            if s.host_handle == plan.local_handle {
                b = b.spectator(s.handle, s.addr);
            }
        }
        // Last, so the more specific errors above are reported first.
        if let Err(e) = plan.validate(&PlanLimits::default()) {
            b.errors.push(SessionError::Plan(e));
        }
        b
    }

    /// Adds a player playing on this machine.
    pub fn local_player(mut self, handle: PlayerHandle) -> Self {
        self.players.push((handle, PlayerType::Local));
        self
    }

    /// Adds a player reached at `addr`.
    pub fn remote_player(mut self, handle: PlayerHandle, addr: PeerAddr) -> Self {
        self.players.push((handle, PlayerType::Remote(addr)));
        self
    }

    /// Adds a spectator this session streams confirmed inputs to.
    pub fn spectator(mut self, handle: PlayerHandle, addr: PeerAddr) -> Self {
        self.spectators.push((handle, addr));
        self
    }

    /// Replaces the settings.
    pub fn settings(mut self, settings: NetSettings) -> Self {
        self.settings = settings;
        self
    }

    /// How long the session may take to reach every peer before the
    /// monitor of [`build_monitored`](Self::build_monitored) reports a
    /// [`SyncTimeout`](crate::sync::SyncTimeout). Default
    /// [`DEFAULT_SYNC_TIMEOUT`] (10 s).
    pub fn sync_timeout(mut self, timeout: Duration) -> Self {
        self.sync_timeout = timeout;
        self
    }

    /// The remote players' handles and addresses.
    pub fn remotes(&self) -> Vec<(PlayerHandle, PeerAddr)> {
        self.players
            .iter()
            .filter_map(|(h, t)| match t {
                PlayerType::Remote(a) => Some((*h, *a)),
                _ => None,
            })
            .collect()
    }

    /// Checks everything and starts the session over `transport`, whose
    /// handshake datagrams go out
    /// [`HANDSHAKE_COPIES`](crate::handshake::HANDSHAKE_COPIES) times
    /// ([`RedundantHandshake`]: one lost datagram would otherwise start one
    /// peer 200 ms before the other).
    pub fn build(
        self,
        transport: impl ggrs::NonBlockingSocket<PeerAddr> + 'static,
    ) -> Result<P2PSession<C>, SessionError> {
        let builder = self.ggrs_builder()?;
        Ok(builder.start_p2p_session(RedundantHandshake::new(transport))?)
    }

    /// [`build`](Self::build), plus a [`NetMonitor`] over the transport's
    /// counters for stats and the remote players' inputs
    /// ([`InputTap`](crate::transport::InputTap), for a vacated seat), whose
    /// [`SyncWatch`] gives the session
    /// [`sync_timeout`](Self::sync_timeout) from now to reach every peer
    /// (see [`NetMonitor::check_sync`]).
    pub fn build_monitored<T: Transport>(
        self,
        transport: T,
    ) -> Result<(P2PSession<C>, NetMonitor), SessionError> {
        let peers = self
            .remotes()
            .into_iter()
            .chain(self.spectators.iter().copied())
            .map(|(h, addr)| {
                let name = self.names.get(&h).cloned();
                (name.unwrap_or_else(|| format!("player {h}")), addr)
            });
        let watch = SyncWatch::new(peers, Instant::now(), self.sync_timeout);
        let seats = crate::transport::SeatInputs::default();
        seats.set_players(self.remotes().into_iter().map(|(_, addr)| addr));
        let monitor = NetMonitor::new(transport.counters(), self.remotes())
            .with_sync_watch(watch)
            .with_seat_inputs(seats.clone());
        let tapped = crate::transport::InputTap::new(transport, seats);
        Ok((self.build(tapped)?, monitor))
    }

    /// [`build_monitored`](Self::build_monitored) over `transport`, through
    /// the link conditioner ([`Conditioned`](crate::transport::Conditioned))
    /// when `impairment` is `Some`: a game's "simulate a bad network" option
    /// without a second code path. `seed` drives the conditioner's random
    /// choices (use the plan's seed mixed with the local handle, so peers
    /// do not lose the same packets); it is unused when `impairment` is `None`.
    pub fn build_impaired<T: Transport>(
        self,
        transport: T,
        impairment: Option<crate::transport::LinkProfile>,
        seed: u64,
    ) -> Result<(P2PSession<C>, NetMonitor), SessionError> {
        match impairment {
            Some(profile) => {
                self.build_monitored(crate::transport::Conditioned::new(transport, profile, seed))
            }
            None => self.build_monitored(transport),
        }
    }

    /// A spectator session for the member holding `plan`, when its local
    /// handle is one of the plan's spectators.
    pub fn spectate(
        plan: &MatchPlan,
        transport: impl ggrs::NonBlockingSocket<PeerAddr> + 'static,
    ) -> Result<SpectatorSession<C>, SessionError> {
        let handle = plan.local_handle;
        let spec = plan
            .spectators
            .iter()
            .find(|s| s.handle == handle)
            .ok_or(SessionError::LocalNotASpectator { handle })?;
        let host = plan
            .players
            .iter()
            .find(|p| p.handle == spec.host_handle)
            .ok_or(SessionError::SpectatorHost {
                handle,
                host: spec.host_handle,
            })?;
        plan.validate(&PlanLimits::default())?;
        let s = &plan.settings;
        Ok(SessionBuilder::<C>::new()
            .with_num_players(plan.players.len())?
            .with_fps(s.fps)?
            .with_disconnect_timeout(s.disconnect_timeout())
            .with_disconnect_notify_delay(s.disconnect_notify_start())
            .start_spectator_session(host.addr, RedundantHandshake::new(transport)))
    }

    fn ggrs_builder(mut self) -> Result<SessionBuilder<C>, SessionError> {
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        self.settings.validate()?;
        let n = self.players.len();
        if n == 0 {
            return Err(SessionError::NoPlayers);
        }
        for (count, max) in [(n, MAX_PLAYERS), (self.spectators.len(), MAX_SPECTATORS)] {
            if count > max {
                return Err(SessionError::TooManySeats { count, max });
            }
        }
        let mut seen = BTreeSet::new();
        for h in self
            .players
            .iter()
            .map(|(h, _)| *h)
            .chain(self.spectators.iter().map(|(h, _)| *h))
        {
            if !seen.insert(h) {
                return Err(SessionError::DuplicateHandle { handle: h });
            }
        }
        if let Some(handle) = (0..n).find(|h| !seen.contains(h)) {
            return Err(SessionError::MissingHandle { handle });
        }
        if !self
            .players
            .iter()
            .any(|(_, t)| matches!(t, PlayerType::Local))
        {
            return Err(SessionError::NoLocalPlayer);
        }
        if let Some((handle, _)) = self.spectators.iter().find(|(h, _)| *h < n) {
            return Err(SessionError::SpectatorHandle { handle: *handle });
        }
        let s = &self.settings;
        let desync = match s.desync_interval {
            0 => DesyncDetection::Off,
            interval => DesyncDetection::On { interval },
        };
        let mut b = SessionBuilder::<C>::new()
            .with_num_players(n)?
            .with_input_delay(s.input_delay)
            .with_max_prediction_window(s.max_prediction)
            .with_fps(s.fps)?
            .with_disconnect_timeout(s.disconnect_timeout())
            .with_disconnect_notify_delay(s.disconnect_notify_start())
            .with_desync_detection_mode(desync);
        for (handle, t) in self.players {
            b = b.add_player(t, handle)?;
        }
        for (handle, addr) in self.spectators {
            b = b.add_player(PlayerType::Spectator(addr), handle)?;
        }
        Ok(b)
    }
}

/// Why [`start_udp_session`] failed.
#[derive(Debug, Error)]
pub enum StartError {
    /// The UDP transport could not be created.
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
    /// The session could not be built.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The one call a game makes when the lobby hands over the plan: the UDP
/// transport over the game's already-bound `socket`, optionally impaired by
/// `impairment` (seeded from the plan, for `--sim-latency`-style options),
/// and the monitored session.
pub fn start_udp_session<C: Config<Address = PeerAddr>>(
    plan: &MatchPlan,
    socket: std::net::UdpSocket,
    impairment: Option<crate::transport::LinkProfile>,
) -> Result<(P2PSession<C>, NetMonitor), StartError> {
    let udp = crate::transport::UdpTransport::from_plan(socket, plan)?;
    let seed = plan.seed ^ (plan.local_handle as u64).wrapping_mul(0x9E37_79B9);
    Ok(NetSessionBuilder::<C>::from_plan(plan).build_impaired(udp, impairment, seed)?)
}
