//! [`EpochLink`]: one network path shared by the sessions of two key epochs.
//!
//! A rejoin or a late join starts a fresh GGRS session under a new match key
//! (a new *key epoch*, see [`resume`](crate::resume)) while the old session
//! still runs, so the players already in the match do not wait while the new
//! one synchronises. Both sessions must use the same socket (the lobby knows
//! one game port per member), so the link is shared: every handle of an
//! `EpochLink` sends through it, and every datagram received is handed to
//! every handle, whose [`AuthTransport`](super::AuthTransport) keeps what its
//! key authenticates. A datagram of the other epoch fails the tag there and
//! is dropped and counted as [`DropReason::BadTag`] (so during the overlap,
//! usually a second or less, each epoch's counters include the other
//! epoch's traffic). Once the old epoch's session is dropped, its handle
//! goes, and a datagram sealed with the old key is refused like any forgery.
//!
//! Bounds: each handle queues at most [`EPOCH_QUEUE`] datagrams (the rest is
//! dropped and counted as [`DropReason::BacklogFull`]); a poll moves at most
//! [`MAX_RECV_PER_POLL`](super::MAX_RECV_PER_POLL) datagrams off the link.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::TransportError;
use super::link::DatagramLink;
use crate::addr::PeerAddr;
use crate::stats::TrafficCounters;
use crate::wire::{DropReason, MAX_DATAGRAM};

/// Datagrams waiting for one handle of an [`EpochLink`] at most (1.2 MB).
pub const EPOCH_QUEUE: usize = 1024;

/// Handles of one link that exist at once at most (an old and a new epoch,
/// and one to spare for a resume that is replaced before it finished).
pub const MAX_EPOCH_HANDLES: usize = 3;

/// Datagrams (sender, bytes) waiting for one handle.
type Queue<P> = VecDeque<(P, Vec<u8>)>;

struct Shared<L: DatagramLink> {
    link: L,
    prepared: bool,
    queues: BTreeMap<u64, Queue<L::Peer>>,
    next_id: u64,
}

/// A handle on a link shared between key epochs; a [`DatagramLink`].
///
/// Build the first with [`EpochLink::new`], each later epoch's with
/// [`EpochLink::next_epoch`]. Dropping a handle stops its queue.
pub struct EpochLink<L: DatagramLink> {
    shared: Arc<Mutex<Shared<L>>>,
    id: u64,
    /// The datagram `recv` handed out last.
    current: Option<Vec<u8>>,
}

impl<L: DatagramLink> std::fmt::Debug for EpochLink<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochLink").field("id", &self.id).finish()
    }
}

/// Why [`EpochLink::next_epoch`] refused another handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{MAX_EPOCH_HANDLES} epochs already share this link")]
pub struct TooManyEpochs;

impl<L: DatagramLink> EpochLink<L> {
    /// The first handle on `link`.
    pub fn new(link: impl Into<L>) -> Self {
        let mut queues = BTreeMap::new();
        queues.insert(0, VecDeque::new());
        EpochLink {
            shared: Arc::new(Mutex::new(Shared {
                link: link.into(),
                prepared: false,
                queues,
                next_id: 1,
            })),
            id: 0,
            current: None,
        }
    }

    /// Another handle on the same link, for the next key epoch's transport.
    /// It sees only datagrams received from now on.
    pub fn next_epoch(&self) -> Result<Self, TooManyEpochs> {
        self.share().next_epoch()
    }

    /// A way to make later handles that receives nothing itself: what a
    /// game keeps once the first handle went into a transport.
    pub fn share(&self) -> EpochLinkShare<L> {
        EpochLinkShare {
            shared: Arc::clone(&self.shared),
        }
    }

    /// How many handles share the link now.
    pub fn handles(&self) -> usize {
        self.lock().queues.len()
    }

    /// Runs `f` on the shared link itself (a UDP link's spectate tap).
    pub(crate) fn with_link<R>(&self, f: impl FnOnce(&mut L) -> R) -> R {
        f(&mut self.lock().link)
    }

    fn lock(&self) -> MutexGuard<'_, Shared<L>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Makes handles on a shared link (see [`EpochLink::share`]); holds no
/// queue, so keeping it costs nothing while the link runs.
pub struct EpochLinkShare<L: DatagramLink> {
    shared: Arc<Mutex<Shared<L>>>,
}

impl<L: DatagramLink> std::fmt::Debug for EpochLinkShare<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochLinkShare").finish_non_exhaustive()
    }
}

impl<L: DatagramLink> EpochLinkShare<L> {
    /// A new handle on the link, for the next key epoch's transport. It
    /// sees only datagrams received from now on.
    pub fn next_epoch(&self) -> Result<EpochLink<L>, TooManyEpochs> {
        let mut guard = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.queues.len() >= MAX_EPOCH_HANDLES {
            return Err(TooManyEpochs);
        }
        let id = guard.next_id;
        guard.next_id += 1;
        guard.queues.insert(id, VecDeque::new());
        Ok(EpochLink {
            shared: Arc::clone(&self.shared),
            id,
            current: None,
        })
    }
}

