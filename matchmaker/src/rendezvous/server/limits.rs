//! [`Limits`] and the [`TokenBucket`] (pure: time comes in).

use std::time::{Duration, Instant};

/// What one server admits. Every limit has a clear [`Refusal`](crate::rendezvous::Refusal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Rooms open at once (code rooms and stock rooms). Default 10,000.
    pub max_rooms: usize,
    /// Peers in one room, and the cap on a host's `max_players`. Default 16.
    pub max_peers_per_room: u16,
    /// Spectator places one code room may have beside its players (the cap
    /// on a host's `spectators`). Default 32, the most a match takes.
    pub max_spectators_per_room: u16,
    /// Largest websocket message in bytes (an SDP offer is 1-4 KiB). Default 16 KiB.
    pub max_message_bytes: usize,
    /// Sustained websocket messages per second per connection. Default 20.
    pub messages_per_second: u32,
    /// Messages a connection may send in a burst above the rate (ICE trickle). Default 60.
    pub burst: u32,
    /// Sustained HTTP requests (and websocket upgrades) per second per client
    /// address: what bounds code guessing. Default 20.
    pub requests_per_second: u32,
    /// Requests an address may make in a burst above that rate. Default 40.
    pub request_burst: u32,
    /// A websocket must send its first message within this. Default 15 s
    /// (stock matchbox clients send their first keep-alive after 10 s).
    pub handshake_timeout: Duration,
    /// A websocket silent for this long is closed. Default 45 s.
    pub idle_timeout: Duration,
    /// A created room nobody joined within this is removed. Default 60 s.
    pub unjoined_room_ttl: Duration,
    /// Rooms one client address may hold open at once (code rooms it created
    /// and stock rooms its websockets opened). Default 16.
    pub max_rooms_per_address: usize,
    /// TCP connections (HTTP and websockets) open at once from one client
    /// address; more are closed at accept. Default 64 (a LAN party behind
    /// one NAT fits).
    pub max_connections_per_address: usize,
    /// TCP connections open at once in all; keep it under the process's file
    /// descriptor limit. Default 4096.
    pub max_connections: usize,
    /// An HTTP connection must send a complete request head within this
    /// (also between requests on a kept-alive connection), and each request
    /// must be complete, body included, within this again (else `408`).
    /// Default 10 s.
    pub header_timeout: Duration,
    /// Client addresses whose request rate is tracked; when the table is
    /// full, new addresses share one overflow bucket (nobody in debt is
    /// evicted). Default 100,000.
    pub max_tracked_addresses: usize,
    /// Rooms in one `GET /lobbies` page (at most). Default 50.
    pub lobbies_page: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rooms: 10_000,
            max_peers_per_room: 16,
            max_spectators_per_room: 32,
            max_message_bytes: crate::rendezvous::wire::MAX_SIGNAL_BYTES,
            messages_per_second: 20,
            burst: 60,
            requests_per_second: 20,
            request_burst: 40,
            handshake_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            unjoined_room_ttl: Duration::from_secs(60),
            max_rooms_per_address: 16,
            max_connections_per_address: 64,
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            max_tracked_addresses: 100_000,
            lobbies_page: 50,
        }
    }
}

/// A token bucket: `rate` tokens per second up to `burst`, one per message.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Tokens in thousandths, so refills stay exact in integers.
    milli_tokens: u64,
    rate: u64,
    cap: u64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate_per_second: u32, burst: u32, now: Instant) -> Self {
        let cap = u64::from(burst.max(1)) * 1000;
        TokenBucket {
            milli_tokens: cap,
            rate: u64::from(rate_per_second),
            cap,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now.max(self.last);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let refill = micros.saturating_mul(self.rate) / 1000;
        self.milli_tokens = self.milli_tokens.saturating_add(refill).min(self.cap);
    }

    /// Whether the bucket has refilled to its burst by `now`: then it is
    /// the same as a fresh one, and forgetting it forgives nothing.
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.milli_tokens >= self.cap
    }

    /// Takes one token if there is one.
    pub fn allow(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 5, t0);
        assert_eq!((0..8).filter(|_| b.allow(t0)).count(), 5);
        assert!(!b.allow(t0 + Duration::from_millis(50)));
        assert!(b.allow(t0 + Duration::from_millis(100)));
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.allow(later)).count(), 5);
    }
}
