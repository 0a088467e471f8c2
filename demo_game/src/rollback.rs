//! The game inside bevy_ggrs: the rollback schedule, inputs, and the
//! per-frame checksum log that reports compare.

use std::collections::BTreeMap;

use bevy::ecs::schedule::SingleThreadedExecutor;
use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy_ggrs::prelude::*;
use bevy_ggrs::{ConfirmedFrameCount, LoadWorld, LocalInputs, LocalPlayers, SaveWorld};
use nearplay::bevy::{FrameChecksum, ResumeHooksExt};
use nearplay_netcode::PeerAddr;
use nearplay_netcode::bevy::resume::{NetFrameOffset, ResumeAppExt};

use crate::bots::bot_input;
use crate::sim::{ArenaState, PlayerInput, step};

/// The GGRS configuration of the demo: one input byte, addressed by [`PeerAddr`].
pub type DemoConfig = GgrsConfig<PlayerInput, PeerAddr>;

/// Who controls each local handle.
#[derive(Resource, Clone, Debug, Default)]
pub struct LocalControl {
    /// Local handles played by the AI instead of the keyboard.
    pub bots: Vec<usize>,
}

/// Checksums of the simulated state by frame number (`ArenaState::frame`).
///
/// Written from the rollback schedule: a resimulated frame overwrites its
/// entry, so once a frame is confirmed its entry is final. Not snapshotted on
/// purpose: it is a log, not game state.
#[derive(Resource, Default, Debug)]
pub struct ChecksumLog(pub BTreeMap<u32, u64>);

/// The system set of the one game step in `GgrsSchedule` (order other
/// rollback systems against it).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArenaStep;

/// Keeps this many frames of checksums behind the confirmed frame.
const CHECKSUM_LOG_KEEP: u32 = 600;

/// The rollback game: registers the state with bevy_ggrs and runs `sim::step`.
///
/// The schedules a rollback runs over and over (`LoadWorld` once, then
/// `GgrsSchedule` and `SaveWorld` once per resimulated frame) use Bevy's
/// single-threaded executor: each holds a handful of tiny systems, and the
/// default multi-threaded executor spent most of a rollback frame waking and
/// parking pool threads (measured with perf, `demo_game/benches/resim.rs`).
/// bevy_ggrs already does the same for `AdvanceWorld`.
pub struct RollbackPlugin;

impl Plugin for RollbackPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(GgrsPlugin::<DemoConfig>::default())
            .add_plugins(nearplay_netcode::bevy::NearplayNetPlugin::<DemoConfig>::default())
            .edit_schedule(GgrsSchedule, single_threaded)
            .edit_schedule(LoadWorld, single_threaded)
            .edit_schedule(SaveWorld, single_threaded)
            .insert_resource(RollbackFrameRate(60))
            .rollback_resource_with_clone::<ArenaState>()
            // A rejoin or late join carries the whole game in this one
            // resource (the demo has no rollback components).
            .resume_resource::<ArenaState>()
            .on_resume(seat_late_players)
            .checksum_resource_with_hash::<ArenaState>()
            .init_resource::<ChecksumLog>()
            .init_resource::<FrameChecksum>()
            .init_resource::<LocalControl>()
            .add_systems(
                ReadInputs,
                read_local_inputs.run_if(not(crate::replays::replaying)),
            )
            .add_systems(GgrsSchedule, advance_arena.in_set(ArenaStep))
            .add_systems(PostUpdate, trim_checksum_log)
            .add_plugins(crate::watch::WatchPlugin);
    }
}

/// Runs `schedule`'s systems one after another on the calling thread.
fn single_threaded(schedule: &mut Schedule) {
    schedule.set_executor(SingleThreadedExecutor::new());
}

/// One frame of the game, inside `GgrsSchedule` (also when resimulating).
fn advance_arena(
    state: Option<ResMut<ArenaState>>,
    inputs: Res<PlayerInputs<DemoConfig>>,
    mut log: ResMut<ChecksumLog>,
    mut checksum: ResMut<FrameChecksum>,
) {
    let Some(mut state) = state else { return };
    let frame_inputs: Vec<PlayerInput> = (0..state.players())
        .map(|h| inputs.get(h).map(|(input, _)| *input).unwrap_or_default())
        .collect();
    step(&mut state, &frame_inputs);
    log.0.insert(state.frame, state.checksum());
    // What replays keep and verify (the same value the reports print).
    checksum.0 = state.checksum();
}

