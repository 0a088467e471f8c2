//! [`ReplayPlugin`]: every match recorded, and the stream of newly
//! confirmed frames.
//!
//! The plugin records each match the lobby starts ([`MatchStarted`]) with
//! a [`nearplay_netcode::replay::InputRecorder`]: after every simulated
//! frame (in `AdvanceWorld`, so resimulations overwrite) it keeps the
//! inputs bevy_ggrs gave the game and the game's [`FrameChecksum`]; once
//! per update it marks the frames up to bevy_ggrs's `ConfirmedFrameCount`
//! final and writes them as one [`ConfirmedFrames`] message: the feed a
//! spectator relay ships (frames are counted from 1: frame `n` is GGRS
//! frame `n - 1`, the state after `n` steps).
//!
//! When the match ends (its session is removed, a rematch starts,
//! or the app exits) the replay is kept in [`LastReplay`] and written
//! where [`RecordReplays`] says: one file (`--record FILE`) and/or a
//! directory keeping the newest `keep` replays. [`ReplaySaved`] or
//! [`ReplaySaveFailed`] says how it went.
//!
//! A spectator's match is recorded the same way, from the frames its game
//! simulates out of the [`SpectateStream`](super::SpectateStream)
//! ([`ReplayRecording::record_watched`]), and written when the stream ends.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy_ggrs::ggrs::Config;
use bevy_ggrs::{
    AdvanceWorld, AdvanceWorldSystems, ConfirmedFrameCount, PlayerInputs, RollbackFrameCount,
    RunGgrsSystems, Session,
};
use nearplay_netcode::replay::{
    ConfirmedBatch, DEFAULT_CHECKSUM_INTERVAL, InputRecorder, ReplayFile, ReplayGame, ReplayPlan,
};

use super::NearplaySystems;
use super::messages::MatchStarted;

/// File name extension of replays written to a directory.
pub const REPLAY_EXTENSION: &str = "npreplay";

/// The game's checksum of its state after the frame just simulated. The
/// game sets it in `GgrsSchedule` (any value it can recompute the same way
/// from the same state, e.g. a hash of its rollback resources); replays keep
/// it every few frames and `verify` compares it.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameChecksum(pub u64);

/// Where recorded matches go. Default: recording on, kept in memory
/// ([`LastReplay`]) only.
#[derive(Resource, Clone, Debug)]
pub struct RecordReplays {
    /// Record matches at all (default true).
    pub enabled: bool,
    /// Write each replay to this file (scripts: `--record FILE`); a
    /// rematch overwrites it.
    pub file: Option<PathBuf>,
    /// Write each replay into this directory too (created if missing).
    pub directory: Option<PathBuf>,
    /// Replays kept in `directory`, the oldest deleted first (default 20).
    pub keep: usize,
    /// Record no frame past this one (a match of known length: every
    /// player's replay then ends at the same frame).
    pub stop_after: Option<u32>,
    /// Keep a checksum every this many frames (default
    /// [`DEFAULT_CHECKSUM_INTERVAL`]).
    pub checksum_interval: u32,
}

impl Default for RecordReplays {
    fn default() -> Self {
        RecordReplays {
            enabled: true,
            file: None,
            directory: None,
            keep: 20,
            stop_after: None,
            checksum_interval: DEFAULT_CHECKSUM_INTERVAL,
        }
    }
}

/// The match being recorded (present from its start to its end).
#[derive(Resource, Debug)]
pub struct ReplayRecording<I> {
    /// The recorder (frames, checksums, what is final).
    pub recorder: InputRecorder<I>,
    /// The plan, without key or addresses.
    pub plan: ReplayPlan,
}

impl<I: Clone + Default> ReplayRecording<I> {
    /// A spectator's game simulated the watched frame `frame` (counted from
    /// 1: the state after `frame` steps) with `inputs` (by handle, from
    /// [`SpectateStream::inputs`](super::SpectateStream::inputs): confirmed,
    /// so final at once) and its state's `checksum` after it. Frames must
    /// come in order; others are ignored, as are frames past
    /// [`RecordReplays::stop_after`].
    ///
    /// A spectator plays no session, so the plugin cannot see its frames:
    /// the game's watching system calls this after each step, and the
    /// replay is written when the stream ends like a player's.
    pub fn record_watched(&mut self, frame: u32, inputs: &[I], checksum: u64) {
        self.recorder.record_frame(frame, inputs);
        self.recorder.record_checksum(frame, checksum);
        self.recorder.confirm(frame);
    }
}

