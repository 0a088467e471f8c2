//! Rejoin and late join through the one lobby handle: the lobby drives the
//! netcode's [`ResumeMachine`] over its control channel and tells the game
//! what to do with [`LobbyEvent::Resume`] steps (issue 13).
//!
//! A seat retaken or taken, then a new key epoch ([`MatchControl`] news):
//! every member already playing (a *survivor*) gets
//! [`ResumeStep::NextSession`], the next epoch's plan and transport on the
//! same game socket or room link
//! ([`GameTransport::udp_next_epoch`](nearplay_netcode::GameTransport::udp_next_epoch),
//! [`webrtc_next_epoch`](nearplay_netcode::GameTransport::webrtc_next_epoch)), builds that
//! session at once and keeps playing the old one. The member who came (a
//! *newcomer*) gets the usual [`LobbyEvent::MatchStarted`] with a plan of a
//! key epoch above 0 ([`MatchStart::is_resume`]): it builds that session
//! but does not play it yet. Every tick the game reports where it is
//! ([`Lobby::resume_progress`]) and asks whether it may advance
//! ([`Lobby::resume_may_advance`]); the members agree on a switch frame
//! `F` and then: survivors get [`ResumeStep::SwitchAt`] (take the state at
//! `F`, drop the old session, play the new one with frame offset `F`); the
//! coordinator hands the state at `F` to the lobby
//! ([`Lobby::resume_state`]); the newcomer gets [`ResumeStep::Load`].
//!
//! The bytes between members are the netcode's [`ResumeMessage`]s, carried
//! by the host (`ClientMsg::Resume`/`HostMsg::Resume`, sealed, bounded,
//! checked by the host and decoded again here as hostile): over TCP on the
//! LAN, over the reliable channel of the room's WebRTC link online.

use std::collections::BTreeSet;
use std::time::Instant;

use nearplay_netcode::MatchPlan;
use nearplay_netcode::resume::{
    ResumeConfig, ResumeError, ResumeMachine, ResumeMessage, ResumePhase, ResumePoint, Role,
};
use nearplay_netcode::transport::HeldInputs;

use super::events::{LobbyEvent, MatchControl, MatchStart};
use super::lobby::Lobby;
use crate::lobby::message::MAX_LOBBY_RESUME_BYTES;

/// Online, how far ahead of the coordinator's frame the switch is proposed
/// (1 s at 60 fps; the LAN's is the netcode's default, 20). The proposal,
/// the accepts and the commit cross the room link's reliable channel
/// through the host; measured on a loaded 2-core machine (three matches of
/// three WebRTC peers at once) that took up to about 40 frames, and the
/// survivors waited at the switch frame for the rest (18-20 ticks with a
/// margin of 20). A longer margin costs the newcomer that much more time
/// before it plays, never the others a stall.
pub const ONLINE_MARGIN_FRAMES: i32 = 60;

/// What the game must do for a resume (rejoin or late join).
#[derive(Debug)]
// `NextSession` holds the plan and its transport, once per resume.
#[allow(clippy::large_enum_variant)]
pub enum ResumeStep {
    /// Survivor: build the next epoch's session from this now (over the
    /// same socket) and poll it beside the old one, which plays on; report
    /// when it runs ([`Lobby::resume_progress`]). Do not advance it yet.
    NextSession(MatchStart),
    /// Survivor: the old session is held at game frame `frame` with frame
    /// `frame - 1` confirmed. Advance the old session once more, keep the
    /// last state saved for `frame` (the rollback re-saved it) and drop
    /// what was simulated past it; drop the old session and play the new
    /// one with frame offset `frame`. If `send_state`, give that state's
    /// bytes to [`Lobby::resume_state`] (this member coordinates).
    SwitchAt {
        /// The game frame the new session's frame 0 is.
        frame: i32,
        /// Whether the newcomers wait for this member's state.
        send_state: bool,
    },
    /// Newcomer: load this state (game frame `point.frame`) and play the
    /// session of the resumed plan from it with frame offset `point.frame`.
    Load(ResumePoint),
    /// The resume failed: survivors play on in the old session (drop the
    /// next one); a newcomer has no match.
    Failed(ResumeError),
    /// Survivor: member `from`'s inputs of the vacated seat `handle`, as its
    /// session received them, for [`VacancyAgreement::report`](nearplay_netcode::resume::VacancyAgreement::report)
    /// (sent with [`Lobby::send_seat_inputs`]).
    SeatInputs {
        /// The survivor that sent them.
        from: u16,
        /// The vacated seat.
        handle: u16,
        /// Its inputs.
        held: HeldInputs,
    },
}

