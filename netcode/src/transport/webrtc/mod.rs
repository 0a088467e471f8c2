//! [`WebRtcTransport`]: authenticated game datagrams over a matchbox WebRTC
//! data channel, a GGRS socket for the internet path (feature `webrtc`).
//!
//! The datagrams are exactly those of [`UdpTransport`](super::UdpTransport):
//! the same [`AuthTransport`] layer (header, BLAKE3 tag, replay window,
//! counters) over [`GameChannel`], the link's unreliable [`GAME_CHANNEL`] as
//! a [`DatagramLink`]. The transport decodes them itself:
//! matchbox's own `ggrs_socket` calls `expect` on peer bytes, so one bad
//! packet would crash the game; here every packet that is too large, from a
//! peer not in the match, of another match or version, fails authentication,
//! names another sender, or is a replay is dropped and counted by
//! [`DropReason`]. Packets waiting between polls
//! are bounded (see [`backlog`](super::backlog)): strangers' and oversized
//! packets never queue, and a flood past [`MAX_BACKLOG`] is dropped as
//! [`DropReason::BacklogFull`].
//!
//! ```no_run
//! # use nearplay_netcode::prelude::*;
//! # use nearplay_netcode::transport::webrtc::{WebRtcConfig, WebRtcLink, WebRtcTransport};
//! # struct Cfg;
//! # impl ggrs::Config for Cfg { type Input = u8; type InputPredictor = ggrs::PredictRepeatLast; type State = u64; type Address = PeerAddr; }
//! # fn run(plan: MatchPlan) -> Result<(), Box<dyn std::error::Error>> {
//! // The link was opened for the lobby (its peers are the plan's WebRtc addresses).
//! let link = WebRtcLink::connect("ws://127.0.0.1:3536/ABCDEF", &WebRtcConfig::default())?;
//! // ... lobby over link.send(RELIABLE_CHANNEL, ..) until the plan arrives ...
//! let transport = WebRtcTransport::from_plan(link, &plan)?;
//! let (session, monitor) = NetSessionBuilder::<Cfg>::from_plan(&plan).build_monitored(transport)?;
//! # Ok(()) }
//! ```

mod link;

use super::TransportError;
use super::auth::AuthTransport;
use super::backlog::{Backlog, MAX_BACKLOG};
use super::link::DatagramLink;
use crate::addr::PeerAddr;
use crate::spectate::{SpectatePort, SpectateTap};
use crate::stats::TrafficCounters;
use crate::wire::DropReason;

pub use link::{
    GAME_CHANNEL, LinkExit, MAX_PENDING_PEER_CHANGES, PeerChange, RELIABLE_CHANNEL, WebRtcConfig,
    WebRtcLink, peer_to_u128, u128_to_peer,
};

/// A GGRS socket over the game channel of a [`WebRtcLink`]; built with
/// [`from_plan`](AuthTransport::from_plan) (every remote member must have a
/// [`PeerAddr::WebRtc`] address) or [`new`](AuthTransport::new).
pub type WebRtcTransport = AuthTransport<GameChannel>;

impl WebRtcTransport {
    /// The link underneath, e.g. to watch peer changes or its
    /// [`exit`](WebRtcLink::exit) (a contained matchbox panic shows there).
    pub fn link_mut(&mut self) -> &mut WebRtcLink {
        &mut self.link.link
    }

    /// The port of the spectator stream over this game channel (see
    /// [`SpectatePort`]): from now on, packets starting with
    /// [`SPECTATE_PREFIX`](crate::spectate::SPECTATE_PREFIX) go to it, not
    /// to the game. Call before the transport moves into its session.
    pub fn spectate_port(&mut self) -> SpectatePort {
        self.link.shared_spectate_port()
    }

    /// The game channel itself, as the spectate port of a member that
    /// plays no session (a spectator).
    pub fn into_spectate_port(self) -> SpectatePort {
        self.link.own_spectate_port()
    }
}