impl<L: DatagramLink> Drop for EpochLink<L> {
    fn drop(&mut self) {
        self.lock().queues.remove(&self.id);
    }
}

impl<L: DatagramLink> DatagramLink for EpochLink<L> {
    type Peer = L::Peer;

    fn peer_of(addr: &PeerAddr) -> Option<L::Peer> {
        L::peer_of(addr)
    }

    fn addr_of(peer: L::Peer) -> PeerAddr {
        L::addr_of(peer)
    }

    fn wrong_transport(handle: usize) -> TransportError {
        L::wrong_transport(handle)
    }

    fn duplicate(peer: L::Peer) -> TransportError {
        L::duplicate(peer)
    }

    fn prepare(&mut self) -> std::io::Result<()> {
        let mut shared = self.lock();
        if !shared.prepared {
            shared.link.prepare()?;
            shared.prepared = true;
        }
        Ok(())
    }

    fn send(&mut self, to: L::Peer, datagram: &[u8]) -> bool {
        self.lock().link.send(to, datagram)
    }

    /// Moves what the link received into every handle's queue. Only the
    /// size is checked here: which peers are members depends on the epoch,
    /// and each epoch's transport checks that (and the tag) itself. (A link
    /// with its own backlog, the WebRTC channel, therefore also queues
    /// non-members' packets, within its own bound, until they are dropped
    /// as `UnknownAddress` above.)
    fn begin_poll(
        &mut self,
        _admit: &dyn Fn(L::Peer, usize) -> Result<(), DropReason>,
        counters: &TrafficCounters,
    ) {
        let mut guard = self.lock();
        let shared = &mut *guard;
        let size_only = |_: L::Peer, len: usize| {
            if len > MAX_DATAGRAM {
                Err(DropReason::TooLarge)
            } else {
                Ok(())
            }
        };
        shared.link.begin_poll(&size_only, counters);
        for _ in 0..super::MAX_RECV_PER_POLL {
            let Some((peer, bytes)) = shared.link.recv() else {
                break;
            };
            for queue in shared.queues.values_mut() {
                if queue.len() < EPOCH_QUEUE {
                    queue.push_back((peer, bytes.to_vec()));
                } else {
                    counters.record_drop(DropReason::BacklogFull);
                }
            }
        }
    }

    fn recv(&mut self) -> Option<(L::Peer, &[u8])> {
        let (peer, bytes) = self.lock().queues.get_mut(&self.id)?.pop_front()?;
        Some((peer, self.current.insert(bytes).as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{SimLink, SimNetwork};

    #[test]
    fn every_handle_sees_what_arrives_after_it_was_made() {
        let net = SimNetwork::new(1);
        let mut a = EpochLink::<SimLink>::new(net.datagram_link(0));
        let mut other = net.datagram_link(1);
        let counters = TrafficCounters::new();
        assert!(other.send(0, b"old"));
        let mut b = a.next_epoch().expect("second handle");
        assert!(other.send(0, b"both"));
        a.begin_poll(&|_, _| Ok(()), &counters);
        assert_eq!(
            a.recv().map(|(p, d)| (p, d.to_vec())),
            Some((1, b"old".to_vec()))
        );
        assert_eq!(a.recv().map(|(_, d)| d.to_vec()), Some(b"both".to_vec()));
        assert!(a.recv().is_none());
        // b was made after "old" was sent but before it was received: it
        // gets both; what matters is that nothing is lost for either.
        b.begin_poll(&|_, _| Ok(()), &counters);
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| b.recv().map(|(_, d)| d.to_vec())).collect();
        assert_eq!(got, vec![b"old".to_vec(), b"both".to_vec()]);
    }

    #[test]
    fn handles_are_bounded_and_a_dropped_handle_frees_its_place() {
        let net = SimNetwork::new(2);
        let a = EpochLink::<SimLink>::new(net.datagram_link(0));
        let b = a.next_epoch().expect("second");
        let c = a.next_epoch().expect("third");
        assert_eq!(a.next_epoch().err(), Some(TooManyEpochs));
        drop(b);
        assert_eq!(a.handles(), 2);
        drop(c);
        assert!(a.next_epoch().is_ok());
    }

    #[test]
    fn a_queue_is_bounded_when_its_epoch_does_not_poll() {
        let net = SimNetwork::new(3);
        let mut a = EpochLink::<SimLink>::new(net.datagram_link(0));
        let _silent = a.next_epoch().expect("second");
        let mut other = net.datagram_link(1);
        let counters = TrafficCounters::new();
        for round in 0..3 {
            for _ in 0..EPOCH_QUEUE {
                other.send(0, &[round]);
            }
            a.begin_poll(&|_, _| Ok(()), &counters);
            while a.recv().is_some() {}
        }
        let shared = a.lock();
        assert!(shared.queues.values().all(|q| q.len() <= EPOCH_QUEUE));
        drop(shared);
        assert!(counters.drops(DropReason::BacklogFull) > 0);
    }
}
