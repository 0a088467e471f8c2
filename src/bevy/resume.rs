//! [`ResumePlugin`]: rejoin and late join in a Bevy game (issue 13). The
//! lobby drives the resume ([`ResumeStep`]s); this plugin does the game's
//! part with bevy_ggrs, so a game only registers what its rollback state
//! is ([`ResumeAppExt::resume_resource`] and
//! [`ResumeAppExt::resume_component`] for components of entities marked
//! `Rollback`, serde) and reads [`MatchResumed`].
//!
//! - A survivor gets the next epoch's session built at once
//!   ([`NextNetSession`]) and polled beside the old one, which plays on.
//! - bevy_ggrs's driver is held (its [`RunGgrsSystems`] set does not run)
//!   while the old session is at the accepted frame `F` and `F` is not
//!   committed yet; after the commit it plays on past `F`. At
//!   [`ResumeStep::SwitchAt`] it runs for at least one more step (GGRS
//!   corrects a misprediction only at the next advance; the last state
//!   saved for `F` in that step is kept), then the plugin puts that state
//!   of the registered resume resources and components back (every member, the newcomer
//!   included, plays on from exactly those bytes), hands it to the lobby
//!   if it coordinates, and swaps to the new session with frame offset `F`
//!   ([`NetFrameOffset`]). Rollback state that is not registered for
//!   resumes is not carried (nor restored to `F` on survivors).
//! - A newcomer (a start with [`MatchStart::is_resume`]) builds its session
//!   but no `Session` runs until [`ResumeStep::Load`]: then the state is
//!   read into the world ([`read_resume_state`], checked) and the session
//!   starts at offset `F`.
//! - After the switch the old session is still polled for `LINGER` (the
//!   inputs before `F` another survivor misses are resent), and a seat
//!   vacated during the match is dropped by every survivor at one frame
//!   (`vacancy.rs`).

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::time::Instant;

use bevy::prelude::*;
use bevy_ggrs::ggrs::{Config, P2PSession};
use bevy_ggrs::{RollbackFrameCount, RunGgrsSystems, SaveWorld, Session};
use nearplay_matchmaker::{MatchStart, ResumeStep};
use nearplay_netcode::bevy::NetMonitorRes;
use nearplay_netcode::bevy::resume::{
    NetFrameOffset, SwapSessionExt, read_resume_state, write_resume_state,
};
use nearplay_netcode::resume::{FrameOffset, ResumeError};
use nearplay_netcode::{MatchPlan, NetMonitor, PeerAddr};

use super::lobby::LobbyHandle;
use super::vacancy::VacatedSeats;
use super::{CurrentMatch, MatchOptions};

/// Drives rejoins and late joins of the running match. Part of
/// [`NearplayPlugin`](super::NearplayPlugin).
pub struct ResumePlugin<C> {
    _config: PhantomData<fn() -> C>,
}

impl<C> Default for ResumePlugin<C> {
    fn default() -> Self {
        ResumePlugin {
            _config: PhantomData,
        }
    }
}

/// The match resumed into a new key epoch: a player rejoined or joined
/// late (survivors), or we did (`newcomer`). Game frames from `frame` on
/// are `NetFrameOffset + RollbackFrameCount`.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchResumed {
    /// The game frame the new session starts at.
    pub frame: i32,
    /// We are the one who came (our state was loaded).
    pub newcomer: bool,
    /// When the resume's first step reached the plugin.
    pub began: Instant,
}

/// A resume failed: survivors play on in the old session; a newcomer has
/// no match.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct ResumeFailed(pub ResumeError);

/// Steps from the lobby, in order (filled by the lobby poll).
#[derive(Resource, Default)]
pub(crate) struct PendingResume(pub VecDeque<ResumeStep>);

/// A newcomer's start, waiting for its session to be built.
#[derive(Resource, Default)]
pub(crate) struct PendingNewcomer(pub Option<MatchStart>);

