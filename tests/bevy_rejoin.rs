//! Rejoin and late join through the Bevy plugin, headless, real lobbies on
//! loopback: the plugin drives the resume (next session beside the old
//! one, bevy_ggrs held at the agreed frame, the registered resume
//! resources moved, the session swapped with its frame offset). Bo's app
//! goes away at frame 300 and a new app comes back with its ticket; all
//! three agree at game frame 1200 and the others stall at most 6 ticks in
//! a row; a late joiner takes a free seat the same way.

mod bevy_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_common::*;
use bevy_ggrs::{GgrsSchedule, RollbackFrameCount};
use nearplay::bevy::prelude::*;
use nearplay_netcode::NetEvent;

const END: i32 = 1200;
const MAX_STALL_TICKS: u32 = 6;
/// One game tick at 60 fps: the loop's pacing, not a wait for anything.
const TICK: Duration = Duration::from_micros(16_667);
/// The apps update this many times faster than real time (like the demo's
/// `--speed`). Each update still advances one game frame (the apps' clock
/// steps 1/60 s an update), so frames and stalls in updates mean the same;
/// loopback carries a datagram well within an update; wall-clock timeouts
/// (GGRS's 2 s disconnect, the lobby's) are not scaled.
const SPEED: u32 = 4;

/// The score after each game frame (a resimulation overwrites).
#[derive(Resource, Default)]
struct FrameLog(BTreeMap<i32, u64>);

#[derive(Resource, Default)]
struct Resumed(Vec<MatchResumed>);

/// Peers the session reported disconnected.
#[derive(Resource, Default)]
struct Dropped(usize);

fn collect_dropped(mut net: MessageReader<NetMessage>, mut dropped: ResMut<Dropped>) {
    dropped.0 += net
        .read()
        .filter(|m| matches!(m.0, NetEvent::PeerDisconnected { .. }))
        .count();
}

fn log_frame(
    frame: Res<RollbackFrameCount>,
    offset: Option<Res<NetFrameOffset>>,
    score: Res<Score>,
    mut log: ResMut<FrameLog>,
) {
    let offset = offset.map_or(0, |o| o.0.0);
    log.0.insert(offset + frame.0, score.0);
}

fn collect_resumed(mut resumed: MessageReader<MatchResumed>, mut seen: ResMut<Resumed>) {
    seen.0.extend(resumed.read().copied());
}

/// A test app that carries its score in resumes and logs it by game frame.
fn resume_app() -> App {
    let mut options = auto_two();
    options.start_when_ready = None;
    let mut app = app(options);
    app.resume_resource::<Score>()
        .init_resource::<FrameLog>()
        .init_resource::<Resumed>()
        .init_resource::<Dropped>()
        .add_systems(GgrsSchedule, log_frame.after(TestStep))
        .add_systems(Update, (collect_resumed, collect_dropped));
    app
}

/// The game frame the app's session confirmed (offset added), -1 before.
fn game_confirmed(app: &App) -> i32 {
    let offset = app
        .world()
        .get_resource::<NetFrameOffset>()
        .map_or(0, |o| o.0.0);
    let c = confirmed(app);
    if c < 0 { -1 } else { offset + c }
}

fn game_frame(app: &App) -> i32 {
    let offset = app
        .world()
        .get_resource::<NetFrameOffset>()
        .map_or(0, |o| o.0.0);
    offset
        + app
            .world()
            .get_resource::<RollbackFrameCount>()
            .map_or(0, |f| f.0)
}

