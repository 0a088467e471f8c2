//! [`WebRtcTransport`]: authenticated game datagrams over a matchbox WebRTC
//! data channel, a GGRS socket for the internet path (feature `webrtc`).
//!
//! The datagrams are exactly those of [`UdpTransport`](super::UdpTransport)
//! (same [`WireCodec`] header, BLAKE3 tag and replay window), sent on the
//! link's unreliable [`GAME_CHANNEL`]. The transport decodes them itself:
//! matchbox's own `ggrs_socket` calls `expect` on peer bytes, so one bad
//! packet would crash the game; here every packet that is too large, from a
//! peer not in the match, of another match or version, fails authentication,
//! names another sender, or is a replay is dropped and counted by
//! [`DropReason`](crate::wire::DropReason). Packets waiting between polls
//! are bounded (see [`backlog`](super::backlog)): strangers' and oversized
//! packets never queue, and a flood past [`MAX_BACKLOG`] is dropped as
//! [`DropReason::BacklogFull`](crate::wire::DropReason::BacklogFull).
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

use std::collections::BTreeMap;

use ggrs::{Message, NonBlockingSocket};

use super::TransportError;
use super::backlog::{Backlog, MAX_BACKLOG};
use crate::addr::PeerAddr;
use crate::plan::{MatchId, MatchKey, MatchPlan};
use crate::stats::TrafficCounters;
use crate::wire::{MAX_DATAGRAM, ReplayGuard, SendFailure, WireCodec, WireError};

pub use link::{
    GAME_CHANNEL, LinkExit, MAX_PENDING_PEER_CHANGES, PeerChange, RELIABLE_CHANNEL, WebRtcConfig,
    WebRtcLink, peer_to_u128, u128_to_peer,
};

/// Accept at most this many packets per `receive_all_messages` call; the rest
/// stays queued for the next frame (at most [`MAX_BACKLOG`] of them), so a
/// flood can neither hold the game loop nor grow memory.
const MAX_RECV_PER_POLL: usize = MAX_BACKLOG;

/// A GGRS socket over the game channel of a [`WebRtcLink`].
pub struct WebRtcTransport {
    link: WebRtcLink,
    codec: WireCodec,
    local_handle: u16,
    /// Member handle by WebRTC peer id.
    peers: BTreeMap<u128, u16>,
    next_seq: BTreeMap<u128, u32>,
    replay: ReplayGuard,
    counters: TrafficCounters,
    send_buf: Vec<u8>,
    /// Received but not yet handed to GGRS (over the per-poll cap), bounded
    /// by [`MAX_BACKLOG`]; the excess is dropped and counted.
    backlog: Backlog<matchbox_socket::Packet>,
    /// Our own peer id: the server names it in a `PeerLeft` when it shuts
    /// down (see [`TrafficCounters::signaling_closed`]).
    me: Option<u128>,
}

