//! [`SpectatePort`]: where spectate datagrams go in and out. A spectator
//! owns its game socket (it plays no GGRS session); a player shares its game
//! socket with its session: spectate datagrams carry one byte of prefix,
//! [`SPECTATE_PREFIX`], which the game link diverts into a bounded
//! [`SpectateTap`] before the authenticated game layer sees them. So the
//! plan's one address per member serves both, and no port is added.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};

use crate::wire::{MAX_DATAGRAM, WIRE_VERSION};

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
type Diverted = (SocketAddr, Vec<u8>);

impl SpectateTap {
    /// Takes a datagram (its prefix already removed); `false` when full or
    /// too large (dropped).
    pub fn offer(&self, from: SocketAddr, datagram: &[u8]) -> bool {
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
    pub fn take(&self) -> Option<(SocketAddr, Vec<u8>)> {
        self.0.lock().ok()?.pop_front()
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
            SpectatePort::Shared { .. } => Ok(()),
        }
    }

    /// The local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            SpectatePort::Own(socket) | SpectatePort::Shared { socket, .. } => socket.local_addr(),
        }
    }

    /// Sends `datagram` with the prefix in front; the bytes sent.
    pub(super) fn send(&self, datagram: &[u8], to: SocketAddr, buf: &mut Vec<u8>) -> Option<usize> {
        buf.clear();
        buf.push(SPECTATE_PREFIX);
        buf.extend_from_slice(datagram);
        let socket = match self {
            SpectatePort::Own(socket) | SpectatePort::Shared { socket, .. } => socket,
        };
        socket.send_to(buf, to).ok()
    }

    /// The next spectate datagram (prefix removed) into `out`, and its
    /// sender; `None` when nothing waits. Datagrams without the prefix, or
    /// too large, are skipped and counted in `skipped`.
    pub(super) fn recv(&mut self, out: &mut Vec<u8>, skipped: &mut u64) -> Option<SocketAddr> {
        match self {
            SpectatePort::Shared { tap, .. } => {
                let (from, bytes) = tap.take()?;
                out.clear();
                out.extend_from_slice(&bytes);
                Some(from)
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
                        Some((&SPECTATE_PREFIX, rest)) if rest.len() <= MAX_DATAGRAM => {
                            out.clear();
                            out.extend_from_slice(rest);
                            return Some(from);
                        }
                        _ => *skipped += 1,
                    }
                }
                None
            }
        }
    }
}
