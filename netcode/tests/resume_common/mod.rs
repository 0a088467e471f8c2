//! Members of a match that resume into a new key epoch over the simulated
//! network (rejoin, late join): the driver of `resume_match`.
//!
//! A [`Member`] is one player's process: its current session (game frames
//! through a [`FrameOffset`]), the next epoch's session while it
//! synchronises, a [`ResumeMachine`], and what it observed. [`Control`] is
//! the lobby's encrypted control channel as the netcode sees it: reliable,
//! in order, after a one-way latency.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ggrs::{GgrsError, GgrsRequest, P2PSession, SessionState};
use nearplay_netcode::prelude::*;
use nearplay_netcode::resume::{FrameOffset, ResumeAction, ResumeMachine, ResumeMessage, Role};
use nearplay_netcode::transport::{EpochLink, EpochLinkShare, SimLink};

use crate::common::{GameCfg, GameState, input_for};

mod lobby;
mod scenario;
pub use lobby::*;
pub use scenario::*;

/// One game tick at 60 fps.
pub const TICK: Duration = Duration::from_micros(16_667);

/// Extra frames a newcomer simulates per tick at most while it catches up.
pub const CATCH_UP: usize = 3;

/// One player's process.
pub struct Member {
    pub handle: usize,
    pub seed: u64,
    /// `None` for a newcomer until it loads the state.
    pub game: Option<GameState>,
    pub session: Option<(P2PSession<GameCfg>, NetMonitor)>,
    pub offset: FrameOffset,
    pub share: EpochLinkShare<SimLink>,
    /// The next epoch's session while it synchronises.
    pub next: Option<(P2PSession<GameCfg>, NetMonitor)>,
    pub resume: Option<ResumeMachine>,
    synced_reported: bool,
    /// Checksum of the state at the start of each game frame (latest save).
    pub checksums: BTreeMap<i32, u128>,
    /// Inputs each game frame was last advanced with.
    pub inputs: BTreeMap<i32, Vec<(u8, ggrs::InputStatus)>>,
    pub events: Vec<NetEvent>,
    /// How many events came before the resume started.
    pub events_at_resume: usize,
    pub alive: bool,
    /// Counting stalled ticks (no game frame advanced) from now on.
    pub measuring: bool,
    stall_run: u32,
    pub longest_stall: u32,
    pub started: Instant,
    /// When the newcomer's new session first had every member's input of a
    /// frame (its first confirmed frame).
    pub first_confirmed: Option<Instant>,
    pub switched_at: Option<i32>,
    /// Build the next epoch's session only at the switch, with this plan:
    /// the stop-the-world resume the `rejoin` bench compares against.
    pub late_sync: Option<EpochPlan>,
    /// See [`Member::settled`].
    settled: i32,
    /// The last state saved for each recent game frame (a rollback saves a
    /// frame again): a committed survivor plays on past the switch frame.
    saved: std::collections::BTreeMap<i32, GameState>,
}

impl Member {
    /// A member of the match's first epoch on node `handle`.
    pub fn first(net: &SimNetwork, handle: usize, plan: &EpochPlan, seed: u64) -> Self {
        let link = EpochLink::new(net.datagram_link(handle as u32));
        let share = link.share();
        let session = epoch_session(link, plan, handle);
        let mut m = Member::empty(handle, seed, share);
        m.session = Some(session);
        m.game = Some(GameState::default());
        m
    }

    /// A newcomer (restarted or late) on node `handle`: no state, a session
    /// of the next epoch `plan`, and its resume machine.
    pub fn newcomer(
        net: &SimNetwork,
        handle: usize,
        plan: &EpochPlan,
        machine: ResumeMachine,
        seed: u64,
    ) -> Self {
        let link = EpochLink::new(net.datagram_link(handle as u32));
        let share = link.share();
        let mut m = Member::empty(handle, seed, share);
        m.next = Some(epoch_session(link, plan, handle));
        m.resume = Some(machine);
        m
    }

    fn empty(handle: usize, seed: u64, share: EpochLinkShare<SimLink>) -> Self {
        Member {
            handle,
            seed,
            game: None,
            session: None,
            offset: FrameOffset(0),
            share,
            next: None,
            resume: None,
            synced_reported: false,
            checksums: BTreeMap::new(),
            inputs: BTreeMap::new(),
            events: Vec::new(),
            events_at_resume: 0,
            alive: true,
            measuring: false,
            stall_run: 0,
            longest_stall: 0,
            started: Instant::now(),
            first_confirmed: None,
            switched_at: None,
            late_sync: None,
            settled: -1,
            saved: std::collections::BTreeMap::new(),
        }
    }

