//! [`GameTransport`]: the transport a lobby hands over with its plan, UDP on
//! the LAN or WebRTC online, as one GGRS socket type.
//!
//! A game (or the Bevy plugin) stores one concrete type whatever path the
//! lobby took, and builds the session from it with
//! [`NetSessionBuilder::build_monitored`](crate::NetSessionBuilder::build_monitored)
//! or [`build_impaired`](crate::NetSessionBuilder::build_impaired).
//!
//! For a rematch the lobby keeps what the transport runs over: a clone of the
//! UDP socket (`UdpSocket::try_clone`) or of the `WebRtcLink`
//! handle (cheap, shared inside), and builds the next `GameTransport` from it.

use std::net::UdpSocket;

use ggrs::{Message, NonBlockingSocket};

use super::{
    AuthTransport, EpochLink, EpochLinkShare, Transport, TransportError, UdpLink, UdpTransport,
};
use crate::addr::PeerAddr;
use crate::plan::MatchPlan;
use crate::stats::TrafficCounters;

#[cfg(feature = "webrtc")]
use super::webrtc::{GameChannel, WebRtcLink, WebRtcTransport};

/// The game transport a lobby yields with its plan: UDP on the LAN, WebRTC
/// online. Both authenticate every datagram with the plan's key.
#[derive(Debug)]
pub enum GameTransport {
    /// Authenticated datagrams on the lobby's game UDP socket.
    Udp(UdpTransport),
    /// Authenticated datagrams on the lobby's game UDP socket, shared
    /// between key epochs ([`EpochLink`]): a resume (rejoin, late join)
    /// builds the next epoch's transport on the same socket with
    /// [`GameTransport::udp_next_epoch`] while this one still runs.
    UdpEpoch(AuthTransport<EpochLink<UdpLink>>),
    /// Authenticated datagrams on the room's WebRTC game channel.
    #[cfg(feature = "webrtc")]
    WebRtc(WebRtcTransport),
    /// Authenticated datagrams on the room's WebRTC game channel, shared
    /// between key epochs ([`EpochLink`]): the online twin of
    /// [`UdpEpoch`](Self::UdpEpoch), for a rejoin or late join by room
    /// code ([`GameTransport::webrtc_next_epoch`]).
    #[cfg(feature = "webrtc")]
    WebRtcEpoch(AuthTransport<EpochLink<GameChannel>>),
}

impl GameTransport {
    /// The UDP transport for `plan` over `socket` (every remote member must
    /// have a [`PeerAddr::Udp`] address); see [`UdpTransport::from_plan`].
    pub fn udp(socket: UdpSocket, plan: &MatchPlan) -> Result<Self, TransportError> {
        UdpTransport::from_plan(socket, plan).map(GameTransport::Udp)
    }

    /// The UDP transport for `plan` over `socket`, on an [`EpochLink`] whose
    /// share makes later epochs' transports on the same socket
    /// ([`udp_next_epoch`](Self::udp_next_epoch)).
    pub fn udp_epochs(
        socket: UdpSocket,
        plan: &MatchPlan,
    ) -> Result<(Self, EpochLinkShare<UdpLink>), TransportError> {
        let link = EpochLink::<UdpLink>::new(socket);
        let share = link.share();
        let t = AuthTransport::from_plan(link, plan)?;
        Ok((GameTransport::UdpEpoch(t), share))
    }

    /// The next key epoch's transport for `plan` on the socket behind
    /// `share`; the previous epoch's keeps running until it is dropped.
    pub fn udp_next_epoch(
        share: &EpochLinkShare<UdpLink>,
        plan: &MatchPlan,
    ) -> Result<Self, TransportError> {
        let link = share.next_epoch()?;
        AuthTransport::from_plan(link, plan).map(GameTransport::UdpEpoch)
    }

    /// The WebRTC transport for `plan` over `link` (every remote member must
    /// have a [`PeerAddr::WebRtc`] address); see [`WebRtcTransport::from_plan`].
    /// Pass a clone of the room's link to keep the room for a rematch.
    #[cfg(feature = "webrtc")]
    pub fn webrtc(link: WebRtcLink, plan: &MatchPlan) -> Result<Self, TransportError> {
        WebRtcTransport::from_plan(link, plan).map(GameTransport::WebRtc)
    }

