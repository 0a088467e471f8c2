//! [`SpectatePort`]: where spectate datagrams go in and out. A spectator
//! owns its game socket (it plays no GGRS session); a player shares its game
//! socket with its session: spectate datagrams carry one byte of prefix,
//! [`SPECTATE_PREFIX`], which the game link diverts into a bounded
//! [`SpectateTap`] before the authenticated game layer sees them. So the
//! plan's one address per member serves both, and no port is added.
//!
//! Online (feature `webrtc`) the same holds on the room's WebRTC game
//! channel: a player's `GameChannel` diverts prefixed packets into a tap,
//! and a spectator reads the channel itself ([`SpectatePort::WebRtc`]).

use std::collections::VecDeque;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};

use crate::addr::PeerAddr;
use crate::wire::{MAX_DATAGRAM, WIRE_VERSION};

#[cfg(feature = "webrtc")]
use crate::transport::webrtc::{GAME_CHANNEL, WebRtcLink};

/// First byte of every spectate datagram (game datagrams start with
/// [`WIRE_VERSION`]).
pub const SPECTATE_PREFIX: u8 = 0xA5;
const _: () = assert!(SPECTATE_PREFIX != WIRE_VERSION);

/// Datagrams a tap holds at most; more are dropped (and resent by the
/// stream's acknowledgements).
pub const TAP_CAPACITY: usize = 1024;

/// Spectate datagrams diverted from a game socket, waiting for the spectate
/// shell: bounded ([`TAP_CAPACITY`]), shared between the game link (which
/// fills it) and the shell (which drains it).
#[derive(Debug, Clone, Default)]
pub struct SpectateTap(Arc<Mutex<VecDeque<Diverted>>>);

/// One diverted datagram and its sender.
type Diverted = (PeerAddr, Vec<u8>);

impl SpectateTap {
    /// Takes a datagram (its prefix already removed); `false` when full or
    /// too large (dropped).
    pub fn offer(&self, from: PeerAddr, datagram: &[u8]) -> bool {
        if datagram.len() > MAX_DATAGRAM {
            return false;
        }
        let Ok(mut queue) = self.0.lock() else {
            return false;
        };
        if queue.len() >= TAP_CAPACITY {
            return false;
        }
        queue.push_back((from, datagram.to_vec()));
        true
    }

    /// The oldest datagram waiting.
    pub fn take(&self) -> Option<(PeerAddr, Vec<u8>)> {
        self.0.lock().ok()?.pop_front()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.0.lock().map_or(true, |q| q.is_empty())
    }

    /// Offers `packet` if it is a spectate datagram (starts with
    /// [`SPECTATE_PREFIX`]); `true` when it was one (taken, or dropped for
    /// lack of room or size), `false` when it is the game's.
    pub fn divert(&self, from: PeerAddr, packet: &[u8]) -> bool {
        match packet.split_first() {
            Some((&SPECTATE_PREFIX, rest)) => {
                self.offer(from, rest);
                true
            }
            _ => false,
        }
    }
}

/// The spectate shell's way to the network.
#[derive(Debug)]
pub enum SpectatePort {
    /// A socket of its own (a spectator's game socket: it plays no session).
    Own(UdpSocket),
    /// A player's game socket, shared with its session: sends on a clone,
    /// receives what the game link diverted into the tap.
    Shared {
        /// A `try_clone` of the game socket.
        socket: UdpSocket,
        /// What the game link diverts.
        tap: SpectateTap,
    },
    /// The game channel of a room's WebRTC link (feature `webrtc`).
    #[cfg(feature = "webrtc")]
    WebRtc {
        /// A clone of the room's link (sends on [`GAME_CHANNEL`]).
        link: WebRtcLink,
        /// Spectate packets waiting: filled by the player's game channel
        /// (`owned == false`), or here from the channel itself.
        tap: SpectateTap,
        /// A spectator's: the port reads the game channel (no session does).
        owned: bool,
    },
}

impl From<UdpSocket> for SpectatePort {
    fn from(socket: UdpSocket) -> Self {
        SpectatePort::Own(socket)
    }
}

impl SpectatePort {
    /// Makes an own socket non-blocking.
    pub(super) fn prepare(&self) -> std::io::Result<()> {
        match self {
            SpectatePort::Own(socket) => socket.set_nonblocking(true),
            _ => Ok(()),
        }
    }

    /// The local address: the socket's, or our WebRTC id once the server
    /// gave it (an error before).
    pub fn local_addr(&self) -> std::io::Result<PeerAddr> {
        match self {
            SpectatePort::Own(socket) | SpectatePort::Shared { socket, .. } => {
                socket.local_addr().map(PeerAddr::Udp)
            }
            #[cfg(feature = "webrtc")]
            SpectatePort::WebRtc { link, .. } => link
                .clone()
                .id()
                .map(PeerAddr::WebRtc)
                .ok_or_else(|| std::io::Error::other("no WebRTC id yet")),
        }
    }

