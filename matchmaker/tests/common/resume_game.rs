//! A player of the small test game that follows a [`Lobby`]'s resume
//! steps (rejoin, late join) with real UDP sessions: what a game does with
//! the plain API, and what the `play_resume` test measures (stalls, the
//! newcomer's time to its first confirmed frame, checksums by game frame).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Instant;

use ggrs::{GgrsError, GgrsRequest, InputStatus, P2PSession, SessionState};
use nearplay_matchmaker::play::{Lobby, LobbyEvent, MatchControl, MatchStart, ResumeStep};
use nearplay_netcode::NetMonitor;

use super::game::Cfg;

/// One player's process: its lobby, its session(s) and its game state.
pub struct Player {
    pub name: String,
    pub lobby: Lobby,
    pub handle: usize,
    session: Option<(P2PSession<Cfg>, NetMonitor)>,
    /// The next epoch's session while it synchronises.
    next: Option<(P2PSession<Cfg>, NetMonitor)>,
    /// The game frame of the session's frame 0.
    offset: i32,
    /// (hash, game frame); `None` for a newcomer before its state came.
    state: Option<(u64, i32)>,
    sums: BTreeMap<i32, u128>,
    /// The last state saved for each recent game frame.
    saved: BTreeMap<i32, (u64, i32)>,
    settled: i32,
    /// Counting stalled ticks from now on.
    pub measuring: bool,
    stall_run: u32,
    pub longest_stall: u32,
    /// The longest stall that ended (or runs) after the switch to the next
    /// epoch's session (the rest were before it: held at the switch frame).
    pub longest_stall_after_switch: u32,
    /// When the player was started (a restarted game: its new lobby).
    pub started: Instant,
    /// A newcomer's first confirmed frame in the resumed session.
    pub first_confirmed: Option<Instant>,
    pub switched_at: Option<i32>,
    pub newcomer: bool,
    /// The lobby's last notices and match news (at most 16), to explain a
    /// failure.
    pub news: Vec<String>,
    /// The lobby's news about our own connection (reconnecting, back,
    /// given up, ended), as it came.
    pub connection: Vec<(Instant, MatchControl)>,
    /// A window that stayed open was seated again (the resumed start).
    pub reseated: Option<Instant>,
    /// Ask the lobby to reconnect once the session lost every other
    /// player (what a game does with the plain API; the Bevy plugin does
    /// it by itself). Off by default: the tick then leaves the session's
    /// events to [`drain_events`](Self::drain_events).
    pub reconnect_when_cut_off: bool,
    /// Players lost by the current session, and when we asked.
    lost: usize,
    pub asked_reconnect: Option<Instant>,
    players: usize,
}

/// Every player's lobby events in this process, in order (see
/// [`Player::trace`]).
static TRACE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Adds a line to the trace.
pub fn trace_note(line: String) {
    TRACE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(line);
}

/// The trace so far, one event a line.
pub fn trace_dump() -> String {
    TRACE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .join("\n")
}

/// The input of `handle` at game frame `frame`: the same in every epoch.
fn input(handle: usize, frame: i32) -> u8 {
    ((frame as u64).wrapping_mul(2_654_435_761) >> (handle * 3)) as u8
}

fn encode(state: (u64, i32)) -> Vec<u8> {
    let mut out = state.0.to_le_bytes().to_vec();
    out.extend_from_slice(&state.1.to_le_bytes());
    out
}

/// The state back from bytes (hostile: exactly 12 bytes or nothing).
fn decode(bytes: &[u8]) -> Option<(u64, i32)> {
    let hash = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let frame = i32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?);
    (bytes.len() == 12).then_some((hash, frame))
}

