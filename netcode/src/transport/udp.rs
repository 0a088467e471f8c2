//! [`UdpTransport`]: authenticated game datagrams over one non-blocking UDP
//! socket, a GGRS socket for the LAN.
//!
//! [`UdpLink`] is the socket as a [`DatagramLink`]; every check, the sealing
//! and the counters are [`AuthTransport`]'s, shared with WebRTC.

use crate::spectate::{SPECTATE_PREFIX, SpectatePort, SpectateTap, TAP_CAPACITY};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};

use super::TransportError;
use super::auth::AuthTransport;
use super::link::DatagramLink;
use crate::addr::PeerAddr;
use crate::wire::MAX_DATAGRAM;

/// Receive buffer: one byte more than the largest valid datagram, so an
/// oversized one is seen as such instead of silently truncated.
const RECV_BUF: usize = MAX_DATAGRAM + 1;

/// Socket errors skipped in a row before a `recv` gives up for this poll
/// (each is an ICMP error of an earlier send, or a signal).
const MAX_SKIPPED_ERRORS: usize = 64;

/// A GGRS socket over one already-bound UDP socket (set non-blocking).
///
/// The lobby binds the game socket and keeps it; the transport is built
/// from the socket and the [`MatchPlan`](crate::MatchPlan) with
/// [`from_plan`](AuthTransport::from_plan), or from the game's own
/// addresses with [`new`](AuthTransport::new). For a rematch over the same
/// port, pass a `try_clone` of the socket.
pub type UdpTransport = AuthTransport<UdpLink>;

impl UdpTransport {
    /// The local address of the socket.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.link.socket.local_addr()
    }

    /// The port of the spectator stream over this game socket (see
    /// [`SpectatePort`]): from now on, datagrams starting with
    /// [`SPECTATE_PREFIX`](crate::spectate::SPECTATE_PREFIX) go to it, not
    /// to the game. Call before the transport moves into its session.
    pub fn spectate_port(&mut self) -> std::io::Result<SpectatePort> {
        self.shared_spectate_port()
    }

    /// The game socket itself, as the spectate port of a member that plays
    /// no session (a spectator).
    pub fn into_spectate_port(self) -> SpectatePort {
        SpectatePort::Own(self.link.socket)
    }

    fn shared_spectate_port(&mut self) -> std::io::Result<SpectatePort> {
        self.link.shared_spectate_port()
    }
}

impl UdpLink {
    /// The spectate port sharing this socket (see
    /// [`UdpTransport::spectate_port`]).
    pub(crate) fn shared_spectate_port(&mut self) -> std::io::Result<SpectatePort> {
        let socket = self.socket.try_clone()?;
        let tap = self.tap.get_or_insert_with(SpectateTap::default).clone();
        Ok(SpectatePort::Shared { socket, tap })
    }

    /// A second handle on the socket, as a spectator's own port.
    pub(crate) fn own_spectate_port(&self) -> std::io::Result<SpectatePort> {
        Ok(SpectatePort::Own(self.socket.try_clone()?))
    }
}

/// One UDP socket as a [`DatagramLink`]: peers are socket addresses.
#[derive(Debug)]
pub struct UdpLink {
    socket: UdpSocket,
    recv_buf: Box<[u8; RECV_BUF]>,
    /// Where spectate datagrams go, once a spectate port was taken.
    tap: Option<SpectateTap>,
}

impl From<UdpSocket> for UdpLink {
    fn from(socket: UdpSocket) -> Self {
        UdpLink {
            socket,
            recv_buf: Box::new([0; RECV_BUF]),
            tap: None,
        }
    }
}

impl DatagramLink for UdpLink {
    type Peer = SocketAddr;

    fn peer_of(addr: &PeerAddr) -> Option<SocketAddr> {
        match *addr {
            PeerAddr::Udp(sa) => Some(sa),
            _ => None,
        }
    }

    fn addr_of(peer: SocketAddr) -> PeerAddr {
        PeerAddr::Udp(peer)
    }

    fn wrong_transport(handle: usize) -> TransportError {
        TransportError::NotUdp { handle }
    }

    fn duplicate(addr: SocketAddr) -> TransportError {
        TransportError::DuplicateAddress { addr }
    }

    fn prepare(&mut self) -> std::io::Result<()> {
        self.socket.set_nonblocking(true)
    }

    fn send(&mut self, to: SocketAddr, datagram: &[u8]) -> bool {
        self.socket.send_to(datagram, to).is_ok()
    }

    fn recv(&mut self) -> Option<(SocketAddr, &[u8])> {
        for _ in 0..MAX_SKIPPED_ERRORS + TAP_CAPACITY {
            match self.socket.recv_from(&mut self.recv_buf[..]) {
                Ok((len, src)) => {
                    let datagram = self.recv_buf.get(..len)?;
                    if let (Some(tap), Some((&SPECTATE_PREFIX, rest))) =
                        (&self.tap, datagram.split_first())
                    {
                        // The spectator stream's: diverted, bounded.
                        tap.offer(PeerAddr::Udp(src), rest);
                        continue;
                    }
                    return Some((src, self.recv_buf.get(..len)?));
                }
                // An ICMP port-unreachable from an earlier send (peer gone),
                // or a signal: harmless, keep draining.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::Interrupted
                    ) => {}
                // Nothing waits (WouldBlock), or the socket's own trouble:
                // stop for this frame, GGRS polls again next frame.
                Err(_) => return None,
            }
        }
        None
    }
}