    /// Sends `datagram` with the prefix in front; the bytes sent. `None`
    /// when refused, or when `to` is of another transport than the port.
    pub(super) fn send(
        &mut self,
        datagram: &[u8],
        to: PeerAddr,
        buf: &mut Vec<u8>,
    ) -> Option<usize> {
        buf.clear();
        buf.push(SPECTATE_PREFIX);
        buf.extend_from_slice(datagram);
        match (self, to) {
            (
                SpectatePort::Own(socket) | SpectatePort::Shared { socket, .. },
                PeerAddr::Udp(to),
            ) => socket.send_to(buf, to).ok(),
            #[cfg(feature = "webrtc")]
            (SpectatePort::WebRtc { link, .. }, PeerAddr::WebRtc(id)) => {
                link.send(GAME_CHANNEL, id, buf).then_some(buf.len())
            }
            _ => None,
        }
    }

    /// The next spectate datagram (prefix removed) into `out`, and its
    /// sender; `None` when nothing waits. Datagrams read here without the
    /// prefix, too large, or not from a member (`is_member`) are skipped
    /// and counted in `skipped`.
    pub(super) fn recv(
        &mut self,
        out: &mut Vec<u8>,
        skipped: &mut u64,
        is_member: &dyn Fn(&PeerAddr) -> bool,
    ) -> Option<PeerAddr> {
        match self {
            SpectatePort::Shared { tap, .. } => take_into(tap, out),
            #[cfg(feature = "webrtc")]
            SpectatePort::WebRtc { link, tap, owned } => {
                if *owned && tap.is_empty() {
                    // matchbox hands over everything at once: members'
                    // packets that fit the tap wait there, the rest is
                    // dropped (a member's is resent by the stream's
                    // acknowledgements), so strangers cannot crowd it.
                    for (peer, packet) in link.receive(GAME_CHANNEL) {
                        let from = PeerAddr::WebRtc(peer);
                        let accepted = match packet.split_first() {
                            Some((&SPECTATE_PREFIX, rest)) if is_member(&from) => {
                                tap.offer(from, rest)
                            }
                            _ => false,
                        };
                        if !accepted {
                            *skipped += 1;
                        }
                    }
                }
                take_into(tap, out)
            }
            SpectatePort::Own(socket) => {
                let mut buf = [0u8; MAX_DATAGRAM + 2];
                for _ in 0..TAP_CAPACITY {
                    let (len, from) = match socket.recv_from(&mut buf) {
                        Ok(got) => got,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return None,
                        Err(_) => continue, // ICMP unreachable from a peer gone
                    };
                    match buf.get(..len).and_then(|d| d.split_first()) {
                        Some((&SPECTATE_PREFIX, rest))
                            if rest.len() <= MAX_DATAGRAM && is_member(&PeerAddr::Udp(from)) =>
                        {
                            out.clear();
                            out.extend_from_slice(rest);
                            return Some(PeerAddr::Udp(from));
                        }
                        _ => *skipped += 1,
                    }
                }
                None
            }
        }
    }
}

/// The oldest datagram of `tap` into `out`, and its sender.
fn take_into(tap: &SpectateTap, out: &mut Vec<u8>) -> Option<PeerAddr> {
    let (from, bytes) = tap.take()?;
    out.clear();
    out.extend_from_slice(&bytes);
    Some(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a game link's divert does with what a room or a LAN sends: game
    /// datagrams pass, spectate ones are taken up to the bound, oversized
    /// ones are dropped, and a flood never grows the tap past it.
    #[test]
    fn the_tap_takes_prefixed_packets_only_and_stays_bounded() {
        let tap = SpectateTap::default();
        let from = PeerAddr::WebRtc(7);
        assert!(!tap.divert(from, &[WIRE_VERSION, 1, 2]), "a game datagram");
        assert!(
            !tap.divert(from, &[]),
            "an empty packet is the game's to drop"
        );
        assert!(tap.is_empty());
        let mut huge = vec![SPECTATE_PREFIX];
        huge.resize(MAX_DATAGRAM + 2, 0);
        assert!(tap.divert(from, &huge), "taken off the game path...");
        assert!(tap.is_empty(), "...and dropped for its size");
        for i in 0..TAP_CAPACITY + 100 {
            assert!(tap.divert(from, &[SPECTATE_PREFIX, i as u8]));
        }
        let mut held = 0;
        while let Some((sender, bytes)) = tap.take() {
            assert_eq!((sender, bytes.len()), (from, 1));
            held += 1;
        }
        assert_eq!(held, TAP_CAPACITY);
    }
}
