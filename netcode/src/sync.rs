//! [`SyncWatch`]: a deadline on a session's synchronisation, so a peer that
//! never answers is an error that names it ("could not reach Bo
//! (192.168.1.7:5000)") instead of "Waiting..." forever.
//!
//! GGRS starts every P2P session in `Synchronizing` and retries its sync
//! requests every 200 ms for as long as it runs: it has no deadline of its
//! own. The watch is pure: it learns which peers finished their handshake
//! from the session's events ([`NetEvent::Synchronized`]) and whether the
//! session runs, and is asked with the time as an argument, so tests drive
//! it with a fake clock. [`NetMonitor::check_sync`](crate::NetMonitor::check_sync)
//! wires it to a session; the Bevy plugin checks it every frame, ends the
//! session and sends `NetSyncFailed` when the deadline passes.

use std::fmt;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::addr::PeerAddr;
use crate::stats::NetEvent;

/// How long a session may take to reach every peer, by default. GGRS needs
/// 5 round trips per peer (well under a second on a LAN, a few seconds over
/// WebRTC on a loaded machine); 10 s leaves room for a slow start without
/// letting a silent address hold a player for long.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(10);

/// A peer the session could not reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreachablePeer {
    /// Its display name (from the plan; "player N" without one).
    pub name: String,
    /// Its address.
    pub addr: PeerAddr,
}

impl fmt::Display for UnreachablePeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.name)?;
        match self.addr {
            PeerAddr::Udp(sa) => write!(f, "{sa}")?,
            PeerAddr::WebRtc(id) => write!(f, "WebRTC peer {:08x}", id >> 96)?,
            PeerAddr::Sim(node) => write!(f, "simulated node {node}")?,
        }
        f.write_str(")")
    }
}

/// The session did not reach every peer before its deadline.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("could not reach {} within {} s", list(unreachable), waited.as_secs())]
pub struct SyncTimeout {
    /// The peers that never finished their handshake, in handle order.
    pub unreachable: Vec<UnreachablePeer>,
    /// How long the session waited.
    pub waited: Duration,
}

fn list(peers: &[UnreachablePeer]) -> String {
    let names: Vec<String> = peers.iter().map(ToString::to_string).collect();
    names.join(", ")
}

/// Watches one session's synchronisation against a deadline.
#[derive(Clone, Debug)]
pub struct SyncWatch {
    waiting: Vec<UnreachablePeer>,
    started: Instant,
    timeout: Duration,
    running: bool,
}

impl SyncWatch {
    /// A watch over `peers` (name, address), started at `now`, that fails
    /// once `timeout` has passed with any of them not synchronised.
    pub fn new(
        peers: impl IntoIterator<Item = (String, PeerAddr)>,
        now: Instant,
        timeout: Duration,
    ) -> Self {
        SyncWatch {
            waiting: peers
                .into_iter()
                .map(|(name, addr)| UnreachablePeer { name, addr })
                .collect(),
            started: now,
            timeout,
            running: false,
        }
    }

    /// Learns from one session event (a finished handshake).
    pub fn observe(&mut self, event: &NetEvent) {
        if let NetEvent::Synchronized { peer } = event {
            self.waiting.retain(|p| p.addr != *peer);
        }
    }

    /// The session reached `Running`: every peer answered; the watch is over.
    pub fn set_running(&mut self) {
        self.running = true;
        self.waiting.clear();
    }

    /// Whether every peer was reached.
    pub fn is_done(&self) -> bool {
        self.running || self.waiting.is_empty()
    }

    /// The peers not reached yet.
    pub fn waiting(&self) -> &[UnreachablePeer] {
        &self.waiting
    }

    /// When the watch fails if nothing changes; `None` once done.
    pub fn deadline(&self) -> Option<Instant> {
        (!self.is_done()).then(|| self.started + self.timeout)
    }

    /// `Err` naming the unreached peers once `now` is past the deadline.
    pub fn check(&self, now: Instant) -> Result<(), SyncTimeout> {
        match self.deadline() {
            Some(deadline) if now >= deadline => Err(SyncTimeout {
                unreachable: self.waiting.clone(),
                waited: now.saturating_duration_since(self.started),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(port: u16) -> PeerAddr {
        PeerAddr::Udp(([192, 168, 1, 7], port).into())
    }

    fn watch(t0: Instant) -> SyncWatch {
        SyncWatch::new(
            [
                ("Ada".to_string(), udp(5001)),
                ("Bo".to_string(), udp(5000)),
            ],
            t0,
            DEFAULT_SYNC_TIMEOUT,
        )
    }

    #[test]
    fn a_silent_peer_is_named_once_the_deadline_passes() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.observe(&NetEvent::Synchronized { peer: udp(5001) });
        assert_eq!(w.check(t0 + Duration::from_millis(9_999)), Ok(()));
        let err = w
            .check(t0 + DEFAULT_SYNC_TIMEOUT)
            .expect_err("deadline passed");
        assert_eq!(err.unreachable.len(), 1);
        assert_eq!(
            err.to_string(),
            "could not reach Bo (192.168.1.7:5000) within 10 s"
        );
    }

    #[test]
    fn a_session_that_runs_never_times_out() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.set_running();
        assert!(w.is_done());
        assert_eq!(w.deadline(), None);
        assert_eq!(w.check(t0 + Duration::from_secs(3600)), Ok(()));
        let mut w = watch(t0);
        for port in [5000, 5001] {
            w.observe(&NetEvent::Synchronized { peer: udp(port) });
        }
        assert_eq!(w.check(t0 + Duration::from_secs(3600)), Ok(()));
    }

    #[test]
    fn every_unreached_peer_is_listed() {
        let t0 = Instant::now();
        let err = watch(t0).check(t0 + Duration::from_secs(11)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not reach Ada (192.168.1.7:5001), Bo (192.168.1.7:5000) within 11 s"
        );
    }
}
