//! Rejoin and late join through the one lobby handle: the lobby drives the
//! netcode's [`ResumeMachine`] over its control channel and tells the game
//! what to do with [`LobbyEvent::Resume`] steps (issue 13).
//!
//! A seat retaken or taken, then a new key epoch ([`MatchControl`] news):
//! every member already playing (a *survivor*) gets
//! [`ResumeStep::NextSession`], the next epoch's plan and transport on the
//! same game socket ([`GameTransport::udp_next_epoch`]), builds that
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
//! checked by the host and decoded again here as hostile). Online rooms
//! hand their link to the match and carry none: no resume there yet.

use std::collections::BTreeSet;
use std::time::Instant;

use nearplay_netcode::resume::{
    ResumeConfig, ResumeError, ResumeMachine, ResumeMessage, ResumePoint, Role,
};
use nearplay_netcode::transport::{EpochLinkShare, HeldInputs, UdpLink};
use nearplay_netcode::{GameTransport, MatchPlan};

use super::events::{LobbyEvent, MatchControl, MatchStart};
use super::lobby::Lobby;
use crate::lobby::message::MAX_LOBBY_RESUME_BYTES;

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

/// The lobby's resume bookkeeping (kept in its core).
#[derive(Debug, Default)]
pub(super) struct Resumes {
    /// Makes the next epoch's transports on the game socket (LAN players).
    pub(super) share: Option<EpochLinkShare<UdpLink>>,
    /// Handles vacant now.
    vacant: BTreeSet<u16>,
    /// Handles retaken or taken since the last key epoch.
    arrived: BTreeSet<u16>,
    machine: Option<ResumeMachine>,
    /// The next session was reported running.
    synced: bool,
    /// Coordinator: the newcomers that wait for the state.
    state_for: Vec<u16>,
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
        let bytes = m.state_message(frame, state)?.encode()?;
        if bytes.len() > MAX_LOBBY_RESUME_BYTES {
            return Err(ResumeError::StateTooLarge { len: bytes.len() });
        }
        let to: Vec<u16> = std::mem::take(&mut r.state_for);
        for h in to {
            self.core().backend.send_resume(h, bytes.clone());
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
            MatchControl::MatchRekeyed { epoch, .. } => self.begin_survivor(*epoch),
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
            .map(|s| GameTransport::udp_next_epoch(s, &plan));
        let started = ResumeMachine::new(
            epoch,
            me,
            survivors,
            arrived,
            ResumeConfig::default(),
            Instant::now(),
        );
        match (started, transport) {
            (Ok(machine), Some(Ok(transport))) => {
                self.set_machine(machine);
                let start = MatchStart { plan, transport };
                self.push(LobbyEvent::Resume(ResumeStep::NextSession(start)));
            }
            (Err(e), _) => self.push(LobbyEvent::Resume(ResumeStep::Failed(e))),
            (Ok(_), _) => self.push(LobbyEvent::Resume(ResumeStep::Failed(
                ResumeError::Members("no game socket to share with a next epoch"),
            ))),
        }
    }

    /// A start that seats us in a running match: the newcomer's resume.
    pub(super) fn begin_newcomer(&mut self, plan: &MatchPlan) {
        let Some(me) = plan
            .local_player()
            .and_then(|_| u16::try_from(plan.local_handle).ok())
        else {
            return;
        };
        let vacant_names: Vec<&str> = self
            .roster
            .iter()
            .filter(|m| m.vacant)
            .map(|m| m.name.as_str())
            .collect();
        let survivors: Vec<u16> = plan
            .players
            .iter()
            .filter(|p| !vacant_names.contains(&p.name.as_str()))
            .filter_map(|p| u16::try_from(p.handle).ok())
            .filter(|h| *h != me)
            .collect();
        let now = Instant::now();
        match ResumeMachine::new(
            plan.key_epoch,
            me,
            survivors,
            [me],
            ResumeConfig::default(),
            now,
        ) {
            Ok(machine) => self.set_machine(machine),
            Err(e) => self.push(LobbyEvent::Resume(ResumeStep::Failed(e))),
        }
    }

    fn set_machine(&mut self, machine: ResumeMachine) {
        let r = &mut self.core().resumes;
        r.machine = Some(machine);
        r.synced = false;
        r.state_for.clear();
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
                    self.push(LobbyEvent::Resume(ResumeStep::SwitchAt {
                        frame,
                        send_state,
                    }));
                }
                A::Load(point) => self.push(LobbyEvent::Resume(ResumeStep::Load(point))),
                A::Failed(e) => self.push(LobbyEvent::Resume(ResumeStep::Failed(e))),
            }
        }
    }
}

fn handles(plan: &MatchPlan) -> impl Iterator<Item = u16> + '_ {
    plan.players
        .iter()
        .filter_map(|p| u16::try_from(p.handle).ok())
}
