//! Transports: GGRS sockets over which a session runs.
//!
//! - [`auth`]: [`AuthTransport`], the one authenticated datagram layer
//!   (sealing, checks, replay window, counters, per-poll cap) over any
//!   [`link::DatagramLink`].
//! - [`udp`]: authenticated datagrams over one UDP socket (the LAN path).
//! - [`sim`]: an in-memory network for tests and for feeling bad networks.
//! - [`conditioner`]: latency, jitter, loss, duplication and reordering as a
//!   seeded wrapper ([`Conditioned`]) around any transport.
//! - `webrtc` (feature `webrtc`): the same authenticated datagrams over a
//!   matchbox WebRTC data channel, the internet path.
//! - [`game`]: [`GameTransport`], UDP or WebRTC as one type, what a lobby
//!   hands over with its plan.
//! - [`backlog`]: the bounded queue of packets awaiting authentication.
//! - [`epoch_link`]: [`EpochLink`], one link shared by the sessions of an
//!   old and a new key epoch while a player rejoins.

pub mod auth;
pub mod backlog;
pub mod conditioner;
pub mod epoch_link;
pub mod game;
mod ggrs_mirror;
mod input_tap;
pub mod link;
pub mod seat_inputs;
pub mod sim;
pub mod udp;
#[cfg(feature = "webrtc")]
pub mod webrtc;

use std::net::SocketAddr;

use ggrs::NonBlockingSocket;
use thiserror::Error;

use crate::addr::PeerAddr;
use crate::stats::TrafficCounters;

pub use auth::{AuthTransport, MAX_RECV_PER_POLL, MAX_WAIT};
pub use conditioner::{Conditioned, GilbertElliott, LinkConditioner, LinkProfile, SimRng};
pub use epoch_link::{EPOCH_QUEUE, EpochLink, EpochLinkShare, TooManyEpochs};
pub use game::GameTransport;
pub use input_tap::{HELD_REPORTS, InputTap};
pub use link::DatagramLink;
pub use seat_inputs::{FillError, HeldInputs, SeatInputs};
pub use sim::{SimLink, SimNetwork, SimTransport};
pub use udp::{UdpLink, UdpTransport};
#[cfg(feature = "webrtc")]
pub use webrtc::{GameChannel, WebRtcConfig, WebRtcLink, WebRtcTransport};

/// A GGRS socket over [`PeerAddr`] that counts its traffic, so a
/// [`NetMonitor`](crate::stats::NetMonitor) can report it.
pub trait Transport: NonBlockingSocket<PeerAddr> + 'static {
    /// The transport's shared counters.
    fn counters(&self) -> TrafficCounters;
}

/// Why a transport could not be created.
#[derive(Debug, Error)]
pub enum TransportError {
    /// The socket could not be configured (set non-blocking).
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// A member of the plan has no UDP address.
    #[error("member {handle} has no UDP address")]
    NotUdp {
        /// The member's handle.
        handle: usize,
    },
    /// A handle does not fit the 16-bit sender field of the wire header.
    #[error("handle {handle} is out of range")]
    HandleOutOfRange {
        /// The handle.
        handle: usize,
    },
    /// A member of the plan has no WebRTC address.
    #[error("member {handle} has no WebRTC address")]
    NotWebRtc {
        /// The member's handle.
        handle: usize,
    },
    /// A member of the plan has no simulated-network address.
    #[error("member {handle} has no simulated-network address")]
    NotSim {
        /// The member's handle.
        handle: usize,
    },
    /// Two members share one peer address.
    #[error("two members share the address {addr}")]
    DuplicatePeer {
        /// The shared address.
        addr: PeerAddr,
    },
    /// Two members share one UDP address, so datagrams could not be told apart.
    #[error("two members share the address {addr}")]
    DuplicateAddress {
        /// The shared address.
        addr: SocketAddr,
    },
    /// The shared link already carries as many epochs as it may.
    #[error(transparent)]
    TooManyEpochs(#[from] TooManyEpochs),
}

/// A player handle as the wire's 16-bit sender field.
pub(crate) fn wire_handle(handle: usize) -> Result<u16, TransportError> {
    u16::try_from(handle).map_err(|_| TransportError::HandleOutOfRange { handle })
}