/// The unreliable [`GAME_CHANNEL`] of a [`WebRtcLink`] as a
/// [`DatagramLink`]: peers are WebRTC ids.
///
/// matchbox hands over everything received at once; what the layer's
/// pre-check admits (members' packets, not too large) waits in a
/// [`Backlog`] of at most [`MAX_BACKLOG`] packets, the rest is dropped and
/// counted. It also notes in the counters when the rendezvous server lets go
/// of us (see [`TrafficCounters::signaling_closed`]).
#[derive(Debug)]
pub struct GameChannel {
    link: WebRtcLink,
    backlog: Backlog<matchbox_socket::Packet>,
    /// The packet `recv` handed out last (borrowed by the layer until the next call).
    current: Option<matchbox_socket::Packet>,
    /// Our own peer id: the server names it in a `PeerLeft` when it shuts down.
    me: Option<u128>,
    /// Where spectate packets go, once a spectate port was taken.
    tap: Option<SpectateTap>,
}

impl From<WebRtcLink> for GameChannel {
    fn from(mut link: WebRtcLink) -> Self {
        let me = link.id();
        GameChannel {
            link,
            backlog: Backlog::new(MAX_BACKLOG),
            current: None,
            me,
            tap: None,
        }
    }
}

impl GameChannel {
    /// The spectate port sharing this channel (see
    /// [`WebRtcTransport::spectate_port`]); also what an epoch-shared
    /// channel gives (`GameTransport::WebRtcEpoch`).
    pub(crate) fn shared_spectate_port(&mut self) -> SpectatePort {
        let tap = self.tap.get_or_insert_with(SpectateTap::default).clone();
        SpectatePort::WebRtc {
            link: self.link.clone(),
            tap,
            owned: false,
        }
    }

    /// The channel as a spectator's own port.
    pub(crate) fn own_spectate_port(&self) -> SpectatePort {
        SpectatePort::WebRtc {
            link: self.link.clone(),
            tap: SpectateTap::default(),
            owned: true,
        }
    }

    /// Notes in the counters when the rendezvous server lets go of us: it
    /// says `PeerLeft` with our own id as it shuts down, or the signaling
    /// connection ends. Other peers' changes are GGRS's business.
    fn watch_signaling(&mut self, counters: &TrafficCounters) {
        if self.me.is_none() {
            self.me = self.link.id();
        }
        let me = self.me;
        let named_us = self
            .link
            .poll_peers()
            .into_iter()
            .any(|c| matches!(c, PeerChange::Disconnected(p) if Some(p) == me));
        if named_us || self.link.exit().is_some() {
            counters.record_signaling_closed();
        }
    }
}

impl DatagramLink for GameChannel {
    type Peer = u128;

    fn peer_of(addr: &PeerAddr) -> Option<u128> {
        match *addr {
            PeerAddr::WebRtc(id) => Some(id),
            _ => None,
        }
    }

    fn addr_of(peer: u128) -> PeerAddr {
        PeerAddr::WebRtc(peer)
    }

    fn wrong_transport(handle: usize) -> TransportError {
        TransportError::NotWebRtc { handle }
    }

    fn duplicate(peer: u128) -> TransportError {
        TransportError::DuplicatePeer {
            addr: PeerAddr::WebRtc(peer),
        }
    }

    fn send(&mut self, to: u128, datagram: &[u8]) -> bool {
        self.link.send(GAME_CHANNEL, to, datagram)
    }

    fn begin_poll(
        &mut self,
        admit: &dyn Fn(u128, usize) -> Result<(), DropReason>,
        counters: &TrafficCounters,
    ) {
        self.watch_signaling(counters);
        let mut arrived = self.link.receive(GAME_CHANNEL);
        if let Some(tap) = &self.tap {
            // The spectator stream's, from members: diverted (bounded)
            // before the game sees them. A stranger's goes on to the
            // layer's check, which drops and counts it.
            arrived.retain(|(peer, packet)| {
                admit(*peer, 0).is_err() || !tap.divert(PeerAddr::WebRtc(*peer), packet)
            });
        }
        self.backlog.admit(arrived, admit, counters);
    }

    fn recv(&mut self) -> Option<(u128, &[u8])> {
        let (peer, packet) = self.backlog.pop()?;
        let packet = self.current.insert(packet);
        Some((peer, &packet[..]))
    }
}
