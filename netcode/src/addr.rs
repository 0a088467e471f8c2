//! [`PeerAddr`]: the one GGRS address type for every transport.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Where a peer is reached, whatever the transport.
///
/// A game declares one GGRS [`Config`](ggrs::Config) with `Address = PeerAddr`
/// and can then run a match over LAN UDP, WebRTC or the simulated network
/// without a second set of types; a match may one day mix transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PeerAddr {
    /// A UDP socket address on the LAN (or loopback).
    Udp(SocketAddr),
    /// A WebRTC peer, by the 128-bit peer id the signaling server assigned.
    WebRtc(u128),
    /// A node of the in-memory simulated network, by its index.
    Sim(u32),
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Udp(addr) => write!(f, "udp://{addr}"),
            PeerAddr::WebRtc(id) => write!(f, "webrtc://{id:032x}"),
            PeerAddr::Sim(node) => write!(f, "sim://{node}"),
        }
    }
}

impl From<SocketAddr> for PeerAddr {
    fn from(addr: SocketAddr) -> Self {
        PeerAddr::Udp(addr)
    }
}