/// The next key epoch's session while it synchronises.
#[derive(Resource)]
pub struct NextNetSession<C: Config> {
    session: P2PSession<C>,
    monitor: NetMonitor,
    plan: MatchPlan,
}

/// What a game runs on its world right after a resume's switch, before
/// the new session's first step: adapt the rolled-back state to the new
/// plan (a late joiner's seat: every member does the same at the same
/// frame). Register with [`ResumeHooksExt::on_resume`].
pub type ResumeHook = fn(&mut World, &MatchPlan, i32);

/// The game's [`ResumeHook`]s.
#[derive(Resource, Default, Clone)]
pub struct ResumeHooks(pub Vec<ResumeHook>);

/// Registering [`ResumeHook`]s.
pub trait ResumeHooksExt {
    /// Runs `hook(world, new plan, switch frame)` after every resume's
    /// switch, on survivors and newcomers alike.
    fn on_resume(&mut self, hook: ResumeHook) -> &mut Self;
}

impl ResumeHooksExt for App {
    fn on_resume(&mut self, hook: ResumeHook) -> &mut Self {
        self.world_mut()
            .get_resource_or_insert_with(ResumeHooks::default)
            .0
            .push(hook);
        self
    }
}

/// Where this member's resume is.
#[derive(Resource, Debug, Default)]
pub struct ResumeHold {
    /// bevy_ggrs's driver does not run this frame.
    pub held: bool,
    /// Survivor: the switch frame, once agreed (and whether to send the
    /// state), and the game frame when that was known: the switch waits
    /// for one bevy_ggrs step past it.
    switch: Option<(i32, bool, i32)>,
    /// Survivor: states saved while the resume runs, by game frame.
    saved: std::collections::BTreeMap<i32, Vec<u8>>,
    /// Survivor: a next session exists, so saves are kept.
    capturing: bool,
    began: Option<Instant>,
}

impl<C: Config<Address = PeerAddr>> Plugin for ResumePlugin<C> {
    fn build(&self, app: &mut App) {
        app.init_resource::<PendingResume>()
            .init_resource::<PendingNewcomer>()
            .init_resource::<ResumeHold>()
            .add_message::<MatchResumed>()
            .add_message::<ResumeFailed>()
            .configure_sets(PreUpdate, RunGgrsSystems.run_if(not_held))
            .add_systems(PreUpdate, drive_resume::<C>.before(RunGgrsSystems))
            .init_resource::<VacatedSeats>()
            .add_systems(SaveWorld, capture_switch_state)
            .add_systems(
                Update,
                super::vacancy::note_vacated_seats.after(super::NearplaySystems::Lobby),
            );
    }
}

/// States kept at most while a resume runs (bevy_ggrs may drop its own
/// snapshot of the switch frame once confirmed, and may step past it).
const SAVED_STATES: usize = 64;

/// Runs in `SaveWorld` while a survivor resumes: keeps the registered
/// resume resources as saved for each frame (a rollback saves a frame
/// again, corrected; the last save wins).
fn capture_switch_state(world: &mut World) {
    if !world
        .get_resource::<ResumeHold>()
        .is_some_and(|h| h.capturing)
    {
        return;
    }
    let frame = game_frame(world);
    match write_resume_state(world) {
        Ok(state) => {
            let mut hold = world.resource_mut::<ResumeHold>();
            hold.saved.insert(frame, state);
            while hold.saved.len() > SAVED_STATES {
                hold.saved.pop_first();
            }
        }
        Err(e) => warn!("nearplay: the state of frame {frame} could not be written: {e}"),
    }
}

fn not_held(hold: Option<Res<ResumeHold>>) -> bool {
    !hold.is_some_and(|h| h.held)
}

/// The game frame of the running session: offset + bevy_ggrs's count.
fn game_frame(world: &World) -> i32 {
    let offset = world.get_resource::<NetFrameOffset>().map_or(0, |o| o.0.0);
    let frame = world
        .get_resource::<RollbackFrameCount>()
        .map_or(0, |f| f.0);
    offset.saturating_add(frame)
}

