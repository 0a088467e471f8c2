//! [`SpectateSocket`]: the I/O shell of the spectator stream over one UDP
//! socket, every datagram sealed by the authenticated [`wire`](crate::wire)
//! layer (BLAKE3 keyed with the match key, sequence numbers, replay window).
//!
//! Why datagrams and not the lobby connection: the lobby's TCP connection
//! goes through the host only, so a relay tree over it would make the host
//! upload to every spectator; datagrams reach any member directly, and the
//! stream's own cumulative acknowledgements resend what is lost (see
//! [`SpectateNode`]), without head-of-line blocking of a live stream.

use std::collections::BTreeMap;
use std::time::Instant;

use super::SpectateError;
use super::message::{FrameShape, SpectateMessage};
use super::node::SpectateNode;
use super::port::SpectatePort;
use crate::addr::PeerAddr;
use crate::plan::{MatchId, MatchKey, MatchPlan};
use crate::wire::{ReplayWindow, Route, WireCodec};

/// Datagrams read per [`SpectateSocket::pump`] at most; the rest waits.
pub const MAX_RECV_PER_PUMP: usize = 1024;

/// Members one socket knows at most: every player and every spectator a
/// match can have.
pub const MAX_SOCKET_MEMBERS: usize =
    crate::plan_check::MAX_PLAYERS + super::tree::MAX_SPECTATE_MEMBERS;

/// The match id spectate datagrams are sealed under: the match's own id,
/// domain-separated, so a spectate datagram never opens as a game datagram
/// of the same match (nor the other way round).
pub fn spectate_match_id(match_id: MatchId) -> MatchId {
    MatchId(match_id.0 ^ 0x5350_4543_5441_5445) // "SPECTATE"
}

/// One member of the stream: its handle and where its spectate socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpectateMember {
    /// Its handle in the plan.
    pub handle: u16,
    /// Where its spectate datagrams go: its game socket (UDP), or its
    /// WebRTC id in the room (the game channel).
    pub addr: PeerAddr,
}

#[derive(Debug)]
struct Peer {
    handle: u16,
    next_seq: u64,
    window: ReplayWindow,
}

/// One member's spectate socket (see the module documentation).
#[derive(Debug)]
pub struct SpectateSocket {
    port: SpectatePort,
    me: u16,
    codec: WireCodec,
    shape: FrameShape,
    max_frames: u32,
    peers: BTreeMap<PeerAddr, Peer>,
    addrs: BTreeMap<u16, PeerAddr>,
    bytes_sent: u64,
    datagrams_sent: u64,
    dropped: u64,
    scratch: Vec<u8>,
    sealed: Vec<u8>,
    framed: Vec<u8>,
}

impl SpectateSocket {
    /// A shell over `port` (a socket of its own is made non-blocking) for
    /// member `me` among `members`, sealing with `key` under
    /// [`spectate_match_id`]`(match_id)`.
    pub fn new(
        port: impl Into<SpectatePort>,
        me: u16,
        members: &[SpectateMember],
        match_id: MatchId,
        key: &MatchKey,
        shape: FrameShape,
        max_frames: u32,
    ) -> Result<Self, SpectateError> {
        let port = port.into();
        port.prepare()
            .map_err(|e| SpectateError::Io(e.to_string()))?;
        let mut peers = BTreeMap::new();
        let mut addrs = BTreeMap::new();
        for m in members.iter().filter(|m| m.handle != me) {
            let peer = Peer {
                handle: m.handle,
                next_seq: 0,
                window: ReplayWindow::new(),
            };
            if peers.insert(m.addr, peer).is_some() || addrs.insert(m.handle, m.addr).is_some() {
                return Err(SpectateError::BadRoster("two members at one address"));
            }
        }
        Ok(SpectateSocket {
            port,
            me,
            codec: WireCodec::new(spectate_match_id(match_id), key),
            shape,
            max_frames,
            peers,
            addrs,
            bytes_sent: 0,
            datagrams_sent: 0,
            dropped: 0,
            scratch: Vec::new(),
            sealed: Vec::new(),
            framed: Vec::new(),
        })
    }

    /// The shell of the local member of a checked `plan` (players and
    /// relay-fed spectators at UDP addresses or WebRTC ids, as `port`
    /// reaches them), over `port`.
    pub fn from_plan(
        port: impl Into<SpectatePort>,
        plan: &MatchPlan,
        shape: FrameShape,
        max_frames: u32,
    ) -> Result<Self, SpectateError> {
        let handle = |h: usize| u16::try_from(h).map_err(|_| SpectateError::BadRoster("handle"));
        let mut members = Vec::new();
        let players = plan.players.iter().map(|p| (p.handle, p.addr));
        let watching = plan
            .spectators
            .iter()
            .filter(|s| s.is_relayed())
            .map(|s| (s.handle, s.addr));
        for (h, addr) in players.chain(watching) {
            if matches!(addr, PeerAddr::Sim(_)) {
                return Err(SpectateError::BadRoster(
                    "a member is at no UDP address or WebRTC id",
                ));
            }
            members.push(SpectateMember {
                handle: handle(h)?,
                addr,
            });
        }
        let me = handle(plan.local_handle)?;
        Self::new(
            port,
            me,
            &members,
            plan.match_id,
            &plan.key,
            shape,
            max_frames,
        )
    }

