//! Replays in the demo: every match recorded to the user's data directory
//! (the newest [`KEEP_REPLAYS`] kept) and to `--record FILE`; `replay FILE`
//! plays one in the window (keys on screen); `replay FILE --verify`
//! re-simulates it headless and checks every recorded checksum.
//!
//! The library does the work (`nearplay::bevy::ReplayPlugin` and
//! `ReplayPlaybackPlugin`); the game gives it its checksum (`rollback.rs`
//! sets `FrameChecksum`) and its reset ([`reset_arena`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use nearplay::bevy::{
    PlaybackMode, RecordReplays, ReplayPlaybackPlugin, ReplayPlaybackState, ReplayPlugin,
    start_playback,
};
use nearplay_netcode::replay::{ReplayError, ReplayFile, ReplayGame, ReplayPlan};

use crate::match_setup::{MatchInfo, Seat};
use crate::net::{GAME_ID, GAME_VERSION};
use crate::rollback::{ChecksumLog, DemoConfig, LocalControl, RollbackPlugin};
use crate::screen::Screen;
use crate::sim::{ArenaState, PlayerInput};

/// Replays kept in the data directory.
pub const KEEP_REPLAYS: usize = 20;

/// Exit code of `replay` for a file refused (other version, truncated,
/// tampered, ...); 1 is a checksum that differs.
pub const EXIT_REFUSED: u8 = 2;

/// The demo's replays.
pub type DemoReplay = ReplayFile<PlayerInput>;

/// This game and version, as replays name it.
pub fn game() -> ReplayGame {
    ReplayGame::new(GAME_ID, GAME_VERSION)
}

/// Where matches are recorded: `$XDG_DATA_HOME/nearplay/replays`, else
/// `~/.local/share/nearplay/replays`; `None` without either variable.
pub fn replay_dir() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("nearplay").join("replays"))
}

/// What the command line asks to record: every match to the data
/// directory, also to `file` (`--record`); with `--frames N`, up to frame N.
pub fn record_settings(file: Option<PathBuf>, frames: Option<u32>) -> RecordReplays {
    RecordReplays {
        file,
        directory: replay_dir(),
        keep: KEEP_REPLAYS,
        stop_after: frames,
        ..RecordReplays::default()
    }
}

/// Reads a replay of this game version, refused in words.
pub fn read(path: &Path) -> Result<DemoReplay, ReplayError> {
    DemoReplay::read(path, &game())
}

/// Recording and playback for the demo's config.
pub struct DemoReplayPlugin;

impl Plugin for DemoReplayPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(ReplayPlugin::<DemoConfig>::new(GAME_ID, GAME_VERSION))
            .add_plugins(ReplayPlaybackPlugin::<DemoConfig>::new(reset_arena));
    }
}

/// The game at the start of the match `plan` describes.
pub fn reset_arena(world: &mut World, plan: &ReplayPlan) {
    world.insert_resource(ArenaState::new(plan.players.len(), plan.seed));
    world.insert_resource(ChecksumLog::default());
}

/// Whether a replay is being played (the keyboard does not play then).
pub fn replaying(state: Option<Res<ReplayPlaybackState<PlayerInput>>>) -> bool {
    state.is_some()
}

/// Shows `file` in the arena (from `World` access).
pub fn watch(world: &mut World, file: DemoReplay) {
    let info = MatchInfo {
        seats: file
            .plan
            .players
            .iter()
            .map(|name| Seat {
                name: name.clone(),
                local: false,
                addr: None,
            })
            .collect(),
        seed: file.plan.seed,
        input_delay: file.plan.settings.input_delay,
        max_prediction: file.plan.settings.max_prediction,
        networked: false,
    };
    if let Err(e) = start_playback::<DemoConfig>(world, file, PlaybackMode::Watch) {
        warn!("replay: cannot play: {e}");
        return;
    }
    world.insert_resource(info);
    world.insert_resource(LocalControl::default());
    world.resource_mut::<NextState<Screen>>().set(Screen::Match);
}

/// The headless verifier: simulates as fast as it can, then prints the
/// final checksum (exit 0) or the first frame that differs (exit 1).
pub fn verify_app(file: DemoReplay) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::ZERO)))
        .add_plugins((StatesPlugin, crate::headless::OneThread))
        .init_state::<Screen>()
        .add_plugins((RollbackPlugin, DemoReplayPlugin))
        .insert_resource(VerifyStart(Instant::now()))
        .add_systems(Update, report_verification);
    let frames = file.frames;
    let bytes = file.encode().map(|b| b.len()).unwrap_or_default();
    let fps = file.plan.settings.fps.max(1) as f64;
    let minutes = f64::from(frames.max(1)) / fps / 60.0;
    println!(
        "replay: {} players, {frames} frames, {bytes} bytes ({:.0} bytes per minute of play)",
        file.players,
        bytes as f64 / minutes
    );
    if let Err(e) = start_playback::<DemoConfig>(app.world_mut(), file, PlaybackMode::Verify) {
        eprintln!("replay: cannot play: {e}");
    }
    println!("replay: verifying {frames} frames");
    app
}

#[derive(Resource)]
struct VerifyStart(Instant);

fn report_verification(
    state: Option<Res<ReplayPlaybackState<PlayerInput>>>,
    start: Res<VerifyStart>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(state) = state else {
        exit.write(AppExit::from_code(EXIT_REFUSED));
        return;
    };
    if let Some(m) = state.mismatch {
        println!(
            "replay: frame {} differs: recorded checksum {:016x}, simulated {:016x}",
            m.frame, m.recorded, m.simulated
        );
        exit.write(AppExit::from_code(1));
    } else if state.finished() {
        let seconds = start.0.elapsed().as_secs_f64();
        println!(
            "replay: verified {} frames, {} checksums, in {:.3} s ({:.0} frames/s)",
            state.frame,
            state.checked,
            seconds,
            f64::from(state.frame) / seconds.max(1e-9)
        );
        let (bare_fps, bare_checksum) = bare_simulation(&state.file);
        println!(
            "replay: anchor: the bare simulation (sim::step, no Bevy or GGRS) runs {bare_fps:.0} frames/s; verify runs at 1/{:.0} of that{}",
            bare_fps / (f64::from(state.frame) / seconds.max(1e-9)).max(1e-9),
            if bare_checksum == state.file.final_checksum().map(|c| c.1) {
                ", same final checksum"
            } else {
                ", OTHER final checksum"
            }
        );
        match state.file.final_checksum() {
            Some((frame, checksum)) => {
                println!("replay: final checksum {checksum:016x} at frame {frame}");
                exit.write(AppExit::Success);
            }
            None => {
                println!("replay: the replay holds no checksum to verify");
                exit.write(AppExit::from_code(1));
            }
        }
    }
}

/// The anchor of the verify speed: the same frames through `sim::step`
/// alone; frames per second and the final state's checksum.
fn bare_simulation(file: &DemoReplay) -> (f64, Option<u64>) {
    let start = Instant::now();
    let mut state = ArenaState::new(file.players, file.plan.seed);
    for frame in 1..=file.frames {
        if let Some(inputs) = file.frame_inputs(frame) {
            crate::sim::step(&mut state, inputs);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    (
        f64::from(file.frames) / seconds.max(1e-9),
        Some(state.checksum()),
    )
}
