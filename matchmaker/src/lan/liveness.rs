//! Liveness: the browser pings lobbies' ports over UDP, measures the round
//! trip, and drops a lobby that stops answering (mDNS alone would keep a
//! crashed host listed for 120 s).
//!
//! Why UDP on the lobby's port number rather than a short TCP connection: a
//! ping then costs the host one datagram, holds no slot in the lobby (a TCP
//! connect would count against the hello timeout and the accept queue), and
//! the round trip measured is the network's, not a handshake's. The host binds
//! UDP on the same port number as its TCP lobby port, so the one port in the
//! DNS-SD record serves both (the service type is `_udp`).
//!
//! # Against strangers on the LAN
//!
//! - **Forged pongs**: a pong counts only if its nonce (random per ping) is
//!   in flight *and* it comes from the address that ping went to. The join
//!   address is always one that mDNS resolved, never a pong's source.
//! - **Ping reflection**: a fake record can point at any victim. All
//!   browsers of a process share [`LivenessConfig::pings_per_sec`]; a silent
//!   lobby's rounds back off exponentially (1, 2, 4, ... 64 s); and until an
//!   address has answered, the bytes of pings one record causes stay under
//!   [`LivenessConfig::unanswered_percent`] of what the record cost its
//!   sender ([`record_wire_cost`]): one or two pings. A pong refunds its
//!   ping; a new mDNS resolution (the sender pays again) renews the
//!   allowance. So a fake lobby that never answered, once hidden, is not
//!   pinged again until mDNS resolves it anew. An address that did answer
//!   (a real nearplay host, which wants pings) is pinged without allowance,
//!   backing off while silent, so a host back from a Wi-Fi hiccup returns.
//! - **Table size**: at most [`LivenessConfig::max_lobbies`], and at most
//!   [`LivenessConfig::max_lobbies_per_address`] per advertised IP address.
//!   When full, a new record evicts a lobby at the most crowded address
//!   (hidden first), so fake lobbies that answer pings from one address
//!   cannot keep a real lobby out (`crowding.rs`).
//!
//! [`LivenessTable`] is the sans-IO core; the hub thread is its shell.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::crowding::{AddressRoom, room_at_address, victim_in_full_table};
use super::ping::{NonceSource, PingBudget, record_wire_cost};
use super::rounds::{Entry, Sent, same_endpoint, start_round};

pub use super::crowding::MAX_LOBBIES_PER_ADDRESS;
pub use super::ping::{PING_LEN, answer_ping, decode_pong, encode_ping};
pub use super::record::{LobbyRecord, TableEvent, sort_addrs};

/// Pings of one lobby that can be in flight; older ones are forgotten.
const MAX_IN_FLIGHT: usize = 8;

/// Timers and limits of the liveness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LivenessConfig {
    /// Time between ping rounds to a lobby that answers. Default 1 s.
    pub interval: Duration,
    /// Silence after which a lobby counts as gone. Default 2.5 s (a crashed
    /// host disappears within 3 s).
    pub dead_after: Duration,
    /// A ping unanswered this long is evidence of silence. Default 1 s.
    pub reply_timeout: Duration,
    /// Longest time between rounds to a silent lobby. Default 64 s.
    pub max_backoff: Duration,
    /// Pings per second, all lobbies together. Default 16.
    pub pings_per_sec: u32,
    /// Bytes of unanswered pings one mDNS record may cause, in percent of
    /// what the record cost its sender. Default 50.
    pub unanswered_percent: u32,
    /// Lobbies tracked at most. Default 512.
    pub max_lobbies: usize,
    /// Lobbies tracked at most per advertised IP address (IPv6: the whole
    /// address). Default [`MAX_LOBBIES_PER_ADDRESS`] (16).
    pub max_lobbies_per_address: usize,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig {
            interval: Duration::from_secs(1),
            dead_after: Duration::from_millis(2500),
            reply_timeout: Duration::from_secs(1),
            max_backoff: Duration::from_secs(64),
            pings_per_sec: 16,
            unanswered_percent: 50,
            max_lobbies: 512,
            max_lobbies_per_address: MAX_LOBBIES_PER_ADDRESS,
        }
    }
}

/// Lobbies known from mDNS, with their liveness (sans-IO).
#[derive(Debug)]
pub struct LivenessTable {
    config: LivenessConfig,
    entries: BTreeMap<String, Entry>,
    active: bool,
    nonces: NonceSource,
    budget: PingBudget,
    /// Nonce of every ping in flight -> its lobby.
    in_flight: BTreeMap<u64, String>,
    pings: VecDeque<(SocketAddr, [u8; PING_LEN])>,
    events: VecDeque<TableEvent>,
    dropped_records: u64,
}

