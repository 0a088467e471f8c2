//! Multi-process matches: headless bot processes of `nearplay-demo` find each
//! other over mDNS confined to loopback (`--interface lo`), play, and compare
//! their reports. Each test uses its own lobby name, so tests run in parallel.

mod common;

use std::time::Duration;

use common::{Demo, bot_args, field, read_report, scratch_dir, unique};
use serde_json::Value;

/// Generous: 1200 frames are 5 s of play at `--speed 4`, plus discovery and
/// sync (real time).
const MATCH_DEADLINE: Duration = Duration::from_secs(120);

/// Every match here plays 4 times faster than real time (`--speed`): the
/// same frames, inputs and checks in a quarter of the time.
const SPEED: &str = "4";

/// Starts a host and `joiners` joiners, all bots, headless, on loopback.
fn start_match(
    tag: &str,
    players: usize,
    frames: u32,
    extra: &[&str],
) -> (Vec<Demo>, Vec<std::path::PathBuf>) {
    let lobby = unique(tag);
    let dir = scratch_dir(tag);
    let frames = frames.to_string();
    let players_arg = players.to_string();
    let mut demos = Vec::new();
    let mut reports = Vec::new();
    for i in 0..players {
        let report = dir.join(format!("peer{i}.json"));
        let name = format!("bot{i}");
        let report_arg = report.to_string_lossy().into_owned();
        let mut args: Vec<&str> = if i == 0 {
            vec!["host", "--players", &players_arg]
        } else {
            vec!["join"]
        };
        args.extend(bot_args(&lobby, &name, &frames, SPEED));
        args.extend(["--report", &report_arg]);
        args.extend_from_slice(extra);
        demos.push(Demo::start(&name, &args));
        reports.push(report);
    }
    (demos, reports)
}

fn finish_all(demos: &mut [Demo]) {
    for demo in demos.iter_mut() {
        let ok = demo.wait_exit(MATCH_DEADLINE);
        assert!(ok, "{} failed:\n{}", demo.label, demo.seen.join("\n"));
    }
}

fn assert_same_state(reports: &[Value], frames: u32) {
    let first = &reports[0];
    for r in reports {
        assert_eq!(field(r, "frames"), &Value::from(frames), "{r}");
        assert_eq!(
            field(r, "checksum"),
            field(first, "checksum"),
            "checksums differ: {reports:?}"
        );
        assert_eq!(field(r, "desyncs"), &Value::from(0), "{r}");
        assert_eq!(
            field(r, "players").as_array().map(Vec::len),
            field(first, "players").as_array().map(Vec::len)
        );
    }
}

#[test]
fn three_bots_on_loopback_end_on_the_same_checksum() {
    let (mut demos, paths) = start_match("lan3", 3, 1200, &[]);
    finish_all(&mut demos);
    let reports: Vec<Value> = paths.iter().map(|p| read_report(p)).collect();
    assert_same_state(&reports, 1200);
    for r in &reports {
        assert_eq!(
            field(r, "disconnects").as_array().map(Vec::len),
            Some(0),
            "{r}"
        );
        assert!(field(r, "bytes_received").as_u64().unwrap_or(0) > 0, "{r}");
    }
}

#[test]
fn three_bots_over_an_impaired_network_roll_back_and_agree() {
    let impair = [
        "--sim-latency",
        "60",
        "--sim-jitter",
        "10",
        "--sim-loss",
        "10",
    ];
    // Latency-bound (14 frames of one-way delay at --speed 4): 600 frames
    // take about 5 s and roll back all along.
    let (mut demos, paths) = start_match("lossy3", 3, 600, &impair);
    finish_all(&mut demos);
    let reports: Vec<Value> = paths.iter().map(|p| read_report(p)).collect();
    assert_same_state(&reports, 600);
    for r in &reports {
        let rolled = field(r, "rollback_frames_total").as_u64().unwrap_or(0);
        assert!(
            rolled > 0,
            "no rollbacks under 60 ms latency and 10 % loss: {r}"
        );
    }
}

#[test]
fn a_joiner_killed_mid_match_is_reported_and_the_others_finish() {
    let (mut demos, paths) = start_match("kill3", 3, 1200, &[]);
    // Wait until the victim has really played, then kill it.
    demos[2].wait_for_line("match: frame 300 confirmed", MATCH_DEADLINE);
    demos[2].kill();
    let (survivors, _) = demos.split_at_mut(2);
    finish_all(survivors);
    let reports: Vec<Value> = paths[..2].iter().map(|p| read_report(p)).collect();
    assert_same_state(&reports, 1200);
    for r in &reports {
        let gone = field(r, "disconnects");
        assert_eq!(
            gone,
            &serde_json::json!(["bot2"]),
            "the disconnect was not recorded: {r}"
        );
    }
}

/// Every game packet is lost (`--sim-loss 100`), as with a player behind a
/// silent address: both sides give up at the sync deadline (`--sync-timeout
/// 2`, the default 10 s is the same wait, longer), say whom they could not
/// reach, and exit non-zero instead of "Waiting..." forever.
#[test]
fn a_match_whose_players_cannot_reach_each_other_ends_in_words() {
    let lost = ["--sim-loss", "100", "--sync-timeout", "2"];
    let (mut demos, _) = start_match("unreachable", 2, 600, &lost);
    for (demo, other) in demos.iter_mut().zip(["bot1", "bot0"]) {
        demo.wait_for_line(
            &format!("could not reach {other} (127.0.0.1:"),
            MATCH_DEADLINE,
        );
        assert!(
            !demo.wait_exit(MATCH_DEADLINE),
            "exit code 0 after a failed match"
        );
    }
}
