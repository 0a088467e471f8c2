//! Headless runs (`--headless`): the same game and lobby flow with no window,
//! for bots, tests and machines without a screen. Progress and errors go to
//! the terminal in words; the exit code says whether the run succeeded.

use std::time::Duration;

use bevy::app::ScheduleRunnerPlugin;
use bevy::ecs::schedule::SingleThreadedExecutor;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;

use nearplay::bevy::MatchControlReceived;
use nearplay::bevy::prelude::*;

use crate::lobby_flow::{LobbyFlowPlugin, LobbyLog};
use crate::report::{MatchGoal, ReportPlugin};
use crate::rollback::RollbackPlugin;
use crate::screen::{Notice, Screen};
use crate::sim::{ArenaState, Phase};

/// Bevy updates per second of game time when headless (GGRS keeps its own
/// 60 fps clock).
const UPDATES_PER_SECOND: f64 = 120.0;

/// Builds the windowless app; the game runs `speed` times faster than real
/// time (`--speed`, for tests: 1 is real time).
///
/// Speed scales Bevy's virtual clock, which bevy_ggrs reads to pace its
/// frames, and the update rate with it, so each update still advances about
/// half a frame. The game stays paced, never an unpaced loop (see
/// `docs/pitfalls.md` on vanished peers), and everything measured in frames
/// (input delay, prediction window, the `--frames` linger) is unchanged;
/// wall-clock timeouts (GGRS's sync and disconnect, the lobby's) are not
/// scaled.
///
/// Every schedule runs on one thread ([`OneThread`]).
pub fn headless_app(speed: u8) -> App {
    let speed = f64::from(speed.max(1));
    let mut app = App::new();
    app.add_plugins(
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_secs_f64(
            1.0 / (UPDATES_PER_SECOND * speed),
        ))),
    )
    .add_systems(Startup, move |mut time: ResMut<Time<Virtual>>| {
        time.set_relative_speed_f64(speed);
    })
    .add_plugins((StatesPlugin, OneThread))
    .init_state::<Screen>()
    .init_resource::<Notice>()
    .add_plugins((RollbackPlugin, LobbyFlowPlugin, ReportPlugin))
    .add_plugins(crate::replays::DemoReplayPlugin)
    .add_systems(OnEnter(Screen::Match), announce_match)
    .add_systems(
        Update,
        (
            announce_lobby.after(NearplaySystems::Lobby),
            fail_on_notice,
            finish_at_match_over,
            announce_fingerprints,
            announce_reconnects.after(NearplaySystems::Lobby),
        ),
    );
    app
}

/// Runs every schedule of the app with Bevy's single-threaded executor.
///
/// A headless game's systems are small: handing each one to the compute
/// task pool's threads and waking them (futexes, context switches) cost more
/// than running them, about half of a bot's CPU at `--speed 4` (measured
/// with `perf`). Added to any app, it takes effect in
/// [`Plugin::cleanup`], once every plugin has added its schedules.
pub struct OneThread;

impl Plugin for OneThread {
    fn build(&self, _app: &mut App) {}

    fn cleanup(&self, app: &mut App) {
        let mut schedules = app.world_mut().resource_mut::<Schedules>();
        for (_, schedule) in schedules.iter_mut() {
            schedule.set_executor(SingleThreadedExecutor::new());
        }
    }
}

/// Says when our lobby takes our seat back by itself after a drop.
fn announce_reconnects(mut news: MessageReader<MatchControlReceived>) {
    for MatchControlReceived(n) in news.read() {
        match n {
            MatchControl::Reconnecting { attempt } => {
                println!("match: connection lost, reconnecting (try {attempt})");
            }
            MatchControl::Reconnected { attempts, after } => println!(
                "match: reconnected after {} ms ({attempts} tries)",
                after.as_millis()
            ),
            MatchControl::ReconnectGaveUp {
                attempts, error, ..
            } => {
                println!("match: gave up reconnecting after {attempts} tries: {error}");
            }
            _ => {}
        }
    }
}

/// Says which lobby we are in, once it is open or joined.
fn announce_lobby(
    mut opened: MessageReader<LobbyOpened>,
    mut joined: MessageReader<LobbyJoined>,
    lobby: Option<Res<LobbyHandle>>,
) {
    let port = lobby
        .and_then(|l| l.game_addr())
        .map(|a| format!(", game port {}", a.port()))
        .unwrap_or_default();
    for m in opened.read() {
        match m.code {
            Some(code) => println!("lobby: hosting \"{}\", room {code}", m.name),
            None => println!("lobby: hosting \"{}\"{port}", m.name),
        }
    }
    for m in joined.read() {
        println!("lobby: joined \"{}\" as {}{port}", m.lobby, m.name);
    }
}

/// Prints each channel fingerprint once, for players to compare.
fn announce_fingerprints(log: Res<LobbyLog>, mut printed: Local<std::collections::BTreeSet<u32>>) {
    for (id, fingerprint) in &log.fingerprints {
        if printed.insert(*id) {
            println!("lobby: member {id} channel fingerprint {fingerprint}");
        }
    }
}

fn announce_match(info: Option<Res<crate::match_setup::MatchInfo>>, log: Res<LobbyLog>) {
    if let Some(info) = info {
        let names: Vec<&str> = info.seats.iter().map(|s| s.name.as_str()).collect();
        let join = log
            .join_time
            .map(|d| format!(", joined in {} ms", d.as_millis()));
        println!(
            "match: started with {}{}",
            names.join(", "),
            join.unwrap_or_default()
        );
    }
}

/// A headless run that falls back to the menu failed: say why and stop.
fn fail_on_notice(
    mut notice: ResMut<Notice>,
    screen: Res<State<Screen>>,
    mut exit: MessageWriter<AppExit>,
) {
    if *screen.get() == Screen::Menu {
        if let Some(message) = notice.0.take() {
            eprintln!("nearplay-demo: {message}");
            exit.write(AppExit::from_code(2));
        }
    }
}

/// Without `--frames`, a headless run ends with the match.
fn finish_at_match_over(
    goal: Res<MatchGoal>,
    state: Option<Res<ArenaState>>,
    mut exit: MessageWriter<AppExit>,
) {
    if let (None, Some(state)) = (goal.frames, state) {
        if let Phase::MatchOver { winner } = state.phase {
            println!(
                "match: over at frame {}, winner handle {winner}",
                state.frame
            );
            exit.write(AppExit::Success);
        }
    }
}