impl Player {
    /// A player whose match started with `start` (a newcomer if it is a
    /// resume: it waits for its state).
    pub fn new(name: &str, lobby: Lobby, start: MatchStart, started: Instant) -> Player {
        let newcomer = start.is_resume();
        let (handle, seed) = (start.plan.local_handle, start.plan.seed);
        let players = start.plan.players.len();
        let session = start.into_session::<Cfg>(None).expect("session");
        let mut p = Player {
            name: name.to_string(),
            lobby,
            handle,
            session: None,
            next: None,
            offset: 0,
            state: None,
            sums: BTreeMap::new(),
            saved: BTreeMap::new(),
            settled: -1,
            measuring: false,
            stall_run: 0,
            longest_stall: 0,
            longest_stall_after_switch: 0,
            started,
            first_confirmed: None,
            switched_at: None,
            newcomer,
            connection: Vec::new(),
            reseated: None,
            reconnect_when_cut_off: false,
            lost: 0,
            asked_reconnect: None,
            players,
            news: Vec::new(),
        };
        if newcomer {
            p.next = Some(session);
        } else {
            p.session = Some(session);
            p.state = Some((seed, 0));
        }
        p
    }

    /// The game frame reached, if any.
    pub fn frame(&self) -> Option<i32> {
        self.state.map(|s| s.1)
    }

    /// The longest stall counted so far; counting starts again.
    pub fn take_longest_stall(&mut self) -> u32 {
        self.stall_run = 0;
        std::mem::take(&mut self.longest_stall)
    }

    /// The newest game frame whose saved state is final.
    pub fn settled(&self) -> i32 {
        self.settled
    }

    /// The checksum saved at game frame `frame`.
    pub fn sum(&self, frame: i32) -> Option<u128> {
        self.sums.get(&frame).copied()
    }

    /// The sessions' monitors' events since the last call.
    pub fn drain_events(&mut self) -> Vec<nearplay_netcode::NetEvent> {
        let mut out = Vec::new();
        for (s, m) in self.session.iter_mut().chain(self.next.iter_mut()) {
            out.extend(m.drain_events(s));
        }
        out
    }

    /// One game tick.
    pub fn tick(&mut self) {
        let before = self.frame();
        for (s, _) in self.session.iter_mut().chain(self.next.iter_mut()) {
            s.poll_remote_clients();
        }
        let next_running = self
            .next
            .as_ref()
            .is_some_and(|(s, _)| s.current_state() == SessionState::Running);
        let (current, confirmed) = match &self.session {
            Some((s, _)) if !self.newcomer || self.switched_at.is_some() => (
                self.offset + s.current_frame(),
                self.offset + s.confirmed_frame(),
            ),
            _ => (0, -1),
        };
        self.lobby.resume_progress(current, confirmed, next_running);
        if self.reconnect_when_cut_off {
            self.reconnect_if_cut_off();
        }
        self.follow_lobby();
        let may = self
            .frame()
            .is_some_and(|f| self.lobby.resume_may_advance(f));
        if may {
            for _ in 0..self.steps() {
                self.advance_once();
            }
        }
        if self.newcomer
            && self.switched_at.is_some()
            && self.first_confirmed.is_none()
            && self
                .session
                .as_ref()
                .is_some_and(|(s, _)| s.confirmed_frame() >= 0)
        {
            self.first_confirmed = Some(Instant::now());
        }
        if self.measuring {
            if self.frame() == before {
                self.stall_run += 1;
                if self.stall_run > self.longest_stall && self.stall_run % 10 == 0 {
                    trace_note(format!(
                        "{:>8.3}s {:<5} frame {:?}: stalled {} ticks (confirmed {:?})",
                        self.started.elapsed().as_secs_f64(),
                        self.name,
                        self.frame(),
                        self.stall_run,
                        self.session.as_ref().map(|(s, _)| s.confirmed_frame()),
                    ));
                }
                self.longest_stall = self.longest_stall.max(self.stall_run);
                if self.switched_at.is_some() {
                    self.longest_stall_after_switch =
                        self.longest_stall_after_switch.max(self.stall_run);
                }
            } else {
                self.stall_run = 0;
            }
        }
    }

