//! Headless apps with the nearplay plugin for the plugin's tests: a tiny
//! rolled-back game, a log of the plugin's messages, and a loop that
//! updates several apps until a condition holds (with a deadline).

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bevy::ecs::system::{IntoSystem, RunSystemOnce};
use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_ggrs::{
    ConfirmedFrameCount, GgrsConfig, GgrsSchedule, LocalInputs, LocalPlayers, PlayerInputs,
    ReadInputs, RollbackApp,
};
use nearplay::bevy::prelude::*;

/// The test game's GGRS config.
pub type Cfg = GgrsConfig<u8, PeerAddr>;

/// The rolled-back game state (serde: what a resume carries).
#[derive(Resource, Clone, Copy, Default, Hash, serde::Serialize, serde::Deserialize)]
pub struct Score(pub u64);

/// What the app was told.
#[derive(Resource, Default, Debug)]
pub struct Seen {
    pub opened: usize,
    pub joined: usize,
    pub closed: Vec<CloseReason>,
    pub chat: Vec<String>,
    /// The most chat messages written in one frame.
    pub chat_per_frame_max: usize,
    pub started: Vec<MatchPlan>,
    pub failed: Vec<String>,
    pub match_failed: Vec<String>,
    pub entered_match: usize,
}

fn read_inputs(mut commands: Commands, players: Res<LocalPlayers>) {
    let inputs: HashMap<_, _> = players.0.iter().map(|h| (*h, *h as u8 + 1)).collect();
    commands.insert_resource(LocalInputs::<Cfg>(inputs));
}

fn step(
    inputs: Res<PlayerInputs<Cfg>>,
    mut score: ResMut<Score>,
    checksum: Option<ResMut<FrameChecksum>>,
) {
    for (i, _) in inputs.iter() {
        score.0 = score.0.wrapping_mul(31).wrapping_add(u64::from(*i));
    }
    // What replays keep (when the test adds the replay plugin).
    if let Some(mut checksum) = checksum {
        checksum.0 = score.0;
    }
}

#[allow(clippy::too_many_arguments)]
fn collect(
    mut seen: ResMut<Seen>,
    mut opened: MessageReader<LobbyOpened>,
    mut joined: MessageReader<LobbyJoined>,
    mut closed: MessageReader<LobbyClosed>,
    mut chat: MessageReader<ChatReceived>,
    mut started: MessageReader<MatchStarted>,
    mut failed: MessageReader<LobbyFailed>,
    mut match_failed: MessageReader<MatchFailed>,
) {
    seen.opened += opened.read().count();
    seen.joined += joined.read().count();
    seen.closed.extend(closed.read().map(|m| m.0.clone()));
    let before = seen.chat.len();
    seen.chat
        .extend(chat.read().map(|m| format!("{}: {}", m.name, m.text)));
    seen.chat_per_frame_max = seen.chat_per_frame_max.max(seen.chat.len() - before);
    seen.started.extend(started.read().map(|m| m.plan.clone()));
    seen.failed
        .extend(failed.read().map(|m| format!("{} {}", m.hosting, m.error)));
    seen.match_failed
        .extend(match_failed.read().map(|m| m.0.to_string()));
}

/// A match starts from a fresh state (a rematch too).
fn count_match_entries(mut seen: ResMut<Seen>, mut score: ResMut<Score>) {
    seen.entered_match += 1;
    *score = Score::default();
}

/// The test game's one step in `GgrsSchedule` (order other rollback
/// systems against it).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct TestStep;

/// A lobby name no other test run uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix} {}-{nanos:x}", std::process::id())
}

/// The process's one matchmaker (one mDNS daemon per process), on
/// loopback only: lobbies bind 127.0.0.1 and mDNS stays on `lo`.
pub fn matchmaker() -> Matchmaker {
    static MATCHMAKER: OnceLock<Matchmaker> = OnceLock::new();
    MATCHMAKER
        .get_or_init(|| {
            let mut config = MatchmakerConfig::new("nearplay-plugin-test", "1.0.0");
            config.lan = Some(Interfaces::LoopbackOnly);
            config.bind = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
            Matchmaker::new(config).expect("matchmaker")
        })
        .clone()
}

/// A headless app with the plugin and the test game.
pub fn app(options: MatchOptions) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(NearplayPlugin::<Cfg>::with_matchmaker(matchmaker()).options(options))
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
            1.0 / 60.0,
        )))
        .init_resource::<Score>()
        .init_resource::<Seen>()
        .rollback_resource_with_copy::<Score>()
        .checksum_resource_with_hash::<Score>()
        .add_systems(ReadInputs, read_inputs)
        .add_systems(GgrsSchedule, step.in_set(TestStep))
        .add_systems(Update, collect.after(NearplaySystems::Match))
        .add_systems(OnEnter(NetState::InMatch), count_match_entries);
    app
}

/// Auto-ready, and hosts start at two ready players.
pub fn auto_two() -> MatchOptions {
    MatchOptions {
        auto_ready: true,
        start_when_ready: Some(2),
        impairment: None,
        ..MatchOptions::default()
    }
}

/// Updates every app until `done` holds for all, or fails after `limit`.
pub fn run_until(apps: &mut [App], what: &str, limit: Duration, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + limit;
    while !apps.iter().all(&done) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        for a in apps.iter_mut() {
            a.update();
        }
        std::thread::sleep(Duration::from_millis(1)); // pace: a game loop, not a wait
    }
}

/// Runs `system` once on `app` (as a game's system would run), returning its output.
pub fn run<O: 'static, M>(app: &mut App, system: impl IntoSystem<(), O, M> + 'static) -> O {
    app.world_mut()
        .run_system_once(system)
        .expect("system runs")
}

/// The app's [`NetState`].
pub fn state(app: &App) -> NetState {
    *app.world().resource::<State<NetState>>().get()
}

/// The app's confirmed frame (-1 without a session).
pub fn confirmed(app: &App) -> i32 {
    app.world()
        .get_resource::<ConfirmedFrameCount>()
        .map_or(-1, |c| c.0)
}

/// What `app` was told.
pub fn seen(app: &App) -> &Seen {
    app.world().resource::<Seen>()
}

/// Adds to `host` a system that hosts `settings` once, and to `member` one
/// that joins the lobby named `lobby` as soon as the LAN list shows it.
pub fn host_and_find(host: &mut App, member: &mut App, settings: LobbySettings, name: &str) {
    let lobby_name = settings.lobby_name.clone();
    let mut settings = Some(settings);
    host.add_systems(Update, move |mut lobby: LobbyCommands| {
        if let Some(settings) = settings.take() {
            lobby.host(settings);
        }
    });
    let name = name.to_string();
    member.add_systems(
        Update,
        move |mut lobby: LobbyCommands, list: Res<AvailableLobbies>, mut done: Local<bool>| {
            if *done {
                return;
            }
            if let Some(entry) = list.lobbies.iter().find(|l| l.name == lobby_name) {
                lobby.join(entry, PlayerSettings::new(&name));
                *done = true;
            }
        },
    );
}
