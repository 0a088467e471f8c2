//! The liveness ping on the wire, and what limits how many a browser sends.
//!
//! - Ping and pong: 13 bytes, `NPPI`/`NPPO`, a version byte, a nonce. The
//!   nonce is random per ping ([`NonceSource`]): a stranger who sees one ping
//!   cannot guess the next.
//! - [`PingBudget`]: every browser of a process shares one small budget of
//!   pings per second, however many lobbies mDNS lists.
//! - [`record_wire_cost`]: what a lobby record cost its sender at the least;
//!   unanswered pings caused by one record stay a fraction of it, so a fake
//!   record pointing at a victim cannot be amplified into a flood.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::liveness::LobbyRecord;

const PING_MAGIC: &[u8; 4] = b"NPPI";
const PONG_MAGIC: &[u8; 4] = b"NPPO";
const PING_VERSION: u8 = 1;
/// Length of a ping and of a pong datagram.
pub const PING_LEN: usize = 13;

/// Bytes a ping costs on the wire: payload, UDP and IP headers.
pub fn ping_wire_bytes(to: &SocketAddr) -> usize {
    let ip_header = if to.is_ipv4() { 20 } else { 40 };
    PING_LEN + 8 + ip_header
}

/// Encodes a ping carrying `nonce`.
pub fn encode_ping(nonce: u64) -> [u8; PING_LEN] {
    encode(PING_MAGIC, nonce)
}

/// The host side: the pong for a valid ping, `None` for anything else.
pub fn answer_ping(datagram: &[u8]) -> Option<[u8; PING_LEN]> {
    decode(PING_MAGIC, datagram).map(|nonce| encode(PONG_MAGIC, nonce))
}

/// The browser side: the nonce of a valid pong, `None` for anything else.
pub fn decode_pong(datagram: &[u8]) -> Option<u64> {
    decode(PONG_MAGIC, datagram)
}

fn encode(magic: &[u8; 4], nonce: u64) -> [u8; PING_LEN] {
    let nonce = nonce.to_be_bytes();
    let mut out = [0u8; PING_LEN];
    let bytes = magic.iter().chain(&[PING_VERSION]).chain(&nonce);
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

fn decode(magic: &[u8; 4], datagram: &[u8]) -> Option<u64> {
    let bytes: &[u8; PING_LEN] = datagram.try_into().ok()?;
    let (head, nonce) = bytes.split_first_chunk::<5>()?;
    let nonce: &[u8; 8] = nonce.try_into().ok()?;
    (head.starts_with(magic) && head.get(4) == Some(&PING_VERSION))
        .then(|| u64::from_be_bytes(*nonce))
}

/// Unpredictable ping nonces: a keyed BLAKE3 of a counter under a secret
/// key (from the OS in the hub). Deterministic for a given key, so tests
/// can replay it; unguessable without the key.
#[derive(Debug)]
pub struct NonceSource {
    key: [u8; 32],
    counter: u64,
}

impl NonceSource {
    /// Nonces derived from `key`.
    pub fn new(key: [u8; 32]) -> Self {
        NonceSource { key, counter: 0 }
    }

    /// The next nonce.
    pub fn next_nonce(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        let hash = blake3::keyed_hash(&self.key, &self.counter.to_le_bytes());
        let first = hash
            .as_bytes()
            .first_chunk::<8>()
            .copied()
            .unwrap_or_default();
        u64::from_le_bytes(first)
    }
}

/// A token bucket of pings: `per_second` tokens a second, at most one
/// second's worth saved (so the burst is `per_second` too).
#[derive(Debug)]
pub struct PingBudget {
    per_ping: Duration,
    credit: Duration,
    last: Option<Instant>,
}

impl PingBudget {
    /// A budget of `per_second` pings (at least 1).
    pub fn new(per_second: u32) -> Self {
        PingBudget {
            per_ping: Duration::from_secs(1) / per_second.max(1),
            credit: Duration::ZERO,
            last: None,
        }
    }

    /// Adds the credit earned since the last call (a full second's worth on
    /// the first call).
    pub fn refill(&mut self, now: Instant) {
        let earned = match self.last {
            Some(last) => now.saturating_duration_since(last),
            None => Duration::from_secs(1),
        };
        self.credit = (self.credit + earned).min(Duration::from_secs(1));
        self.last = Some(now.max(self.last.unwrap_or(now)));
    }

    /// Takes one ping's token if there is one.
    pub fn try_spend(&mut self) -> bool {
        match self.credit.checked_sub(self.per_ping) {
            Some(left) => {
                self.credit = left;
                true
            }
            None => false,
        }
    }

    /// When the next token is available.
    pub fn next_token_at(&self) -> Option<Instant> {
        let missing = self.per_ping.saturating_sub(self.credit);
        self.last.map(|last| last + missing)
    }
}

/// Bytes a lobby record cost its sender at the least, on the wire: the
/// PTR, SRV, TXT and one address record per address, each with its fixed
/// fields and names as short as DNS compression allows, plus the instance
/// label spelled out once. A lower bound: the sender may have paid more.
pub fn record_wire_cost(record: &LobbyRecord) -> usize {
    // Each resource record: a compressed name (2) + type, class, TTL, length (10).
    const RR: usize = 12;
    let label = 1 + record.name.len();
    let ptr = RR + label + 2;
    let srv = RR + 6 + 2;
    let txt = RR
        + match &record.txt {
            Ok(t) => t.encoded_len(),
            Err(_) => 0,
        };
    let mut ips: Vec<_> = record.addrs.iter().map(|a| a.ip()).collect();
    ips.sort();
    ips.dedup();
    let addrs: usize = ips
        .iter()
        .map(|ip| RR + if ip.is_ipv4() { 4 } else { 16 })
        .sum();
    ptr + srv + txt + addrs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_allows_rate_per_second_and_one_second_of_burst() {
        let t0 = Instant::now();
        let mut b = PingBudget::new(10);
        b.refill(t0);
        assert_eq!((0..20).filter(|_| b.try_spend()).count(), 10);
        assert_eq!(b.next_token_at(), Some(t0 + Duration::from_millis(100)));
        b.refill(t0 + Duration::from_millis(250));
        assert_eq!((0..20).filter(|_| b.try_spend()).count(), 2);
        b.refill(t0 + Duration::from_secs(60));
        assert_eq!((0..20).filter(|_| b.try_spend()).count(), 10);
    }

    #[test]
    fn nonces_differ_and_depend_on_the_key() {
        let mut a = NonceSource::new([1; 32]);
        let mut b = NonceSource::new([2; 32]);
        let (a1, a2, b1) = (a.next_nonce(), a.next_nonce(), b.next_nonce());
        assert!(a1 != a2 && a1 != b1);
        assert!(a2.abs_diff(a1) > 1_000_000, "not a counter");
    }
}
