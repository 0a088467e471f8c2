//! [`Shared`]: the server's one state object ([`Rooms`] plus the websocket
//! senders and counters) behind a mutex, handed to the signaling topology
//! and the HTTP handlers. Written like `matchbox_server`'s `state.rs`: a
//! websocket's requested room is noted by origin address before the upgrade
//! and moved to its peer id when the id is assigned.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message};
use matchbox_signaling::SignalingState;
use matchbox_signaling::common_logic::SignalingChannel;

use super::limits::{Limits, TokenBucket};
use super::rooms::{PeerKey, Requested, Rooms};
use crate::rendezvous::api::{Health, Refusal};

/// Server state shared by every connection.
#[derive(Clone, Debug)]
pub struct Shared {
    inner: Arc<Mutex<Inner>>,
}

impl SignalingState for Shared {}

/// Everything behind the lock.
#[derive(Debug)]
pub struct Inner {
    /// Rooms and members (the pure core).
    pub rooms: Rooms,
    senders: HashMap<PeerKey, SignalingChannel>,
    waiting: HashMap<SocketAddr, Requested>,
    queued: HashMap<PeerKey, Requested>,
    http_buckets: HashMap<IpAddr, TokenBucket>,
    refused: BTreeMap<Refusal, u64>,
    garbage: u64,
}

impl Shared {
    /// Fresh state under `limits`.
    pub fn new(limits: Limits) -> Self {
        Shared {
            inner: Arc::new(Mutex::new(Inner {
                rooms: Rooms::new(limits),
                senders: HashMap::new(),
                waiting: HashMap::new(),
                queued: HashMap::new(),
                http_buckets: HashMap::new(),
                refused: BTreeMap::new(),
                garbage: 0,
            })),
        }
    }

    /// Locks the state (a panic elsewhere never poisons the server for good).
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Counts a refusal.
    pub fn count(&mut self, r: Refusal) {
        *self.refused.entry(r).or_default() += 1;
    }

    /// Counts a garbage message.
    pub fn count_garbage(&mut self) {
        self.garbage += 1;
    }

    /// One request from `ip` against the per-address rate; counts refusals.
    pub fn http_allow(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        let l = self.rooms.limits().clone();
        if self.http_buckets.len() > 100_000 {
            // Bounded memory under a spray of addresses: start afresh.
            self.http_buckets.clear();
        }
        let bucket = self
            .http_buckets
            .entry(ip)
            .or_insert_with(|| TokenBucket::new(l.requests_per_second, l.request_burst, now));
        if bucket.allow(now) {
            Ok(())
        } else {
            self.count(Refusal::RateLimited);
            Err(Refusal::RateLimited)
        }
    }

    /// Notes what the websocket from `origin` asked for (before its upgrade).
    pub fn note_waiting(&mut self, origin: SocketAddr, req: Requested) {
        self.waiting.insert(origin, req);
    }

    /// Moves `origin`'s request to its assigned peer id.
    pub fn assign_id(&mut self, origin: SocketAddr, peer: PeerKey) {
        if let Some(req) = self.waiting.remove(&origin) {
            self.queued.insert(peer, req);
        }
    }

    /// Takes `peer`'s request (or the bare path when it was not noted).
    pub fn take_requested(&mut self, peer: PeerKey, path: &str) -> Requested {
        self.queued.remove(&peer).unwrap_or_else(|| Requested {
            path: path.to_owned(),
            next: None,
        })
    }

    /// Joins `peer` to its room and registers its sender.
    pub fn join(
        &mut self,
        peer: PeerKey,
        req: &Requested,
        sender: SignalingChannel,
        now: Instant,
    ) -> Result<Vec<PeerKey>, Refusal> {
        match self.rooms.join(peer, req, now) {
            Ok(before) => {
                self.senders.insert(peer, sender);
                Ok(before)
            }
            Err(r) => {
                self.count(r);
                Err(r)
            }
        }
    }

    /// Removes `peer`; returns who is left in its room.
    pub fn leave(&mut self, peer: PeerKey) -> Vec<PeerKey> {
        self.senders.remove(&peer);
        self.rooms.leave(peer)
    }

    /// Sends `text` to `peer` if connected.
    pub fn send_text(&self, peer: PeerKey, text: String) {
        if let Some(s) = self.senders.get(&peer) {
            let _ = s.send(Ok(Message::Text(text.into())));
        }
    }

    /// Closes every websocket with `server_closing`; refuses all from now on.
    pub fn close_all(&mut self) {
        self.rooms.set_closing();
        for s in self.senders.values() {
            let _ = s.send(Ok(close_message(Refusal::ServerClosing)));
        }
    }

    /// Liveness and counters.
    pub fn health(&self) -> Health {
        Health {
            status: if self.rooms.is_closing() {
                "closing".into()
            } else {
                "ok".into()
            },
            rooms: self.rooms.room_count() as u64,
            peers: self.rooms.peer_count() as u64,
            refused: self
                .refused
                .iter()
                .map(|(r, n)| (r.kind().to_owned(), *n))
                .collect(),
            garbage: self.garbage,
        }
    }
}

/// The close frame that carries a refusal: code 1001 (going away) when the
/// server closes, 1009 for size, 1008 (policy) otherwise; the reason is
/// [`Refusal::kind`].
pub fn close_message(r: Refusal) -> Message {
    let code = match r {
        Refusal::ServerClosing => 1001,
        Refusal::MessageTooLarge => 1009,
        _ => 1008,
    };
    Message::Close(Some(CloseFrame {
        code,
        reason: r.kind().into(),
    }))
}