    /// A survivor starts resuming into `plan`'s epoch: its next session
    /// synchronises over the same link while the current one plays on.
    pub fn begin_resume(&mut self, plan: &EpochPlan, machine: ResumeMachine) {
        let link = self.share.next_epoch().expect("a free epoch handle");
        self.next = Some(epoch_session(link, plan, self.handle));
        self.resume = Some(machine);
        self.synced_reported = false;
        self.events_at_resume = self.events.len();
    }

    /// The longest stall counted so far; counting starts again.
    pub fn take_longest_stall(&mut self) -> u32 {
        self.stall_run = 0;
        std::mem::take(&mut self.longest_stall)
    }

    /// The game frame this member is at (`None` before it has a state).
    pub fn game_frame(&self) -> Option<i32> {
        self.game.map(|g| g.frame)
    }

    /// The newest game frame whose saved state is final: GGRS corrects a
    /// misprediction only at the next `advance_frame`, so a frame counts
    /// once an advance ran with every input before it confirmed.
    pub fn settled(&self) -> i32 {
        if self.session.is_some() && self.game.is_some() {
            self.settled
        } else {
            -1
        }
    }

    /// GGRS housekeeping between ticks.
    pub fn poll(&mut self) {
        if !self.alive {
            return;
        }
        for (s, _) in self.session.iter_mut().chain(self.next.iter_mut()) {
            s.poll_remote_clients();
        }
    }

    /// A control message from member `from`.
    pub fn deliver(&mut self, now: Instant, from: u16, bytes: &[u8]) {
        if !self.alive {
            return;
        }
        let message = ResumeMessage::decode(bytes).expect("control message decodes");
        if let Some(r) = &mut self.resume {
            r.handle(now, from, message)
                .expect("control message accepted");
        }
    }

    /// One game tick.
    pub fn tick(&mut self, now: Instant, control: &mut Control) {
        if !self.alive {
            return;
        }
        let before = self.game_frame();
        if let Some((s, m)) = &mut self.session {
            s.poll_remote_clients();
            self.events.extend(m.drain_events(s));
        }
        if let Some((s, m)) = &mut self.next {
            s.poll_remote_clients();
            self.events.extend(m.drain_events(s));
            if s.current_state() == SessionState::Running && !self.synced_reported {
                self.synced_reported = true;
                if let Some(r) = &mut self.resume {
                    r.new_session_synced(now);
                }
            }
        }
        if let Some(r) = &mut self.resume {
            if let (Role::Survivor, Some((s, _)), true) =
                (r.role(), &self.session, self.next.is_some())
            {
                let current = self.offset.game_frame(s.current_frame());
                let confirmed = self.offset.game_frame(s.confirmed_frame());
                r.old_session_at(now, current, confirmed);
            }
            r.tick(now);
        }
        self.run_resume_actions(now, control);
        let holding = match (&self.resume, self.game_frame()) {
            (Some(r), Some(f)) => !r.may_advance(f) && self.next.is_some(),
            _ => false,
        };
        if holding && let Some((_, m)) = &mut self.session {
            m.record_stall();
        }
        if !holding && self.game.is_some() {
            for _ in 0..self.steps() {
                self.advance_once();
            }
        }
        let newcomer = self
            .resume
            .as_ref()
            .is_some_and(|r| r.role() == Role::Newcomer);
        if newcomer
            && self.first_confirmed.is_none()
            && self.switched_at.is_some()
            && self
                .session
                .as_ref()
                .is_some_and(|(s, _)| s.confirmed_frame() >= 0)
        {
            self.first_confirmed = Some(now);
        }
        if self.measuring {
            if self.game_frame() == before {
                self.stall_run += 1;
                self.longest_stall = self.longest_stall.max(self.stall_run);
            } else {
                self.stall_run = 0;
            }
        }
    }

    /// Frames to simulate this tick: one, more for a newcomer behind.
    fn steps(&self) -> usize {
        let newcomer = self
            .resume
            .as_ref()
            .is_some_and(|r| r.role() == Role::Newcomer);
        let Some((s, _)) = &self.session else {
            return 1;
        };
        if !newcomer {
            return 1;
        }
        let behind = (0..3usize)
            .filter(|h| *h != self.handle)
            .filter_map(|h| s.network_stats(h).ok())
            .map(|n| n.local_frames_behind)
            .max()
            .unwrap_or(0);
        1 + usize::try_from(behind - 1).unwrap_or(0).min(CATCH_UP)
    }

