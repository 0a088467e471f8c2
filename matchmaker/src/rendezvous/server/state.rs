//! [`Shared`]: the server's one state object ([`Rooms`] plus the websockets'
//! outboxes, the request-rate table and counters) behind a mutex, and the
//! open-connection counts beside it, handed to the websocket tasks and the
//! HTTP handlers.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message};
use matchbox_protocol::{JsonPeerEvent, PeerId};
use uuid::Uuid;

use super::buckets::AddressBuckets;
use super::connections::Connections;
use super::limits::Limits;
use super::rooms::{PeerKey, Requested, Rooms};
use super::topology::Outbox;
use crate::rendezvous::api::{Health, Refusal};

/// Server state shared by every connection.
#[derive(Clone, Debug)]
pub struct Shared {
    inner: Arc<Mutex<Inner>>,
    connections: Connections,
}

/// Everything behind the lock.
#[derive(Debug)]
pub struct Inner {
    /// Rooms and members (the pure core).
    pub rooms: Rooms,
    senders: HashMap<PeerKey, Outbox>,
    http_buckets: AddressBuckets,
    refused: BTreeMap<Refusal, u64>,
    garbage: u64,
}

impl Shared {
    /// Fresh state under `limits`.
    pub fn new(limits: Limits) -> Self {
        let connections =
            Connections::new(limits.max_connections_per_address, limits.max_connections);
        let http_buckets = AddressBuckets::new(
            limits.max_tracked_addresses,
            limits.requests_per_second,
            limits.request_burst,
            Instant::now(),
        );
        Shared {
            inner: Arc::new(Mutex::new(Inner {
                rooms: Rooms::new(limits),
                senders: HashMap::new(),
                http_buckets,
                refused: BTreeMap::new(),
                garbage: 0,
            })),
            connections,
        }
    }

    /// The open TCP connections (per address and in all).
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Liveness and counters, with the connections open now.
    pub fn health(&self) -> Health {
        let mut health = self.lock().health();
        health.connections = self.connections.open_now() as u64;
        health
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

    /// One request from `ip` against the per-address rate (a bounded
    /// table, see [`AddressBuckets`]); counts refusals.
    pub fn http_allow(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        if self.http_buckets.allow(ip, now) {
            Ok(())
        } else {
            self.count(Refusal::RateLimited);
            Err(Refusal::RateLimited)
        }
    }

    /// Joins `peer` to its room and registers its sender.
    pub fn join(
        &mut self,
        peer: PeerKey,
        req: &Requested,
        sender: Outbox,
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

    /// Sends `text` to `peer` if connected (dropped if its outbox is full:
    /// such a peer is cut when its send times out).
    pub fn send_text(&self, peer: PeerKey, text: String) {
        if let Some(s) = self.senders.get(&peer) {
            let _ = s.try_send(Message::Text(text.into()));
        }
    }

    /// Refuses everything from now on, and closes every websocket: first
    /// `PeerLeft` with the peer's *own* id (the one server-to-client event a
    /// stock matchbox socket passes to its application: "the server let go
    /// of you", which nearplay's rooms show as "server closing"), then a
    /// close frame with `server_closing`.
    pub fn close_all(&mut self) {
        self.rooms.set_closing();
        for (peer, s) in &self.senders {
            let own = PeerId(Uuid::from_u128(*peer));
            let _ = s.try_send(Message::Text(
                JsonPeerEvent::PeerLeft(own).to_string().into(),
            ));
            let _ = s.try_send(close_message(Refusal::ServerClosing));
        }
    }

    /// Liveness and counters (without the connections: [`Shared::health`]).
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
            connections: 0,
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
