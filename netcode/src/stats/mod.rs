//! Counters, statistics snapshots and events a game can show.
//!
//! Transports own a shared [`TrafficCounters`] (bytes per peer, drops by
//! reason); a [`NetMonitor`] combines it with GGRS's own network stats and the
//! rollbacks the game reports, and maps GGRS events to [`NetEvent`]s.

mod counters;
mod event;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ggrs::{Config, GgrsError, GgrsRequest, P2PSession, PlayerHandle, SessionState};

use crate::addr::PeerAddr;
use crate::sync::{SyncTimeout, SyncWatch};

pub use counters::{DropCounts, PeerTraffic, RollbackHistogram, TrafficCounters};
pub use event::NetEvent;

/// One peer's connection quality, as a game shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerStats {
    /// The peer's address.
    pub addr: Option<PeerAddr>,
    /// Its player handle.
    pub handle: PlayerHandle,
    /// Round-trip time in milliseconds, from GGRS (None until GGRS has a
    /// second of data).
    pub ping_ms: Option<u64>,
    /// Kilobits per second sent to the peer since the previous snapshot.
    pub kbps_up: f64,
    /// Kilobits per second received from the peer since the previous snapshot.
    pub kbps_down: f64,
    /// Frames we run behind the peer (negative: ahead), from GGRS.
    pub local_frames_behind: i32,
    /// Frames the peer runs behind us, from GGRS.
    pub remote_frames_behind: i32,
    /// Unacknowledged inputs queued towards the peer.
    pub send_queue_len: usize,
    /// Bytes and datagrams so far.
    pub traffic: PeerTraffic,
}

/// A snapshot of everything [`NetMonitor`] knows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetStats {
    /// Current (possibly predicted) frame.
    pub current_frame: i32,
    /// Newest frame with all inputs confirmed.
    pub confirmed_frame: i32,
    /// Frames we are ahead of the slowest peer, as GGRS estimates.
    pub frames_ahead: i32,
    /// One entry per remote player.
    pub peers: Vec<PeerStats>,
    /// Rollbacks so far.
    pub rollbacks: RollbackHistogram,
    /// Frames advanced so far.
    pub frames_advanced: u64,
    /// Ticks that advanced no new frame because GGRS waited for confirmed
    /// input (prediction threshold reached).
    pub frames_stalled: u64,
    /// The most ticks in a row that advanced no new frame: what a player
    /// felt as a freeze (issue 13's "no one waits long" is measured here;
    /// a game that holds its session, as a resume does at the switch
    /// frame, reports those ticks with [`NetMonitor::record_stall`]).
    pub longest_stall: u64,
    /// Dropped datagrams by reason.
    pub drops: DropCounts,
}
/// Collects a session's statistics: the transport's counters, GGRS's network
/// stats, and the rollbacks the game reports with [`NetMonitor::record_advance`].
#[derive(Debug, Clone)]
pub struct NetMonitor {
    traffic: TrafficCounters,
    remotes: BTreeMap<PlayerHandle, PeerAddr>,
    rollbacks: RollbackHistogram,
    frame: i32,
    frames_advanced: u64,
    frames_stalled: u64,
    /// Stalled ticks in a row now, and the most so far.
    stall_run: u64,
    longest_stall: u64,
    last_sample: Option<(Instant, BTreeMap<PeerAddr, PeerTraffic>)>,
    last_kbps: BTreeMap<PeerAddr, (f64, f64)>,
    sync: Option<SyncWatch>,
    signaling_told: bool,
    /// Peers already reported as [`NetEvent::PeerDisconnected`].
    gone: BTreeSet<PeerAddr>,
    seats: crate::transport::SeatInputs,
}

impl NetMonitor {
    /// Rates are recomputed at most this often (shorter windows are noisy).
    pub const RATE_WINDOW: Duration = Duration::from_millis(500);

    /// A monitor over a transport's counters, knowing the remote players'
    /// addresses by handle (GGRS does not expose them).
    pub fn new(
        traffic: TrafficCounters,
        remotes: impl IntoIterator<Item = (PlayerHandle, PeerAddr)>,
    ) -> Self {
        NetMonitor {
            traffic,
            remotes: remotes.into_iter().collect(),
            rollbacks: RollbackHistogram::default(),
            frame: 0,
            frames_advanced: 0,
            frames_stalled: 0,
            stall_run: 0,
            longest_stall: 0,
            last_sample: None,
            last_kbps: BTreeMap::new(),
            sync: None,
            signaling_told: false,
            gone: BTreeSet::new(),
            seats: crate::transport::SeatInputs::default(),
        }
    }

    /// The monitor with the session's [`SeatInputs`](crate::transport::SeatInputs)
    /// (`build_monitored` adds them).
    pub fn with_seat_inputs(mut self, seats: crate::transport::SeatInputs) -> Self {
        self.seats = seats;
        self
    }