    /// Frames to simulate this tick: a newcomer behind catches up (at most
    /// 3 extra frames a tick).
    fn steps(&self) -> usize {
        let Some((s, _)) = &self.session else {
            return 1;
        };
        if !self.newcomer {
            return 1;
        }
        let behind = (0..8)
            .filter(|h| *h != self.handle)
            .filter_map(|h| s.network_stats(h).ok())
            .map(|n| n.local_frames_behind)
            .max()
            .unwrap_or(0);
        1 + usize::try_from(behind - 1).unwrap_or(0).min(3)
    }

    fn follow_lobby(&mut self) {
        while let Some(event) = self.lobby.poll() {
            self.trace(&event);
            match event {
                LobbyEvent::Resume(ResumeStep::NextSession(start)) => {
                    self.next = Some(start.into_session::<Cfg>(None).expect("next session"));
                    self.measuring = true;
                }
                LobbyEvent::Resume(ResumeStep::SwitchAt { frame, send_state }) => {
                    let state = self.confirmed_state_at(frame);
                    if send_state {
                        self.lobby
                            .resume_state(frame, encode(state))
                            .expect("state sent");
                    }
                    self.state = Some(state);
                    self.switch(frame);
                }
                LobbyEvent::Resume(ResumeStep::Load(point)) => {
                    let state = decode(&point.state).expect("state decodes");
                    assert_eq!(state.1, point.frame, "the state of the agreed frame");
                    self.state = Some(state);
                    self.switch(point.frame);
                }
                LobbyEvent::MatchStarted(start) if start.is_resume() => self.reseat(start),
                LobbyEvent::Control(
                    news @ (MatchControl::Reconnecting { .. }
                    | MatchControl::Reconnected { .. }
                    | MatchControl::ReconnectGaveUp { .. }
                    | MatchControl::Ended(_)),
                ) => self.connection.push((Instant::now(), news)),
                LobbyEvent::Resume(ResumeStep::Failed(e)) => {
                    panic!("{}: resume failed: {e}\n{}", self.name, trace_dump())
                }
                LobbyEvent::Failed(e) => panic!("{}: lobby failed: {e}", self.name),
                LobbyEvent::Notice(n) => self.note(n),
                LobbyEvent::Control(c) => self.note(format!("{c:?}")),
                _ => {}
            }
        }
    }

    fn note(&mut self, what: String) {
        if self.news.len() >= 16 {
            self.news.remove(0);
        }
        self.news.push(what);
    }

    /// Notes a lobby event in the process's trace (printed when a resume
    /// fails, so a rare failure says which step every player reached).
    fn trace(&mut self, event: &LobbyEvent) {
        let what = match event {
            LobbyEvent::Control(MatchControl::MatchRekeyed { epoch, .. }) => {
                format!("rekeyed to epoch {epoch}")
            }
            LobbyEvent::Control(n) => format!("{n:?}"),
            LobbyEvent::Resume(ResumeStep::NextSession(_)) => "next session".into(),
            LobbyEvent::Resume(ResumeStep::SwitchAt { frame, send_state }) => {
                format!("switch at {frame} (send state: {send_state})")
            }
            LobbyEvent::Resume(ResumeStep::Load(p)) => format!("load frame {}", p.frame),
            LobbyEvent::Resume(ResumeStep::Failed(e)) => format!("failed: {e}"),
            LobbyEvent::MatchStarted(s) => format!("match started, epoch {}", s.plan.key_epoch),
            LobbyEvent::RosterChanged(r) => format!(
                "roster {:?}",
                r.iter().map(|m| (&m.name, m.vacant)).collect::<Vec<_>>()
            ),
            other => format!("{:?}", std::mem::discriminant(other)),
        };
        let line = format!(
            "{:>8.3}s {:<5} frame {:?} refused {}: {what}",
            self.started.elapsed().as_secs_f64(),
            self.name,
            self.frame(),
            self.lobby.resume_refused()
        );
        TRACE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }

