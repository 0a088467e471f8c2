//! The match hand-over: at `Started` the plan gets its transport over what
//! the lobby keeps (the game socket on the LAN, the room's link online),
//! and a rematch builds the next one over the same.

#[cfg(feature = "rendezvous")]
use nearplay_netcode::transport::GameChannel;
use nearplay_netcode::transport::{EpochLinkShare, UdpLink};
use nearplay_netcode::{
    GameTransport, MatchPlan, PeerAddr, PlanPlayer, PlanSpectator, TransportError,
};

use super::events::{
    LobbyActionError, LobbyError, LobbyEvent, LobbyPhase, MatchControl, MatchStart,
};
use super::lobby::Lobby;
use super::ticket::RejoinTicket;

impl Lobby {
    /// After a match: starts the next one with the same players, as
    /// [`MatchPlan::rematch`] (same on every member, so each calls it when
    /// the game agrees), over the same socket or link. A new
    /// [`LobbyEvent::MatchStarted`] follows. Drop the previous session first.
    pub fn rematch(&mut self) -> Result<(), LobbyActionError> {
        if self.phase != LobbyPhase::InMatch {
            return Err(match self.phase {
                LobbyPhase::Closed => LobbyActionError::NotInLobby,
                _ => LobbyActionError::NoMatch,
            });
        }
        let plan = self
            .last_plan
            .as_ref()
            .ok_or(LobbyActionError::NoMatch)?
            .rematch();
        match self.transport_again(&plan) {
            Ok(transport) => {
                self.last_plan = Some(plan.clone());
                self.push(LobbyEvent::MatchStarted(MatchStart::new(plan, transport)));
            }
            Err(e) => self.fail(e),
        }
        Ok(())
    }

    /// Our seat's [`RejoinTicket`] for the running match (save it with
    /// [`RejoinTicket::save`] at [`RejoinTicket::default_path`] so a
    /// restarted game finds it); `None` for the host, a spectator, or
    /// before a match.
    pub fn rejoin_ticket(&self) -> Option<RejoinTicket> {
        let plan = self.last_plan.as_ref()?;
        let fingerprint = self
            .fingerprints
            .get(&0)
            .map(ToString::to_string)
            .unwrap_or_default();
        RejoinTicket::from_plan(plan, &self.name, &fingerprint)
    }

    /// The running match's plan as the lobby knows it now: the one the
    /// match started with, followed through retaken and taken seats and new
    /// key epochs (what a [`rematch`](Self::rematch) starts from). `None`
    /// before a match.
    pub fn current_plan(&self) -> Option<&MatchPlan> {
        self.last_plan.as_ref()
    }