    /// The remote players' inputs as the session received them: what the
    /// players left agree on when one vacates its seat (see
    /// [`InputTap`](crate::transport::InputTap)).
    pub fn seat_inputs(&self) -> &crate::transport::SeatInputs {
        &self.seats
    }

    /// An event the transport raised itself rather than GGRS, each once:
    /// today [`NetEvent::SignalingClosed`] when the rendezvous server of a
    /// WebRTC match let go.
    fn transport_event(&mut self) -> Option<NetEvent> {
        if !self.signaling_told && self.traffic.signaling_closed() {
            self.signaling_told = true;
            return Some(NetEvent::SignalingClosed);
        }
        None
    }

    /// The monitor with a deadline on the session's synchronisation (see
    /// [`check_sync`](Self::check_sync)); `build_monitored` adds one.
    pub fn with_sync_watch(mut self, watch: SyncWatch) -> Self {
        self.sync = Some(watch);
        self
    }

    /// The synchronisation watch, if the monitor has one.
    pub fn sync_watch(&self) -> Option<&SyncWatch> {
        self.sync.as_ref()
    }

    /// Call every frame with the events just drained from `session`:
    /// `Err` naming the peers that never answered once the sync deadline
    /// passed with the session still synchronising. End the session then
    /// (GGRS itself would retry forever). `Ok` without a watch.
    pub fn check_sync<C: Config<Address = PeerAddr>>(
        &mut self,
        session: &P2PSession<C>,
        events: &[NetEvent],
        now: Instant,
    ) -> Result<(), SyncTimeout> {
        let Some(watch) = self.sync.as_mut() else {
            return Ok(());
        };
        events.iter().for_each(|e| watch.observe(e));
        if session.current_state() == SessionState::Running {
            watch.set_running();
        }
        watch.check(now)
    }

    /// The transport counters this monitor reads.
    pub fn traffic(&self) -> &TrafficCounters {
        &self.traffic
    }

    /// Call with the requests of every successful `advance_frame`, before
    /// handling them: counts rollbacks (depth = frames re-simulated), new
    /// frames, and ticks that advanced no new frame (GGRS waited because it
    /// ran too far ahead of confirmed input).
    pub fn record_advance<C: Config>(&mut self, requests: &[GgrsRequest<C>]) {
        let before = self.frame;
        let mut frame = before;
        for r in requests {
            match r {
                GgrsRequest::LoadGameState { frame: loaded, .. } => {
                    let depth = u64::try_from(frame.saturating_sub(*loaded)).unwrap_or(0);
                    self.rollbacks.record(depth);
                    frame = *loaded;
                }
                GgrsRequest::AdvanceFrame { .. } => frame += 1,
                GgrsRequest::SaveGameState { .. } => {}
            }
        }
        self.frame = frame;
        if frame > before {
            self.frames_advanced += u64::try_from(frame - before).unwrap_or(0);
            self.stall_run = 0;
        } else {
            self.record_stall();
        }
    }

    /// Records one rollback of `depth` frames, for drivers that do not see
    /// GGRS's requests (the Bevy plugin counts them in `LoadWorld`).
    pub fn record_rollback(&mut self, depth: u64) {
        self.rollbacks.record(depth);
    }

    /// Records that the simulation reached `frame` (new frames only count
    /// once; a lower frame after a rollback is ignored).
    pub fn record_frame(&mut self, frame: i32) {
        if frame > self.frame {
            self.frames_advanced += u64::try_from(frame - self.frame).unwrap_or(0);
            self.frame = frame;
        }
    }

    /// Call when `advance_frame` failed with `PredictionThreshold` (older
    /// GGRS behaviour; 0.13 returns an empty advance instead, which
    /// [`record_advance`](Self::record_advance) counts already).
    /// Also for ticks a game held its session on purpose (a resume waiting
    /// at the switch frame).
    pub fn record_stall(&mut self) {
        self.frames_stalled += 1;
        self.stall_run += 1;
        self.longest_stall = self.longest_stall.max(self.stall_run);
    }

    /// The most ticks in a row that advanced no new frame so far.
    pub fn longest_stall(&self) -> u64 {
        self.longest_stall
    }

    /// The rollback histogram so far.
    pub fn rollbacks(&self) -> &RollbackHistogram {
        &self.rollbacks
    }