    /// The session lost every other player: we are the one cut off.
    fn reconnect_if_cut_off(&mut self) {
        let Some((s, m)) = &mut self.session else {
            return;
        };
        let lost = m
            .drain_events(s)
            .iter()
            .filter(|e| matches!(e, nearplay_netcode::NetEvent::PeerDisconnected { .. }))
            .count();
        self.lost += lost;
        if self.lost + 1 >= self.players && self.asked_reconnect.is_none() {
            self.asked_reconnect = Some(Instant::now());
            self.lobby.reconnect().expect("reconnect");
        }
    }

    /// Our lobby took our seat back after a drop (the window stayed
    /// open): as a restarted game, drop the old session (and its view of
    /// the match) and wait for the state of the agreed frame.
    fn reseat(&mut self, start: MatchStart) {
        assert_eq!(start.plan.local_handle, self.handle, "the same seat");
        self.session = None;
        self.next = Some(start.into_session::<Cfg>(None).expect("resumed session"));
        self.newcomer = true;
        self.lost = 0;
        self.state = None;
        self.offset = 0;
        self.settled = -1;
        self.switched_at = None;
        self.first_confirmed = None;
        self.reseated = Some(Instant::now());
    }

    fn switch(&mut self, frame: i32) {
        self.session = self.next.take();
        self.offset = frame;
        self.settled = frame;
        self.switched_at = Some(frame);
    }

    /// The old session's confirmed state at `frame` (frame `frame - 1` is
    /// confirmed): GGRS corrects a misprediction only at the next advance,
    /// so advance once more; the last state saved for `frame` is then final
    /// (a rollback re-saved it, or the prediction was right). A committed
    /// survivor plays on past `frame`; what it simulated past it is dropped
    /// with the old session.
    fn confirmed_state_at(&mut self, frame: i32) -> (u64, i32) {
        let requests = {
            let (s, _) = self.session.as_mut().expect("a survivor's session");
            let current = self.offset + s.current_frame();
            s.add_local_input(self.handle, input(self.handle, current))
                .expect("input");
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

    fn advance_once(&mut self) {
        let Some((s, m)) = &mut self.session else {
            return;
        };
        if s.current_state() != SessionState::Running {
            return;
        }
        let frame = self.offset + s.current_frame();
        s.add_local_input(self.handle, input(self.handle, frame))
            .expect("input");
        let final_frame = (s.confirmed_frame() + 1).min(s.current_frame());
        match s.advance_frame() {
            Ok(requests) => {
                self.settled = self.settled.max(self.offset + final_frame);
                m.record_advance(&requests);
                for r in requests {
                    self.handle_request(r);
                }
            }
            Err(GgrsError::PredictionThreshold | GgrsError::NotSynchronized) => {}
            Err(e) => panic!("{}: advance_frame: {e}", self.name),
        }
    }

    fn handle_request(&mut self, r: ggrs::GgrsRequest<Cfg>) {
        let Some(state) = &mut self.state else {
            return;
        };
        match r {
            GgrsRequest::SaveGameState { cell, frame } => {
                assert_eq!(state.1, self.offset + frame, "frame offset");
                let sum = u128::from(state.0) ^ (u128::from(state.1 as u32) << 64);
                self.sums.insert(state.1, sum);
                self.saved.insert(state.1, *state);
                while self.saved.len() > 64 {
                    self.saved.pop_first();
                }
                cell.save(frame, Some(*state), Some(sum));
            }
            GgrsRequest::LoadGameState { cell, .. } => {
                *state = cell.load().expect("saved state");
            }
            GgrsRequest::AdvanceFrame { inputs } => {
                for (i, (input, status)) in inputs.iter().enumerate() {
                    let v = if *status == InputStatus::Disconnected {
                        0
                    } else {
                        *input
                    };
                    state.0 = state.0.rotate_left(7).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        ^ (u64::from(v) << (i * 8));
                }
                state.1 += 1;
            }
        }
    }
}
