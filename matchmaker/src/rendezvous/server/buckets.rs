//! [`AddressBuckets`]: the request rate per client address, in a table of
//! bounded size that evicts without forgiving (pure: time comes in).
//!
//! The old table was cleared whenever it passed 100,000 addresses, so a
//! spray of fresh source addresses reset every bucket at once, the busiest
//! guesser's included. Here:
//! - a bucket that has refilled to its burst is the same as a fresh one, so
//!   dropping it forgives nothing: a full table first sweeps those (at most
//!   once per [`SWEEP_INTERVAL`], so a spray cannot make every request scan
//!   the table);
//! - a bucket in debt is never evicted: while the table is full of them,
//!   addresses it does not know share one overflow bucket (with the same
//!   rate and burst), so a spray of new addresses buys the sprayer one
//!   address's worth of requests, and the known guessers keep their debt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::limits::TokenBucket;

/// How often a full table may be swept for refilled buckets.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Per-address token buckets, at most `capacity` of them, plus the overflow
/// bucket shared by the addresses that find the table full.
#[derive(Debug)]
pub struct AddressBuckets {
    table: HashMap<IpAddr, TokenBucket>,
    overflow: TokenBucket,
    capacity: usize,
    rate: u32,
    burst: u32,
    last_sweep: Option<Instant>,
}

impl AddressBuckets {
    /// An empty table of at most `capacity` addresses (at least 1), each
    /// allowed `rate` requests per second with bursts of `burst`.
    pub fn new(capacity: usize, rate: u32, burst: u32, now: Instant) -> Self {
        AddressBuckets {
            table: HashMap::new(),
            overflow: TokenBucket::new(rate, burst, now),
            capacity: capacity.max(1),
            rate,
            burst,
            last_sweep: None,
        }
    }

    /// Addresses tracked now (never more than the capacity).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no address is tracked.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// One request from `ip` at `now`: whether its bucket (or the overflow
    /// bucket, see the module doc) had a token.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if let Some(bucket) = self.table.get_mut(&ip) {
            return bucket.allow(now);
        }
        if self.table.len() >= self.capacity {
            self.sweep(now);
        }
        if self.table.len() >= self.capacity {
            return self.overflow.allow(now);
        }
        let mut bucket = TokenBucket::new(self.rate, self.burst, now);
        let allowed = bucket.allow(now);
        self.table.insert(ip, bucket);
        allowed
    }

    /// Drops the buckets that have refilled to their burst (they forgive
    /// nothing by going), at most once per [`SWEEP_INTERVAL`].
    fn sweep(&mut self, now: Instant) {
        let due = self
            .last_sweep
            .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_INTERVAL);
        if !due {
            return;
        }
        self.last_sweep = Some(now);
        self.table.retain(|_, bucket| !bucket.is_full(now));
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn addr(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    /// The busiest guesser spends its burst; then 100,001 other addresses
    /// make one request each (the spray that used to clear the table). The
    /// guesser is still refused afterwards, the table never grows past its
    /// capacity, and the sprayers beyond it share one address's bucket.
    #[test]
    fn a_spray_of_addresses_forgives_nobody() {
        let t0 = Instant::now();
        let guesser = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let capacity = super::super::Limits::default().max_tracked_addresses;
        let mut b = AddressBuckets::new(capacity, 20, 40, t0);
        assert_eq!((0..100).filter(|_| b.allow(guesser, t0)).count(), 40);
        let mut sprayed_through = 0;
        for n in 0..100_001u32 {
            // The spray takes a simulated 0.5 s: the guesser refills 10 tokens.
            let now = t0 + Duration::from_micros(u64::from(n) * 5);
            if b.allow(addr(n), now) {
                sprayed_through += 1;
            }
        }
        assert!(b.len() <= capacity);
        let after = t0 + Duration::from_millis(500);
        let guesses_now = (0..100).filter(|_| b.allow(guesser, after)).count();
        assert!(
            guesses_now <= 11,
            "the guesser was forgiven: {guesses_now} guesses right after the spray"
        );
        // The table's free seats, then the overflow bucket's burst and refill.
        assert!(
            sprayed_through <= capacity - 1 + 40 + 11,
            "{sprayed_through}"
        );
    }

    /// Addresses that went quiet (their buckets refilled) make room for new
    /// ones: a full table of idle addresses does not lock newcomers into
    /// the overflow bucket.
    #[test]
    fn refilled_buckets_make_room() {
        let t0 = Instant::now();
        let mut b = AddressBuckets::new(4, 1, 2, t0);
        for n in 0..4 {
            assert!(b.allow(addr(n), t0));
        }
        // Table full of buckets in debt: a newcomer uses the overflow bucket.
        assert!(b.allow(addr(10), t0));
        assert!(b.allow(addr(11), t0));
        assert!(!b.allow(addr(12), t0), "the overflow bucket is shared");
        assert_eq!(b.len(), 4);
        // Two seconds later every bucket is full again: they are swept.
        let later = t0 + Duration::from_secs(2);
        assert!(b.allow(addr(12), later));
        assert_eq!(b.len(), 1);
    }
}
