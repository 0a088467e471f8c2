//! Lobby names being probed, and the TXT updates that wait for them.
//!
//! mdns-sd probes a new name for about 0.75 s before announcing it (RFC 6762
//! §8.1). A TXT update registered meanwhile (a member joined in the lobby's
//! first second) is announced at once, its record reaches the still-running
//! probe, which takes it for another host's and renames the lobby
//! "NAME (2)": `join --lobby NAME` then finds nothing. So an update waits
//! here until the name is claimed (the daemon announced it, or renamed it
//! after a real conflict), and only the latest waiting update is kept.
//!
//! mdns-sd 0.21 sometimes never finishes a probe (seen in `tests/loopback.rs`
//! when two lobbies register in the same millisecond: no announcement, no
//! event, the lobby is never listed). After [`PROBE_DEADLINE`] the latest
//! record is announced without probe.
//!
//! [`NameClaims`] is sans-IO (time comes in as `now`); the daemon monitor
//! thread in `mod.rs` is its shell.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A probe the daemon has not reported finished after this counts as done
/// (probing takes 0.75 to 1 s), and the latest record is announced.
pub const PROBE_DEADLINE: Duration = Duration::from_secs(2);

#[derive(Debug)]
enum Claim<T> {
    Probing {
        since: Instant,
        /// The latest update, held.
        waiting: Option<T>,
        /// The first record, to announce if the probe never ends.
        fallback: Option<T>,
    },
    Claimed,
}

/// Names (lower-cased full names) this process registered, with the update
/// waiting for each probe.
#[derive(Debug)]
pub struct NameClaims<T> {
    names: BTreeMap<String, Claim<T>>,
}

impl<T> Default for NameClaims<T> {
    fn default() -> Self {
        NameClaims {
            names: BTreeMap::new(),
        }
    }
}

impl<T> NameClaims<T> {
    /// A registration of `fullname` started: probing if `fallback` is set
    /// (the record to announce without probe if the probe never ends), else
    /// the name is taken at once.
    pub fn registered(&mut self, fullname: &str, now: Instant, fallback: Option<T>) {
        let claim = match fallback {
            Some(first) => Claim::Probing {
                since: now,
                waiting: None,
                fallback: Some(first),
            },
            None => Claim::Claimed,
        };
        self.names.insert(fullname.to_lowercase(), claim);
    }

    /// An update of `fullname`: returned to register now if the name is
    /// claimed, else held (replacing an older held one) until it is.
    pub fn update(&mut self, fullname: &str, update: T) -> Option<T> {
        match self.names.get_mut(&fullname.to_lowercase()) {
            Some(Claim::Probing { waiting, .. }) => {
                *waiting = Some(update);
                None
            }
            Some(Claim::Claimed) | None => Some(update),
        }
    }

    /// The daemon finished probing `fullname` (announced it, or renamed it
    /// after a conflict): the held update, if any, to register now.
    pub fn claimed(&mut self, fullname: &str) -> Option<T> {
        let claim = self.names.get_mut(&fullname.to_lowercase())?;
        match std::mem::replace(claim, Claim::Claimed) {
            Claim::Probing { waiting, .. } => waiting,
            Claim::Claimed => None,
        }
    }

    /// Whether `fullname` is claimed (or unknown here).
    pub fn is_claimed(&self, fullname: &str) -> bool {
        !matches!(
            self.names.get(&fullname.to_lowercase()),
            Some(Claim::Probing { .. })
        )
    }

    /// Probes past [`PROBE_DEADLINE`] count as claimed: the records to
    /// announce now (the held update, else the first record).
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<T> {
        let mut due = Vec::new();
        for claim in self.names.values_mut() {
            if let Claim::Probing { since, .. } = claim
                && now >= *since + PROBE_DEADLINE
                && let Claim::Probing {
                    waiting, fallback, ..
                } = std::mem::replace(claim, Claim::Claimed)
            {
                due.extend(waiting.or(fallback));
            }
        }
        due
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.names
            .values()
            .filter_map(|c| match c {
                Claim::Probing { since, .. } => Some(*since + PROBE_DEADLINE),
                Claim::Claimed => None,
            })
            .min()
    }

    /// The lobby was withdrawn.
    pub fn remove(&mut self, fullname: &str) {
        self.names.remove(&fullname.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_wait_for_the_claim_and_only_the_latest_is_kept() {
        let t0 = Instant::now();
        let mut c = NameClaims::default();
        c.registered("Den._nearplay._udp.local.", t0, Some(1));
        assert!(!c.is_claimed("den._nearplay._udp.local."));
        assert_eq!(c.update("Den._nearplay._udp.local.", 2), None);
        assert_eq!(c.update("Den._nearplay._udp.local.", 3), None);
        assert_eq!(c.claimed("DEN._nearplay._udp.local."), Some(3));
        assert!(c.is_claimed("Den._nearplay._udp.local."));
        assert_eq!(c.update("Den._nearplay._udp.local.", 4), Some(4));
        assert_eq!(c.claimed("Den._nearplay._udp.local."), None);
    }

    #[test]
    fn a_probe_that_never_ends_does_not_hold_the_lobby_forever() {
        let t0 = Instant::now();
        let mut c = NameClaims::default();
        c.registered("A", t0, Some(0));
        c.registered("B", t0, None);
        c.registered("C", t0, Some(10));
        assert_eq!(c.update("A", 1), None);
        assert_eq!(c.update("B", 7), Some(7));
        assert_eq!(c.poll_timeout(), Some(t0 + PROBE_DEADLINE));
        assert!(c.handle_timeout(t0 + Duration::from_secs(1)).is_empty());
        // A's held update, and C's first record: neither was announced.
        assert_eq!(c.handle_timeout(t0 + PROBE_DEADLINE), vec![1, 10]);
        assert_eq!(c.poll_timeout(), None);
        assert!(c.is_claimed("A") && c.is_claimed("C"));
    }
}