/// The last match recorded, and where it was written (if anywhere): what
/// a results screen's "Watch replay" plays.
#[derive(Resource, Debug)]
pub struct LastReplay<I> {
    /// The replay.
    pub file: ReplayFile<I>,
    /// Where it was written.
    pub path: Option<PathBuf>,
}

/// Frames that became final this update: `(frame, inputs by handle)` for
/// each, in order, each frame once. A spectator feed ships these.
#[derive(Message, Debug, Clone, Deref)]
pub struct ConfirmedFrames<I: Send + Sync + 'static>(pub ConfirmedBatch<I>);

/// A replay was written.
#[derive(Message, Debug, Clone)]
pub struct ReplaySaved {
    /// Where.
    pub path: PathBuf,
    /// Frames it holds.
    pub frames: u32,
}

/// A replay could not be written (the reason in words).
#[derive(Message, Debug, Clone)]
pub struct ReplaySaveFailed(pub String);

/// Records every match (see the module docs). `game` is the game id and
/// version written into each replay and required of a replay played back.
pub struct ReplayPlugin<C> {
    /// The game id and version.
    pub game: ReplayGame,
    _config: PhantomData<fn() -> C>,
}

impl<C> ReplayPlugin<C> {
    /// The plugin for `game` at `version`.
    pub fn new(game: &str, version: &str) -> Self {
        ReplayPlugin {
            game: ReplayGame::new(game, version),
            _config: PhantomData,
        }
    }
}

/// The game of [`ReplayPlugin`], as a resource.
#[derive(Resource, Clone, Debug, Deref)]
pub struct ReplayGameRes(pub ReplayGame);

impl<C: Config> Plugin for ReplayPlugin<C> {
    fn build(&self, app: &mut App) {
        app.insert_resource(ReplayGameRes(self.game.clone()))
            .init_resource::<RecordReplays>()
            .add_message::<ConfirmedFrames<C::Input>>()
            .add_message::<ReplaySaved>()
            .add_message::<ReplaySaveFailed>()
            .add_systems(
                AdvanceWorld,
                record_frame::<C>.after(AdvanceWorldSystems::Main),
            )
            .add_systems(PreUpdate, publish_confirmed::<C>.after(RunGgrsSystems))
            .add_systems(Update, start_recording::<C>.after(NearplaySystems::Match))
            .add_systems(Last, save_at_match_end::<C>);
    }
}

/// A match started: save the last one's replay (a rematch) and record it.
fn start_recording<C: Config>(
    world: &mut World,
    mut cursor: Local<bevy::ecs::message::MessageCursor<MatchStarted>>,
) {
    let plan = match world.get_resource::<Messages<MatchStarted>>() {
        Some(messages) => cursor
            .read(messages)
            .last()
            .map(|m| ReplayPlan::from(&m.plan)),
        None => None,
    };
    if let Some(plan) = plan {
        record_match::<C>(world, plan);
    }
}

/// Records the match starting now, described by `plan` (what the plugin
/// does at [`MatchStarted`]; call it for a session the lobby did not
/// start, e.g. local play or a spectator's). A recording in progress is
/// saved first. Does nothing when [`RecordReplays::enabled`] is off.
pub fn record_match<C: Config>(world: &mut World, plan: ReplayPlan) {
    save::<C>(world);
    let settings = world
        .get_resource::<RecordReplays>()
        .cloned()
        .unwrap_or_default();
    if !settings.enabled {
        return;
    }
    let mut recorder =
        InputRecorder::<C::Input>::new(plan.players.len(), settings.checksum_interval);
    if let Some(frames) = settings.stop_after {
        recorder = recorder.stop_after(frames);
    }
    world.insert_resource(ReplayRecording { recorder, plan });
}

/// After each simulated frame (also resimulated ones).
fn record_frame<C: Config>(
    frame: Res<RollbackFrameCount>,
    inputs: Option<Res<PlayerInputs<C>>>,
    checksum: Option<Res<FrameChecksum>>,
    recording: Option<ResMut<ReplayRecording<C::Input>>>,
) {
    let (Some(inputs), Some(mut recording)) = (inputs, recording) else {
        return;
    };
    let Ok(frame) = u32::try_from(frame.0) else {
        return;
    };
    let values: Vec<C::Input> = inputs.iter().map(|(input, _)| *input).collect();
    recording.recorder.record_frame(frame, &values);
    if let Some(checksum) = checksum {
        recording.recorder.record_checksum(frame, checksum.0);
    }
}

