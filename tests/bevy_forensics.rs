//! The forensics sub-plugin, headless: two apps play a match found over
//! mDNS on loopback; one corrupts a registered resource at frame 60. GGRS
//! detects the desync, both apps write a report through the plugin and say
//! so with `DesyncReported`, and the diff of the two reports names the
//! corrupted field, not the registered component both agree on.
#![cfg(feature = "bevy")]

mod bevy_common;

use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy_common::*;
use bevy_ggrs::{GgrsSchedule, RollbackApp, RollbackFrameCount};
use nearplay::bevy::prelude::*;
use nearplay::netcode::forensics::{DesyncReport, diff_reports};
use serde::Serialize;

const LIMIT: Duration = Duration::from_secs(30);

/// A registered rollback resource with a nested vector.
#[derive(Resource, Clone, Default, Hash, Serialize)]
struct Tally {
    values: Vec<u32>,
}

/// A registered component of a rollback entity.
#[derive(Component, Clone, Hash, Serialize)]
struct Pos {
    x: i32,
}

/// This app corrupts its state after this frame.
#[derive(Resource)]
struct Corrupt(u32);

/// What the plugin reported.
#[derive(Resource, Default)]
struct Reports(Vec<(i32, Result<PathBuf, String>)>);

fn tally(frame: Res<RollbackFrameCount>, mut t: ResMut<Tally>, corrupt: Option<Res<Corrupt>>) {
    let frame = u32::try_from(frame.0).unwrap_or(0);
    if t.values.len() < 2 {
        t.values = vec![0, 0];
    }
    t.values[(frame % 2) as usize] += frame;
    if corrupt.is_some_and(|c| c.0 == frame) {
        t.values[1] += 1000;
    }
}

fn collect(mut reported: MessageReader<DesyncReported>, mut reports: ResMut<Reports>) {
    for r in reported.read() {
        let result = r
            .result
            .as_ref()
            .map(Clone::clone)
            .map_err(|e| e.to_string());
        reports.0.push((r.frame, result));
    }
}

fn forensic_app(dir: PathBuf, options: MatchOptions) -> App {
    let mut app = app(options);
    app.insert_resource(ForensicsOptions {
        dir: Some(dir),
        game: "plugin-test 1".into(),
    })
    .init_resource::<Tally>()
    .init_resource::<Reports>()
    .rollback_resource_with_clone::<Tally>()
    .checksum_resource_with_hash::<Tally>()
    .rollback_component_with_clone::<Pos>()
    .checksum_component_with_hash::<Pos>()
    .forensic_resource::<Tally>()
    .forensic_component::<Pos>()
    .add_systems(GgrsSchedule, tally)
    .add_systems(Update, collect)
    .add_systems(OnEnter(NetState::InMatch), |mut commands: Commands| {
        commands.spawn((Pos { x: 7 }, bevy_ggrs::Rollback));
    });
    app
}

#[test]
fn a_desync_makes_both_apps_write_reports_that_name_the_field() {
    let reports = play_and_report(None);
    for r in &reports {
        println!("loopback: desync at 60 detected at frame {}", r.detected_at);
    }
}

/// 80 ms each way: GGRS learns of the desync at frame 60 well after
/// bevy_ggrs's snapshots (the prediction window, 12 frames) dropped it;
/// the plugin's ring still holds it.
#[test]
fn a_desync_detected_late_on_a_slow_link_is_still_reported_with_its_state() {
    let slow = LinkProfile::latency(Duration::from_millis(80), Duration::ZERO);
    let reports = play_and_report(Some(slow));
    for r in &reports {
        println!(
            "80 ms link: desync at 60 detected at frame {}",
            r.detected_at
        );
        let window = i32::try_from(r.plan.settings.max_prediction).unwrap_or(i32::MAX);
        assert!(
            r.detected_at - r.frame > window,
            "detected within the prediction window: {} -> {}",
            r.frame,
            r.detected_at
        );
    }
}

fn play_and_report(impairment: Option<LinkProfile>) -> Vec<DesyncReport> {
    let dir = std::env::temp_dir().join(unique("forensics").replace(' ', "-"));
    let options = MatchOptions {
        impairment,
        ..auto_two()
    };
    let mut apps = [
        forensic_app(dir.join("host"), options.clone()),
        forensic_app(dir.join("guest"), options),
    ];
    apps[1].insert_resource(Corrupt(60));
    let [host, member] = &mut apps;
    host_and_find(
        host,
        member,
        LobbySettings::new(&unique("Forensics"), "Host"),
        "Guest",
    );
    run_until(&mut apps, "a desync report on both", LIMIT, |a| {
        !a.world().resource::<Reports>().0.is_empty()
    });
    let mut reports = Vec::new();
    for (i, a) in apps.iter().enumerate() {
        let got = &a.world().resource::<Reports>().0;
        assert_eq!(got.len(), 1, "app {i}: one report per match: {:?}", got);
        let (frame, path) = got[0].clone();
        assert_eq!(frame, 60, "app {i}: the check at frame 60 differs");
        let path = path.unwrap_or_else(|e| panic!("app {i}: no report: {e}"));
        let report = DesyncReport::read(&path).expect("the report reads back");
        assert_eq!(report.game, "plugin-test 1");
        let state = report.state(60).expect("the desync frame's state");
        assert_eq!(state.entities.len(), 1, "app {i}: the Pos entity");
        assert!(!report.inputs.is_empty(), "app {i}: inputs");
        reports.push(report);
    }
    let diff = diff_reports(&reports[0], &reports[1]);
    assert_eq!(diff.first_differing_frame, Some(60), "{diff}");
    let paths: Vec<&str> = diff.differences.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, vec!["Tally.values[1]"], "{diff}");
    assert_eq!(diff.first_input_difference, None, "{diff}");
    assert!(diff.input_frames_compared > 0, "no input compared: {diff}");
    std::fs::remove_dir_all(&dir).ok();
    reports
}
