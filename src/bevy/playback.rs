//! [`ReplayPlaybackPlugin`]: a replay played back through the game's own
//! `GgrsSchedule`, at 1x, 2x or 4x, paused, seeked, or verified headless.
//!
//! Playback runs a GGRS SyncTest session with every seat local and no
//! resimulation (check distance 0), whose inputs come from the file: the
//! game's rollback systems run exactly as in the match. Pacing is the
//! plugin's: before bevy_ggrs runs, it hands bevy_ggrs a clock delta of
//! exactly the frames due (speed times real time, none when paused, many
//! when seeking or verifying) and restores the game's clock after, so the
//! rest of the game keeps its own time.
//!
//! A seek back re-simulates from frame 0 fast: the game's reset function
//! (given to the plugin) puts its state back to the match start from the
//! [`ReplayPlan`] (seed, players). A game's own input systems in
//! `ReadInputs` must not run during playback: add
//! `.run_if(not(resource_exists::<ReplayPlaybackState>))`.
//!
//! Verification ([`PlaybackMode::Verify`]) runs as fast as it can and
//! compares the game's [`FrameChecksum`] with every checksum the replay
//! kept; [`ReplayPlaybackState::mismatch`] names the first frame that
//! differs.

use std::marker::PhantomData;
use std::time::Duration;

use bevy::prelude::*;
use bevy_ggrs::ggrs::{Config, GgrsError, PlayerType, SessionBuilder};
use bevy_ggrs::{
    AdvanceWorld, AdvanceWorldSystems, ConfirmedFrameCount, LocalInputs, ReadInputs,
    RollbackFrameCount, RollbackFrameRate, RunGgrsSystems, Session,
};
use nearplay_netcode::replay::{ReplayFile, ReplayPlan};

use super::replay::FrameChecksum;

/// Frames a seek re-simulates per update (the window stays responsive).
pub const SEEK_FRAMES_PER_UPDATE: u32 = 1200;
/// Frames a verification simulates per update.
pub const VERIFY_FRAMES_PER_UPDATE: u32 = 20_000;

/// How a replay is played.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaybackMode {
    /// In real time (times the speed), for a person to watch.
    Watch,
    /// As fast as possible, checking every recorded checksum.
    Verify,
}

/// The first recorded checksum the re-simulation did not reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChecksumMismatch {
    /// The frame (counted from 1).
    pub frame: u32,
    /// The checksum in the replay.
    pub recorded: u64,
    /// The checksum the game computed now.
    pub simulated: u64,
}

/// A replay being played: the file, the controls, and what was checked.
#[derive(Resource, Debug)]
pub struct ReplayPlaybackState<I> {
    /// The replay.
    pub file: ReplayFile<I>,
    /// Watch or verify.
    pub mode: PlaybackMode,
    /// Playback speed multiplier (1, 2 or 4 in the demo; at least 1).
    pub speed: u32,
    /// Paused (no frame advances; seeking still works).
    pub paused: bool,
    /// Frames simulated so far (the frame on show).
    pub frame: u32,
    /// A seek in progress: the frame to reach.
    pub seek_to: Option<u32>,
    /// Recorded checksums compared so far.
    pub checked: u32,
    /// The first checksum that differed, if any.
    pub mismatch: Option<ChecksumMismatch>,
    /// Real time not yet turned into frames.
    carry: Duration,
}

impl<I> ReplayPlaybackState<I> {
    /// Whether every recorded frame has been simulated.
    pub fn finished(&self) -> bool {
        self.frame >= self.file.frames
    }

    /// Seek to `frame` (clamped to the replay); back means from frame 0.
    pub fn seek(&mut self, frame: u32) {
        self.seek_to = Some(frame.min(self.file.frames));
    }
}

/// The game's reset: put the game state back to the start of the match
/// the plan describes (called at the start of playback and on a seek back).
#[derive(Resource, Clone, Copy)]
pub struct ReplayReset(pub fn(&mut World, &ReplayPlan));

/// Plays replays back (see the module docs). `reset` is the game's reset.
pub struct ReplayPlaybackPlugin<C> {
    /// The game's reset.
    pub reset: fn(&mut World, &ReplayPlan),
    _config: PhantomData<fn() -> C>,
}

impl<C> ReplayPlaybackPlugin<C> {
    /// Playback with the game's `reset`.
    pub fn new(reset: fn(&mut World, &ReplayPlan)) -> Self {
        ReplayPlaybackPlugin {
            reset,
            _config: PhantomData,
        }
    }
}

impl<C: Config> Plugin for ReplayPlaybackPlugin<C> {
    fn build(&self, app: &mut App) {
        app.insert_resource(ReplayReset(self.reset))
            .add_systems(ReadInputs, feed_inputs::<C>)
            .add_systems(
                AdvanceWorld,
                check_frame::<C>.after(AdvanceWorldSystems::Main),
            )
            .add_systems(
                PreUpdate,
                (
                    pace::<C>.before(RunGgrsSystems),
                    restore_clock.after(RunGgrsSystems),
                ),
            );
    }
}

