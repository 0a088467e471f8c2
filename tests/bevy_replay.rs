//! Replays in the Bevy plugin: two apps play a lobby match with
//! `ReplayPlugin`; the stream of confirmed frames (`ConfirmedFrames`, what
//! a spectator feed ships) hands out every frame once, in order, with the
//! inputs the replay keeps; the replay kept at the match end plays back
//! through a fresh app's `GgrsSchedule` to every recorded checksum, and a
//! wrong checksum is named by its frame.
#![cfg(feature = "bevy")]

mod bevy_common;

use std::time::Duration;

use bevy::ecs::system::RunSystemOnce;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy::time::TimeUpdateStrategy;
use bevy_common::*;
use bevy_ggrs::{GgrsPlugin, GgrsSchedule, PlayerInputs, RollbackApp};
use nearplay::bevy::prelude::*;
use nearplay::bevy::{ReplayPlaybackPlugin, start_playback};

const LIMIT: Duration = Duration::from_secs(30);

/// Every confirmed frame the app was sent, in arrival order.
#[derive(Resource, Default)]
struct Streamed(Vec<(u32, Vec<u8>)>);

fn collect_stream(mut stream: MessageReader<ConfirmedFrames<u8>>, mut seen: ResMut<Streamed>) {
    for batch in stream.read() {
        seen.0.extend(batch.iter().map(|(f, i)| (f, i.to_vec())));
    }
}

fn recording_app() -> App {
    let mut app = app(auto_two());
    app.add_plugins(ReplayPlugin::<Cfg>::new("replay-test", "1"))
        .init_resource::<FrameChecksum>()
        .init_resource::<Streamed>()
        .add_systems(PreUpdate, collect_stream.after(bevy_ggrs::RunGgrsSystems));
    app
}

/// The test game again, alone, to play a replay back.
fn playback_app() -> App {
    fn step(
        inputs: Res<PlayerInputs<Cfg>>,
        mut score: ResMut<Score>,
        mut sum: ResMut<FrameChecksum>,
    ) {
        for (i, _) in inputs.iter() {
            score.0 = score.0.wrapping_mul(31).wrapping_add(u64::from(*i));
        }
        sum.0 = score.0;
    }
    fn reset(world: &mut World, _: &ReplayPlan) {
        world.insert_resource(Score::default());
    }
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .add_plugins(GgrsPlugin::<Cfg>::default())
        .add_plugins(ReplayPlaybackPlugin::<Cfg>::new(reset))
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
            1.0 / 60.0,
        )))
        .init_resource::<Score>()
        .init_resource::<FrameChecksum>()
        .rollback_resource_with_copy::<Score>()
        .add_systems(GgrsSchedule, step);
    app
}

fn verify(file: ReplayFile<u8>) -> ReplayPlaybackState<u8> {
    let mut app = playback_app();
    start_playback::<Cfg>(app.world_mut(), file, PlaybackMode::Verify).expect("playback starts");
    for _ in 0..200 {
        app.update();
        let state = app.world().resource::<ReplayPlaybackState<u8>>();
        if state.finished() || state.mismatch.is_some() {
            break;
        }
    }
    app.world_mut()
        .remove_resource::<ReplayPlaybackState<u8>>()
        .expect("playback state")
}

#[test]
fn a_recorded_match_streams_each_confirmed_frame_once_and_verifies_on_playback() {
    let mut apps = [recording_app(), recording_app()];
    let [host, member] = &mut apps;
    host_and_find(
        host,
        member,
        LobbySettings::new(&unique("Replay"), "Host"),
        "Guest",
    );
    run_until(&mut apps, "frame 240 confirmed", LIMIT, |a| {
        confirmed(a) >= 240
    });
    for a in apps.iter_mut() {
        a.world_mut()
            .run_system_once(|mut lobby: LobbyCommands| lobby.end_match())
            .expect("end the match");
        a.update();
    }
    let mut replays = Vec::new();
    for (i, a) in apps.iter_mut().enumerate() {
        let w = a.world_mut();
        let last = w
            .remove_resource::<LastReplay<u8>>()
            .expect("a replay kept at the match end");
        let file = last.file;
        assert!(file.frames >= 240, "app {i}: {} frames", file.frames);
        let streamed = &w.resource::<Streamed>().0;
        let frames: Vec<u32> = streamed.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            frames,
            (1..=file.frames).collect::<Vec<_>>(),
            "app {i}: each frame once, in order"
        );
        for (frame, inputs) in streamed {
            assert_eq!(
                file.frame_inputs(*frame),
                Some(&inputs[..]),
                "app {i} frame {frame}"
            );
        }
        // Frames before the input delay ran on default inputs; then each
        // handle's own (handle + 1).
        let delay = file.plan.settings.input_delay as u32;
        assert_eq!(file.frame_inputs(delay), Some(&[0u8, 0][..]));
        assert_eq!(
            file.frame_inputs(delay + 1),
            Some(&[1u8, 2][..]),
            "both players' inputs"
        );
        assert!(file.checksums.len() >= 4, "app {i}: {:?}", file.checksums);
        replays.push(file);
    }
    // Both players' replays hold the same confirmed inputs.
    let common = replays[0].frames.min(replays[1].frames);
    for frame in 1..=common {
        assert_eq!(
            replays[0].frame_inputs(frame),
            replays[1].frame_inputs(frame)
        );
    }

    let file = replays.swap_remove(0);
    let checks = file.checksums.len() as u32;
    let played = verify(file.clone());
    assert_eq!(played.mismatch, None);
    assert_eq!(played.frame, file.frames);
    assert!(
        played.checked >= checks,
        "{} of {checks} checksums compared",
        played.checked
    );

    let mut wrong = file;
    let (frame, sum) = wrong.checksums[2];
    wrong.checksums[2] = (frame, sum ^ 1);
    let played = verify(wrong);
    assert_eq!(played.mismatch.map(|m| m.frame), Some(frame));
}

#[test]
fn playback_inputs_come_from_the_file_not_the_local_players() {
    // A replay of two frames: handle 0 pressed 7 then 9, handle 1 nothing.
    let file = ReplayFile {
        game: ReplayGame::new("replay-test", "1"),
        plan: ReplayPlan {
            match_id: 1,
            seed: 0,
            players: vec!["A".into(), "B".into()],
            settings: Default::default(),
            local_handle: 0,
        },
        checksum_interval: 0,
        frames: 2,
        players: 2,
        inputs: vec![7u8, 0, 9, 0],
        checksums: vec![(2, ((7u64 * 31) * 31 + 9) * 31)],
    };
    let played = verify(file);
    assert_eq!(played.mismatch, None, "re-simulated from the file's inputs");
    assert_eq!((played.frame, played.checked), (2, 1));
}