    /// A member who came while the match runs (the lobby's news): its
    /// datagrams are taken from now on. Refused for our own handle, a
    /// handle or an address already a member's, or past
    /// [`MAX_SOCKET_MEMBERS`].
    pub fn add_member(&mut self, member: SpectateMember) -> Result<(), SpectateError> {
        if member.handle == self.me
            || self.addrs.contains_key(&member.handle)
            || self.peers.contains_key(&member.addr)
        {
            return Err(SpectateError::BadRoster(
                "a member already at that handle or address",
            ));
        }
        if self.peers.len() >= MAX_SOCKET_MEMBERS {
            return Err(SpectateError::BadRoster("too many members"));
        }
        let peer = Peer {
            handle: member.handle,
            next_seq: 0,
            window: ReplayWindow::new(),
        };
        self.peers.insert(member.addr, peer);
        self.addrs.insert(member.handle, member.addr);
        Ok(())
    }

    /// A member who left: nothing more is taken from or sent to it.
    pub fn remove_member(&mut self, handle: u16) {
        if let Some(addr) = self.addrs.remove(&handle) {
            self.peers.remove(&addr);
        }
    }

    /// The port's local address (a socket's, or our WebRTC id).
    pub fn local_addr(&self) -> std::io::Result<PeerAddr> {
        self.port.local_addr()
    }

    /// Bytes sent so far (whole datagrams, UDP payload).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// Datagrams sent so far.
    pub fn datagrams_sent(&self) -> u64 {
        self.datagrams_sent
    }

    /// Datagrams dropped so far: from strangers, forged, replayed, malformed.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Seals and sends `message` to member `to`; `false` if `to` is no
    /// member or the socket refused it (a full buffer: dropped, resent later).
    pub fn send(&mut self, to: u16, message: &SpectateMessage) -> bool {
        let Some(addr) = self.addrs.get(&to).copied() else {
            return false;
        };
        let Some(peer) = self.peers.get_mut(&addr) else {
            return false;
        };
        if message.encode(&mut self.scratch).is_err() {
            return false;
        }
        let route = Route {
            sender: self.me,
            receiver: to,
        };
        if self
            .codec
            .seal(route, peer.next_seq, &self.scratch, &mut self.sealed)
            .is_err()
        {
            return false;
        }
        peer.next_seq += 1;
        match self.port.send(&self.sealed, addr, &mut self.framed) {
            Some(n) => {
                self.bytes_sent += n as u64;
                self.datagrams_sent += 1;
                true
            }
            None => false,
        }
    }

    /// Reads what waits (at most [`MAX_RECV_PER_PUMP`] datagrams) into `out`
    /// as `(member, message)`, dropping everything not authentic, not new,
    /// not from a member or not a valid message of this match.
    pub fn recv(&mut self, out: &mut Vec<(u16, SpectateMessage)>) {
        let mut buf = Vec::new();
        for _ in 0..MAX_RECV_PER_PUMP {
            let peers = &self.peers;
            let is_member = |addr: &PeerAddr| peers.contains_key(addr);
            let Some(from) = self.port.recv(&mut buf, &mut self.dropped, &is_member) else {
                break;
            };
            let datagram = buf.as_slice();
            let Some(peer) = self.peers.get_mut(&from) else {
                self.dropped += 1;
                continue;
            };
            let route = Route {
                sender: peer.handle,
                receiver: self.me,
            };
            let Ok((_, payload)) = self.codec.open(datagram, route, &mut peer.window) else {
                self.dropped += 1;
                continue;
            };
            match SpectateMessage::decode(payload, self.shape, self.max_frames) {
                Ok(message) => out.push((peer.handle, message)),
                Err(_) => self.dropped += 1,
            }
        }
    }

    /// One turn of the shell: everything received goes to `node`, then
    /// everything `node` has to say is sent. Never blocks.
    pub fn pump(&mut self, node: &mut SpectateNode, now: Instant) {
        let mut messages = Vec::new();
        self.recv(&mut messages);
        for (from, message) in messages {
            node.handle(from, message, now);
        }
        let mut outgoing = Vec::new();
        node.poll(now, &mut outgoing);
        for (to, message) in outgoing {
            self.send(to, &message);
        }
    }
}