/// One frame of the resume: take the lobby's steps, switch when due, poll
/// the next session, report progress, decide whether bevy_ggrs runs.
fn drive_resume<C: Config<Address = PeerAddr>>(world: &mut World) {
    super::vacancy::drop_vacated_seats::<C>(world);
    linger::<C>(world);
    let steps: Vec<ResumeStep> = world.resource_mut::<PendingResume>().0.drain(..).collect();
    for step in steps {
        apply_step::<C>(world, step);
    }
    if let Some(start) = world.resource_mut::<PendingNewcomer>().0.take() {
        build_next::<C>(world, start, false);
    }
    let switch = world.resource::<ResumeHold>().switch;
    if let Some((frame, send_state, known_at)) = switch
        && game_frame(world) > known_at
    {
        switch_survivor::<C>(world, frame, send_state);
    }
    let next_running = match world.get_resource_mut::<NextNetSession<C>>() {
        Some(mut next) => {
            next.session.poll_remote_clients();
            next.session.current_state() == bevy_ggrs::ggrs::SessionState::Running
        }
        None => false,
    };
    let offset = world.get_resource::<NetFrameOffset>().map_or(0, |o| o.0.0);
    let (current, confirmed) = match world.get_resource_mut::<Session<C>>() {
        Some(mut s) => match &mut *s {
            Session::P2P(p2p) => {
                p2p.poll_remote_clients();
                (offset + p2p.current_frame(), offset + p2p.confirmed_frame())
            }
            _ => (0, -1),
        },
        None => (0, -1),
    };
    let frame = game_frame(world);
    let held = match world.get_resource_mut::<LobbyHandle>() {
        Some(mut lobby) => {
            lobby.resume_progress(current, confirmed, next_running);
            match switch {
                // One more step, then the switch (next frame).
                Some((_, _, known_at)) => frame > known_at,
                None => !lobby.resume_may_advance(frame),
            }
        }
        None => false,
    };
    if held && let Some(mut m) = world.get_resource_mut::<NetMonitorRes>() {
        m.record_stall();
    }
    world.resource_mut::<ResumeHold>().held = held;
}

fn apply_step<C: Config<Address = PeerAddr>>(world: &mut World, step: ResumeStep) {
    world
        .resource_mut::<ResumeHold>()
        .began
        .get_or_insert_with(Instant::now);
    match step {
        ResumeStep::NextSession(start) => build_next::<C>(world, start, true),
        ResumeStep::SwitchAt { frame, send_state } => {
            let known_at = game_frame(world);
            world.resource_mut::<ResumeHold>().switch = Some((frame, send_state, known_at));
        }
        ResumeStep::Load(point) => {
            let Some(next) = world.remove_resource::<NextNetSession<C>>() else {
                return fail::<C>(world, ResumeError::Invalid("a state but no session"));
            };
            if let Err(e) = read_resume_state(world, &point.state) {
                return fail::<C>(world, e);
            }
            swap::<C>(world, next, point.frame);
            resumed(world, point.frame, true);
        }
        ResumeStep::Failed(e) => fail::<C>(world, e),
        ResumeStep::SeatInputs { from, handle, held } => {
            world
                .resource_mut::<VacatedSeats>()
                .report(from, handle, held);
        }
    }
}

fn build_next<C: Config<Address = PeerAddr>>(
    world: &mut World,
    start: MatchStart,
    start_survivor: bool,
) {
    let options = world.get_resource::<MatchOptions>().cloned();
    let plan = start.plan.clone();
    match super::matches::build_session::<C>(start, &options.unwrap_or_default()) {
        Ok((session, monitor)) => {
            world.resource_mut::<ResumeHold>().capturing = start_survivor;
            world.insert_resource(NextNetSession {
                session,
                monitor,
                plan,
            });
        }
        Err(e) => {
            warn!("nearplay: the next epoch's session could not be built: {e}");
            fail::<C>(
                world,
                ResumeError::Members("the next session could not be built"),
            );
        }
    }
}

