//! [`ResumeMachine`]: one member's side of a resume, sans-IO.
//!
//! It reads no clock and sends nothing: the caller passes `now`, the old
//! session's frames and the messages received, and drains
//! [`ResumeAction`]s with [`poll`](ResumeMachine::poll).

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::{ResumeError, ResumeMessage, ResumePoint, StateAssembly};

/// What a member is in a resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Plays the old session and keeps its state.
    Survivor,
    /// Has no state: a restarted player or a late joiner.
    Newcomer,
}

/// How a resume is run. Defaults suit 60 fps on a LAN or a 60 ms link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeConfig {
    /// Frames ahead of the coordinator's current frame it proposes to
    /// switch at. Default 20 (333 ms at 60 fps): room for a proposal, the
    /// accepts and the commit to cross the lobby channel before survivors
    /// reach the frame, so they do not wait for the commit.
    pub margin_frames: i32,
    /// Time for the whole resume, from the machine's start. Default 15 s.
    pub deadline: Duration,
    /// Proposals at most before the resume fails. Default 8.
    pub max_rounds: u32,
}

impl Default for ResumeConfig {
    fn default() -> Self {
        ResumeConfig {
            margin_frames: 20,
            deadline: Duration::from_secs(15),
            max_rounds: 8,
        }
    }
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResumeAction {
    /// Send `message` to member `to` over the control channel.
    Send {
        /// The member's handle.
        to: u16,
        /// The message.
        message: ResumeMessage,
    },
    /// Survivor: the old session's state at game frame `frame` is confirmed;
    /// take it (the last state saved for `frame`), drop the old session and
    /// play the new one from there ([`FrameOffset`](super::FrameOffset)
    /// `frame`). The coordinator also sends that state to `newcomers`
    /// ([`ResumeMachine::state_message`]).
    SwitchAt {
        /// The game frame the new session starts at.
        frame: i32,
        /// Members to send the state to (empty except at the coordinator).
        newcomers: Vec<u16>,
    },
    /// Newcomer: load this state and play the new session from its frame.
    Load(ResumePoint),
    /// The resume failed: keep playing the old session (survivors) or give
    /// up (newcomer).
    Failed(ResumeError),
}

/// Where a member's resume is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumePhase {
    /// The new session is synchronising, or the frame is being agreed.
    Agreeing,
    /// Switched to the new epoch's session.
    Switched,
    /// Failed; see the [`ResumeAction::Failed`] it produced.
    Failed,
}

/// One member's side of a resume to a new key epoch.
#[derive(Debug)]
pub struct ResumeMachine {
    epoch: u32,
    me: u16,
    role: Role,
    coordinator: u16,
    survivors: BTreeSet<u16>,
    newcomers: BTreeSet<u16>,
    config: ResumeConfig,
    deadline: Instant,
    phase: ResumePhase,
    /// Coordinator: who said Synced (itself included once synced).
    synced: BTreeSet<u16>,
    /// Coordinator: the current round and its frame.
    round: u32,
    proposed: Option<i32>,
    accepts: BTreeSet<u16>,
    /// Survivor: the frame it promised not to pass, with its round.
    hold: Option<(u32, i32)>,
    /// Survivor: the committed frame.
    committed: Option<i32>,
    /// The old session's last current frame seen (survivor).
    current: i32,
    /// Newcomer: the state's parts received so far.
    assembly: Option<StateAssembly>,
    out: VecDeque<ResumeAction>,
}

impl ResumeMachine {
    /// A resume to `epoch` for member `me`. `survivors` keep the state (at
    /// least one; the lowest is the coordinator and provides the state),
    /// `newcomers` receive it. Handles are the match's GGRS handles.
    pub fn new(
        epoch: u32,
        me: u16,
        survivors: impl IntoIterator<Item = u16>,
        newcomers: impl IntoIterator<Item = u16>,
        config: ResumeConfig,
        now: Instant,
    ) -> Result<Self, ResumeError> {
        let survivors: BTreeSet<u16> = survivors.into_iter().collect();
        let newcomers: BTreeSet<u16> = newcomers.into_iter().collect();
        let coordinator = *survivors
            .first()
            .ok_or(ResumeError::Members("no survivor"))?;
        if survivors.intersection(&newcomers).next().is_some() {
            return Err(ResumeError::Members(
                "a member is both survivor and newcomer",
            ));
        }
        let role = if survivors.contains(&me) {
            Role::Survivor
        } else if newcomers.contains(&me) {
            Role::Newcomer
        } else {
            return Err(ResumeError::Members(
                "the local member is not in the resume",
            ));
        };
        Ok(ResumeMachine {
            epoch,
            me,
            role,
            coordinator,
            survivors,
            newcomers,
            deadline: now + config.deadline,
            config,
            phase: ResumePhase::Agreeing,
            synced: BTreeSet::new(),
            round: 0,
            proposed: None,
            accepts: BTreeSet::new(),
            hold: None,
            committed: None,
            current: 0,
            assembly: None,
            out: VecDeque::new(),
        })
    }

