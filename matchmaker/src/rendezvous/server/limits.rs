//! [`Limits`] and the per-connection [`TokenBucket`] (pure: time comes in).

use std::time::{Duration, Instant};

/// What one server admits. Every limit has a clear [`Refusal`](crate::rendezvous::Refusal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Rooms open at once (code rooms and stock rooms). Default 10,000.
    pub max_rooms: usize,
    /// Peers in one room, and the cap on a host's `max_players`. Default 16.
    pub max_peers_per_room: u16,
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rooms: 10_000,
            max_peers_per_room: 16,
            max_message_bytes: crate::rendezvous::wire::MAX_SIGNAL_BYTES,
            messages_per_second: 20,
            burst: 60,
            requests_per_second: 20,
            request_burst: 40,
            handshake_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            unjoined_room_ttl: Duration::from_secs(60),
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

    /// Takes one token if there is one.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now.max(self.last);
        let refill = (elapsed.as_micros() as u64).saturating_mul(self.rate) / 1000;
        self.milli_tokens = self.milli_tokens.saturating_add(refill).min(self.cap);
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
