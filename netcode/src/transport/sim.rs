//! In-memory simulated network: a shared [`SimNetwork`] hub and one
//! [`SimTransport`] per node, each link impaired by its own seeded
//! [`LinkConditioner`].
//!
//! Delivery times are real [`Instant`]s because GGRS reads the wall clock
//! inside its protocol; a simulated network can delay delivery but cannot make
//! time pass faster. Nodes may live on different threads.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use ggrs::{Message, NonBlockingSocket};

use super::TransportError;
use super::conditioner::{DelayQueue, LinkConditioner, LinkProfile};
use super::link::DatagramLink;
use crate::addr::PeerAddr;
use crate::stats::TrafficCounters;
use crate::wire::OVERHEAD;

/// The shared hub of a simulated network. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct SimNetwork {
    hub: Arc<Mutex<Hub>>,
}

impl std::fmt::Debug for SimNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimNetwork").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Hub {
    seed: u64,
    default_profile: LinkProfile,
    links: BTreeMap<(u32, u32), LinkConditioner>,
    inboxes: BTreeMap<u32, DelayQueue<(PeerAddr, Message)>>,
    /// Sealed datagrams in flight to each [`SimLink`] (sender, bytes).
    datagrams: BTreeMap<u32, DelayQueue<(u32, Vec<u8>)>>,
    counters: BTreeMap<u32, TrafficCounters>,
    down: BTreeSet<u32>,
}

impl Hub {
    fn link(&mut self, from: u32, to: u32) -> &mut LinkConditioner {
        let (seed, profile) = (self.seed, self.default_profile);
        self.links
            .entry((from, to))
            .or_insert_with(|| LinkConditioner::new(profile, link_seed(seed, from, to)))
    }
}

/// A per-link seed derived from the network seed, so links are independent
/// but the whole network replays from one number.
fn link_seed(seed: u64, from: u32, to: u32) -> u64 {
    seed ^ (u64::from(from) << 32 | u64::from(to)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl SimNetwork {
    /// A perfect network whose impairments (once set) replay from `seed`.
    pub fn new(seed: u64) -> Self {
        let net = SimNetwork::default();
        net.lock().seed = seed;
        net
    }

    /// A network where every link (existing and future) follows `profile`.
    pub fn with_profile(seed: u64, profile: LinkProfile) -> Self {
        let net = Self::new(seed);
        net.set_all_links(profile);
        net
    }

    /// Sets the profile of every link, existing and future.
    pub fn set_all_links(&self, profile: LinkProfile) {
        let mut hub = self.lock();
        hub.default_profile = profile;
        for link in hub.links.values_mut() {
            link.set_profile(profile);
        }
    }

    /// Sets the profile of the one-way link `from -> to`.
    pub fn set_link(&self, from: u32, to: u32, profile: LinkProfile) {
        self.lock().link(from, to).set_profile(profile);
    }

    /// A transport for node `id` (its address is `PeerAddr::Sim(id)`).
    /// Creating a node twice gives two handles on the same inbox.
    pub fn node(&self, id: u32) -> SimTransport {
        let mut hub = self.lock();
        hub.inboxes.entry(id).or_default();
        hub.down.remove(&id);
        let counters = hub.counters.entry(id).or_default().clone();
        SimTransport {
            net: self.clone(),
            id,
            counters,
        }
    }

    /// Takes node `id` off the network, as if its process died: everything
    /// it sends and everything in flight to it is lost from now on.
    pub fn vanish(&self, id: u32) {
        let mut hub = self.lock();
        hub.down.insert(id);
        if let Some(inbox) = hub.inboxes.get_mut(&id) {
            inbox.clear();
        }
        if let Some(inbox) = hub.datagrams.get_mut(&id) {
            inbox.clear();
        }
    }

    /// Node `id` as a [`DatagramLink`]: bytes instead of GGRS messages, so
    /// the authenticated layer runs over the simulated network
    /// (`AuthTransport::<SimLink>::from_plan(net.datagram_link(id), &plan)`,
    /// plan addresses `PeerAddr::Sim`), under the same impairments.
    pub fn datagram_link(&self, id: u32) -> SimLink {
        let mut hub = self.lock();
        hub.datagrams.entry(id).or_default();
        hub.down.remove(&id);
        SimLink {
            net: self.clone(),
            id,
            current: None,
        }
    }

    /// Whether node `id` was taken off with [`SimNetwork::vanish`].
    pub fn is_vanished(&self, id: u32) -> bool {
        self.lock().down.contains(&id)
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One node's endpoint on a [`SimNetwork`]; a GGRS socket.
///
/// Only `PeerAddr::Sim` destinations are reachable; others are counted as
/// failed sends.
pub struct SimTransport {
    net: SimNetwork,
    id: u32,
    counters: TrafficCounters,
}

impl std::fmt::Debug for SimTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTransport")
            .field("id", &self.id)
            .finish()
    }
}

impl SimTransport {
    /// This node's address.
    pub fn addr(&self) -> PeerAddr {
        PeerAddr::Sim(self.id)
    }

    /// Counters of this node's traffic (shared; clone before moving the
    /// transport into a session).
    pub fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }
}

/// Bytes the datagram would take on a real nearplay link carrying this one
/// message (an upper bound: the real layer batches messages to a peer).
fn wire_size(msg: &Message) -> usize {
    postcard::to_allocvec(msg).map_or(0, |v| v.len()) + OVERHEAD
}

impl super::Transport for SimTransport {
    fn counters(&self) -> TrafficCounters {
        self.counters.clone()
    }
}

impl NonBlockingSocket<PeerAddr> for SimTransport {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        let PeerAddr::Sim(to) = *addr else {
            self.counters
                .record_drop(crate::wire::DropReason::SendFailed);
            return;
        };
        self.counters.record_sent(*addr, wire_size(msg));
        let now = Instant::now();
        let mut hub = self.net.lock();
        if hub.down.contains(&self.id) || hub.down.contains(&to) {
            return;
        }
        let times = hub.link(self.id, to).schedule(now);
        if let Some(inbox) = hub.inboxes.get_mut(&to) {
            for at in times {
                inbox.push(at, (PeerAddr::Sim(self.id), msg.clone()));
            }
        }
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        let now = Instant::now();
        let mut out = Vec::new();
        {
            let mut hub = self.net.lock();
            if hub.down.contains(&self.id) {
                return out;
            }
            if let Some(inbox) = hub.inboxes.get_mut(&self.id) {
                while let Some(item) = inbox.pop_due(now) {
                    out.push(item);
                }
            }
        }
        for (from, msg) in &out {
            self.counters.record_received(*from, wire_size(msg));
        }
        out
    }
}