    /// The key epoch this resume switches to.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// This member's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where the resume is.
    pub fn phase(&self) -> ResumePhase {
        self.phase
    }

    /// The coordinator's proposal number (0 before the first proposal).
    pub fn round(&self) -> u32 {
        self.round
    }

    /// Whether this member coordinates (proposes the frame, sends the state).
    pub fn is_coordinator(&self) -> bool {
        self.me == self.coordinator
    }

    /// Survivor: whether the old session may advance from game frame
    /// `current`. `false` at a frame it promised not to pass, until the
    /// frame is committed: from then on the old session plays on past it
    /// while frame `F - 1` gets confirmed (the state at `F` is kept and the
    /// frames past it are dropped at the switch). Held at `F`, no survivor
    /// sends new inputs, so one lost datagram with the last ones waited for
    /// GGRS's resend after 200 ms: 12 frames of stall at 60 fps.
    pub fn may_advance(&self, current: i32) -> bool {
        match (self.phase, self.hold) {
            (ResumePhase::Agreeing, Some((_, frame))) => {
                current < frame || self.committed == Some(frame)
            }
            _ => true,
        }
    }

    /// The next thing to do, if any.
    pub fn poll(&mut self) -> Option<ResumeAction> {
        self.out.pop_front()
    }

    /// The coordinator's state messages for the newcomers (the state's
    /// parts, in order), from the state the game serialised at the switch
    /// frame.
    pub fn state_messages(
        &self,
        frame: i32,
        state: Vec<u8>,
    ) -> Result<Vec<ResumeMessage>, ResumeError> {
        let point = ResumePoint::new(self.epoch, frame, state)?;
        Ok(point
            .parts()
            .into_iter()
            .map(ResumeMessage::StatePart)
            .collect())
    }

    /// This member's new session is running (synchronised with everyone).
    pub fn new_session_synced(&mut self, now: Instant) {
        if self.phase != ResumePhase::Agreeing || self.check_deadline(now) {
            return;
        }
        if self.is_coordinator() {
            self.synced.insert(self.me);
            self.maybe_propose();
        } else {
            self.send(
                self.coordinator,
                ResumeMessage::Synced { epoch: self.epoch },
            );
        }
    }

    /// Survivor: the old session is at game frame `current` with
    /// `confirmed` confirmed (GGRS's `confirmed_frame`, offset to the game).
    /// Call every tick, before deciding whether to advance.
    pub fn old_session_at(&mut self, now: Instant, current: i32, confirmed: i32) {
        if self.phase != ResumePhase::Agreeing || self.check_deadline(now) {
            return;
        }
        self.current = current;
        if self.role != Role::Survivor {
            return;
        }
        self.maybe_propose();
        if let Some(frame) = self.committed
            && current >= frame
            && confirmed >= frame - 1
        {
            self.phase = ResumePhase::Switched;
            let newcomers = if self.is_coordinator() {
                self.newcomers.iter().copied().collect()
            } else {
                Vec::new()
            };
            self.out
                .push_back(ResumeAction::SwitchAt { frame, newcomers });
        }
    }

    /// Newcomer: checks the deadline (survivors check it in
    /// [`old_session_at`](Self::old_session_at)).
    pub fn tick(&mut self, now: Instant) {
        if self.phase == ResumePhase::Agreeing {
            self.check_deadline(now);
        }
    }

