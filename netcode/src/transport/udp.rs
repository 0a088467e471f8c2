//! [`UdpTransport`]: authenticated game datagrams over one non-blocking UDP
//! socket, a GGRS socket for the LAN.
//!
//! A thin shell around [`WireCodec`]: it seals what GGRS sends, and drops
//! (counting by [`DropReason`](crate::wire::DropReason)) every received datagram that is too large,
//! truncated, from an unknown address, of another match or version, fails
//! authentication, names another sender than its source, or is a replay.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};

use ggrs::{Message, NonBlockingSocket};

use super::TransportError;
use crate::addr::PeerAddr;
use crate::plan::{MatchId, MatchKey, MatchPlan};
use crate::stats::TrafficCounters;
use crate::wire::{MAX_DATAGRAM, ReplayGuard, SendFailure, WireCodec, WireError};

/// Receive buffer: one byte more than the largest valid datagram, so an
/// oversized one is seen as such instead of silently truncated.
const RECV_BUF: usize = MAX_DATAGRAM + 1;

/// Receive at most this many datagrams per `receive_all_messages` call, so a
/// flood cannot hold the game loop.
const MAX_RECV_PER_POLL: usize = 4096;

/// A GGRS socket over one already-bound, non-blocking UDP socket.
///
/// The game binds its socket before joining a lobby (it announces the port),
/// then builds the transport from that socket and the [`MatchPlan`].
pub struct UdpTransport {
    socket: UdpSocket,
    codec: WireCodec,
    local_handle: u16,
    /// Member handle by source address.
    peers: BTreeMap<SocketAddr, u16>,
    /// Next sequence number per destination.
    next_seq: BTreeMap<SocketAddr, u32>,
    replay: ReplayGuard,
    counters: TrafficCounters,
    send_buf: Vec<u8>,
    recv_buf: Box<[u8; RECV_BUF]>,
}

impl std::fmt::Debug for UdpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpTransport")
            .field("socket", &self.socket)
            .field("codec", &self.codec)
            .field("local_handle", &self.local_handle)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl UdpTransport {
    /// A transport for the plan's match, over `socket` (bound by the game).
    ///
    /// Every player and spectator of the plan except the local member is a
    /// peer; all of them must have UDP addresses.
    pub fn from_plan(socket: UdpSocket, plan: &MatchPlan) -> Result<Self, TransportError> {
        let mut peers = Vec::new();
        for (handle, addr) in plan.remote_members() {
            let PeerAddr::Udp(sa) = addr else {
                return Err(TransportError::NotUdp { handle });
            };
            peers.push((handle, sa));
        }
        Self::new(socket, plan.match_id, &plan.key, plan.local_handle, peers)
    }

    /// A transport for games that bring their own addresses: the match id
    /// and key every member shares, the local handle, and each peer's handle
    /// and address.
    pub fn new(
        socket: UdpSocket,
        match_id: MatchId,
        key: &MatchKey,
        local_handle: usize,
        peers: impl IntoIterator<Item = (usize, SocketAddr)>,
    ) -> Result<Self, TransportError> {
        socket.set_nonblocking(true)?;
        let mut map = BTreeMap::new();
        for (handle, addr) in peers {
            if map.insert(addr, super::wire_handle(handle)?).is_some() {
                return Err(TransportError::DuplicateAddress { addr });
            }
        }
        Ok(UdpTransport {
            socket,
            codec: WireCodec::new(match_id, key),
            local_handle: super::wire_handle(local_handle)?,
            peers: map,
            next_seq: BTreeMap::new(),
            replay: ReplayGuard::new(),
            counters: TrafficCounters::new(),
            send_buf: Vec::with_capacity(MAX_DATAGRAM),
            recv_buf: Box::new([0; RECV_BUF]),
        })
    }

    /// The local address of the socket.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The transport's counters (shared: keep a clone before moving the
    /// transport into a session).
    pub fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }

    /// Checks one received datagram from `src`.
    fn accept(&mut self, src: SocketAddr, len: usize) -> Result<Message, WireError> {
        if len > MAX_DATAGRAM {
            return Err(WireError::TooLarge { len });
        }
        let datagram = self
            .recv_buf
            .get(..len)
            .ok_or(WireError::TooLarge { len })?;
        let Some(&expected) = self.peers.get(&src) else {
            return Err(WireError::UnknownAddress);
        };
        let (_, msg) = self
            .codec
            .open_checked(datagram, &mut self.replay, Some(expected))?;
        Ok(msg)
    }

    fn try_send(&mut self, msg: &Message, addr: &PeerAddr) -> Result<usize, WireError> {
        let PeerAddr::Udp(sa) = *addr else {
            return Err(WireError::Send(SendFailure::WrongTransport));
        };
        let seq = self.next_seq.entry(sa).or_insert(0);
        let this = *seq;
        *seq = seq
            .checked_add(1)
            .ok_or(WireError::Send(SendFailure::SeqExhausted))?;
        self.codec
            .seal(self.local_handle, this, msg, &mut self.send_buf)?;
        match self.socket.send_to(&self.send_buf, sa) {
            Ok(n) => Ok(n),
            Err(_) => Err(WireError::Send(SendFailure::Io)),
        }
    }
}

impl super::Transport for UdpTransport {
    fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }
}

impl NonBlockingSocket<PeerAddr> for UdpTransport {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        match self.try_send(msg, addr) {
            Ok(n) => self.counters.record_sent(*addr, n),
            Err(e) => self.counters.record_drop(e.reason()),
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        let mut out = Vec::new();
        for _ in 0..MAX_RECV_PER_POLL {
            match self.socket.recv_from(&mut self.recv_buf[..]) {
                Ok((len, src)) => match self.accept(src, len) {
                    Ok(msg) => {
                        self.counters.record_received(PeerAddr::Udp(src), len);
                        out.push((PeerAddr::Udp(src), msg));
                    }
                    Err(e) => self.counters.record_drop(e.reason()),
                },
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // An ICMP port-unreachable from an earlier send (peer gone):
                // harmless, keep draining.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // Anything else is the socket's trouble, not a datagram's:
                // stop for this frame, GGRS polls again next frame.
                Err(_) => break,
            }
        }
        out
    }
}