    /// The WebRTC transport for `plan` over `link`'s game channel, on an
    /// [`EpochLink`] whose share makes later epochs' transports on the same
    /// channel ([`webrtc_next_epoch`](Self::webrtc_next_epoch)). One WebRTC
    /// connection per peer whatever the epoch: the room's link.
    #[cfg(feature = "webrtc")]
    pub fn webrtc_epochs(
        link: WebRtcLink,
        plan: &MatchPlan,
    ) -> Result<(Self, EpochLinkShare<GameChannel>), TransportError> {
        let link = EpochLink::<GameChannel>::new(link);
        let share = link.share();
        let t = AuthTransport::from_plan(link, plan)?;
        Ok((GameTransport::WebRtcEpoch(t), share))
    }

    /// The next key epoch's transport for `plan` on the channel behind
    /// `share`; the previous epoch's keeps running until it is dropped.
    #[cfg(feature = "webrtc")]
    pub fn webrtc_next_epoch(
        share: &EpochLinkShare<GameChannel>,
        plan: &MatchPlan,
    ) -> Result<Self, TransportError> {
        let link = share.next_epoch()?;
        AuthTransport::from_plan(link, plan).map(GameTransport::WebRtcEpoch)
    }

    /// The port of the spectator stream over the game socket or channel:
    /// see [`UdpTransport::spectate_port`] and, online,
    /// `WebRtcTransport::spectate_port`. `None` is kept for transports
    /// that carry no stream.
    pub fn spectate_port(&mut self) -> Option<std::io::Result<crate::spectate::SpectatePort>> {
        match self {
            GameTransport::Udp(t) => Some(t.spectate_port()),
            GameTransport::UdpEpoch(t) => Some(t.link.with_link(UdpLink::shared_spectate_port)),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtc(t) => Some(Ok(t.spectate_port())),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtcEpoch(t) => {
                Some(Ok(t.link.with_link(GameChannel::shared_spectate_port)))
            }
        }
    }

    /// The game socket or channel as the spectate port of a spectator (who
    /// plays no session).
    pub fn into_spectate_port(self) -> Option<crate::spectate::SpectatePort> {
        match self {
            GameTransport::Udp(t) => Some(t.into_spectate_port()),
            GameTransport::UdpEpoch(t) => t.link.with_link(|l| l.own_spectate_port()).ok(),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtc(t) => Some(t.into_spectate_port()),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtcEpoch(t) => Some(t.link.with_link(|l| l.own_spectate_port())),
        }
    }

    /// The transport's counters (shared: keep a clone before moving the
    /// transport into a session).
    pub fn counters(&self) -> TrafficCounters {
        match self {
            GameTransport::Udp(t) => t.counters(),
            GameTransport::UdpEpoch(t) => t.counters(),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtc(t) => t.counters(),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtcEpoch(t) => t.counters(),
        }
    }
}

impl From<UdpTransport> for GameTransport {
    fn from(t: UdpTransport) -> Self {
        GameTransport::Udp(t)
    }
}

#[cfg(feature = "webrtc")]
impl From<WebRtcTransport> for GameTransport {
    fn from(t: WebRtcTransport) -> Self {
        GameTransport::WebRtc(t)
    }
}

impl Transport for GameTransport {
    fn counters(&self) -> TrafficCounters {
        GameTransport::counters(self)
    }
}

impl NonBlockingSocket<PeerAddr> for GameTransport {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        match self {
            GameTransport::Udp(t) => t.send_to(msg, addr),
            GameTransport::UdpEpoch(t) => t.send_to(msg, addr),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtc(t) => t.send_to(msg, addr),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtcEpoch(t) => t.send_to(msg, addr),
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        match self {
            GameTransport::Udp(t) => t.receive_all_messages(),
            GameTransport::UdpEpoch(t) => t.receive_all_messages(),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtc(t) => t.receive_all_messages(),
            #[cfg(feature = "webrtc")]
            GameTransport::WebRtcEpoch(t) => t.receive_all_messages(),
        }
    }
}
