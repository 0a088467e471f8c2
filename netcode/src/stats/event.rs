//! [`NetEvent`]: GGRS events in nearplay's terms.

use ggrs::{Config, GgrsEvent};

use crate::addr::PeerAddr;

/// What happened on the network, mapped from GGRS events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetEvent {
    /// Handshake progress with a peer.
    Synchronizing {
        /// The peer.
        peer: PeerAddr,
        /// Roundtrips done.
        count: u32,
        /// Roundtrips needed.
        total: u32,
    },
    /// The handshake with a peer finished.
    Synchronized {
        /// The peer.
        peer: PeerAddr,
    },
    /// A peer was silent longer than the notify delay.
    NetworkInterrupted {
        /// The peer.
        peer: PeerAddr,
        /// Milliseconds left before it counts as disconnected.
        disconnect_timeout_ms: u64,
    },
    /// An interrupted peer is heard again.
    NetworkResumed {
        /// The peer.
        peer: PeerAddr,
    },
    /// A peer timed out or left, noticed by us or by another peer (see
    /// [`NetMonitor::drain_events`](crate::NetMonitor::drain_events)); its
    /// inputs are `Default` from now on.
    PeerDisconnected {
        /// The peer.
        peer: PeerAddr,
    },
    /// We run ahead of peers: skipping this many frames evens it out.
    WaitRecommendation {
        /// Frames to skip.
        skip_frames: u32,
    },
    /// The rendezvous server let go of this match's WebRTC link (it is
    /// shutting down): the match goes on peer to peer, nobody new can join.
    /// Raised by the transport, not GGRS, once (see
    /// [`NetMonitor::drain_events`](crate::NetMonitor::drain_events)).
    SignalingClosed,
    /// A peer's state checksum differs from ours at a confirmed frame.
    DesyncDetected {
        /// The frame compared.
        frame: i32,
        /// Our checksum.
        local_checksum: u128,
        /// The peer's checksum.
        remote_checksum: u128,
        /// The peer.
        peer: PeerAddr,
    },
}

impl<C: Config<Address = PeerAddr>> From<GgrsEvent<C>> for NetEvent {
    fn from(e: GgrsEvent<C>) -> Self {
        match e {
            GgrsEvent::Synchronizing { addr, total, count } => NetEvent::Synchronizing {
                peer: addr,
                count,
                total,
            },
            GgrsEvent::Synchronized { addr } => NetEvent::Synchronized { peer: addr },
            GgrsEvent::Disconnected { addr } => NetEvent::PeerDisconnected { peer: addr },
            GgrsEvent::NetworkInterrupted {
                addr,
                disconnect_timeout,
            } => NetEvent::NetworkInterrupted {
                peer: addr,
                disconnect_timeout_ms: u64::try_from(disconnect_timeout).unwrap_or(u64::MAX),
            },
            GgrsEvent::NetworkResumed { addr } => NetEvent::NetworkResumed { peer: addr },
            GgrsEvent::WaitRecommendation { skip_frames } => {
                NetEvent::WaitRecommendation { skip_frames }
            }
            GgrsEvent::DesyncDetected {
                frame,
                local_checksum,
                remote_checksum,
                addr,
            } => NetEvent::DesyncDetected {
                frame,
                local_checksum,
                remote_checksum,
                peer: addr,
            },
        }
    }
}
