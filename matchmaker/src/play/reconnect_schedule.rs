//! The schedule of a reconnect (see `reconnect.rs`): [`ReconnectPolicy`]
//! and `Reconnector`, pure, driven with the time as an argument and
//! tested with a fake clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::lobby::client::{CloseReason, JoinConfig, JoinError, RejoinClaim};

/// How a player's lobby reconnects by itself during a LAN match. The
/// defaults: on; first try 100 ms after the drop, then 200, 400, 800 ms
/// and 1 s between tries (each try waits at most the hello timeout, 3 s by
/// default, for the host); at most 40 tries, none started more than 30 s
/// after the drop. One try a second at worst keeps the host's guess
/// limiter quiet and finds a network that came back within a second. A
/// drop within 10 s of the last comeback waits longer before its first
/// try (doubling up to `max_delay`), so a host that welcomes us and drops
/// us again gets at most one connection a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Reconnect at all. Default `true`.
    pub enabled: bool,
    /// Wait before the first try after the drop. Default 100 ms.
    pub first_delay: Duration,
    /// Longest wait between two tries (each doubles the one before).
    /// Default 1 s.
    pub max_delay: Duration,
    /// Most tries per drop. Default 40.
    pub max_attempts: u32,
    /// No try starts later than this after the drop. Default 30 s.
    pub deadline: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 40,
            deadline: Duration::from_secs(30),
        }
    }
}

impl ReconnectPolicy {
    /// No reconnecting: a dropped connection ends the control channel
    /// ([`MatchControl::Ended`](super::MatchControl::Ended)) and the match goes on without it.
    pub fn off() -> Self {
        ReconnectPolicy {
            enabled: false,
            ..Self::default()
        }
    }

    /// The wait before try `attempt` (1-based).
    fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.first_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }
}

/// A connection that held this long after a reconnect resets the backoff
/// of the next drop's first try.
const STEADY: Duration = Duration::from_secs(10);

/// What the schedule says after a failed try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum AfterFailure {
    /// Try again at this instant.
    RetryAt(Instant),
    /// Stop: tries or time used up, or a refusal no retry changes.
    GiveUp,
}

/// One drop being recovered from.
#[derive(Debug)]
struct Run {
    since: Instant,
    attempts: u32,
    /// When the next try starts; `None` while one is under way.
    next_try: Option<Instant>,
    /// Why the connection dropped (what `Ended` says if we give up).
    reason: CloseReason,
}

/// The reconnect schedule of one lobby: pure, driven with `now`.
#[derive(Debug)]
pub(super) struct Reconnector {
    policy: ReconnectPolicy,
    /// The host's lobby address.
    pub(super) host: SocketAddr,
    /// The first join's settings (password, timers, game socket port).
    join: JoinConfig,
    run: Option<Run>,
    /// When the last run ended, and how many runs in a row started soon
    /// after the one before (a host that welcomes us and drops us again
    /// must not have us reconnect ten times a second).
    last_end: Option<Instant>,
    streak: u32,
    /// Taken back: the host's plan for our seat comes next.
    pub(super) awaiting_plan: bool,
}

impl Reconnector {
    pub(super) fn new(policy: ReconnectPolicy, host: SocketAddr, join: JoinConfig) -> Self {
        Reconnector {
            policy,
            host,
            join,
            run: None,
            awaiting_plan: false,
            last_end: None,
            streak: 0,
        }
    }

    /// Whether a drop is being recovered from.
    pub(super) fn running(&self) -> bool {
        self.run.is_some()
    }

    /// The connection dropped at `now`: starts a run if reconnecting is on
    /// and none runs. Returns whether one started.
    pub(super) fn lost(&mut self, now: Instant, reason: CloseReason) -> bool {
        if !self.policy.enabled || self.run.is_some() {
            return false;
        }
        self.awaiting_plan = false;
        self.streak = match self.last_end {
            Some(end) if now.saturating_duration_since(end) < STEADY => self.streak + 1,
            _ => 0,
        };
        self.run = Some(Run {
            since: now,
            attempts: 0,
            next_try: Some(now + self.policy.delay(1 + self.streak.min(20))),
            reason,
        });
        true
    }

    /// If a try is due at `now`: counts it and returns its number.
    pub(super) fn due(&mut self, now: Instant) -> Option<u32> {
        let run = self.run.as_mut()?;
        if run.next_try.is_some_and(|at| now >= at) {
            run.next_try = None;
            run.attempts += 1;
            return Some(run.attempts);
        }
        None
    }

    /// The try under way failed with `error` at `now`.
    pub(super) fn failed(&mut self, now: Instant, error: &JoinError) -> AfterFailure {
        let Some(run) = self.run.as_mut() else {
            return AfterFailure::GiveUp;
        };
        let mut wait = self.policy.delay(run.attempts + 1);
        let final_refusal = match error {
            JoinError::Timeout | JoinError::Unreachable(_) | JoinError::Protocol(_) => false,
            JoinError::TooManyGuesses { retry_after_ms } => {
                wait = wait.max(Duration::from_millis(u64::from(*retry_after_ms)));
                false
            }
            _ => true,
        };
        let at = now + wait;
        if final_refusal
            || run.attempts >= self.policy.max_attempts
            || at > run.since + self.policy.deadline
        {
            return AfterFailure::GiveUp;
        }
        run.next_try = Some(at);
        AfterFailure::RetryAt(at)
    }

    /// The run ends (taken back, or given up): how long it took, the tries
    /// and why the connection had dropped.
    pub(super) fn finish(&mut self, now: Instant) -> Option<(Duration, u32, CloseReason)> {
        let run = self.run.take()?;
        self.last_end = Some(now);
        Some((now - run.since, run.attempts, run.reason))
    }