/// Resume messages of a key epoch not begun here yet, kept at most (a
/// member still finishing the previous resume hears the next one early).
pub const EARLY_RESUME_MESSAGES: usize = 64;

/// The lobby's resume bookkeeping (kept in its core).
#[derive(Debug, Default)]
pub(super) struct Resumes {
    /// Makes the next epoch's transports on the game socket (LAN players)
    /// or the room link's game channel (online players).
    pub(super) share: Option<super::handover::EpochShare>,
    /// Handles vacant now.
    vacant: BTreeSet<u16>,
    /// Handles retaken or taken since the last key epoch.
    arrived: BTreeSet<u16>,
    machine: Option<ResumeMachine>,
    /// The next session was reported running.
    synced: bool,
    /// Coordinator: the newcomers that wait for the state.
    state_for: Vec<u16>,
    /// The game has a switch or a state to apply and still holds the next
    /// session: the resume is not over for it yet.
    awaiting_swap: bool,
    /// A key epoch announced while a resume ran: begun once it is over.
    pending_epoch: Option<u32>,
    /// Messages of an epoch not begun yet (sender, bytes), replayed when it
    /// begins; at most [`EARLY_RESUME_MESSAGES`].
    early: Vec<(u16, Vec<u8>)>,
    /// Resume messages refused (undecodable, out of turn).
    pub(super) refused: u64,
}

impl MatchStart {
    /// Whether this start seats us in a running match (a rejoin or a late
    /// join: a key epoch above 0). Build the session, but wait for
    /// [`ResumeStep::Load`] before playing it.
    pub fn is_resume(&self) -> bool {
        self.plan.key_epoch > 0 && self.plan.local_player().is_some()
    }
}

impl Lobby {
    /// Resume: reports where the game is, every tick while a resume runs
    /// (a no-op otherwise). `current` and `confirmed` are the old session's
    /// game frames (offset added; a newcomer passes anything), and
    /// `next_running` whether the next epoch's session is `Running`.
    pub fn resume_progress(&mut self, current: i32, confirmed: i32, next_running: bool) {
        let now = Instant::now();
        let r = &mut self.core().resumes;
        if r.awaiting_swap && !next_running {
            // The game dropped the next session: it plays the new epoch.
            r.awaiting_swap = false;
            self.resume_over(true);
            return;
        }
        let r = &mut self.core().resumes;
        let Some(m) = r.machine.as_mut() else {
            return;
        };
        if next_running && !r.synced {
            r.synced = true;
            m.new_session_synced(now);
        }
        if m.role() == Role::Survivor {
            m.old_session_at(now, current, confirmed);
        }
        m.tick(now);
        self.pump_resume();
    }

    /// Resume: whether the old session may advance from game frame
    /// `current` (`false` at the switch frame this member promised to hold).
    pub fn resume_may_advance(&self, current: i32) -> bool {
        let core = self
            .core
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        core.resumes
            .machine
            .as_ref()
            .is_none_or(|m| m.may_advance(current))
    }

    /// Resume, coordinator: the state at the switch `frame` (after
    /// [`ResumeStep::SwitchAt`] with `send_state`), sent to the newcomers.
    pub fn resume_state(&mut self, frame: i32, state: Vec<u8>) -> Result<(), ResumeError> {
        let r = &mut self.core().resumes;
        let Some(m) = r.machine.as_ref() else {
            return Err(ResumeError::Invalid("no resume"));
        };
        let mut parts = Vec::new();
        for message in m.state_messages(frame, state)? {
            let bytes = message.encode()?;
            if bytes.len() > MAX_LOBBY_RESUME_BYTES {
                return Err(ResumeError::TooLarge { len: bytes.len() });
            }
            parts.push(bytes);
        }
        let to: Vec<u16> = std::mem::take(&mut r.state_for);
        for h in to {
            for bytes in &parts {
                self.core().backend.send_resume(h, bytes.clone());
            }
        }
        Ok(())
    }

    /// Vacancy: sends this member's inputs of the vacated seat `handle`
    /// (frozen, see [`SeatInputs`](nearplay_netcode::transport::SeatInputs))
    /// to the survivors `to`, who get them as [`ResumeStep::SeatInputs`].
    pub fn send_seat_inputs(
        &mut self,
        to: impl IntoIterator<Item = u16>,
        handle: u16,
        held: &HeldInputs,
    ) -> Result<(), ResumeError> {
        let epoch = self.last_plan.as_ref().map_or(0, |p| p.key_epoch);
        let bytes = ResumeMessage::SeatInputs {
            epoch,
            handle,
            first_frame: held.first_frame,
            inputs: held.inputs.clone(),
        }
        .encode()?;
        for h in to {
            self.core().backend.send_resume(h, bytes.clone());
        }
        Ok(())
    }

