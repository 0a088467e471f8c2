//! A windowless app running the game under a GGRS SyncTest session with bots
//! on every seat: the determinism tests and the resimulation benchmark use it.

use std::time::Duration;

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy::time::TimeUpdateStrategy;
use bevy_ggrs::{Session, SyncTestMismatch};
use ggrs::{GgrsError, PlayerType, SessionBuilder};

use crate::rollback::{DemoConfig, LocalControl, RollbackPlugin};
use crate::sim::ArenaState;

/// Frames at which SyncTest found a checksum mismatch.
#[derive(Resource, Default, Debug)]
pub struct Mismatches(pub Vec<i32>);

/// An app where each `update()` advances one frame and, once the session
/// has enough history, rolls back and resimulates `check_distance` frames.
pub fn synctest_app(players: usize, check_distance: usize, seed: u64) -> Result<App, GgrsError> {
    let mut builder = SessionBuilder::<DemoConfig>::new()
        .with_num_players(players)?
        .with_max_prediction_window(check_distance + 1)
        .with_check_distance(check_distance);
    for handle in 0..players {
        builder = builder.add_player(PlayerType::Local, handle)?;
    }
    let session = builder.start_synctest_session()?;
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
            1.0 / 60.0,
        )))
        .add_plugins(RollbackPlugin)
        .insert_resource(ArenaState::new(players, seed))
        .insert_resource(LocalControl {
            bots: (0..players).collect(),
        })
        .insert_resource(Session::SyncTest(session))
        .init_resource::<Mismatches>();
    app.world_mut().add_observer(
        |trigger: On<SyncTestMismatch>, mut seen: ResMut<Mismatches>| {
            seen.0.push(trigger.event().current_frame);
        },
    );
    Ok(app)
}
