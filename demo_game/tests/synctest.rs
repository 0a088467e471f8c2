//! The simulation under GGRS's SyncTest session: every frame is rolled back
//! and resimulated `CHECK_DISTANCE` frames and the checksums compared, so a
//! piece of state that bevy_ggrs does not snapshot shows up as a mismatch.

use std::time::Duration;

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy::time::TimeUpdateStrategy;
use bevy_ggrs::prelude::*;
use bevy_ggrs::SyncTestMismatch;
use ggrs::{PlayerType, SessionBuilder};
use nearplay_demo::rollback::{ArenaStep, DemoConfig, LocalControl, RollbackPlugin};
use nearplay_demo::sim::ArenaState;

const CHECK_DISTANCE: usize = 7;
const PLAYERS: usize = 4;

#[derive(Resource, Default)]
struct Mismatches(Vec<i32>);

fn synctest_app() -> App {
    let mut session = SessionBuilder::<DemoConfig>::new()
        .with_num_players(PLAYERS)
        .expect("4 players is valid")
        .with_max_prediction_window(CHECK_DISTANCE + 1)
        .with_check_distance(CHECK_DISTANCE);
    for handle in 0..PLAYERS {
        session = session.add_player(PlayerType::Local, handle).expect("local player");
    }
    let session = session.start_synctest_session().expect("synctest session");
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(1.0 / 60.0)))
        .add_plugins(RollbackPlugin)
        .insert_resource(ArenaState::new(PLAYERS, 0x5eed))
        .insert_resource(LocalControl { bots: (0..PLAYERS).collect() })
        .insert_resource(Session::SyncTest(session))
        .init_resource::<Mismatches>();
    app.world_mut().add_observer(|trigger: On<SyncTestMismatch>, mut seen: ResMut<Mismatches>| {
        seen.0.push(trigger.event().current_frame);
    });
    app
}

#[test]
fn two_thousand_frames_of_four_bots_resimulate_identically() {
    let mut app = synctest_app();
    let start = app.world().resource::<ArenaState>().clone();
    for _ in 0..2000 {
        app.update();
    }
    let state = app.world().resource::<ArenaState>();
    assert!(state.frame >= 1990, "only {} frames ran", state.frame);
    assert!(state.hits > 0, "the bots never bumped: the test exercised nothing");
    assert_ne!(state.discs, start.discs);
    let mismatches = &app.world().resource::<Mismatches>().0;
    assert!(mismatches.is_empty(), "SyncTest found desyncs at frames {mismatches:?}");
}

/// The same harness catches state that escapes the snapshot: a counter kept
/// outside the rollback leaks into the game state.
#[test]
fn state_outside_the_snapshot_is_caught() {
    #[derive(Resource, Default)]
    struct Leak(u32);
    fn leaky(mut leak: ResMut<Leak>, mut state: ResMut<ArenaState>) {
        leak.0 += 1;
        state.hits = leak.0;
    }
    let mut app = synctest_app();
    app.init_resource::<Leak>().add_systems(GgrsSchedule, leaky.after(ArenaStep));
    for _ in 0..30 {
        app.update();
    }
    assert!(
        !app.world().resource::<Mismatches>().0.is_empty(),
        "a leaking resource went unnoticed"
    );
}
