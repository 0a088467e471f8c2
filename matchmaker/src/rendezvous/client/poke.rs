//! When a member pokes the host (see `room.rs`): at once when the host's
//! data channel is reported open, then again after [`FIRST_POKE_RETRY`],
//! doubling up to [`POKE_INTERVAL`], until the host speaks.
//!
//! The schedule starts only when there is someone to poke. It used to tick
//! every 200 ms from the join on, with or without a connected host, so the
//! first poke went out up to 200 ms after the link opened (100 ms on
//! average), and a lost first poke cost 200 ms more: about 200 ms of the
//! join's 0.8 s over WebRTC (`benches/rendezvous.rs`). Pure: time comes in.

use std::time::{Duration, Instant};

/// The longest wait between two pokes (the old fixed interval).
pub const POKE_INTERVAL: Duration = Duration::from_millis(200);
/// The wait before the first repeat; it doubles after each poke.
pub const FIRST_POKE_RETRY: Duration = Duration::from_millis(10);

/// A member's poke timer.
#[derive(Debug, Default)]
pub struct PokeSchedule {
    /// The next poke is due then (`None`: poke as soon as someone is there).
    next: Option<Instant>,
    /// The wait after the next poke.
    backoff: Option<Duration>,
}

impl PokeSchedule {
    /// Whether a poke is due at `now` for these `targets` (peers connected
    /// that may be the host); when it is, the caller sends it and the next
    /// one is scheduled. Nobody to poke: nothing is due, nothing advances.
    pub fn due(&mut self, now: Instant, targets: usize) -> bool {
        if targets == 0 || self.next.is_some_and(|t| now < t) {
            return false;
        }
        let wait = self.backoff.unwrap_or(FIRST_POKE_RETRY);
        self.next = Some(now + wait);
        self.backoff = Some((wait * 2).min(POKE_INTERVAL));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pokes_at_once_when_the_host_connects_then_backs_off_to_the_interval() {
        let t0 = Instant::now();
        let mut s = PokeSchedule::default();
        // Nobody connected for a while: no poke, and no timer running.
        assert!(!s.due(t0, 0));
        assert!(!s.due(t0 + Duration::from_millis(450), 0));
        // The host connects at 450 ms: poked at once, not at the next tick.
        let at = t0 + Duration::from_millis(450);
        assert!(s.due(at, 1));
        assert!(!s.due(at, 1));
        let mut sent = vec![0u64];
        let mut t = at;
        while t < at + Duration::from_secs(2) {
            t += Duration::from_millis(1);
            if s.due(t, 1) {
                sent.push((t - at).as_millis() as u64);
            }
        }
        assert_eq!(&sent[..6], &[0, 10, 30, 70, 150, 310]);
        let gaps: Vec<u64> = sent.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| *g <= 200), "{gaps:?}");
        assert!(gaps.iter().skip(5).all(|g| *g == 200), "{gaps:?}");
        // Bounded: about 5 a second once backed off.
        assert!(sent.len() < 16, "{}", sent.len());
    }
}
