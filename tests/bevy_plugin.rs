//! The Bevy plugin, headless: two apps in one process host and join a
//! lobby found over mDNS on loopback, ready up by themselves, and reach a
//! running session on both, with the plan's frame rate and one
//! `MatchStarted` each; then the match ends and a rematch starts over the
//! same sockets.
#![cfg(feature = "bevy")]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_ggrs::{
    ConfirmedFrameCount, GgrsConfig, GgrsSchedule, LocalInputs, LocalPlayers, PlayerInputs,
    ReadInputs, RollbackApp, RollbackFrameRate, Session,
};
use nearplay::bevy::prelude::*;
use nearplay::bevy::{CHAT_LOG_LINES, LobbyBrowser};

type Cfg = GgrsConfig<u8, PeerAddr>;

/// The rolled-back game state.
#[derive(Resource, Clone, Copy, Default, Hash)]
struct Score(u64);

/// What the app was told, in order.
#[derive(Resource, Default, Debug)]
struct Seen {
    opened: usize,
    joined: usize,
    started: Vec<MatchPlan>,
    failed: Vec<String>,
    entered_match: usize,
}

fn read_inputs(mut commands: Commands, players: Res<LocalPlayers>) {
    let inputs: HashMap<_, _> = players.0.iter().map(|h| (*h, *h as u8 + 1)).collect();
    commands.insert_resource(LocalInputs::<Cfg>(inputs));
}

fn step(inputs: Res<PlayerInputs<Cfg>>, mut score: ResMut<Score>) {
    for (i, _) in inputs.iter() {
        score.0 = score.0.wrapping_mul(31).wrapping_add(u64::from(*i));
    }
}

fn collect(
    mut seen: ResMut<Seen>,
    mut opened: MessageReader<LobbyOpened>,
    mut joined: MessageReader<LobbyJoined>,
    mut started: MessageReader<MatchStarted>,
    mut failed: MessageReader<LobbyFailed>,
    mut match_failed: MessageReader<MatchFailed>,
) {
    seen.opened += opened.read().count();
    seen.joined += joined.read().count();
    seen.started.extend(started.read().map(|m| m.plan.clone()));
    seen.failed.extend(failed.read().map(|m| m.0.to_string()));
    seen.failed
        .extend(match_failed.read().map(|m| m.0.to_string()));
}

/// A match starts from a fresh state (a rematch too).
fn count_match_entries(mut seen: ResMut<Seen>, mut score: ResMut<Score>) {
    seen.entered_match += 1;
    *score = Score::default();
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix} {}-{nanos:x}", std::process::id())
}

fn matchmaker() -> Matchmaker {
    let mut config = MatchmakerConfig::new("nearplay-plugin-test", "1.0.0");
    config.lan = Some(Interfaces::LoopbackOnly);
    config.bind = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    Matchmaker::new(config).expect("matchmaker")
}

fn app(matchmaker: &Matchmaker) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(
            NearplayPlugin::<Cfg>::with_matchmaker(matchmaker.clone())
                .auto_ready(true)
                .start_when_ready(2),
        )
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
            1.0 / 60.0,
        )))
        .init_resource::<Score>()
        .init_resource::<Seen>()
        .rollback_resource_with_copy::<Score>()
        .checksum_resource_with_hash::<Score>()
        .add_systems(ReadInputs, read_inputs)
        .add_systems(GgrsSchedule, step)
        .add_systems(Update, collect.after(NearplaySystems::Match))
        .add_systems(OnEnter(NetState::InMatch), count_match_entries);
    app
}

/// Updates both apps until `done` holds for both, or fails after `limit`.
fn run_until(apps: &mut [App; 2], what: &str, limit: Duration, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + limit;
    while !apps.iter().all(&done) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        for a in apps.iter_mut() {
            a.update();
        }
        std::thread::sleep(Duration::from_millis(1)); // pace: a game loop, not a wait
    }
}

fn state(app: &App) -> NetState {
    *app.world().resource::<State<NetState>>().get()
}

fn confirmed(app: &App) -> i32 {
    app.world()
        .get_resource::<ConfirmedFrameCount>()
        .map_or(-1, |c| c.0)
}