/// After a resume's switch, on every member: a seat taken late gets its
/// disc (the state at the switch frame has one disc per old seat), and the
/// match's seats follow the new plan.
fn seat_late_players(world: &mut World, plan: &nearplay_netcode::MatchPlan, _frame: i32) {
    if let Some(mut state) = world.get_resource_mut::<ArenaState>() {
        while state.players() < plan.players.len() {
            state.seat_late_player();
        }
    }
    if world.contains_resource::<crate::match_setup::MatchInfo>() {
        world.insert_resource(crate::match_setup::MatchInfo::from_plan(plan));
    }
}

fn trim_checksum_log(
    confirmed: Option<Res<ConfirmedFrameCount>>,
    offset: Option<Res<NetFrameOffset>>,
    mut log: ResMut<ChecksumLog>,
) {
    let Some(confirmed) = confirmed else { return };
    let confirmed = offset.map_or(0, |o| o.0.0) + confirmed.0;
    let keep_from = (confirmed.max(0) as u32).saturating_sub(CHECKSUM_LOG_KEEP);
    log.0 = log.0.split_off(&keep_from);
}

/// Keyboard bindings of the first and second local player.
const BINDINGS: [[KeyCode; 5]; 2] = [
    [
        KeyCode::KeyW,
        KeyCode::KeyS,
        KeyCode::KeyA,
        KeyCode::KeyD,
        KeyCode::Space,
    ],
    [
        KeyCode::ArrowUp,
        KeyCode::ArrowDown,
        KeyCode::ArrowLeft,
        KeyCode::ArrowRight,
        KeyCode::Enter,
    ],
];

/// Reads each local player's keyboard, gamepad or bot, outside the rollback
/// schedule (bevy_ggrs runs it once per new frame).
fn read_local_inputs(
    mut commands: Commands,
    local_players: Res<LocalPlayers>,
    control: Res<LocalControl>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    gamepads: Query<&Gamepad>,
    state: Option<Res<ArenaState>>,
) {
    let pads: Vec<&Gamepad> = gamepads.iter().collect();
    let mut local_inputs = HashMap::default();
    for (seat, &handle) in local_players.0.iter().enumerate() {
        let input = if control.bots.contains(&handle) {
            state
                .as_deref()
                .map(|s| bot_input(s, handle))
                .unwrap_or_default()
        } else {
            let mut bits = 0;
            if let (Some(keys), Some(binding)) = (keys.as_deref(), BINDINGS.get(seat)) {
                for (key, bit) in binding.iter().zip([
                    PlayerInput::UP,
                    PlayerInput::DOWN,
                    PlayerInput::LEFT,
                    PlayerInput::RIGHT,
                    PlayerInput::DASH,
                ]) {
                    if keys.pressed(*key) {
                        bits |= bit;
                    }
                }
            }
            if let Some(pad) = pads.get(seat) {
                bits |= gamepad_bits(pad);
            }
            PlayerInput(bits)
        };
        local_inputs.insert(handle, input);
    }
    commands.insert_resource(LocalInputs::<DemoConfig>(local_inputs));
}

fn gamepad_bits(pad: &Gamepad) -> u8 {
    let stick = pad.left_stick();
    let mut bits = 0;
    if stick.y > 0.4 || pad.pressed(GamepadButton::DPadUp) {
        bits |= PlayerInput::UP;
    }
    if stick.y < -0.4 || pad.pressed(GamepadButton::DPadDown) {
        bits |= PlayerInput::DOWN;
    }
    if stick.x < -0.4 || pad.pressed(GamepadButton::DPadLeft) {
        bits |= PlayerInput::LEFT;
    }
    if stick.x > 0.4 || pad.pressed(GamepadButton::DPadRight) {
        bits |= PlayerInput::RIGHT;
    }
    if pad.pressed(GamepadButton::South) {
        bits |= PlayerInput::DASH;
    }
    bits
}
