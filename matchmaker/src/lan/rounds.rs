//! One lobby's state in the liveness table: its rounds of pings, what is in
//! flight, its allowance; and the rules for starting a round and matching a
//! pong to a ping.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use super::liveness::{LivenessConfig, LobbyRecord};
use super::ping::ping_wire_bytes;

/// Addresses of one lobby pinged per round.
const MAX_ADDRS_PER_ROUND: usize = 4;

/// A ping in flight.
#[derive(Debug)]
pub(crate) struct Sent {
    pub(crate) nonce: u64,
    pub(crate) to: SocketAddr,
    pub(crate) at: Instant,
    /// Allowance bytes spent on it (0 to an address that answered before).
    pub(crate) charged: usize,
}

/// One lobby in the table.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) record: LobbyRecord,
    pub(crate) visible: bool,
    pub(crate) last_alive: Instant,
    /// When the next round starts; `None` while the allowance is spent.
    pub(crate) next_round: Option<Instant>,
    pub(crate) round_started: Option<Instant>,
    pub(crate) round_answered: bool,
    /// Pings sent in this round (the budget goes round-robin).
    pub(crate) round_sent: u32,
    /// Consecutive rounds nobody answered (the backoff exponent).
    pub(crate) silent_rounds: u32,
    /// Addresses still to ping in this round (they wait for the budget).
    pub(crate) pending: VecDeque<SocketAddr>,
    pub(crate) sent: VecDeque<Sent>,
    /// When the oldest ping unanswered since the last pong went out.
    pub(crate) unanswered_since: Option<Instant>,
    /// Bytes of unanswered pings this record may still cause, and its cap.
    pub(crate) allowance: usize,
    pub(crate) allowance_cap: usize,
}

impl Entry {
    /// Whether a round may start: a valid TXT and an address that answered
    /// or an allowance left for one ping.
    pub(crate) fn can_ping(&self) -> bool {
        self.record.txt.is_ok()
            && (self.record.alive_addr.is_some()
                || self
                    .record
                    .addrs
                    .iter()
                    .any(|a| ping_wire_bytes(a) <= self.allowance))
    }

    /// Allowance bytes a ping to `to` costs: nothing to an address that
    /// answered since mDNS resolved it.
    pub(crate) fn charge(&self, to: &SocketAddr) -> usize {
        match self.record.alive_addr == Some(*to) {
            true => 0,
            false => ping_wire_bytes(to),
        }
    }
}

/// Whether a pong's source is the address a ping went to: same IP and port,
/// and for a link-local IPv6 the same interface. IPv6 flow labels (Linux
/// sets them by default) are not part of the endpoint.
pub(crate) fn same_endpoint(pinged: &SocketAddr, from: &SocketAddr) -> bool {
    match (pinged, from) {
        (SocketAddr::V4(a), SocketAddr::V4(b)) => a == b,
        (SocketAddr::V6(a), SocketAddr::V6(b)) => {
            a.ip() == b.ip()
                && a.port() == b.port()
                && (a.scope_id() == b.scope_id() || !a.ip().is_unicast_link_local())
        }
        _ => false,
    }
}

/// Starts a round: the addresses to ping, and when the next round is due
/// (later after every round nobody answered).
pub(crate) fn start_round(config: &LivenessConfig, e: &mut Entry, now: Instant) {
    if !e.can_ping() {
        e.next_round = None;
        e.pending.clear();
        return;
    }
    if e.round_started.is_some() {
        e.silent_rounds = match e.round_answered {
            true => 0,
            false => e.silent_rounds.saturating_add(1),
        };
    }
    e.round_answered = false;
    e.round_sent = 0;
    e.round_started = Some(now);
    e.pending.clear();
    match e.record.alive_addr {
        Some(a) => e.pending.push_back(a),
        None => e
            .pending
            .extend(e.record.addrs.iter().take(MAX_ADDRS_PER_ROUND)),
    }
    let factor = 1u32 << e.silent_rounds.min(16);
    let wait = config
        .interval
        .saturating_mul(factor)
        .min(config.max_backoff);
    e.next_round = Some(now + wait.max(config.interval));
}
