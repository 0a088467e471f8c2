//! A small deterministic rollback game for tests that play a match: a
//! checksum per frame, inputs derived from the frame, sessions stepped in
//! one thread (the caller paces the loop).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ggrs::{GgrsError, GgrsRequest, InputStatus, P2PSession, PredictRepeatLast, SessionState};
use nearplay_matchmaker::play::{Lobby, LobbyEvent, MatchStart};
use nearplay_netcode::{MatchPlan, NetMonitor, PeerAddr};

/// The game's GGRS types.
pub struct Cfg;
impl ggrs::Config for Cfg {
    type Input = u8;
    type InputPredictor = PredictRepeatLast;
    type State = (u64, i32);
    type Address = PeerAddr;
}

/// One seat: its session and game state.
pub struct Seat {
    pub handle: usize,
    pub session: P2PSession<Cfg>,
    pub monitor: NetMonitor,
    state: u64,
    frame: i32,
    sums: BTreeMap<i32, u128>,
}

impl Seat {
    pub fn new(
        handle: usize,
        seed: u64,
        (session, monitor): (P2PSession<Cfg>, NetMonitor),
    ) -> Seat {
        Seat {
            handle,
            session,
            monitor,
            state: seed,
            frame: 0,
            sums: BTreeMap::new(),
        }
    }

    /// One game tick: poll, then advance if running.
    pub fn tick(&mut self) {
        self.session.poll_remote_clients();
        let _ = self.monitor.drain_events(&mut self.session);
        if self.session.current_state() != SessionState::Running {
            return;
        }
        let f = self.session.current_frame();
        let input = ((f as u64).wrapping_mul(2654435761) >> (self.handle * 3)) as u8;
        self.session
            .add_local_input(self.handle, input)
            .expect("input");
        match self.session.advance_frame() {
            Ok(requests) => {
                for r in requests {
                    match r {
                        GgrsRequest::SaveGameState { cell, frame } => {
                            let sum = u128::from(self.state) ^ (u128::from(frame as u32) << 64);
                            self.sums.insert(frame, sum);
                            cell.save(frame, Some((self.state, self.frame)), Some(sum));
                        }
                        GgrsRequest::LoadGameState { cell, .. } => {
                            (self.state, self.frame) = cell.load().expect("saved state");
                        }
                        GgrsRequest::AdvanceFrame { inputs } => {
                            for (i, (input, status)) in inputs.iter().enumerate() {
                                let v = if *status == InputStatus::Disconnected {
                                    0
                                } else {
                                    *input
                                };
                                self.state = self
                                    .state
                                    .rotate_left(7)
                                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                                    ^ (u64::from(v) << (i * 8));
                            }
                            self.frame += 1;
                        }
                    }
                }
            }
            Err(GgrsError::PredictionThreshold | GgrsError::NotSynchronized) => {}
            Err(e) => panic!("advance_frame: {e}"),
        }
    }

    /// The last frame every peer agrees on, as this seat knows it.
    pub fn settled(&self) -> i32 {
        self.session
            .confirmed_frame()
            .min(self.session.current_frame() - 1)
    }

    /// The checksum this seat saved at `frame`.
    pub fn sum(&self, frame: i32) -> Option<u128> {
        self.sums.get(&frame).copied()
    }
}

/// Polls every lobby until each returned `MatchStarted` (a `Failed` or
/// `Closed` lobby fails the test at once), within `limit`; the starts, in
/// the order of `lobbies`.
pub fn match_started(lobbies: &mut [&mut Lobby], limit: Duration) -> Vec<MatchStart> {
    let mut starts: Vec<Option<MatchStart>> = lobbies.iter().map(|_| None).collect();
    super::wait_for("MatchStarted on every member", limit, || {
        for (l, s) in lobbies.iter_mut().zip(starts.iter_mut()) {
            while s.is_none() {
                match l.poll() {
                    Some(LobbyEvent::MatchStarted(m)) => *s = Some(m),
                    Some(LobbyEvent::Failed(e)) => panic!("failed: {e}"),
                    Some(LobbyEvent::Closed(r)) => panic!("closed: {r}"),
                    Some(_) => {}
                    None => break,
                }
            }
        }
        starts.iter().all(Option::is_some).then_some(())
    });
    starts.into_iter().flatten().collect()
}

/// A seat for each started member (session without impairment, seeded
/// by the plan), and the plans, in the order of `starts`.
pub fn seats(starts: Vec<MatchStart>) -> (Vec<Seat>, Vec<MatchPlan>) {
    let plans: Vec<MatchPlan> = starts.iter().map(|s| s.plan.clone()).collect();
    let seats = starts
        .into_iter()
        .map(|s| {
            let (h, seed) = (s.plan.local_handle, s.plan.seed);
            Seat::new(h, seed, s.into_session::<Cfg>(None).expect("session"))
        })
        .collect();
    (seats, plans)
}

/// Ticks every seat at about 60 fps (the sleep paces the game loop, as a
/// game's frame pacing does) until all have `frames` settled frames; then
/// checks that they saved the same checksum at the lowest one. Returns it.
pub fn play(seats: &mut [Seat], frames: i32, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    while seats.iter().any(|s| s.settled() < frames) {
        assert!(
            Instant::now() < deadline,
            "no {frames} settled frames within {limit:?}: {:?}",
            seats.iter().map(Seat::settled).collect::<Vec<_>>()
        );
        for s in seats.iter_mut() {
            s.tick();
        }
        // Frame pacing of the game loop (about 60 fps), not a wait.
        std::thread::sleep(Duration::from_millis(16));
    }
    let frame = seats.iter().map(Seat::settled).min().unwrap_or(0);
    let sums: Vec<_> = seats.iter().map(|s| s.sum(frame)).collect();
    assert!(sums[0].is_some(), "no checksum at frame {frame}");
    assert!(
        sums.iter().all(|s| *s == sums[0]),
        "checksums differ at frame {frame}: {sums:?}"
    );
    frame
}
