//! [`DatagramLink`]: what the authenticated layer needs from a network path,
//! and nothing more: send a datagram to a peer, hand over the next one
//! received. UDP ([`UdpLink`](super::udp::UdpLink)) and the WebRTC game
//! channel (`GameChannel`, feature `webrtc`) implement it; every check,
//! the sealing, the replay window and the counters live once, in
//! [`AuthTransport`](super::AuthTransport).

use std::fmt::Debug;

use super::TransportError;
use crate::addr::PeerAddr;
use crate::stats::TrafficCounters;
use crate::wire::DropReason;

/// A path that moves opaque datagrams to and from peers, unauthenticated.
///
/// Implementations do no parsing and keep nothing the network can grow
/// beyond a fixed bound; they report where a datagram came from, and the
/// layer above decides whether it is worth anything.
pub trait DatagramLink: Send + Sync + 'static {
    /// A peer as this link addresses it (a socket address, a WebRTC id).
    type Peer: Copy + Ord + Debug + Send + Sync;

    /// This link's peer for a GGRS address; `None` for another transport's.
    fn peer_of(addr: &PeerAddr) -> Option<Self::Peer>;

    /// The GGRS address of `peer`.
    fn addr_of(peer: Self::Peer) -> PeerAddr;

    /// The error for a plan member whose address is of another transport.
    fn wrong_transport(handle: usize) -> TransportError;

    /// The error for two members at one peer address.
    fn duplicate(peer: Self::Peer) -> TransportError;

    /// Gets the link ready when the transport is built (e.g. non-blocking).
    fn prepare(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    /// Sends one datagram; `false` when the link refused it.
    fn send(&mut self, to: Self::Peer, datagram: &[u8]) -> bool;

    /// Called once at the start of each poll, before [`recv`](Self::recv).
    /// A link that is handed packets in batches queues them here, keeping
    /// only those `admit` accepts (the layer's member and size check) and
    /// counting every other one under the reason `admit` gives.
    fn begin_poll(
        &mut self,
        admit: &dyn Fn(Self::Peer, usize) -> Result<(), DropReason>,
        counters: &TrafficCounters,
    ) {
        let _ = (admit, counters);
    }

    /// The next datagram waiting and its sender, or `None` when nothing
    /// waits now. A datagram longer than
    /// [`MAX_DATAGRAM`](crate::wire::MAX_DATAGRAM) may be cut to one byte
    /// more than that (it is dropped as too large either way).
    fn recv(&mut self) -> Option<(Self::Peer, &[u8])>;
}