/// Starts playing `file` (from `World` access, e.g. `commands.queue(..)`).
pub fn start_playback<C: Config>(
    world: &mut World,
    file: ReplayFile<C::Input>,
    mode: PlaybackMode,
) -> Result<(), GgrsError> {
    let fps = file.plan.settings.fps.max(1);
    world.insert_resource(RollbackFrameRate(fps));
    world.insert_resource(ReplayPlaybackState {
        file,
        mode,
        speed: 1,
        paused: false,
        frame: 0,
        seek_to: None,
        checked: 0,
        mismatch: None,
        carry: Duration::ZERO,
    });
    restart::<C>(world)
}

/// Ends playback: the session and the state go.
pub fn stop_playback<C: Config>(world: &mut World) {
    world.remove_resource::<Session<C>>();
    world.remove_resource::<ReplayPlaybackState<C::Input>>();
}

/// A new SyncTest session from frame 0, the game reset.
fn restart<C: Config>(world: &mut World) -> Result<(), GgrsError> {
    let Some(state) = world.get_resource::<ReplayPlaybackState<C::Input>>() else {
        return Ok(());
    };
    let plan = state.file.plan.clone();
    let players = state.file.players;
    let mut builder = SessionBuilder::<C>::new()
        .with_num_players(players)?
        .with_check_distance(0)
        .with_input_delay(0);
    for handle in 0..players {
        builder = builder.add_player(PlayerType::Local, handle)?;
    }
    let session = builder.start_synctest_session()?;
    world.insert_resource(Session::SyncTest(session));
    world.insert_resource(RollbackFrameCount(0));
    world.insert_resource(ConfirmedFrameCount(-1));
    if let Some(reset) = world.get_resource::<ReplayReset>().copied() {
        (reset.0)(world, &plan);
    }
    if let Some(mut state) = world.get_resource_mut::<ReplayPlaybackState<C::Input>>() {
        state.frame = 0;
    }
    Ok(())
}

/// The game's clock while bevy_ggrs runs with the playback's delta.
#[derive(Resource)]
struct SavedClock(Time);

/// Before bevy_ggrs: how many frames are due, as an exact clock delta.
fn pace<C: Config>(world: &mut World) {
    let real = world.resource::<Time<Real>>().delta();
    let Some(state) = world.get_resource::<ReplayPlaybackState<C::Input>>() else {
        return;
    };
    if state.seek_to.is_some_and(|to| to < state.frame) {
        if let Err(e) = restart::<C>(world) {
            warn!("nearplay: replay seek failed: {e}");
        }
    }
    let Some(mut state) = world.get_resource_mut::<ReplayPlaybackState<C::Input>>() else {
        return;
    };
    let fps = state.file.plan.settings.fps.max(1) as u32;
    let frame_time = Duration::from_nanos(1_000_000_000 / u64::from(fps));
    let remaining = state.file.frames.saturating_sub(state.frame);
    let due = if let Some(to) = state.seek_to {
        if to <= state.frame {
            state.seek_to = None;
        }
        to.saturating_sub(state.frame).min(SEEK_FRAMES_PER_UPDATE)
    } else if state.mode == PlaybackMode::Verify {
        VERIFY_FRAMES_PER_UPDATE
    } else if state.paused {
        0
    } else {
        let carry = state.carry + real * state.speed.max(1);
        let due = (carry.as_nanos() / frame_time.as_nanos().max(1)) as u32;
        state.carry = carry.saturating_sub(frame_time * due).min(frame_time * 4);
        due
    };
    let due = due.min(remaining);
    let saved = *world.resource::<Time>();
    let mut clock = Time::<()>::default();
    clock.advance_by(frame_time * due);
    world.insert_resource(clock);
    world.insert_resource(SavedClock(saved));
}

/// After bevy_ggrs: the game's clock back.
fn restore_clock(world: &mut World) {
    if let Some(SavedClock(time)) = world.remove_resource::<SavedClock>() {
        world.insert_resource(time);
    }
}

/// In `ReadInputs`: every seat's input of the next frame, from the file.
fn feed_inputs<C: Config>(
    mut commands: Commands,
    frame: Res<RollbackFrameCount>,
    state: Option<Res<ReplayPlaybackState<C::Input>>>,
) {
    let Some(state) = state else { return };
    let next = u32::try_from(frame.0).unwrap_or(0).saturating_add(1);
    let inputs = state.file.frame_inputs(next).unwrap_or_default();
    let local = (0..state.file.players)
        .map(|h| (h, inputs.get(h).copied().unwrap_or_default()))
        .collect();
    commands.insert_resource(LocalInputs::<C>(local));
}

/// After each frame: where playback is, and the recorded checksum checked.
fn check_frame<C: Config>(
    frame: Res<RollbackFrameCount>,
    checksum: Option<Res<FrameChecksum>>,
    state: Option<ResMut<ReplayPlaybackState<C::Input>>>,
) {
    let Some(mut state) = state else { return };
    let frame = u32::try_from(frame.0).unwrap_or(0);
    state.frame = frame;
    let (Some(recorded), Some(simulated)) = (state.file.checksum_at(frame), checksum) else {
        return;
    };
    state.checked += 1;
    if recorded != simulated.0 && state.mismatch.is_none() {
        state.mismatch = Some(ChecksumMismatch {
            frame,
            recorded,
            simulated: simulated.0,
        });
    }
}