impl std::fmt::Debug for WebRtcTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcTransport")
            .field("link", &self.link)
            .field("codec", &self.codec)
            .field("local_handle", &self.local_handle)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl WebRtcTransport {
    /// A transport for the plan's match over `link`: every player and
    /// spectator except the local member is a peer, and all of them must
    /// have [`PeerAddr::WebRtc`] addresses.
    pub fn from_plan(link: WebRtcLink, plan: &MatchPlan) -> Result<Self, TransportError> {
        let mut peers = Vec::new();
        for (handle, addr) in plan.remote_members() {
            let PeerAddr::WebRtc(id) = addr else {
                return Err(TransportError::NotWebRtc { handle });
            };
            peers.push((handle, id));
        }
        Self::new(link, plan.match_id, &plan.key, plan.local_handle, peers)
    }

    /// A transport for games that bring their own peers: the match id and
    /// key every member shares, the local handle, and each peer's handle and
    /// WebRTC peer id.
    pub fn new(
        mut link: WebRtcLink,
        match_id: MatchId,
        key: &MatchKey,
        local_handle: usize,
        peers: impl IntoIterator<Item = (usize, u128)>,
    ) -> Result<Self, TransportError> {
        let mut map = BTreeMap::new();
        for (handle, id) in peers {
            if map
                .insert(id, crate::transport::wire_handle(handle)?)
                .is_some()
            {
                return Err(TransportError::DuplicatePeer {
                    addr: PeerAddr::WebRtc(id),
                });
            }
        }
        let me = link.id();
        Ok(WebRtcTransport {
            link,
            codec: WireCodec::new(match_id, key),
            local_handle: crate::transport::wire_handle(local_handle)?,
            peers: map,
            next_seq: BTreeMap::new(),
            replay: ReplayGuard::new(),
            counters: TrafficCounters::new(),
            send_buf: Vec::with_capacity(MAX_DATAGRAM),
            backlog: Backlog::new(MAX_BACKLOG),
            me,
        })
    }

    /// The transport's counters (shared: keep a clone before moving the
    /// transport into a session).
    pub fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }

    /// The link underneath, e.g. to watch peer changes or its
    /// [`exit`](WebRtcLink::exit) (a contained matchbox panic shows there).
    pub fn link_mut(&mut self) -> &mut WebRtcLink {
        &mut self.link
    }

    /// Checks one packet received from `peer`.
    /// Notes in the counters when the rendezvous server lets go of us: it
    /// says `PeerLeft` with our own id as it shuts down, or the signaling
    /// connection ends. Other peers' changes are GGRS's business.
    fn watch_signaling(&mut self) {
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
            self.counters.record_signaling_closed();
        }
    }

    fn accept(&mut self, peer: u128, packet: &[u8]) -> Result<Message, WireError> {
        if packet.len() > MAX_DATAGRAM {
            return Err(WireError::TooLarge { len: packet.len() });
        }
        let Some(&expected) = self.peers.get(&peer) else {
            return Err(WireError::UnknownAddress);
        };
        let (_, msg) = self
            .codec
            .open_checked(packet, &mut self.replay, Some(expected))?;
        Ok(msg)
    }

    fn try_send(&mut self, msg: &Message, addr: &PeerAddr) -> Result<usize, WireError> {
        let PeerAddr::WebRtc(id) = *addr else {
            return Err(WireError::Send(SendFailure::WrongTransport));
        };
        let seq = self.next_seq.entry(id).or_insert(0);
        let this = *seq;
        *seq = seq
            .checked_add(1)
            .ok_or(WireError::Send(SendFailure::SeqExhausted))?;
        self.codec
            .seal(self.local_handle, this, msg, &mut self.send_buf)?;
        if self.link.send(GAME_CHANNEL, id, &self.send_buf) {
            Ok(self.send_buf.len())
        } else {
            Err(WireError::Send(SendFailure::Io))
        }
    }
}

impl super::Transport for WebRtcTransport {
    fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }
}

impl NonBlockingSocket<PeerAddr> for WebRtcTransport {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        match self.try_send(msg, addr) {
            Ok(n) => self.counters.record_sent(*addr, n),
            Err(e) => self.counters.record_drop(e.reason()),
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        self.watch_signaling();
        let arrived = self.link.receive(GAME_CHANNEL);
        let peers = &self.peers;
        self.backlog
            .admit(arrived, |p| peers.contains_key(&p), &self.counters);
        let mut out = Vec::new();
        for _ in 0..MAX_RECV_PER_POLL {
            let Some((peer, packet)) = self.backlog.pop() else {
                break;
            };
            match self.accept(peer, &packet) {
                Ok(msg) => {
                    self.counters
                        .record_received(PeerAddr::WebRtc(peer), packet.len());
                    out.push((PeerAddr::WebRtc(peer), msg));
                }
                Err(e) => self.counters.record_drop(e.reason()),
            }
        }
        out
    }
}
