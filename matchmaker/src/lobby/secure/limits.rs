//! Pure rate limits of the host: password guesses per source address
//! (growing backoff, bounded table) and chat / ready toggles per member
//! (token buckets). Time comes in as an argument.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Rules of the password-guess limiter, with documented defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuessLimits {
    /// Wait imposed after the first failed guess from a source; it doubles
    /// with each further failure. Default 1 s.
    pub first_backoff: Duration,
    /// Longest wait. Default 60 s: a source then gets about one guess a
    /// minute.
    pub max_backoff: Duration,
    /// A source is forgotten this long after its last failure. Default 15 min.
    pub forget_after: Duration,
    /// Guesses one source may have answered but not yet settled (so parallel
    /// connections do not multiply its rate). Default 4.
    pub max_in_flight: u32,
    /// Sources tracked one by one. Past it, sources that are neither
    /// waiting out a backoff nor in flight are forgotten, stalest first;
    /// when every tracked source is still owed a wait, new sources share
    /// one overflow record (one ladder for all of them) instead: a full
    /// table never forgives a guesser. Default 1024.
    pub max_sources: usize,
}

impl Default for GuessLimits {
    fn default() -> Self {
        GuessLimits {
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            forget_after: Duration::from_secs(15 * 60),
            max_in_flight: 4,
            max_sources: 1024,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Source {
    failures: u32,
    in_flight: u32,
    blocked_until: Instant,
    last: Instant,
}

/// Counts failed password guesses per source and says when a source may try
/// again. A source is one IP address: on a LAN every IPv6 host shares one
/// /64 (and every link-local address `fe80::/64`), so counting by prefix
/// would let one stranger's failures lock out every IPv6 joiner. A stranger
/// with many addresses gets a ladder each until the table is full, then
/// all newcomers share the overflow ladder.
#[derive(Debug)]
pub struct GuessLimiter {
    limits: GuessLimits,
    sources: BTreeMap<IpAddr, Source>,
    /// Shared by sources that found the table full of owed waits.
    overflow: Source,
    total_failures: u64,
}

/// The key a source is counted under: its address (IPv4-mapped IPv6 as
/// IPv4).
pub fn source_key(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

impl GuessLimiter {
    /// An empty limiter.
    pub fn new(limits: GuessLimits) -> Self {
        let now = Instant::now();
        GuessLimiter {
            limits,
            sources: BTreeMap::new(),
            overflow: Source {
                failures: 0,
                in_flight: 0,
                blocked_until: now,
                last: now,
            },
            total_failures: 0,
        }
    }

    /// `Ok` if `ip` may try a password now, else how long it must wait.
    pub fn check(&self, now: Instant, ip: IpAddr) -> Result<(), Duration> {
        let s = match self.sources.get(&source_key(ip)) {
            Some(s) => s,
            None if self.sources.len() >= self.limits.max_sources.max(1)
                && !self.sources.values().any(|s| forgettable(s, now)) =>
            {
                &self.overflow
            }
            None => return Ok(()),
        };
        if now < s.blocked_until {
            return Err(s.blocked_until - now);
        }
        if s.in_flight >= self.limits.max_in_flight {
            return Err(self.limits.first_backoff);
        }
        Ok(())
    }

    /// `ip` was answered: one more guess in flight until settled.
    pub fn begin(&mut self, now: Instant, ip: IpAddr) {
        let s = self.entry(now, ip);
        s.in_flight = s.in_flight.saturating_add(1);
    }

    /// A guess from `ip` failed: returns its failures so far and the wait now
    /// imposed on it.
    pub fn failed(&mut self, now: Instant, ip: IpAddr) -> (u32, Duration) {
        let limits = self.limits;
        self.total_failures = self.total_failures.saturating_add(1);
        let s = self.entry(now, ip);
        s.in_flight = s.in_flight.saturating_sub(1);
        s.failures = s.failures.saturating_add(1);
        let doublings = s.failures.saturating_sub(1).min(30);
        let wait = limits
            .first_backoff
            .saturating_mul(1 << doublings)
            .min(limits.max_backoff);
        s.blocked_until = s.blocked_until.max(now + wait);
        s.last = now;
        (s.failures, wait)
    }

    /// A guess from `ip` proved the password: its record is cleared.
    pub fn succeeded(&mut self, ip: IpAddr) {
        let key = source_key(ip);
        if let Some(s) = self.sources.get_mut(&key) {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.failures = 0;
            if s.in_flight == 0 {
                self.sources.remove(&key);
            }
        } else {
            // It was counted on the overflow ladder, which others share:
            // its success settles its guess but forgives nobody.
            self.overflow.in_flight = self.overflow.in_flight.saturating_sub(1);
        }
    }

    /// Failed guesses counted since the lobby opened, from every source.
    pub fn total_failures(&self) -> u64 {
        self.total_failures
    }

    /// Sources tracked now (at most [`GuessLimits::max_sources`]).
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }

    /// The record of `ip`: its own, a new one if there is room (made by
    /// forgetting sources owed nothing), else the shared overflow record.
    fn entry(&mut self, now: Instant, ip: IpAddr) -> &mut Source {
        let key = source_key(ip);
        if !self.sources.contains_key(&key) && !self.make_room(now) {
            return &mut self.overflow;
        }
        self.sources.entry(key).or_insert(Source {
            failures: 0,
            in_flight: 0,
            blocked_until: now,
            last: now,
        })
    }

    /// Frees one place if the table is full; `false` if every tracked
    /// source is still owed a wait or has a guess in flight.
    fn make_room(&mut self, now: Instant) -> bool {
        let limits = self.limits;
        let max = limits.max_sources.max(1);
        if self.sources.len() < max {
            return true;
        }
        self.sources
            .retain(|_, s| !(forgettable(s, now) && now >= s.last + limits.forget_after));
        while self.sources.len() >= max {
            let stalest = self
                .sources
                .iter()
                .filter(|(_, s)| forgettable(s, now))
                .min_by_key(|(_, s)| s.last)
                .map(|(k, _)| *k);
            match stalest {
                Some(k) => self.sources.remove(&k),
                None => return false,
            };
        }
        true
    }
}

/// Whether forgetting `s` forgives nothing: no guess in flight and no wait
/// still owed.
fn forgettable(s: &Source, now: Instant) -> bool {
    s.in_flight == 0 && now >= s.blocked_until
}

/// A sustained rate with a burst: `burst` actions at once, then one per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Actions allowed back to back.
    pub burst: u32,
    /// Time that earns one more action.
    pub per: Duration,
}

/// A token bucket for one member and one kind of action. It starts full;
/// time only enters through [`allow`](Self::allow).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenBucket {
    credit: Duration,
    /// When it was last used; `None`: never, so full.
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full() -> Self {
        TokenBucket::default()
    }

    /// Takes one action's worth if there is one; `false` means drop it.
    pub fn allow(&mut self, now: Instant, rate: Rate) -> bool {
        let cap = rate.per.saturating_mul(rate.burst);
        let earned = match self.last {
            Some(last) => now.saturating_duration_since(last),
            None => cap,
        };
        self.last = Some(self.last.map_or(now, |last| last.max(now)));
        self.credit = self.credit.saturating_add(earned).min(cap);
        if self.credit >= rate.per && !rate.per.is_zero() {
            self.credit -= rate.per;
            true
        } else {
            rate.per.is_zero()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_clears_on_success() {
        let t0 = Instant::now();
        let mut g = GuessLimiter::new(GuessLimits::default());
        let ip = IpAddr::from([10, 0, 0, 9]);
        let mut waits = Vec::new();
        let mut now = t0;
        for _ in 0..8 {
            assert_eq!(g.check(now, ip), Ok(()));
            g.begin(now, ip);
            let (_, wait) = g.failed(now, ip);
            waits.push(wait.as_secs());
            assert!(g.check(now, ip).is_err());
            now += wait;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(g.total_failures(), 8);
        g.begin(now, ip);
        g.succeeded(ip);
        assert_eq!(g.tracked(), 0);
    }

    #[test]
    fn in_flight_guesses_are_capped_and_the_table_is_bounded() {
        let now = Instant::now();
        let limits = GuessLimits {
            max_sources: 8,
            ..GuessLimits::default()
        };
        let mut g = GuessLimiter::new(limits);
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..4 {
            assert_eq!(g.check(now, ip), Ok(()));
            g.begin(now, ip);
        }
        assert!(g.check(now, ip).is_err());
        for i in 0..100u8 {
            let other = IpAddr::from([10, 1, 0, i]);
            g.begin(now, other);
            g.failed(now, other);
        }
        assert!(g.tracked() <= 8);
        // IPv6 sources count by address: a LAN's hosts share one /64.
        let a: IpAddr = "fe80::1".parse().expect("v6");
        let b: IpAddr = "fe80::2".parse().expect("v6");
        assert_ne!(source_key(a), source_key(b));
        assert_eq!(
            source_key("::ffff:10.0.0.1".parse().expect("mapped")),
            IpAddr::from([10, 0, 0, 1])
        );
    }

    #[test]
    fn a_full_table_forgives_no_guesser() {
        let now = Instant::now();
        let limits = GuessLimits {
            max_sources: 8,
            ..GuessLimits::default()
        };
        let mut g = GuessLimiter::new(limits);
        // Eight guessers fill the table, each waiting out a backoff.
        let guesser = |i: u8| IpAddr::from([10, 2, 0, i]);
        for i in 0..8 {
            g.begin(now, guesser(i));
            g.failed(now, guesser(i));
        }
        // A spray of new addresses: none evicts a guesser still owed a wait.
        for i in 0..200u8 {
            let other = IpAddr::from([10, 3, 0, i]);
            if g.check(now, other).is_ok() {
                g.begin(now, other);
            }
            g.failed(now, other);
        }
        assert_eq!(g.tracked(), 8);
        for i in 0..8 {
            assert!(
                g.check(now, guesser(i)).is_err(),
                "guesser {i} was forgiven"
            );
        }
        // The spray itself shares one ladder: it is blocked as one.
        let fresh = IpAddr::from([10, 4, 0, 1]);
        assert!(g.check(now, fresh).is_err());
        // Once the guessers' waits are over they can be forgotten again.
        let later = now + limits.max_backoff;
        assert_eq!(g.check(later, IpAddr::from([10, 5, 0, 1])), Ok(()));
    }

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let rate = Rate {
            burst: 3,
            per: Duration::from_millis(100),
        };
        let mut b = TokenBucket::full();
        let allowed = (0..10).filter(|_| b.allow(t0, rate)).count();
        assert_eq!(allowed, 3);
        assert!(b.allow(t0 + Duration::from_millis(100), rate));
        assert!(!b.allow(t0 + Duration::from_millis(150), rate));
    }
}