    /// Drains what happened since the last call, every frame: GGRS's events
    /// as [`NetEvent`]s, plus what GGRS does not raise itself, each once:
    ///
    /// - [`NetEvent::PeerDisconnected`] for a peer GGRS dropped because
    ///   *another* peer told it so (GGRS 0.13 propagates a disconnect through
    ///   the inputs' connection status without an event; whoever notices
    ///   first decides for everyone, so a game would otherwise never hear of
    ///   the peer it lost);
    /// - [`NetEvent::SignalingClosed`] when the rendezvous server of a WebRTC
    ///   match let go.
    ///
    /// and without [`NetEvent::DesyncDetected`] from a peer the session
    /// dropped: GGRS 0.13 keeps comparing a disconnected endpoint's
    /// checksum reports until it shuts down (5 s), and a peer that was cut
    /// off and ran on alone (a window that stayed open through a network
    /// drop) sends checksums of a state nobody plays.
    pub fn drain_events<C: Config<Address = PeerAddr>>(
        &mut self,
        session: &mut P2PSession<C>,
    ) -> Vec<NetEvent> {
        let mut events: Vec<NetEvent> = session.events().map(NetEvent::from).collect();
        for event in &events {
            if let NetEvent::PeerDisconnected { peer } = event {
                self.gone.insert(*peer);
            }
        }
        if session.current_state() == SessionState::Running {
            // Once running, a remote endpoint without stats is one GGRS
            // disconnected (its own timeout raised the event above).
            for (handle, addr) in &self.remotes {
                if !self.gone.contains(addr)
                    && matches!(
                        session.network_stats(*handle),
                        Err(GgrsError::NotSynchronized)
                    )
                {
                    self.gone.insert(*addr);
                    events.push(NetEvent::PeerDisconnected { peer: *addr });
                }
            }
        }
        events.retain(
            |e| !matches!(e, NetEvent::DesyncDetected { peer, .. } if self.gone.contains(peer)),
        );
        events.extend(self.transport_event());
        events
    }

    /// A snapshot at `now`. Rates cover the time since the previous
    /// snapshot (at least [`NetMonitor::RATE_WINDOW`]; in between, the last
    /// rates are repeated).
    pub fn snapshot<C: Config<Address = PeerAddr>>(
        &mut self,
        session: &P2PSession<C>,
        now: Instant,
    ) -> NetStats {
        let traffic = self.traffic.peers();
        self.update_rates(now, &traffic);
        let mut peers = Vec::new();
        for handle in session.remote_player_handles() {
            let addr = self.remotes.get(&handle).copied();
            let net = session.network_stats(handle).ok();
            let (kbps_up, kbps_down) = addr
                .and_then(|a| self.last_kbps.get(&a).copied())
                .unwrap_or_default();
            peers.push(PeerStats {
                addr,
                handle,
                ping_ms: net.map(|n| u64::try_from(n.ping).unwrap_or(u64::MAX)),
                kbps_up,
                kbps_down,
                local_frames_behind: net.map_or(0, |n| n.local_frames_behind),
                remote_frames_behind: net.map_or(0, |n| n.remote_frames_behind),
                send_queue_len: net.map_or(0, |n| n.send_queue_len),
                traffic: addr
                    .and_then(|a| traffic.get(&a).copied())
                    .unwrap_or_default(),
            });
        }
        NetStats {
            current_frame: session.current_frame(),
            confirmed_frame: session.confirmed_frame(),
            frames_ahead: session.frames_ahead(),
            peers,
            rollbacks: self.rollbacks.clone(),
            frames_advanced: self.frames_advanced,
            frames_stalled: self.frames_stalled,
            longest_stall: self.longest_stall,
            drops: self.traffic.drop_counts(),
        }
    }

    fn update_rates(&mut self, now: Instant, traffic: &BTreeMap<PeerAddr, PeerTraffic>) {
        let Some((then, before)) = &self.last_sample else {
            self.last_sample = Some((now, traffic.clone()));
            return;
        };
        let secs = now.saturating_duration_since(*then);
        if secs < Self::RATE_WINDOW {
            return;
        }
        let secs = secs.as_secs_f64();
        for (addr, t) in traffic {
            let b = before.get(addr).copied().unwrap_or_default();
            let up = (t.bytes_sent.saturating_sub(b.bytes_sent)) as f64 * 8.0 / 1000.0 / secs;
            let down =
                (t.bytes_received.saturating_sub(b.bytes_received)) as f64 * 8.0 / 1000.0 / secs;
            self.last_kbps.insert(*addr, (up, down));
        }
        self.last_sample = Some((now, traffic.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Cfg;
    impl Config for Cfg {
        type Input = u8;
        type InputPredictor = ggrs::PredictRepeatLast;
        type State = u8;
        type Address = PeerAddr;
    }

    #[test]
    fn the_longest_run_of_stalled_ticks_is_kept() {
        let mut m = NetMonitor::new(TrafficCounters::new(), []);
        let advance = || {
            vec![GgrsRequest::<Cfg>::AdvanceFrame {
                inputs: vec![(0, ggrs::InputStatus::Confirmed)],
            }]
        };
        for stalls in [2, 5, 1] {
            m.record_advance(&advance());
            for _ in 0..stalls {
                m.record_advance::<Cfg>(&[]);
            }
        }
        m.record_stall();
        assert_eq!(m.longest_stall(), 5);
        assert_eq!(m.frames_stalled, 9);
    }
}
