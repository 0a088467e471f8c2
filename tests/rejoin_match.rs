//! Rejoin and late join with the demo's processes (issue 13): headless bots
//! on loopback (mDNS confined to `lo`), each test its own lobby. A bot
//! SIGKILLed at frame 300 and started again with the same name takes its
//! seat back (`join --lobby NAME` finds the ticket it saved in
//! `XDG_DATA_HOME`); all three report the same checksum at frame 1200 and
//! neither of the others stalls more than 6 frames in a row; a late joiner
//! in a `host --late-join` lobby. The figures (rejoin time, longest stall)
//! are printed. (The same rejoin over 60 ms +-10 ms with 10 % loss passed
//! 3 runs of 4 at real time, stalls 0-3 frames, and once stalled 113-122
//! frames: flaky, so not here until its cause is found.)

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::resume_report::{check, field};
use common::{Demo, bot_args, read_report, scratch_dir, unique};
use serde_json::Value;

const MATCH_DEADLINE: Duration = Duration::from_secs(180);
/// 4 times faster than real time (stalls are counted in game frames).
const SPEED: &str = "4";
const FRAMES: &str = "1200";

/// A bot: `command` (host or join args), the bot flags, its report.
fn bot(lobby: &str, name: &str, command: &[&str], report: &Path, extra: &[&str]) -> Demo {
    let report_arg = report.to_string_lossy().into_owned();
    let mut args: Vec<&str> = command.to_vec();
    args.extend(bot_args(lobby, name, FRAMES, SPEED));
    args.extend(["--report", &report_arg]);
    args.extend_from_slice(extra);
    Demo::start(name, &args)
}

fn finish(demo: &mut Demo) {
    let ok = demo.wait_exit(MATCH_DEADLINE);
    assert!(ok, "{} failed:\n{}", demo.label, demo.seen.join("\n"));
}

/// Three bots; bot2 is SIGKILLed at frame 300 and started again.
fn rejoin(tag: &str, extra: &[&str]) {
    let lobby = unique(tag);
    let dir = scratch_dir(tag);
    let reports: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("bot{i}.json"))).collect();
    let mut host = bot(
        &lobby,
        "bot0",
        &["host", "--players", "3"],
        &reports[0],
        extra,
    );
    let mut one = bot(&lobby, "bot1", &["join"], &reports[1], extra);
    let mut two = bot(&lobby, "bot2", &["join"], &reports[2], extra);
    two.wait_for_line("match: frame 300 confirmed", MATCH_DEADLINE);
    two.kill();
    let mut again = bot(&lobby, "bot2", &["join"], &reports[2], extra);
    again.wait_for_line("match: rejoined", MATCH_DEADLINE);
    for d in [&mut host, &mut one, &mut again] {
        finish(d);
    }
    let values: Vec<Value> = reports.iter().map(|p| read_report(p)).collect();
    check(tag, &values, 2);
}

#[test]
fn a_bot_killed_at_frame_300_rejoins_and_all_agree_at_1200() {
    rejoin("rejoin3", &[]);
}

#[test]
fn a_late_joiner_takes_the_third_seat_at_frame_300() {
    let lobby = unique("late3");
    let dir = scratch_dir("late3");
    let reports: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("bot{i}.json"))).collect();
    let host_args = ["host", "--players", "3", "--start-with", "2", "--late-join"];
    let mut host = bot(&lobby, "bot0", &host_args, &reports[0], &[]);
    let mut one = bot(&lobby, "bot1", &["join"], &reports[1], &[]);
    host.wait_for_line("match: frame 300 confirmed", MATCH_DEADLINE);
    let mut late = bot(&lobby, "bot2", &["join"], &reports[2], &[]);
    for d in [&mut host, &mut one, &mut late] {
        finish(d);
    }
    let values: Vec<Value> = reports.iter().map(|p| read_report(p)).collect();
    for r in &values {
        assert_eq!(field(r, "players").as_array().map(Vec::len), Some(3), "{r}");
    }
    check("late join", &values, 2);
}