    /// Resume messages refused so far (undecodable or out of turn).
    pub fn resume_refused(&mut self) -> u64 {
        self.core().resumes.refused
    }

    /// A member's resume message arrived through the lobby.
    pub(super) fn resume_in(&mut self, from: u16, bytes: &[u8]) {
        let now = Instant::now();
        let epoch = self.last_plan.as_ref().map(|p| p.key_epoch);
        if let Ok(ResumeMessage::SeatInputs {
            epoch: e,
            handle,
            first_frame,
            inputs,
        }) = ResumeMessage::decode(bytes)
        {
            if Some(e) == epoch {
                let held = HeldInputs {
                    first_frame,
                    inputs,
                };
                let step = ResumeStep::SeatInputs { from, handle, held };
                self.push(LobbyEvent::Resume(step));
            } else {
                let r = &mut self.core().resumes;
                r.refused = r.refused.saturating_add(1);
            }
            return;
        }
        let r = &mut self.core().resumes;
        let handled = match (ResumeMessage::decode(bytes), r.machine.as_mut()) {
            (Ok(msg), m) if m.as_ref().is_none_or(|m| msg.epoch() > m.epoch()) => {
                // The next resume, heard before it begins here.
                let room = r.early.len() < EARLY_RESUME_MESSAGES;
                if room {
                    r.early.push((from, bytes.to_vec()));
                }
                room
            }
            (Ok(msg), Some(m)) => m.handle(now, from, msg).is_ok(),
            _ => false,
        };
        if !handled {
            r.refused = r.refused.saturating_add(1);
        }
        self.pump_resume();
    }

    /// The match's news: seats vacated and filled, and at a new key epoch
    /// with seats filled since the last one, a survivor's resume.
    pub(super) fn resume_follow(&mut self, news: &MatchControl) {
        let handle = |h: &usize| u16::try_from(*h).ok();
        match news {
            MatchControl::SeatVacated { handle: h, .. } => {
                if let Some(h) = handle(h) {
                    self.core().resumes.vacant.insert(h);
                }
            }
            MatchControl::SeatRetaken { handle: h, .. }
            | MatchControl::SeatTaken {
                handle: h,
                spectator: false,
                ..
            } => {
                if let Some(h) = handle(h) {
                    let r = &mut self.core().resumes;
                    r.vacant.remove(&h);
                    r.arrived.insert(h);
                }
            }
            MatchControl::MatchRekeyed { epoch, .. } => {
                let r = &mut self.core().resumes;
                let running = r
                    .machine
                    .as_ref()
                    .is_some_and(|m| m.phase() == ResumePhase::Agreeing);
                if running || r.awaiting_swap {
                    r.pending_epoch = Some(*epoch);
                } else {
                    self.begin_survivor(*epoch);
                }
            }
            _ => {}
        }
    }

    fn begin_survivor(&mut self, epoch: u32) {
        let Some(plan) = self.last_plan.clone() else {
            return;
        };
        let arrived = std::mem::take(&mut self.core().resumes.arrived);
        let Some(me) = plan
            .local_player()
            .and_then(|_| u16::try_from(plan.local_handle).ok())
        else {
            return;
        };
        if arrived.is_empty() || arrived.contains(&me) || plan.key_epoch != epoch {
            return;
        }
        let vacant = self.core().resumes.vacant.clone();
        let survivors: Vec<u16> = handles(&plan)
            .filter(|h| !vacant.contains(h) && !arrived.contains(h))
            .collect();
        let transport = self
            .core()
            .resumes
            .share
            .as_ref()
            .map(|s| s.next_epoch(&plan));
        let started = ResumeMachine::new(
            epoch,
            me,
            survivors,
            arrived,
            self.resume_config(),
            Instant::now(),
        );
        match (started, transport) {
            (Ok(machine), Some(Ok(transport))) => {
                self.set_machine(machine);
                let mut start = MatchStart::new(plan, transport);
                start.vacant = vacant.iter().map(|h| usize::from(*h)).collect();
                self.push(LobbyEvent::Resume(ResumeStep::NextSession(start)));
            }
            (Err(e), _) => self.push(LobbyEvent::Resume(ResumeStep::Failed(e))),
            (Ok(_), _) => self.push(LobbyEvent::Resume(ResumeStep::Failed(
                ResumeError::Members("no game socket to share with a next epoch"),
            ))),
        }
    }

