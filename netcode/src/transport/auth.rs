//! [`AuthTransport`]: the one authenticated datagram layer, over any
//! [`DatagramLink`]. A GGRS socket.
//!
//! It seals what GGRS sends (see [`wire`](crate::wire)), and drops, counting
//! by [`DropReason`], every received datagram that is too large, truncated,
//! from a peer that is no member, of another version, fails authentication
//! (forged, of another match, from another member than its source), or is
//! a replay.
//!
//! Messages to one peer share datagrams: one that only acknowledges or keeps
//! alive waits for the next urgent one to the same peer (see
//! [`Batch`]), at most [`MAX_WAIT`] (then the first poll
//! after that sends it).
//! A poll hands GGRS at most [`MAX_RECV_PER_POLL`] datagrams, so a flood can
//! never hold the game loop; links that queue packets bound what waits
//! (see [`backlog`](super::backlog)).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ggrs::{Message, NonBlockingSocket};

use super::link::DatagramLink;
use super::{Transport, TransportError};
use crate::addr::PeerAddr;
use crate::plan::{MatchId, MatchKey, MatchPlan};
use crate::stats::TrafficCounters;
use crate::wire::{
    Batch, DropReason, MAX_DATAGRAM, ReplayWindow, Route, SendFailure, WireCodec, WireError,
    decode_payload, encode_message, is_urgent,
};

/// How long a message that only acknowledges or keeps alive waits for an
/// urgent one to the same peer: a little over one frame at 60 fps, so an
/// `InputAck` rides with the next `Input` (which carries its own ack frame
/// anyway). Urgent messages (inputs, time sync) never wait.
pub const MAX_WAIT: Duration = Duration::from_millis(20);

/// Datagrams authenticated per `receive_all_messages` call at most; the
/// rest waits (in the socket, or a link's bounded backlog) for the next.
pub const MAX_RECV_PER_POLL: usize = 4096;

/// What the layer keeps per member.
#[derive(Debug)]
struct Member {
    /// The member's handle.
    handle: u16,
    /// Our next sequence number towards this member.
    next_seq: u64,
    /// What we accepted from this member.
    window: ReplayWindow,
    /// Messages to this member waiting for company.
    batch: Batch,
    /// When the oldest of them was queued.
    waiting_since: Option<Instant>,
}

impl Member {
    fn new(handle: u16) -> Self {
        Member {
            handle,
            next_seq: 0,
            window: ReplayWindow::new(),
            batch: Batch::new(),
            waiting_since: None,
        }
    }
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
    counters: TrafficCounters,
    /// One message being encoded.
    encode_buf: Vec<u8>,
    /// One datagram being sealed.
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
            let member = Member::new(super::wire_handle(handle)?);
            if members.insert(peer, member).is_some() {
                return Err(L::duplicate(peer));
            }
        }
        Ok(AuthTransport {
            link,
            codec: WireCodec::new(match_id, key),
            local_handle: super::wire_handle(local_handle)?,
            members,
            counters: TrafficCounters::new(),
            encode_buf: Vec::with_capacity(MAX_DATAGRAM),
            send_buf: Vec::with_capacity(MAX_DATAGRAM),
        })
    }

    /// The transport's counters (shared: keep a clone before moving the
    /// transport into a session).
    pub fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }

    /// Adds `msg` to its member's batch; sends the batch if the message is
    /// urgent, or first if there is no room left beside it.
    fn queue(&mut self, msg: &Message, addr: &PeerAddr) -> Result<(), WireError> {
        // GGRS sends only to the plan's members; anything else is refused.
        let peer = L::peer_of(addr)
            .filter(|p| self.members.contains_key(p))
            .ok_or(WireError::Send(SendFailure::WrongTransport))?;
        self.encode_buf.clear();
        encode_message(msg, &mut self.encode_buf)?;
        let fits = self
            .members
            .get(&peer)
            .is_some_and(|m| m.batch.fits(&self.encode_buf));
        if !fits {
            self.flush(peer);
        }
        let member = self
            .members
            .get_mut(&peer)
            .ok_or(WireError::Send(SendFailure::WrongTransport))?;
        member.batch.push(&self.encode_buf)?;
        if is_urgent(&self.encode_buf) {
            self.flush(peer);
        } else if member.waiting_since.is_none() {
            member.waiting_since = Some(Instant::now());
        }
        Ok(())
    }

    /// Seals and sends what waits for `peer`, counting the datagram (or
    /// its failure, once per message lost).
    fn flush(&mut self, peer: L::Peer) {
        let Some(member) = self.members.get_mut(&peer) else {
            return;
        };
        if member.batch.is_empty() {
            return;
        }
        member.waiting_since = None;
        let lost = member.batch.len() as u64;
        let seq = member.next_seq;
        let route = Route {
            sender: self.local_handle,
            receiver: member.handle,
        };
        let result = if seq == u64::MAX {
            Err(WireError::Send(SendFailure::SeqExhausted))
        } else {
            member.next_seq += 1;
            self.codec
                .seal(route, seq, member.batch.payload(), &mut self.send_buf)
        };
        member.batch.clear();
        match result {
            Ok(()) if self.link.send(peer, &self.send_buf) => {
                self.counters
                    .record_sent(L::addr_of(peer), self.send_buf.len());
            }
            Ok(()) => self.record_lost(WireError::Send(SendFailure::Io), lost),
            Err(e) => self.record_lost(e, lost),
        }
    }

    /// Sends every batch that waited [`MAX_WAIT`] or longer by `now`.
    fn flush_stale(&mut self, now: Instant) {
        let waiting: Vec<L::Peer> = self
            .members
            .iter()
            .filter(|(_, m)| m.waiting_since.is_some_and(|t| now >= t + MAX_WAIT))
            .map(|(p, _)| *p)
            .collect();
        for peer in waiting {
            self.flush(peer);
        }
    }

    fn record_lost(&self, e: WireError, messages: u64) {
        for _ in 0..messages {
            self.counters.record_drop(e.reason());
        }
    }
}

/// Checks one datagram from `peer`: size, membership, then the wire's checks
/// with the member's replay window; returns its messages.
fn accept<P: Ord>(
    members: &mut BTreeMap<P, Member>,
    codec: &WireCodec,
    local_handle: u16,
    peer: P,
    datagram: &[u8],
) -> Result<Vec<Message>, WireError> {
    let len = datagram.len();
    if len > MAX_DATAGRAM {
        return Err(WireError::TooLarge { len });
    }
    let member = members.get_mut(&peer).ok_or(WireError::UnknownAddress)?;
    let route = Route {
        sender: member.handle,
        receiver: local_handle,
    };
    let (_, payload) = codec.open(datagram, route, &mut member.window)?;
    decode_payload(payload)
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
        if let Err(e) = self.queue(msg, addr) {
            self.counters.record_drop(e.reason());
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        // What waited long enough for company leaves alone.
        self.flush_stale(Instant::now());
        let members = &self.members;
        self.link
            .begin_poll(&|peer, len| admit(members, &peer, len), &self.counters);
        let mut out = Vec::new();
        for _ in 0..MAX_RECV_PER_POLL {
            let Some((peer, datagram)) = self.link.recv() else {
                break;
            };
            let len = datagram.len();
            match accept(
                &mut self.members,
                &self.codec,
                self.local_handle,
                peer,
                datagram,
            ) {
                Ok(msgs) => {
                    let addr = L::addr_of(peer);
                    self.counters.record_received(addr, len);
                    out.extend(msgs.into_iter().map(|m| (addr, m)));
                }
                Err(e) => self.counters.record_drop(e.reason()),
            }
        }
        out
    }
}
