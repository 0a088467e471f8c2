//! Link conditioner: latency, jitter, loss (uniform and bursty), duplication
//! and reordering, drawn from a seeded PRNG so a failing pattern replays.
//!
//! [`LinkConditioner`] is pure: given the send instant it returns when each
//! copy of a datagram arrives (none if lost). [`SimNetwork`](super::sim::SimNetwork)
//! uses one per link; [`Conditioned`] wraps any GGRS socket (the real UDP
//! transport included) and delays its outgoing messages the same way.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use ggrs::{Message, NonBlockingSocket};

use crate::addr::PeerAddr;

/// SplitMix64: a tiny, fast, seedable PRNG (Steele, Lea, Flood 2014).
/// Statistical quality is ample for network simulation; not for secrets.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator from `seed`; equal seeds give equal sequences.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Uniform in `[0, n)`; 0 if `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// Bursty loss after Gilbert-Elliott: a two-state Markov chain (good, bad)
/// with its own loss probability in each state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Per datagram, probability to go from good to bad.
    pub p_good_to_bad: f64,
    /// Per datagram, probability to go from bad back to good.
    pub p_bad_to_good: f64,
    /// Loss probability in the good state.
    pub loss_good: f64,
    /// Loss probability in the bad state.
    pub loss_bad: f64,
}

/// How a link misbehaves. The default is a perfect link.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkProfile {
    /// One-way base delay.
    pub latency: Duration,
    /// Each datagram's delay varies uniformly in `latency ± jitter`
    /// (which also reorders datagrams closer together than the jitter).
    pub jitter: Duration,
    /// Probability that a datagram is lost (independent losses).
    pub loss: f64,
    /// Bursty loss on top of `loss`, if set.
    pub burst: Option<GilbertElliott>,
    /// Probability that a datagram arrives twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back by an extra `reorder_delay`,
    /// so later ones overtake it.
    pub reorder: f64,
    /// Extra delay of a reordered datagram.
    pub reorder_delay: Duration,
}

impl LinkProfile {
    /// A perfect link: no delay, no loss.
    pub fn perfect() -> Self {
        Self::default()
    }

    /// Constant one-way `latency` with `± jitter`.
    pub fn latency(latency: Duration, jitter: Duration) -> Self {
        LinkProfile {
            latency,
            jitter,
            ..Self::default()
        }
    }

    /// Independent loss with probability `loss`.
    pub fn lossy(loss: f64) -> Self {
        LinkProfile {
            loss,
            ..Self::default()
        }
    }

    /// Sets the loss probability.
    pub fn with_loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }

    /// Sets bursty loss.
    pub fn with_burst(mut self, burst: GilbertElliott) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Sets the duplication probability.
    pub fn with_duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }

    /// Sets reordering: probability and extra delay.
    pub fn with_reorder(mut self, p: f64, delay: Duration) -> Self {
        self.reorder = p;
        self.reorder_delay = delay;
        self
    }

    /// Whether this profile changes anything.
    pub fn is_perfect(&self) -> bool {
        *self == Self::default()
    }
}

/// Applies a [`LinkProfile`] to datagrams, one decision per datagram.
#[derive(Debug, Clone)]
pub struct LinkConditioner {
    profile: LinkProfile,
    rng: SimRng,
    bad_state: bool,
}

impl LinkConditioner {
    /// A conditioner with its own seeded generator.
    pub fn new(profile: LinkProfile, seed: u64) -> Self {
        LinkConditioner {
            profile,
            rng: SimRng::new(seed),
            bad_state: false,
        }
    }

    /// The profile applied.
    pub fn profile(&self) -> &LinkProfile {
        &self.profile
    }

    /// Replaces the profile (the generator continues).
    pub fn set_profile(&mut self, profile: LinkProfile) {
        self.profile = profile;
    }

    /// Decides the fate of one datagram sent at `now`: the instants at which
    /// its copies arrive (empty: lost; two: duplicated).
    pub fn schedule(&mut self, now: Instant) -> Vec<Instant> {
        let p = self.profile;
        if let Some(ge) = p.burst {
            let flip = if self.bad_state {
                ge.p_bad_to_good
            } else {
                ge.p_good_to_bad
            };
            if self.rng.chance(flip) {
                self.bad_state = !self.bad_state;
            }
            let loss = if self.bad_state {
                ge.loss_bad
            } else {
                ge.loss_good
            };
            if self.rng.chance(loss) {
                return Vec::new();
            }
        }
        if self.rng.chance(p.loss) {
            return Vec::new();
        }
        let copies = if self.rng.chance(p.duplicate) { 2 } else { 1 };
        (0..copies).map(|_| now + self.delay()).collect()
    }