    fn run_resume_actions(&mut self, now: Instant, control: &mut Control) {
        let Some(mut r) = self.resume.take() else {
            return;
        };
        let me = self.handle as u16;
        while let Some(action) = r.poll() {
            match action {
                ResumeAction::Send { to, message } => {
                    control.send(now, me, to, message.encode().expect("encodes"));
                }
                ResumeAction::SwitchAt { frame, newcomers } => {
                    let state = self.confirmed_state_at(frame);
                    self.game = Some(state);
                    self.rebuild_if_late();
                    self.switch_to_next(frame);
                    for to in newcomers {
                        let parts = r
                            .state_messages(frame, encode_state(&state))
                            .expect("state");
                        for msg in parts {
                            control.send(now, me, to, msg.encode().expect("encodes"));
                        }
                    }
                }
                ResumeAction::Load(point) => {
                    let state = decode_state(&point.state).expect("state decodes");
                    assert_eq!(state.frame, point.frame, "state is of the agreed frame");
                    self.game = Some(state);
                    self.rebuild_if_late();
                    self.switch_to_next(point.frame);
                }
                ResumeAction::Failed(e) => panic!("member {}: resume failed: {e}", self.handle),
            }
        }
        self.resume = Some(r);
    }

    /// The old session's confirmed state at `frame` (frame `frame - 1` is
    /// confirmed): GGRS corrects a misprediction only at the next advance,
    /// so advance once more; the last state saved for `frame` is then final
    /// (a rollback re-saved it, or the prediction was right). What the old
    /// session simulated past `frame` is dropped.
    fn confirmed_state_at(&mut self, frame: i32) -> GameState {
        let requests = {
            let Some((s, _)) = &mut self.session else {
                panic!("a survivor has a session")
            };
            let current = self.offset.game_frame(s.current_frame());
            let input = input_for(self.seed, self.handle, current);
            s.add_local_input(self.handle, input).expect("local input");
            s.advance_frame().expect("advance at the switch")
        };
        for r in requests {
            self.handle_request(r);
        }
        *self
            .saved
            .get(&frame)
            .expect("the state of the switch frame was saved")
    }

    /// The stop-the-world variant: drop the synchronised next session and
    /// build one now, which synchronises while this member waits.
    fn rebuild_if_late(&mut self) {
        if let Some(plan) = &self.late_sync {
            self.next = None;
            let link = self.share.next_epoch().expect("a free epoch handle");
            self.next = Some(epoch_session(link, plan, self.handle));
        }
    }

    fn switch_to_next(&mut self, frame: i32) {
        self.session = self.next.take();
        self.settled = frame;
        self.offset = FrameOffset(frame);
        self.switched_at = Some(frame);
    }

    fn advance_once(&mut self) {
        let Some((s, m)) = &mut self.session else {
            return;
        };
        if s.current_state() != SessionState::Running {
            return;
        }
        let frame = self.offset.game_frame(s.current_frame());
        let input = input_for(self.seed, self.handle, frame);
        s.add_local_input(self.handle, input).expect("local input");
        s.poll_remote_clients();
        let final_frame = (s.confirmed_frame() + 1).min(s.current_frame());
        match s.advance_frame() {
            Ok(requests) => {
                self.settled = self.settled.max(self.offset.game_frame(final_frame));
                m.record_advance(&requests);
                for r in requests {
                    self.handle_request(r);
                }
            }
            Err(GgrsError::NotSynchronized) => {}
            Err(e) => panic!("advance_frame: {e}"),
        }
    }

    fn handle_request(&mut self, r: GgrsRequest<GameCfg>) {
        let Some(game) = &mut self.game else { return };
        match r {
            GgrsRequest::SaveGameState { cell, frame } => {
                assert_eq!(game.frame, self.offset.game_frame(frame), "frame offset");
                let sum = game.checksum();
                self.checksums.insert(game.frame, sum);
                self.saved.insert(game.frame, *game);
                while self.saved.len() > 64 {
                    self.saved.pop_first();
                }
                cell.save(frame, Some(*game), Some(sum));
            }
            GgrsRequest::LoadGameState { cell, frame } => {
                *game = cell.load().unwrap_or_else(|| panic!("no state at {frame}"));
            }
            GgrsRequest::AdvanceFrame { inputs } => {
                self.inputs.insert(game.frame, inputs.clone());
                game.advance(&inputs);
            }
        }
    }
}