#[test]
fn two_apps_host_find_join_and_play_then_rematch() {
    let mm = matchmaker();
    let lobby_name = unique("Plugin");
    let mut apps = [app(&mm), app(&mm)];

    // The host opens its lobby from a system, as a game's button would.
    let name = lobby_name.clone();
    apps[0].add_systems(
        Update,
        (move |mut lobby: LobbyCommands| {
            let mut settings = LobbySettings::new(&name, "Host");
            settings.net.fps = 30;
            lobby.host(settings);
        })
        .run_if(in_state(NetState::Browsing).and_then(run_once)),
    );
    // The joiner picks that lobby out of the LAN list.
    let name = lobby_name.clone();
    apps[1].add_systems(
        Update,
        (move |mut lobby: LobbyCommands, list: Res<AvailableLobbies>| {
            if let Some(entry) = list.lobbies.iter().find(|l| l.name == name) {
                lobby.join(entry, PlayerSettings::new("Guest"));
            }
        })
        .run_if(in_state(NetState::Browsing)),
    );

    run_until(
        &mut apps,
        "both in the match",
        Duration::from_secs(30),
        |a| state(a) == NetState::InMatch,
    );
    run_until(
        &mut apps,
        "frame 120 confirmed",
        Duration::from_secs(30),
        |a| confirmed(a) >= 120,
    );
    for (i, a) in apps.iter().enumerate() {
        let w = a.world();
        let seen = w.resource::<Seen>();
        assert!(seen.failed.is_empty(), "app {i}: {:?}", seen.failed);
        assert_eq!(seen.started.len(), 1, "app {i}: one MatchStarted");
        assert_eq!(seen.entered_match, 1, "app {i}");
        let plan = &seen.started[0];
        assert_eq!(plan.players.len(), 2);
        assert_eq!(plan.settings.fps, 30, "the host's settings reach everyone");
        assert_eq!(w.resource::<RollbackFrameRate>().0, 30);
        assert_eq!(w.resource::<CurrentMatch>().plan.match_id, plan.match_id);
        assert!(matches!(w.resource::<Session<Cfg>>(), Session::P2P(_)));
        assert_eq!(w.resource::<Roster>().len(), 2);
        assert!(w.resource::<Roster>().iter().all(|m| m.ready));
        assert_eq!(w.resource::<CurrentLobby>().is_host, i == 0);
    }
    assert_eq!(
        (
            apps[0].world().resource::<Seen>().opened,
            apps[1].world().resource::<Seen>().joined
        ),
        (1, 1)
    );
    let handles: Vec<usize> = apps
        .iter()
        .map(|a| a.world().resource::<Seen>().started[0].local_handle)
        .collect();
    assert_ne!(handles[0], handles[1], "each app plays its own seat");
    let first_match = apps[0].world().resource::<Seen>().started[0].match_id;

    // End the match on both; the lobby stays, and both agree on a rematch.
    for a in apps.iter_mut() {
        a.world_mut()
            .run_system_cached(|mut lobby: LobbyCommands| lobby.end_match())
            .expect("end match");
    }
    run_until(
        &mut apps,
        "back in the lobby",
        Duration::from_secs(5),
        |a| state(a) == NetState::InLobby && !a.world().contains_resource::<Session<Cfg>>(),
    );
    for a in apps.iter_mut() {
        a.world_mut()
            .run_system_cached(|mut lobby: LobbyCommands| lobby.rematch())
            .expect("system")
            .expect("rematch");
    }
    run_until(
        &mut apps,
        "the rematch running",
        Duration::from_secs(30),
        |a| a.world().resource::<Seen>().started.len() == 2 && confirmed(a) >= 60,
    );
    for a in &apps {
        let seen = a.world().resource::<Seen>();
        assert_ne!(seen.started[1].match_id, first_match, "a new match");
        assert_eq!(seen.entered_match, 2);
        assert!(seen.failed.is_empty(), "{:?}", seen.failed);
    }
}

#[test]
fn acting_outside_a_lobby_is_a_typed_error() {
    let mm = matchmaker();
    let mut app = app(&mm);
    app.update();
    let result = app
        .world_mut()
        .run_system_cached(|mut lobby: LobbyCommands| lobby.set_ready(true))
        .expect("system");
    assert!(
        matches!(result, Err(LobbyActionError::NotInLobby)),
        "{result:?}"
    );
    assert_eq!(state(&app), NetState::Browsing);
    assert!(
        app.world().contains_resource::<LobbyBrowser>(),
        "browsing lists lobbies"
    );
}

#[test]
fn the_chat_log_is_bounded() {
    let mut log = ChatLog::default();
    for i in 0..CHAT_LOG_LINES + 5 {
        log.push(ChatLine {
            from: 1,
            name: "Ann".into(),
            text: i.to_string(),
        });
    }
    assert_eq!(log.0.len(), CHAT_LOG_LINES);
    assert_eq!(log.0.front().map(|l| l.text.as_str()), Some("5"));
}