/// Updates the apps at `SPEED` times 60 fps until `done`; counts each
/// app's longest run of updates without a new game frame.
fn paced(
    apps: &mut [&mut App],
    what: &str,
    limit: Duration,
    stalls: &mut [u32],
    done: impl Fn(&[&mut App]) -> bool,
) {
    let deadline = Instant::now() + limit;
    let mut runs = vec![0u32; apps.len()];
    let mut next = Instant::now();
    while !done(apps) {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        for (i, a) in apps.iter_mut().enumerate() {
            let before = game_frame(a);
            a.update();
            if game_frame(a) == before && state(a) == NetState::InMatch {
                runs[i] += 1;
            } else {
                runs[i] = 0;
            }
            if let Some(s) = stalls.get_mut(i) {
                *s = (*s).max(runs[i]);
            }
        }
        // Frame pacing of the game loop (like a real game's, `SPEED` times
        // faster), not a wait: the loop itself ends at its deadline.
        next += TICK / SPEED;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// An app that joins the LAN lobby `lobby` as `player` once the list shows it.
fn joining(lobby: &str, player: PlayerSettings) -> App {
    let mut app = resume_app();
    let lobby = lobby.to_string();
    let mut player = Some(player);
    app.add_systems(
        Update,
        move |mut cmd: LobbyCommands, list: Res<AvailableLobbies>| {
            if let Some(entry) = list.lobbies.iter().find(|l| l.name == lobby)
                && let Some(p) = player.take()
            {
                cmd.join(entry, p);
            }
        },
    );
    app
}

fn hosting(settings: LobbySettings) -> App {
    let mut app = resume_app();
    let mut settings = Some(settings);
    app.add_systems(Update, move |mut cmd: LobbyCommands| {
        if let Some(s) = settings.take() {
            cmd.host(s);
        }
    });
    app
}

/// Every app's score at game frame `END` is the same.
fn agree_at_end(apps: &[&mut App]) {
    let sums: Vec<Option<u64>> = apps
        .iter()
        .map(|a| a.world().resource::<FrameLog>().0.get(&END).copied())
        .collect();
    assert!(sums[0].is_some(), "no score at {END}");
    assert!(
        sums.iter().all(|s| *s == sums[0]),
        "scores differ at {END}: {sums:?}"
    );
}

fn past_end(apps: &[&mut App]) -> bool {
    apps.iter().all(|a| game_confirmed(a) > END)
}

#[test]
fn a_restarted_app_rejoins_through_the_plugin_and_all_agree_at_1200() {
    let name = unique("BevyRejoin");
    let mut hana = hosting(LobbySettings::new(&name, "Hana").start_when_ready(3));
    let mut ann = joining(&name, PlayerSettings::new("Ann"));
    let mut bo = joining(&name, PlayerSettings::new("Bo"));
    let limit = Duration::from_secs(60);
    paced(
        &mut [&mut hana, &mut ann, &mut bo],
        "frame 300",
        limit,
        &mut [],
        |a| a.iter().all(|a| game_frame(a) >= 300),
    );
    let ticket = bo
        .world()
        .resource::<LobbyHandle>()
        .rejoin_ticket()
        .expect("Bo's ticket");
    drop(bo);
    paced(
        &mut [&mut hana, &mut ann],
        "Bo dropped by GGRS",
        limit,
        &mut [],
        |a| a.iter().all(|a| a.world().resource::<Dropped>().0 > 0),
    );
    let restarted = Instant::now();
    let mut bo = joining(&name, PlayerSettings::new("Bo").rejoin(ticket));
    let mut stalls = [0u32; 2];
    paced(
        &mut [&mut hana, &mut ann, &mut bo],
        "frame 1200",
        Duration::from_secs(90),
        &mut stalls,
        past_end,
    );
    agree_at_end(&[&mut hana, &mut ann, &mut bo]);
    let at = |a: &App| a.world().resource::<Resumed>().0.clone();
    let (h, n, b) = (at(&hana), at(&ann), at(&bo));
    assert_eq!(h.len(), 1, "one resume at Hana");
    assert_eq!((n[0].frame, b[0].frame), (h[0].frame, h[0].frame));
    assert!(b[0].newcomer && !h[0].newcomer);
    println!(
        "bevy rejoin: switch at {}; Bo's resume {:?} after its restart; others' longest stall {stalls:?} ticks",
        h[0].frame,
        b[0].began.saturating_duration_since(restarted)
    );
    assert!(stalls.iter().all(|s| *s <= MAX_STALL_TICKS), "{stalls:?}");
}

#[test]
fn a_late_joiner_takes_a_free_seat_through_the_plugin() {
    let name = unique("BevyLate");
    let settings = LobbySettings::new(&name, "Hana")
        .max_players(3)
        .late_join(true)
        .start_when_ready(2);
    let mut hana = hosting(settings);
    let mut ann = joining(&name, PlayerSettings::new("Ann"));
    let limit = Duration::from_secs(60);
    paced(
        &mut [&mut hana, &mut ann],
        "frame 300",
        limit,
        &mut [],
        |a| a.iter().all(|a| game_frame(a) >= 300),
    );
    let mut cy = joining(&name, PlayerSettings::new("Cy"));
    let mut stalls = [0u32; 2];
    paced(
        &mut [&mut hana, &mut ann, &mut cy],
        "frame 1200",
        Duration::from_secs(90),
        &mut stalls,
        past_end,
    );
    agree_at_end(&[&mut hana, &mut ann, &mut cy]);
    let plan = cy.world().resource::<CurrentMatch>().plan.clone();
    assert_eq!((plan.players.len(), plan.local_handle), (3, 2));
    assert_eq!(
        hana.world().resource::<CurrentMatch>().plan.players.len(),
        3
    );
    println!("bevy late join: others' longest stall {stalls:?} ticks");
    assert!(stalls.iter().all(|s| *s <= MAX_STALL_TICKS), "{stalls:?}");
}
