//! Shared traffic and drop counters, and the rollback histogram.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::addr::PeerAddr;
use crate::wire::DropReason;

/// Bytes and datagrams exchanged with one peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerTraffic {
    /// Bytes sent to the peer (our datagrams, without IP/UDP headers).
    pub bytes_sent: u64,
    /// Bytes accepted from the peer.
    pub bytes_received: u64,
    /// Datagrams sent to the peer.
    pub datagrams_sent: u64,
    /// Datagrams accepted from the peer.
    pub datagrams_received: u64,
}

/// Counters a transport updates and a monitor reads, shared across threads.
///
/// Cloning shares the same counters (it is an [`Arc`] inside), so a game
/// keeps a clone before moving the transport into the session.
#[derive(Debug, Clone, Default)]
pub struct TrafficCounters {
    inner: Arc<CountersInner>,
}

#[derive(Debug, Default)]
struct CountersInner {
    peers: Mutex<BTreeMap<PeerAddr, PeerTraffic>>,
    drops: [AtomicU64; DropReason::ALL.len()],
    signaling_closed: AtomicBool,
}

impl TrafficCounters {
    /// Fresh counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one datagram of `bytes` sent to `peer`.
    pub fn record_sent(&self, peer: PeerAddr, bytes: usize) {
        self.with_peer(peer, |t| {
            t.bytes_sent += bytes as u64;
            t.datagrams_sent += 1;
        });
    }

    /// Counts one accepted datagram of `bytes` from `peer`.
    pub fn record_received(&self, peer: PeerAddr, bytes: usize) {
        self.with_peer(peer, |t| {
            t.bytes_received += bytes as u64;
            t.datagrams_received += 1;
        });
    }

    /// Counts one dropped datagram.
    pub fn record_drop(&self, reason: DropReason) {
        if let Some(c) = self.inner.drops.get(reason.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Notes that the rendezvous (signaling) server let go of this link,
    /// as it does when it shuts down: the match goes on peer to peer, only
    /// nobody new can be introduced. Set by the WebRTC transport.
    pub fn record_signaling_closed(&self) {
        self.inner.signaling_closed.store(true, Ordering::Relaxed);
    }

    /// Whether the transport saw its rendezvous server let go (see
    /// [`record_signaling_closed`](Self::record_signaling_closed)); always
    /// `false` on the LAN's UDP transport, which has no server.
    pub fn signaling_closed(&self) -> bool {
        self.inner.signaling_closed.load(Ordering::Relaxed)
    }

    /// Drops so far for `reason`.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.inner
            .drops
            .get(reason.index())
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Drops so far, by reason (every reason listed, zeros included).
    pub fn drop_counts(&self) -> DropCounts {
        DropCounts(DropReason::ALL.map(|r| (r, self.drops(r))))
    }

    /// Traffic so far with `peer`.
    pub fn peer(&self, peer: PeerAddr) -> PeerTraffic {
        self.lock().get(&peer).copied().unwrap_or_default()
    }

    /// Traffic so far with every peer seen.
    pub fn peers(&self) -> BTreeMap<PeerAddr, PeerTraffic> {
        self.lock().clone()
    }

    fn with_peer(&self, peer: PeerAddr, f: impl FnOnce(&mut PeerTraffic)) {
        f(self.lock().entry(peer).or_default());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PeerAddr, PeerTraffic>> {
        // Counters stay meaningful after a panic elsewhere: ignore poisoning.
        self.inner
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Dropped datagrams by reason, every reason present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropCounts(pub [(DropReason, u64); DropReason::ALL.len()]);

impl DropCounts {
    /// The count for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0.get(reason.index()).map_or(0, |(_, n)| *n)
    }

    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

impl Default for DropCounts {
    fn default() -> Self {
        DropCounts(DropReason::ALL.map(|r| (r, 0)))
    }
}

/// How many frames each rollback re-simulated, as a histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollbackHistogram {
    /// `counts[d]`: rollbacks of depth `d` frames (the last bucket holds
    /// deeper ones too).
    pub counts: [u64; Self::BUCKETS],
    /// Number of rollbacks.
    pub rollbacks: u64,
    /// Frames re-simulated in all rollbacks.
    pub frames_resimulated: u64,
    /// The deepest rollback seen.
    pub max_depth: u64,
}

impl RollbackHistogram {
    /// Buckets 0..=16; GGRS's prediction window rarely exceeds 16 frames.
    pub const BUCKETS: usize = 17;

    /// Records one rollback of `depth` frames.
    pub fn record(&mut self, depth: u64) {
        let bucket = usize::try_from(depth).map_or(Self::BUCKETS - 1, |d| d.min(Self::BUCKETS - 1));
        if let Some(c) = self.counts.get_mut(bucket) {
            *c += 1;
        }
        self.rollbacks += 1;
        self.frames_resimulated += depth;
        self.max_depth = self.max_depth.max(depth);
    }

    /// Mean depth of a rollback (0 if none).
    pub fn mean_depth(&self) -> f64 {
        if self.rollbacks == 0 {
            0.0
        } else {
            self.frames_resimulated as f64 / self.rollbacks as f64
        }
    }
}