    /// Keeps [`current_plan`](Self::current_plan) in step with the match's
    /// news (news that does not fit the plan is ignored: the host's word
    /// changes no seat it did not announce in order).
    pub(super) fn follow_match(&mut self, news: &MatchControl) {
        let addr = match news {
            MatchControl::SeatRetaken { addr, .. } | MatchControl::SeatTaken { addr, .. } => {
                self.news_addr(*addr)
            }
            _ => PeerAddr::Udp(std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
        };
        let Some(plan) = self.last_plan.as_mut() else {
            return;
        };
        match news {
            MatchControl::SeatRetaken { handle, .. } => {
                if let Some(p) = plan.players.get_mut(*handle) {
                    p.addr = addr;
                }
            }
            MatchControl::SeatTaken {
                handle,
                name,
                spectator: false,
                ..
            } if *handle == plan.players.len() => {
                for s in &mut plan.spectators {
                    s.handle += 1;
                    s.host_handle += 1;
                }
                if plan.local_handle >= *handle {
                    plan.local_handle += usize::from(plan.local_player().is_none());
                }
                plan.players.push(PlanPlayer {
                    handle: *handle,
                    name: name.clone(),
                    addr,
                });
            }
            MatchControl::SeatTaken {
                handle,
                name,
                spectator: true,
                ..
            } if *handle == plan.players.len() + plan.spectators.len()
                && plan.spectators.len() < nearplay_netcode::MAX_SPECTATORS =>
            {
                plan.spectators
                    .push(PlanSpectator::relayed(*handle, name.clone(), addr));
            }
            MatchControl::MatchRekeyed { epoch, key } if *epoch > plan.key_epoch => {
                plan.key = key.clone();
                plan.key_epoch = *epoch;
            }
            _ => {}
        }
    }

    /// A transport for `plan` over the socket or link the lobby kept.
    fn transport_again(&mut self, plan: &MatchPlan) -> Result<GameTransport, LobbyError> {
        let core = self.core();
        if let Some(socket) = &core.socket {
            let socket = socket
                .try_clone()
                .map_err(|e| LobbyError::Socket(e.to_string()))?;
            return self.udp_transport(socket, plan);
        }
        #[cfg(feature = "rendezvous")]
        if let Some(link) = core.link.clone() {
            return self.webrtc_transport(link, plan);
        }
        Err(LobbyError::Stopped)
    }

    /// The plan arrived: build its transport over what the lobby keeps.
    pub(super) fn match_started(&mut self, plan: MatchPlan) {
        if matches!(self.phase, LobbyPhase::InMatch | LobbyPhase::Closed) {
            return;
        }
        match self.first_transport(&plan) {
            Ok(transport) => {
                self.phase = LobbyPhase::InMatch;
                self.last_plan = Some(plan.clone());
                let mut start = MatchStart::new(plan, transport);
                if start.is_resume() {
                    start.vacant = self.begin_newcomer(&start.plan);
                }
                self.push(LobbyEvent::MatchStarted(start));
            }
            Err(e) => self.fail(e),
        }
    }

    /// The match's first transport. The shell stays as the match's
    /// control channel: on the LAN over its TCP connection beside the
    /// kept game socket, online over the reliable channel of the room's
    /// link, whose game channel the transport takes.
    fn first_transport(&mut self, plan: &MatchPlan) -> Result<GameTransport, LobbyError> {
        #[cfg(feature = "rendezvous")]
        if let Some(link) = self.core().backend.room_link() {
            self.core().link = Some(link.clone());
            return self.webrtc_transport(link, plan);
        }
        let socket = self
            .core()
            .socket
            .as_ref()
            .ok_or(LobbyError::Stopped)?
            .try_clone()
            .map_err(|e| LobbyError::Socket(e.to_string()))?;
        self.udp_transport(socket, plan)
    }

    /// A player's transport shares the socket between key epochs (a
    /// rejoin or late join builds the next one beside it); a spectator's
    /// is the plain one.
    fn udp_transport(
        &mut self,
        socket: std::net::UdpSocket,
        plan: &MatchPlan,
    ) -> Result<GameTransport, LobbyError> {
        if plan.local_player().is_none() {
            return Ok(GameTransport::udp(socket, plan)?);
        }
        let (transport, share) = GameTransport::udp_epochs(socket, plan)?;
        self.core().resumes.share = Some(EpochShare::Udp(share));
        Ok(transport)
    }

    /// Online, the same: a player's transport shares the room link's game
    /// channel between key epochs; a spectator's is the plain one.
    #[cfg(feature = "rendezvous")]
    fn webrtc_transport(
        &mut self,
        link: nearplay_netcode::transport::WebRtcLink,
        plan: &MatchPlan,
    ) -> Result<GameTransport, LobbyError> {
        if plan.local_player().is_none() {
            return Ok(GameTransport::webrtc(link, plan)?);
        }
        let (transport, share) = GameTransport::webrtc_epochs(link, plan)?;
        self.core().resumes.share = Some(EpochShare::WebRtc(share));
        Ok(transport)
    }

    /// A game address of the match's news as the plan names it: the UDP
    /// socket on the LAN, the WebRTC peer (written by the room's shell as
    /// an IPv6 address) online.
    fn news_addr(&self, addr: std::net::SocketAddr) -> PeerAddr {
        #[cfg(feature = "rendezvous")]
        if self.code.is_some() {
            return match addr.ip() {
                std::net::IpAddr::V6(v6) => PeerAddr::WebRtc(u128::from(v6)),
                std::net::IpAddr::V4(v4) => PeerAddr::WebRtc(u128::from(v4.to_ipv6_mapped())),
            };
        }
        PeerAddr::Udp(addr)
    }
}

/// Makes the next key epoch's game transports on what the match runs over
/// (a rejoin or late join), while the running epoch's goes on.
#[derive(Debug)]
pub(super) enum EpochShare {
    /// The lobby's game UDP socket (LAN).
    Udp(EpochLinkShare<UdpLink>),
    /// The game channel of the room's WebRTC link (online).
    #[cfg(feature = "rendezvous")]
    WebRtc(EpochLinkShare<GameChannel>),
}

impl EpochShare {
    /// The next epoch's transport for `plan`.
    pub(super) fn next_epoch(&self, plan: &MatchPlan) -> Result<GameTransport, TransportError> {
        match self {
            EpochShare::Udp(s) => GameTransport::udp_next_epoch(s, plan),
            #[cfg(feature = "rendezvous")]
            EpochShare::WebRtc(s) => GameTransport::webrtc_next_epoch(s, plan),
        }
    }
}
