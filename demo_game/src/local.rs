//! Local versus: two players on one keyboard, no network at all.
//!
//! Runs as a GGRS SyncTest session with both players local: every frame is
//! also resimulated and compared, so local play doubles as a determinism check.

use bevy::prelude::*;
use bevy_ggrs::Session;
use ggrs::{PlayerType, SessionBuilder};
use nearplay::bevy::record_match;
use nearplay_netcode::NetSettings;
use nearplay_netcode::replay::ReplayPlan;

use crate::match_setup::{MatchInfo, Seat, begin_match};
use crate::prefs::Prefs;
use crate::rollback::{DemoConfig, LocalControl};
use crate::screen::Screen;

/// Frames a SyncTest session resimulates and compares every frame.
const CHECK_DISTANCE: usize = 2;

/// Starts a two-player match on this machine.
pub fn start_local_versus(
    commands: &mut Commands,
    next: &mut NextState<Screen>,
    prefs: &Prefs,
) -> Result<(), ggrs::GgrsError> {
    let mut builder = SessionBuilder::<DemoConfig>::new()
        .with_num_players(2)?
        .with_check_distance(CHECK_DISTANCE)
        .with_input_delay(0);
    for handle in 0..2 {
        builder = builder.add_player(PlayerType::Local, handle)?;
    }
    let session = builder.start_synctest_session()?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let info = MatchInfo {
        seats: vec![
            Seat {
                name: prefs.name.clone(),
                local: true,
                addr: None,
            },
            Seat {
                name: "Player 2".into(),
                local: true,
                addr: None,
            },
        ],
        seed,
        input_delay: 0,
        max_prediction: 8,
        networked: false,
    };
    commands.insert_resource(Session::SyncTest(session));
    // Recorded like any match (the replay of a local match is one too).
    let plan = ReplayPlan {
        match_id: seed,
        seed,
        players: info.seats.iter().map(|s| s.name.clone()).collect(),
        settings: NetSettings {
            input_delay: 0,
            ..NetSettings::default()
        },
        local_handle: 0,
    };
    commands.queue(move |world: &mut World| record_match::<DemoConfig>(world, plan));
    begin_match(commands, next, info, LocalControl::default());
    Ok(())
}
