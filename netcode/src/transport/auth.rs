//! [`AuthTransport`]: the one authenticated datagram layer, over any
//! [`DatagramLink`]. A GGRS socket.
//!
//! It seals what GGRS sends (see [`wire`](crate::wire)), and drops, counting
//! by [`DropReason`], every received datagram that is too large, truncated,
//! from a peer that is no member, of another match or version, fails
//! authentication, names another sender than its source, or is a replay.
//! A poll hands GGRS at most [`MAX_RECV_PER_POLL`] datagrams, so a flood can
//! never hold the game loop; links that queue packets bound what waits
//! (see [`backlog`](super::backlog)).

use std::collections::BTreeMap;

use ggrs::{Message, NonBlockingSocket};

use super::link::DatagramLink;
use super::{Transport, TransportError};
use crate::addr::PeerAddr;
use crate::plan::{MatchId, MatchKey, MatchPlan};
use crate::stats::TrafficCounters;
use crate::wire::{DropReason, MAX_DATAGRAM, ReplayGuard, SendFailure, WireCodec, WireError};

/// Datagrams authenticated per `receive_all_messages` call at most; the
/// rest waits (in the socket, or a link's bounded backlog) for the next.
pub const MAX_RECV_PER_POLL: usize = 4096;

/// What the layer keeps per member.
#[derive(Debug)]
struct Member {
    /// The member's handle (the wire's sender field).
    handle: u16,
    /// Our next sequence number towards this member.
    next_seq: u32,
}

/// GGRS messages sealed with the match key over a [`DatagramLink`].
///
/// [`UdpTransport`](super::UdpTransport) and `WebRtcTransport` are this type
/// over a UDP socket and over a WebRTC game channel.
pub struct AuthTransport<L: DatagramLink> {
    pub(crate) link: L,
    codec: WireCodec,
    local_handle: u16,
    members: BTreeMap<L::Peer, Member>,
    replay: ReplayGuard,
    counters: TrafficCounters,
    send_buf: Vec<u8>,
}

impl<L: DatagramLink> std::fmt::Debug for AuthTransport<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthTransport")
            .field("codec", &self.codec)
            .field("local_handle", &self.local_handle)
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

impl<L: DatagramLink> AuthTransport<L> {
    /// A transport for the plan's match over `link`: every player and
    /// spectator except the local member is a peer, and every one of them
    /// must have an address of this link's kind.
    pub fn from_plan(link: impl Into<L>, plan: &MatchPlan) -> Result<Self, TransportError> {
        let mut peers = Vec::new();
        for (handle, addr) in plan.remote_members() {
            peers.push((handle, L::peer_of(&addr).ok_or(L::wrong_transport(handle))?));
        }
        Self::new(link, plan.match_id, &plan.key, plan.local_handle, peers)
    }

    /// A transport for games that bring their own peers: the match id and
    /// key every member shares, the local handle, and each peer's handle
    /// and address on the link.
    pub fn new(
        link: impl Into<L>,
        match_id: MatchId,
        key: &MatchKey,
        local_handle: usize,
        peers: impl IntoIterator<Item = (usize, L::Peer)>,
    ) -> Result<Self, TransportError> {
        let mut link = link.into();
        link.prepare()?;
        let mut members = BTreeMap::new();
        for (handle, peer) in peers {
            let member = Member {
                handle: super::wire_handle(handle)?,
                next_seq: 0,
            };
            if members.insert(peer, member).is_some() {
                return Err(L::duplicate(peer));
            }
        }
        Ok(AuthTransport {
            link,
            codec: WireCodec::new(match_id, key),
            local_handle: super::wire_handle(local_handle)?,
            members,
            replay: ReplayGuard::new(),
            counters: TrafficCounters::new(),
            send_buf: Vec::with_capacity(MAX_DATAGRAM),
        })
    }

    /// The transport's counters (shared: keep a clone before moving the
    /// transport into a session).
    pub fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }

    fn try_send(&mut self, msg: &Message, addr: &PeerAddr) -> Result<usize, WireError> {
        // GGRS sends only to the plan's members; anything else is refused.
        let member = L::peer_of(addr)
            .and_then(|peer| Some(peer).zip(self.members.get_mut(&peer)))
            .ok_or(WireError::Send(SendFailure::WrongTransport))?;
        let (peer, member) = member;
        let seq = member.next_seq;
        member.next_seq = seq
            .checked_add(1)
            .ok_or(WireError::Send(SendFailure::SeqExhausted))?;
        self.codec
            .seal(self.local_handle, seq, msg, &mut self.send_buf)?;
        if self.link.send(peer, &self.send_buf) {
            Ok(self.send_buf.len())
        } else {
            Err(WireError::Send(SendFailure::Io))
        }
    }
}

/// Checks one datagram from `peer`: size, membership, then the wire's checks
/// with the replay window and the member's handle.
fn accept<P: Ord>(
    members: &BTreeMap<P, Member>,
    codec: &WireCodec,
    replay: &mut ReplayGuard,
    peer: P,
    datagram: &[u8],
) -> Result<Message, WireError> {
    let len = datagram.len();
    if len > MAX_DATAGRAM {
        return Err(WireError::TooLarge { len });
    }
    let member = members.get(&peer).ok_or(WireError::UnknownAddress)?;
    let (_, msg) = codec.open_checked(datagram, replay, Some(member.handle))?;
    Ok(msg)
}

/// The cheap pre-check before anything is queued or verified.
fn admit<P: Ord>(members: &BTreeMap<P, Member>, peer: &P, len: usize) -> Result<(), DropReason> {
    if len > MAX_DATAGRAM {
        Err(DropReason::TooLarge)
    } else if !members.contains_key(peer) {
        Err(DropReason::UnknownAddress)
    } else {
        Ok(())
    }
}

impl<L: DatagramLink> Transport for AuthTransport<L> {
    fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }
}

impl<L: DatagramLink> NonBlockingSocket<PeerAddr> for AuthTransport<L> {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        match self.try_send(msg, addr) {
            Ok(n) => self.counters.record_sent(*addr, n),
            Err(e) => self.counters.record_drop(e.reason()),
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        let members = &self.members;
        self.link
            .begin_poll(&|peer, len| admit(members, &peer, len), &self.counters);
        let mut out = Vec::new();
        for _ in 0..MAX_RECV_PER_POLL {
            let Some((peer, datagram)) = self.link.recv() else {
                break;
            };
            match accept(members, &self.codec, &mut self.replay, peer, datagram) {
                Ok(msg) => {
                    let addr = L::addr_of(peer);
                    self.counters.record_received(addr, datagram.len());
                    out.push((addr, msg));
                }
                Err(e) => self.counters.record_drop(e.reason()),
            }
        }
        out
    }
}