impl LivenessTable {
    /// An empty table; pinging starts with [`set_active`](Self::set_active).
    /// `nonce_key` keys the ping nonces: give it 32 random bytes.
    pub fn new(config: LivenessConfig, nonce_key: [u8; 32]) -> Self {
        LivenessTable {
            config,
            entries: BTreeMap::new(),
            active: false,
            nonces: NonceSource::new(nonce_key),
            budget: PingBudget::new(config.pings_per_sec),
            in_flight: BTreeMap::new(),
            pings: VecDeque::new(),
            events: VecDeque::new(),
            dropped_records: 0,
        }
    }

    /// Turns pinging on (someone is browsing) or off. While off, the list
    /// follows mDNS alone.
    pub fn set_active(&mut self, now: Instant, active: bool) {
        if active && !self.active {
            for e in self.entries.values_mut() {
                e.last_alive = now;
                e.unanswered_since = None;
                e.next_round = e.can_ping().then_some(now);
            }
        }
        self.active = active;
    }

    /// The lobbies currently listed.
    pub fn visible(&self) -> impl Iterator<Item = &LobbyRecord> {
        self.entries
            .values()
            .filter(|e| e.visible)
            .map(|e| &e.record)
    }

    /// Records refused: their address held
    /// [`LivenessConfig::max_lobbies_per_address`] listed lobbies, or the
    /// table was full and their address among the most crowded.
    pub fn dropped_records(&self) -> u64 {
        self.dropped_records
    }

    fn allowance_for(&self, record: &LobbyRecord) -> usize {
        let percent = usize::try_from(self.config.unanswered_percent).unwrap_or(usize::MAX);
        record_wire_cost(record).saturating_mul(percent) / 100
    }

    /// mDNS resolved (or re-resolved) a lobby: the sender paid for a record,
    /// which renews its ping allowance.
    pub fn handle_resolved(&mut self, now: Instant, mut record: LobbyRecord) {
        let grant = self.allowance_for(&record);
        if !self.make_room_at_address(&record) {
            self.dropped_records += 1;
            // An update onto a full address: the lobby leaves the table.
            self.handle_removed(&record.fullname);
            return;
        }
        if let Some(e) = self.entries.get_mut(&record.fullname) {
            record.rtt = e.record.rtt;
            record.alive_addr = e.record.alive_addr.filter(|a| record.addrs.contains(a));
            e.record = record;
            e.allowance_cap = grant;
            e.allowance = e.allowance.max(grant);
            if e.next_round.is_none() {
                e.next_round = Some(now);
            }
            if e.visible {
                self.events.push_back(TableEvent::Up(e.record.clone()));
            }
            return;
        }
        if self.entries.len() >= self.config.max_lobbies {
            match victim_in_full_table(&self.entries, &record.addrs) {
                // Browsers hear a listed lobby leave.
                Some(victim) => self.handle_removed(&victim),
                None => {
                    self.dropped_records += 1;
                    return;
                }
            }
        }
        self.events.push_back(TableEvent::Up(record.clone()));
        let entry = Entry {
            record,
            visible: true,
            last_alive: now,
            next_round: Some(now),
            round_started: None,
            round_answered: false,
            round_sent: 0,
            silent_rounds: 0,
            pending: VecDeque::new(),
            sent: VecDeque::new(),
            unanswered_since: None,
            allowance: grant,
            allowance_cap: grant,
        };
        self.entries.insert(entry.record.fullname.clone(), entry);
    }

    /// Evicts hidden lobbies at the record's full addresses until it fits
    /// under the per-address cap; `false` if it cannot.
    fn make_room_at_address(&mut self, record: &LobbyRecord) -> bool {
        let cap = self.config.max_lobbies_per_address;
        loop {
            match room_at_address(&self.entries, &record.fullname, &record.addrs, cap) {
                AddressRoom::Fits => return true,
                AddressRoom::Evict(victim) => self.handle_removed(&victim),
                AddressRoom::Full => return false,
            }
        }
    }

    fn forget(&mut self, fullname: &str) -> Option<Entry> {
        let e = self.entries.remove(fullname)?;
        for s in &e.sent {
            self.in_flight.remove(&s.nonce);
        }
        Some(e)
    }

    /// mDNS said goodbye for a lobby.
    pub fn handle_removed(&mut self, fullname: &str) {
        if let Some(e) = self.forget(fullname)
            && e.visible
        {
            self.events.push_back(TableEvent::Down(e.record));
        }
    }