    /// A message from member `from` over the control channel. An error
    /// names what was refused; the machine is unchanged then.
    pub fn handle(
        &mut self,
        now: Instant,
        from: u16,
        message: ResumeMessage,
    ) -> Result<(), ResumeError> {
        if message.epoch() != self.epoch {
            return Err(ResumeError::WrongEpoch {
                got: message.epoch(),
                want: self.epoch,
            });
        }
        if self.phase != ResumePhase::Agreeing || self.check_deadline(now) {
            return Ok(());
        }
        let from_coordinator = from == self.coordinator;
        let me_coordinator = self.is_coordinator();
        let survivor = self.role == Role::Survivor;
        match message {
            ResumeMessage::Synced { .. } if me_coordinator && self.is_member(from) => {
                self.synced.insert(from);
                self.maybe_propose();
            }
            ResumeMessage::Propose { round, frame, .. } if from_coordinator && survivor => {
                if self.hold.is_some_and(|(r, _)| r >= round) {
                    return Ok(()); // an old or repeated proposal
                }
                if self.current > frame {
                    self.send(
                        from,
                        ResumeMessage::Reject {
                            epoch: self.epoch,
                            round,
                            at: self.current,
                        },
                    );
                } else {
                    self.hold = Some((round, frame));
                    self.send(
                        from,
                        ResumeMessage::Accept {
                            epoch: self.epoch,
                            round,
                        },
                    );
                }
            }
            ResumeMessage::Accept { round, .. }
                if me_coordinator && self.survivors.contains(&from) =>
            {
                if round == self.round {
                    self.accepts.insert(from);
                    self.maybe_commit();
                }
            }
            ResumeMessage::Reject { round, at, .. }
                if me_coordinator && self.survivors.contains(&from) =>
            {
                if round == self.round {
                    self.propose(at.max(self.current));
                }
            }
            ResumeMessage::Commit { round, frame, .. } if from_coordinator && survivor => {
                if self.hold == Some((round, frame)) {
                    self.committed = Some(frame);
                } else {
                    return Err(ResumeError::Invalid("commit of a frame not accepted"));
                }
            }
            ResumeMessage::StatePart(part)
                if from_coordinator
                    && self.role == Role::Newcomer
                    && self.phase != ResumePhase::Switched =>
            {
                if let Some(point) = StateAssembly::add(&mut self.assembly, part)? {
                    self.phase = ResumePhase::Switched;
                    self.out.push_back(ResumeAction::Load(point));
                }
            }
            _ => return Err(ResumeError::NotAllowed { from }),
        }
        Ok(())
    }

    fn is_member(&self, h: u16) -> bool {
        self.survivors.contains(&h) || self.newcomers.contains(&h)
    }

    fn maybe_propose(&mut self) {
        let everyone = self.survivors.len() + self.newcomers.len();
        if self.is_coordinator() && self.round == 0 && self.synced.len() == everyone {
            self.propose(self.current);
        }
    }

    fn propose(&mut self, from_frame: i32) {
        if self.round >= self.config.max_rounds {
            let rounds = self.round;
            return self.fail(ResumeError::TooManyRounds { rounds });
        }
        self.round += 1;
        let frame = from_frame.saturating_add(self.config.margin_frames.max(1));
        self.proposed = Some(frame);
        self.accepts.clear();
        // The coordinator accepts its own proposal: it is before `frame`.
        self.accepts.insert(self.me);
        self.hold = Some((self.round, frame));
        let others: Vec<u16> = self
            .survivors
            .iter()
            .copied()
            .filter(|h| *h != self.me)
            .collect();
        for to in others {
            self.send(
                to,
                ResumeMessage::Propose {
                    epoch: self.epoch,
                    round: self.round,
                    frame,
                },
            );
        }
        self.maybe_commit();
    }

    fn maybe_commit(&mut self) {
        let Some(frame) = self.proposed else { return };
        if self.accepts.len() == self.survivors.len() && self.committed.is_none() {
            self.committed = Some(frame);
            let others: Vec<u16> = self
                .survivors
                .iter()
                .copied()
                .filter(|h| *h != self.me)
                .collect();
            for to in others {
                self.send(
                    to,
                    ResumeMessage::Commit {
                        epoch: self.epoch,
                        round: self.round,
                        frame,
                    },
                );
            }
        }
    }

    fn send(&mut self, to: u16, message: ResumeMessage) {
        self.out.push_back(ResumeAction::Send { to, message });
    }

    /// Fails the resume if `now` is past its deadline; returns whether it did.
    fn check_deadline(&mut self, now: Instant) -> bool {
        if now >= self.deadline {
            let secs = self.config.deadline.as_secs();
            self.fail(ResumeError::Timeout { secs });
            return true;
        }
        false
    }

    fn fail(&mut self, e: ResumeError) {
        self.phase = ResumePhase::Failed;
        self.out.push_back(ResumeAction::Failed(e));
    }
}