    /// A run's next try starts at once (the game asked).
    pub(super) fn try_now(&mut self, now: Instant) {
        if let Some(run) = self.run.as_mut() {
            run.next_try = Some(now);
        }
    }

    /// The join of a try: the first join's settings, our seat's name and
    /// the seat's claim.
    pub(super) fn attempt_config(&self, name: &str, claim: RejoinClaim) -> JoinConfig {
        let mut config = self.join.clone();
        config.name = name.to_string();
        config.spectator = false;
        config.rejoin = Some(claim);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconnector(policy: ReconnectPolicy) -> Reconnector {
        let join = JoinConfig::new("Bo", "game", "1", 4000);
        Reconnector::new(policy, SocketAddr::from(([10, 0, 0, 1], 7000)), join)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn tries_back_off_to_the_cap_and_stop_at_the_deadline() {
        let mut r = reconnector(ReconnectPolicy::default());
        let t0 = Instant::now();
        assert!(r.lost(t0, CloseReason::HostGone));
        assert!(!r.lost(t0, CloseReason::HostGone), "one run at a time");
        assert_eq!(r.due(t0), None, "the first try waits 100 ms");
        let mut now = t0 + ms(100);
        let mut waits = Vec::new();
        loop {
            assert!(r.due(now).is_some(), "a try is due at {:?}", now - t0);
            match r.failed(now, &JoinError::Unreachable("down".into())) {
                AfterFailure::RetryAt(at) => {
                    waits.push((at - now).as_millis());
                    now = at;
                }
                AfterFailure::GiveUp => break,
            }
        }
        assert_eq!(waits[..5], [200, 400, 800, 1000, 1000]);
        assert!(
            now - t0 <= Duration::from_secs(30),
            "no try after the deadline"
        );
        assert!(waits.len() < 40);
        assert!(r.finish(now).is_some());
        assert!(!r.running());
    }

    #[test]
    fn tries_are_bounded_in_number() {
        let policy = ReconnectPolicy {
            max_attempts: 3,
            ..ReconnectPolicy::default()
        };
        let mut r = reconnector(policy);
        let mut now = Instant::now();
        r.lost(now, CloseReason::Disconnected);
        let mut tries = 0;
        loop {
            now += Duration::from_secs(2);
            if r.due(now).is_none() {
                break;
            }
            tries += 1;
            if r.failed(now, &JoinError::Timeout) == AfterFailure::GiveUp {
                break;
            }
        }
        assert_eq!(tries, 3);
    }

    #[test]
    fn a_refused_proof_ends_the_run_at_once_and_a_guess_limit_is_waited_out() {
        let mut r = reconnector(ReconnectPolicy::default());
        let t0 = Instant::now();
        r.lost(t0, CloseReason::HostGone);
        r.due(t0 + ms(100));
        let limited = JoinError::TooManyGuesses {
            retry_after_ms: 5000,
        };
        assert_eq!(
            r.failed(t0 + ms(100), &limited),
            AfterFailure::RetryAt(t0 + ms(5100))
        );
        r.due(t0 + ms(5100));
        assert_eq!(
            r.failed(t0 + ms(5100), &JoinError::BadRejoin),
            AfterFailure::GiveUp
        );
        for refusal in [JoinError::AlreadyStarted, JoinError::WrongPassword] {
            let mut r = reconnector(ReconnectPolicy::default());
            r.lost(t0, CloseReason::HostGone);
            r.due(t0 + ms(100));
            assert_eq!(r.failed(t0 + ms(100), &refusal), AfterFailure::GiveUp);
        }
    }

    #[test]
    fn drops_soon_after_each_comeback_back_off_across_runs() {
        let mut r = reconnector(ReconnectPolicy::default());
        let mut now = Instant::now();
        let mut first_waits = Vec::new();
        for _ in 0..6 {
            assert!(r.lost(now, CloseReason::Disconnected));
            let mut at = now;
            while r.due(at).is_none() {
                at += ms(10);
            }
            first_waits.push((at - now).as_millis());
            // Welcomed, then dropped again half a second later.
            r.finish(at);
            now = at + ms(500);
        }
        assert_eq!(first_waits, [100, 200, 400, 800, 1000, 1000]);
        // A connection that held 10 s starts from the first delay again.
        r.lost(now, CloseReason::Disconnected);
        r.finish(now);
        now += Duration::from_secs(10);
        r.lost(now, CloseReason::Disconnected);
        assert_eq!(r.due(now + ms(99)), None);
        assert!(r.due(now + ms(100)).is_some());
    }

    #[test]
    fn off_means_no_run() {
        let mut r = reconnector(ReconnectPolicy::off());
        assert!(!r.lost(Instant::now(), CloseReason::HostGone));
        assert!(!r.running());
    }

    #[test]
    fn a_try_keeps_the_first_joins_settings_and_claims_the_seat() {
        let mut join = JoinConfig::new("Bo (typed)", "game", "1", 4000);
        join.password = Some("pw".into());
        let r = Reconnector::new(
            ReconnectPolicy::default(),
            SocketAddr::from(([10, 0, 0, 1], 7000)),
            join,
        );
        let claim = RejoinClaim {
            handle: 2,
            secret: nearplay_netcode::MemberSecret([9; 32]),
        };
        let c = r.attempt_config("Bo", claim.clone());
        assert_eq!(c.name, "Bo");
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.game_port, 4000);
        assert_eq!(c.rejoin, Some(claim));
    }
}
