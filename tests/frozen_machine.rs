//! A machine that stops for 3 s and wakes up (a laptop lid closed and
//! opened, a stalled virtual machine, a debugger's breakpoint): the demo's
//! headless bots on loopback, frozen with SIGSTOP in the middle of a match
//! for longer than the 2 s disconnect timeout, then woken. Each case found
//! a bug, fixed in the library and pinned by `netcode/tests/drop_news.rs`:
//!
//! - the host frozen: the others dropped it and went on; it woke up,
//!   compared their checksum reports (of a match without it) with its own
//!   and saw a desync (a false one; 1 run in 5);
//! - all three frozen: on waking, each one's timeouts dropped the others
//!   at frames far apart, one's news of a drop asked another's GGRS for a
//!   rollback past what it keeps, and the host's or a member's process
//!   panicked (in GGRS or bevy_ggrs; 3 runs in 20).
//!
//! The match goes on: every process exits cleanly, all three report the
//! same checksum at frame 900 and none saw a desync.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Demo, bot_args, field, read_report, scratch_dir, unique};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(120);
/// Twice real time (the freeze itself is wall-clock time).
const SPEED: &str = "2";
const FRAMES: &str = "900";
/// How long the processes stay stopped: the fault itself, longer than the
/// 2 s after which a silent peer is dropped.
const FROZEN: Duration = Duration::from_secs(3);

/// Three bots play; at frame 300 the ones in `frozen` stop for 3 s.
fn play_with_a_freeze(tag: &str, frozen: &[usize]) {
    let lobby = unique(tag);
    let dir = scratch_dir(tag);
    let reports: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("bot{i}.json"))).collect();
    let mut demos: Vec<Demo> = (0..3)
        .map(|i| {
            let name = format!("bot{i}");
            let report = reports[i].to_string_lossy().into_owned();
            let mut args = match i {
                0 => vec!["host", "--players", "3"],
                _ => vec!["join"],
            };
            args.extend(bot_args(&lobby, &name, FRAMES, SPEED));
            args.extend(["--report", &report]);
            Demo::start(&name, &args)
        })
        .collect();
    demos[2].wait_for_line("match: frame 300 confirmed", DEADLINE);
    for &i in frozen {
        demos[i].freeze();
    }
    // The fault's length (the processes stay stopped), not a wait for anything.
    std::thread::sleep(FROZEN);
    for &i in frozen {
        demos[i].thaw();
    }
    let exits: Vec<bool> = demos.iter_mut().map(|d| d.wait_exit(DEADLINE)).collect();
    let outputs = || -> String { demos.iter().map(|d| d.seen.join("\n")).collect() };
    assert_eq!(exits, [true; 3], "{}", outputs());
    let values: Vec<Value> = reports.iter().map(|p| read_report(p)).collect();
    for r in &values {
        assert_eq!(field(r, "frames"), &Value::from(900), "{r}");
        assert_eq!(field(r, "desyncs"), &Value::from(0), "{r}\n{}", outputs());
        assert_eq!(
            field(r, "checksum"),
            field(&values[0], "checksum"),
            "{values:?}"
        );
    }
    println!(
        "{tag}: resumed at {} (host), {} (bot1), {} (bot2)",
        field(&values[0], "resumed_at"),
        field(&values[1], "resumed_at"),
        field(&values[2], "resumed_at"),
    );
}

#[test]
fn the_host_frozen_for_3_s_wakes_to_no_false_desync() {
    play_with_a_freeze("frozen-host", &[0]);
}

#[test]
fn three_processes_frozen_for_3_s_wake_and_play_on() {
    play_with_a_freeze("frozen-all", &[0, 1, 2]);
}