    /// A start that seats us in a running match: the newcomer's resume.
    /// Returns the seats vacant now (the session starts without them).
    pub(super) fn begin_newcomer(&mut self, plan: &MatchPlan) -> Vec<usize> {
        let Some(me) = plan
            .local_player()
            .and_then(|_| u16::try_from(plan.local_handle).ok())
        else {
            return Vec::new();
        };
        let vacant_names: Vec<String> = self
            .roster
            .iter()
            .filter(|m| m.vacant)
            .map(|m| m.name.clone())
            .collect();
        // Seats taken in the same epoch as ours (the host announced them
        // to us before our plan) are newcomers too.
        let mut newcomers = std::mem::take(&mut self.core().resumes.arrived);
        newcomers.insert(me);
        let survivors: Vec<u16> = plan
            .players
            .iter()
            .filter(|p| !vacant_names.contains(&p.name))
            .filter_map(|p| u16::try_from(p.handle).ok())
            .filter(|h| !newcomers.contains(h))
            .collect();
        let vacant: Vec<usize> = plan
            .players
            .iter()
            .filter(|p| vacant_names.contains(&p.name) && p.handle != plan.local_handle)
            .map(|p| p.handle)
            .collect();
        let now = Instant::now();
        match ResumeMachine::new(
            plan.key_epoch,
            me,
            survivors,
            newcomers,
            self.resume_config(),
            now,
        ) {
            Ok(machine) => self.set_machine(machine),
            Err(e) => self.push(LobbyEvent::Resume(ResumeStep::Failed(e))),
        }
        vacant
    }

    /// The resume's settings: the netcode's defaults on the LAN; online a
    /// switch frame [`ONLINE_MARGIN_FRAMES`] ahead.
    fn resume_config(&self) -> ResumeConfig {
        let mut config = ResumeConfig::default();
        if self.code.is_some() {
            config.margin_frames = config.margin_frames.max(ONLINE_MARGIN_FRAMES);
        }
        config
    }

    fn set_machine(&mut self, machine: ResumeMachine) {
        let now = Instant::now();
        let r = &mut self.core().resumes;
        let epoch = machine.epoch();
        r.machine = Some(machine);
        r.synced = false;
        r.state_for.clear();
        r.awaiting_swap = false;
        // What this epoch's members said before it began here.
        let early = std::mem::take(&mut r.early);
        for (from, bytes) in early {
            let (r, msg) = (&mut self.core().resumes, ResumeMessage::decode(&bytes));
            match (msg, r.machine.as_mut()) {
                (Ok(msg), Some(m)) if msg.epoch() == epoch => {
                    if m.handle(now, from, msg).is_err() {
                        r.refused = r.refused.saturating_add(1);
                    }
                }
                (Ok(msg), _) if msg.epoch() > epoch => r.early.push((from, bytes)),
                _ => r.refused = r.refused.saturating_add(1),
            }
        }
    }

    /// The running resume is over here (`switched`, or failed): the host
    /// announces seat changes that waited, and a key epoch that came
    /// meanwhile begins.
    fn resume_over(&mut self, switched: bool) {
        let core = self.core();
        core.backend.resume_settled();
        let newcomer = core
            .resumes
            .machine
            .as_ref()
            .is_some_and(|m| m.role() == Role::Newcomer);
        let pending = core.resumes.pending_epoch.take();
        if let Some(epoch) = pending.filter(|_| switched || !newcomer) {
            self.begin_survivor(epoch);
        }
    }

    /// Sends what the machine wants sent; tells the game the rest.
    fn pump_resume(&mut self) {
        loop {
            let core = self.core();
            let Some(action) = core.resumes.machine.as_mut().and_then(ResumeMachine::poll) else {
                return;
            };
            use nearplay_netcode::resume::ResumeAction as A;
            match action {
                A::Send { to, message } => {
                    if let Ok(bytes) = message.encode() {
                        core.backend.send_resume(to, bytes);
                    }
                }
                A::SwitchAt { frame, newcomers } => {
                    let send_state = !newcomers.is_empty();
                    core.resumes.state_for = newcomers;
                    core.resumes.awaiting_swap = true;
                    self.push(LobbyEvent::Resume(ResumeStep::SwitchAt {
                        frame,
                        send_state,
                    }));
                }
                A::Load(point) => {
                    core.resumes.awaiting_swap = true;
                    self.push(LobbyEvent::Resume(ResumeStep::Load(point)));
                }
                A::Failed(e) => {
                    core.resumes.awaiting_swap = false;
                    self.push(LobbyEvent::Resume(ResumeStep::Failed(e)));
                    self.resume_over(false);
                }
            }
        }
    }
}

fn handles(plan: &MatchPlan) -> impl Iterator<Item = u16> + '_ {
    plan.players
        .iter()
        .filter_map(|p| u16::try_from(p.handle).ok())
}