/// After bevy_ggrs ran: newly confirmed frames are final, and sent.
fn publish_confirmed<C: Config>(
    confirmed: Option<Res<ConfirmedFrameCount>>,
    recording: Option<ResMut<ReplayRecording<C::Input>>>,
    mut out: MessageWriter<ConfirmedFrames<C::Input>>,
) {
    let (Some(confirmed), Some(mut recording)) = (confirmed, recording) else {
        return;
    };
    let frames = u32::try_from(confirmed.0.saturating_add(1)).unwrap_or(0);
    recording.recorder.confirm(frames);
    if let Some(batch) = recording.recorder.take_confirmed() {
        out.write(ConfirmedFrames(batch));
    }
}

/// The match ended (or the app is exiting): keep and write its replay.
fn save_at_match_end<C: Config>(world: &mut World) {
    let exiting = world
        .get_resource::<Messages<AppExit>>()
        .is_some_and(|m| !m.is_empty());
    // The session goes when the match ends (lobby teardown, a failed sync,
    // the game ending local play); a spectator has no session, and its
    // stream goes at the end instead.
    let watching = world
        .get_resource::<super::SpectateStream>()
        .is_some_and(super::SpectateStream::is_spectator);
    let ended = !world.contains_resource::<Session<C>>() && !watching;
    if world.contains_resource::<ReplayRecording<C::Input>>() && (exiting || ended) {
        save::<C>(world);
    }
}

/// Finishes the recording in progress (if any) and writes it.
fn save<C: Config>(world: &mut World) {
    let Some(recording) = world.remove_resource::<ReplayRecording<C::Input>>() else {
        return;
    };
    let game = world.resource::<ReplayGameRes>().0.clone();
    let settings = world
        .get_resource::<RecordReplays>()
        .cloned()
        .unwrap_or_default();
    let file = recording.recorder.finish(game, recording.plan);
    let mut path = None;
    let mut results = Vec::new();
    if let Some(target) = &settings.file {
        results.push(file.write(target).map(|()| target.clone()));
    }
    if let Some(dir) = &settings.directory {
        results.push(write_into::<C>(dir, &file, settings.keep));
    }
    for result in results {
        match result {
            Ok(written) => {
                info!(
                    "nearplay: replay of {} frames written to {}",
                    file.frames,
                    written.display()
                );
                world.write_message(ReplaySaved {
                    path: written.clone(),
                    frames: file.frames,
                });
                path.get_or_insert(written);
            }
            Err(e) => {
                warn!("nearplay: replay not written: {e}");
                world.write_message(ReplaySaveFailed(e.to_string()));
            }
        }
    }
    world.insert_resource(LastReplay { file, path });
}

/// Writes `file` into `dir` as `<seconds since 1970>-<match id>-<handle>.npreplay`
/// and deletes all but the newest `keep` replays there.
fn write_into<C: Config>(
    dir: &Path,
    file: &ReplayFile<C::Input>,
    keep: usize,
) -> Result<PathBuf, nearplay_netcode::replay::ReplayError> {
    use nearplay_netcode::replay::ReplayError;
    std::fs::create_dir_all(dir)
        .map_err(|e| ReplayError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    // The recorder's handle too: two players of one match on one machine
    // (tests, local play) keep a file each.
    let path = dir.join(format!(
        "{secs:012}-{:016x}-{}.{REPLAY_EXTENSION}",
        file.plan.match_id, file.plan.local_handle
    ));
    file.write(&path)?;
    prune(dir, keep);
    Ok(path)
}

/// Deletes the oldest replays in `dir` (by name: they start with the time)
/// beyond the newest `keep`.
pub fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut replays: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == REPLAY_EXTENSION))
        .collect();
    replays.sort();
    let extra = replays.len().saturating_sub(keep);
    for old in replays.into_iter().take(extra) {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_replays_and_nothing_else_is_touched() {
        let dir = std::env::temp_dir().join(format!("nearplay-prune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for i in 0..25 {
            std::fs::write(dir.join(format!("{i:012}-00-0.{REPLAY_EXTENSION}")), b"x")
                .expect("write");
        }
        std::fs::write(dir.join("notes.txt"), b"mine").expect("write");
        prune(&dir, 20);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 21, "{left:?}");
        assert_eq!(
            left.first().map(String::as_str),
            Some("000000000005-00-0.npreplay")
        );
        assert!(left.contains(&"notes.txt".to_string()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