/// Datagrams waiting for one [`SimLink`] at most (a socket's receive buffer);
/// more are lost, like on a real host.
pub const SIM_INBOX: usize = 4096;

/// One node of a [`SimNetwork`] carrying bytes: a [`DatagramLink`] for the
/// authenticated layer (see [`SimNetwork::datagram_link`]).
pub struct SimLink {
    net: SimNetwork,
    id: u32,
    /// The datagram `recv` handed out last.
    current: Option<Vec<u8>>,
}

impl std::fmt::Debug for SimLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimLink").field("id", &self.id).finish()
    }
}

impl DatagramLink for SimLink {
    type Peer = u32;

    fn peer_of(addr: &PeerAddr) -> Option<u32> {
        match *addr {
            PeerAddr::Sim(id) => Some(id),
            _ => None,
        }
    }

    fn addr_of(peer: u32) -> PeerAddr {
        PeerAddr::Sim(peer)
    }

    fn wrong_transport(handle: usize) -> TransportError {
        TransportError::NotSim { handle }
    }

    fn duplicate(peer: u32) -> TransportError {
        TransportError::DuplicatePeer {
            addr: PeerAddr::Sim(peer),
        }
    }

    fn send(&mut self, to: u32, datagram: &[u8]) -> bool {
        let now = Instant::now();
        let mut hub = self.net.lock();
        if hub.down.contains(&self.id) || hub.down.contains(&to) {
            return true; // lost in the network, as a real send would be
        }
        let times = hub.link(self.id, to).schedule(now);
        if let Some(inbox) = hub.datagrams.get_mut(&to) {
            for at in times {
                if inbox.len() < SIM_INBOX {
                    inbox.push(at, (self.id, datagram.to_vec()));
                }
            }
        }
        true
    }

    fn recv(&mut self) -> Option<(u32, &[u8])> {
        let (from, bytes) = {
            let mut hub = self.net.lock();
            if hub.down.contains(&self.id) {
                return None;
            }
            hub.datagrams.get_mut(&self.id)?.pop_due(Instant::now())?
        };
        Some((from, self.current.insert(bytes).as_slice()))
    }
}