/// The old session went at least one step past `frame` with `frame - 1`
/// confirmed: the last state saved for `frame` (captured in `SaveWorld`)
/// is final. Every member, this one included, plays the next session from
/// exactly that state (the registered resume resources); hand it on if we
/// coordinate.
fn switch_survivor<C: Config<Address = PeerAddr>>(world: &mut World, frame: i32, send: bool) {
    let captured = world.resource_mut::<ResumeHold>().saved.remove(&frame);
    let Some(state) = captured else {
        return fail::<C>(
            world,
            ResumeError::Invalid("no state saved at the switch frame"),
        );
    };
    if let Err(e) = read_resume_state(world, &state) {
        return fail::<C>(world, e);
    }
    if send {
        let sent = match world.get_resource_mut::<LobbyHandle>() {
            Some(mut lobby) => lobby.resume_state(frame, state),
            None => Err(ResumeError::Invalid("no lobby")),
        };
        if let Err(e) = sent {
            warn!("nearplay: the resume state could not be sent: {e}");
        }
    }
    let Some(next) = world.remove_resource::<NextNetSession<C>>() else {
        return fail::<C>(world, ResumeError::Invalid("a switch but no next session"));
    };
    swap::<C>(world, next, frame);
    resumed(world, frame, false);
}

/// Plays `next` from game frame `frame`; the match's plan is its plan now,
/// and the game's hooks adapt the state to it before the first step.
fn swap<C: Config<Address = PeerAddr>>(world: &mut World, next: NextNetSession<C>, frame: i32) {
    if let Some(Session::P2P(old)) = world.remove_resource::<Session<C>>() {
        world.insert_resource(LingeringSession {
            session: old,
            until: Instant::now() + LINGER,
        });
    }
    world.resource_mut::<VacatedSeats>().clear();
    world.swap_net_session(next.session, next.monitor, FrameOffset(frame));
    world.insert_resource(CurrentMatch {
        plan: next.plan.clone(),
    });
    let hooks = world
        .get_resource::<ResumeHooks>()
        .map(|h| h.0.clone())
        .unwrap_or_default();
    for hook in hooks {
        hook(world, &next.plan, frame);
    }
}

/// How long the old epoch's session is still polled after the switch.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// The old epoch's session after this member switched: still polled for
/// [`LINGER`], so GGRS resends the inputs up to the switch frame that the
/// other survivors may still miss (a lost datagram). Dropped at once, a
/// survivor left another waiting for its last input until GGRS's
/// disconnect timeout (2 s) dropped it there, and that one then played
/// the frames before the switch without it: a 2 s stall and a desync.
#[derive(Resource)]
struct LingeringSession<C: Config> {
    session: P2PSession<C>,
    until: Instant,
}

fn linger<C: Config<Address = PeerAddr>>(world: &mut World) {
    let Some(mut old) = world.get_resource_mut::<LingeringSession<C>>() else {
        return;
    };
    if Instant::now() >= old.until {
        world.remove_resource::<LingeringSession<C>>();
        return;
    }
    old.session.poll_remote_clients();
    old.session.events().for_each(drop);
}

fn resumed(world: &mut World, frame: i32, newcomer: bool) {
    let mut hold = world.resource_mut::<ResumeHold>();
    let began = hold.began.take().unwrap_or_else(Instant::now);
    *hold = ResumeHold::default();
    info!("nearplay: the match resumed at frame {frame}");
    world.write_message(MatchResumed {
        frame,
        newcomer,
        began,
    });
}

fn fail<C: Config<Address = PeerAddr>>(world: &mut World, e: ResumeError) {
    warn!("nearplay: resume failed: {e}");
    world.remove_resource::<NextNetSession<C>>();
    *world.resource_mut::<ResumeHold>() = ResumeHold::default();
    world.write_message(ResumeFailed(e));
}
