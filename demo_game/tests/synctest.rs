//! The simulation under GGRS's SyncTest session: every frame is rolled back
//! and resimulated `CHECK_DISTANCE` frames and the checksums compared, so a
//! piece of state that bevy_ggrs does not snapshot shows up as a mismatch.

use bevy::prelude::*;
use bevy_ggrs::GgrsSchedule;
use nearplay_demo::harness::{Mismatches, synctest_app};
use nearplay_demo::rollback::ArenaStep;
use nearplay_demo::sim::ArenaState;

const CHECK_DISTANCE: usize = 7;
const PLAYERS: usize = 4;

#[test]
fn two_thousand_frames_of_four_bots_resimulate_identically() {
    let mut app = synctest_app(PLAYERS, CHECK_DISTANCE, 0x5eed).expect("synctest app");
    let start = app.world().resource::<ArenaState>().clone();
    for _ in 0..2000 {
        app.update();
    }
    let state = app.world().resource::<ArenaState>();
    assert!(state.frame >= 1990, "only {} frames ran", state.frame);
    assert!(
        state.hits > 0,
        "the bots never bumped: the test exercised nothing"
    );
    assert_ne!(state.discs, start.discs);
    let mismatches = &app.world().resource::<Mismatches>().0;
    assert!(
        mismatches.is_empty(),
        "SyncTest found desyncs at frames {mismatches:?}"
    );
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
    let mut app = synctest_app(PLAYERS, CHECK_DISTANCE, 0x5eed).expect("synctest app");
    app.init_resource::<Leak>()
        .add_systems(GgrsSchedule, leaky.after(ArenaStep));
    for _ in 0..30 {
        app.update();
    }
    assert!(
        !app.world().resource::<Mismatches>().0.is_empty(),
        "a leaking resource went unnoticed"
    );
}