    /// A pong carrying `nonce` arrived from `from` at `now`. It counts only
    /// if a ping with that nonce is in flight to exactly `from`.
    pub fn handle_pong(&mut self, now: Instant, from: SocketAddr, nonce: u64) {
        // Keep an IPv6 scope id (link-local); unwrap IPv4-mapped addresses.
        let from = match from {
            SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_some() => {
                SocketAddr::new(v6.ip().to_canonical(), v6.port())
            }
            other => other,
        };
        let Some(fullname) = self.in_flight.get(&nonce) else {
            return;
        };
        let Some(e) = self.entries.get_mut(fullname) else {
            return;
        };
        let Some(pos) = e
            .sent
            .iter()
            .position(|s| s.nonce == nonce && same_endpoint(&s.to, &from))
        else {
            return;
        };
        // From here on the address is the one pinged (as mDNS resolved it).
        let Some((sent_at, refund, from)) = e.sent.get(pos).map(|s| (s.at, s.charged, s.to)) else {
            return;
        };
        for s in e.sent.drain(..=pos) {
            self.in_flight.remove(&s.nonce);
        }
        e.allowance = (e.allowance + refund).min(e.allowance_cap);
        e.last_alive = now;
        e.unanswered_since = None;
        e.silent_rounds = 0;
        e.round_answered = true;
        if let Some(started) = e.round_started {
            let due = started + self.config.interval;
            e.next_round = Some(e.next_round.map_or(due, |n| n.min(due)));
        }
        e.record.rtt = Some(now.saturating_duration_since(sent_at));
        // Prefer an IPv4 address once one answers: it is what the game's UDP
        // socket and every member can use (link-local IPv6 scopes are per
        // machine). `from` is an address mDNS resolved: only those are pinged.
        if e.record.addrs.contains(&from)
            && e.record
                .alive_addr
                .is_none_or(|a| a.is_ipv6() || from.is_ipv4())
        {
            e.record.alive_addr = Some(from);
        }
        e.visible = true;
        self.events.push_back(TableEvent::Up(e.record.clone()));
    }

    /// Time passed: start due rounds, send what the budget allows, drop
    /// silent lobbies.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.active {
            return;
        }
        let config = self.config;
        for e in self.entries.values_mut() {
            // A round starts once the last one is sent: under a busy budget
            // rounds queue in order instead of starving each other.
            if e.next_round.is_some_and(|t| now >= t) && e.pending.is_empty() {
                start_round(&config, e, now);
            }
            let silent = e
                .unanswered_since
                .is_some_and(|t| now >= t + config.reply_timeout);
            if e.visible && silent && now >= e.last_alive + config.dead_after {
                e.visible = false;
                e.record.rtt = None;
                e.pending.clear();
                if e.record.alive_addr.is_none() {
                    // Never answered: no more pings until mDNS resolves it
                    // anew (its sender pays again).
                    e.allowance = 0;
                    e.next_round = None;
                }
                self.events.push_back(TableEvent::Down(e.record.clone()));
            }
        }
        self.send_within_budget(now);
    }

    /// Sends pending pings while the budget has tokens: listed lobbies
    /// first, one ping per lobby in turn, the longest waiting round first.
    fn send_within_budget(&mut self, now: Instant) {
        self.budget.refill(now);
        loop {
            let next = self
                .entries
                .iter()
                .filter(|(_, e)| !e.pending.is_empty())
                .min_by_key(|(_, e)| (!e.visible, e.round_sent, e.round_started))
                .map(|(k, _)| k.clone());
            let Some(key) = next else { return };
            let Some(e) = self.entries.get_mut(&key) else {
                return;
            };
            let Some(to) = e.pending.pop_front() else {
                continue;
            };
            let charged = e.charge(&to);
            if charged > e.allowance {
                continue;
            }
            if !self.budget.try_spend() {
                e.pending.push_front(to);
                return;
            }
            let nonce = self.nonces.next_nonce();
            if self.in_flight.contains_key(&nonce) {
                continue;
            }
            e.allowance -= charged;
            e.round_sent += 1;
            e.unanswered_since.get_or_insert(now);
            e.sent.push_back(Sent {
                nonce,
                to,
                at: now,
                charged,
            });
            while e.sent.len() > MAX_IN_FLIGHT {
                if let Some(old) = e.sent.pop_front() {
                    self.in_flight.remove(&old.nonce);
                }
            }
            self.in_flight.insert(nonce, key);
            self.pings.push_back((to, encode_ping(nonce)));
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.active {
            return None;
        }
        let c = &self.config;
        let token = self.budget.next_token_at();
        self.entries
            .values()
            .flat_map(|e| {
                let death = e
                    .unanswered_since
                    .filter(|_| e.visible)
                    .map(|t| (t + c.reply_timeout).max(e.last_alive + c.dead_after));
                // A queued round waits for a token, not for its own timer.
                let send = match e.pending.is_empty() {
                    true => e.next_round,
                    false => token,
                };
                [send, death]
            })
            .flatten()
            .min()
    }

    /// The next ping to send.
    pub fn poll_ping(&mut self) -> Option<(SocketAddr, [u8; PING_LEN])> {
        self.pings.pop_front()
    }

    /// The next change of the list.
    pub fn poll_event(&mut self) -> Option<TableEvent> {
        self.events.pop_front()
    }
}