    fn delay(&mut self) -> Duration {
        let p = self.profile;
        let jitter_ns = u64::try_from(p.jitter.as_nanos()).unwrap_or(u64::MAX / 4);
        let offset = self
            .rng
            .below(jitter_ns.saturating_mul(2).saturating_add(1));
        let base = p.latency + Duration::from_nanos(offset);
        let mut delay = base.saturating_sub(p.jitter);
        if self.rng.chance(p.reorder) {
            delay += p.reorder_delay;
        }
        delay
    }
}

/// A datagram waiting in a queue until its delivery instant.
#[derive(Debug)]
pub(crate) struct Pending<T> {
    pub(crate) at: Instant,
    pub(crate) order: u64,
    pub(crate) item: T,
}

impl<T> PartialEq for Pending<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl<T> Eq for Pending<T> {}
impl<T> PartialOrd for Pending<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Pending<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// A min-queue of datagrams ordered by delivery instant (FIFO on ties).
#[derive(Debug)]
pub(crate) struct DelayQueue<T> {
    heap: BinaryHeap<Reverse<Pending<T>>>,
    order: u64,
}

impl<T> Default for DelayQueue<T> {
    fn default() -> Self {
        DelayQueue {
            heap: BinaryHeap::new(),
            order: 0,
        }
    }
}

impl<T> DelayQueue<T> {
    pub(crate) fn push(&mut self, at: Instant, item: T) {
        self.order += 1;
        self.heap.push(Reverse(Pending {
            at,
            order: self.order,
            item,
        }));
    }

    /// The next item due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.heap.peek().is_some_and(|Reverse(p)| p.at <= now) {
            self.heap.pop().map(|Reverse(p)| p.item)
        } else {
            None
        }
    }

    /// Items waiting, due or not.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}

/// Wraps a GGRS socket and applies a [`LinkProfile`] to everything it sends.
///
/// Outgoing messages wait in a queue and are handed to the inner socket when
/// due, on the next `send_to` or `receive_all_messages` (GGRS calls the
/// latter every frame, so delivery is accurate to a frame). Both ends of a
/// match wrapping their transport impair both directions.
pub struct Conditioned<T> {
    inner: T,
    conditioner: LinkConditioner,
    queue: DelayQueue<(PeerAddr, Message)>,
}

impl<T: NonBlockingSocket<PeerAddr>> Conditioned<T> {
    /// Wraps `inner`; `seed` makes the impairment pattern replayable.
    pub fn new(inner: T, profile: LinkProfile, seed: u64) -> Self {
        Conditioned {
            inner,
            conditioner: LinkConditioner::new(profile, seed),
            queue: DelayQueue::default(),
        }
    }

    /// The wrapped socket.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn flush(&mut self, now: Instant) {
        while let Some((addr, msg)) = self.queue.pop_due(now) {
            self.inner.send_to(&msg, &addr);
        }
    }
}

impl<T: super::Transport> super::Transport for Conditioned<T> {
    fn counters(&self) -> crate::stats::TrafficCounters {
        self.inner.counters()
    }
}

impl<T: NonBlockingSocket<PeerAddr>> NonBlockingSocket<PeerAddr> for Conditioned<T> {
    fn send_to(&mut self, msg: &Message, addr: &PeerAddr) {
        let now = Instant::now();
        for at in self.conditioner.schedule(now) {
            self.queue.push(at, (*addr, msg.clone()));
        }
        self.flush(now);
    }

    fn receive_all_messages(&mut self) -> Vec<(PeerAddr, Message)> {
        self.flush(Instant::now());
        self.inner.receive_all_messages()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_fate() {
        let p = LinkProfile::latency(Duration::from_millis(50), Duration::from_millis(10))
            .with_loss(0.2)
            .with_duplicate(0.1);
        let now = Instant::now();
        let mut a = LinkConditioner::new(p, 7);
        let mut b = LinkConditioner::new(p, 7);
        let fa: Vec<_> = (0..500).map(|_| a.schedule(now)).collect();
        let fb: Vec<_> = (0..500).map(|_| b.schedule(now)).collect();
        assert_eq!(fa, fb);
        let lost = fa.iter().filter(|v| v.is_empty()).count();
        assert!((60..140).contains(&lost), "lost {lost} of 500 at 20 %");
        for t in fa.iter().flatten() {
            let d = *t - now;
            assert!(d >= Duration::from_millis(40) && d <= Duration::from_millis(60));
        }
    }

    #[test]
    fn bursts_lose_in_runs() {
        let ge = GilbertElliott {
            p_good_to_bad: 0.05,
            p_bad_to_good: 0.3,
            loss_good: 0.0,
            loss_bad: 0.9,
        };
        let mut c = LinkConditioner::new(LinkProfile::default().with_burst(ge), 1);
        let now = Instant::now();
        let lost: Vec<bool> = (0..2000).map(|_| c.schedule(now).is_empty()).collect();
        let n = lost.iter().filter(|l| **l).count();
        let runs = lost.windows(2).filter(|w| w[0] && w[1]).count();
        assert!(n > 100 && runs > n / 3, "lost {n}, consecutive {runs}");
    }
}
