//! Issue 14, spectators who come to a running match (LAN): headless
//! `nearplay-demo` processes on loopback (mDNS confined to
//! `--interface lo`). 2 bot players start a match of 1500 frames; once
//! they passed frame 300 a `spectate` process joins the lobby, catches up
//! from frame 0 at high speed through its parent in the relay tree (the
//! host's player, who had no spectator at the start), then follows live;
//! at frame 1200 its checksum is the players' (their progress line at
//! 1200), its report says where and how fast it caught up, and its
//! `--record` replay verifies to the same checksum. A second one comes
//! with it (they join in either order): the second spectator's parent is
//! the other player, who heard of it through the lobby as a member (not
//! as the host).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Demo, bot_args, demo_bin, read_report, scratch_dir, unique};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(180);
/// The players' match: past the spectators' 1200 frames, so they leave
/// while it runs (and 5 s after frame 300 for them to come; the players
/// then wait for their spectator children too).
const PLAYERS_FRAMES: &str = "1500";

/// The checksum a player printed with its progress line at `frame`.
fn progress_checksum(demo: &Demo, frame: u32) -> String {
    let prefix = format!("match: frame {frame} confirmed, checksum ");
    demo.seen
        .iter()
        .find_map(|l| l.split_once(&prefix).map(|(_, sum)| sum.trim().to_string()))
        .unwrap_or_else(|| {
            panic!(
                "{}: no checksum at {frame}:\n{}",
                demo.label,
                demo.seen.join("\n")
            )
        })
}

#[test]
fn a_spectator_joining_at_frame_300_catches_up_and_ends_on_the_players_checksum() {
    let lobby = unique("late");
    let dir = scratch_dir("late");
    let report = dir.join("late.json");
    let replay = dir.join("late.nprp");
    let (report_arg, replay_arg) = (report.to_string_lossy(), replay.to_string_lossy());
    let mut host_args = vec!["host", "--players", "2"];
    host_args.extend(bot_args(&lobby, "bot0", PLAYERS_FRAMES, "4"));
    let mut host = Demo::start("bot0", &host_args);
    host.wait_for_line("lobby: hosting", Duration::from_secs(30));
    let mut join_args = vec!["join"];
    join_args.extend(bot_args(&lobby, "bot1", PLAYERS_FRAMES, "4"));
    let mut player = Demo::start("bot1", &join_args);
    host.wait_for_line("match: frame 300 confirmed", DEADLINE);

    let late = |name: &str, report: &str, record: Option<&str>| {
        let mut args = vec![
            "spectate",
            "--lobby",
            &lobby,
            "--name",
            name,
            "--headless",
            "--interface",
            "lo",
            "--frames",
            "1200",
            "--speed",
            "4",
            "--report",
            report,
        ];
        args.extend(record.map(|r| ["--record", r]).into_iter().flatten());
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let start = |name: &str, args: Vec<String>| {
        Demo::start(name, &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let mut watcher = start("late", late("late", &report_arg, Some(&replay_arg)));
    let second_report = dir.join("late2.json");
    let mut second = start(
        "late2",
        late("late2", &second_report.to_string_lossy(), None),
    );
    for demo in [&mut watcher, &mut second] {
        let ok = demo.wait_exit(DEADLINE);
        assert!(ok, "{} failed:\n{}", demo.label, demo.seen.join("\n"));
    }
    for demo in [&mut host, &mut player] {
        let ok = demo.wait_exit(DEADLINE);
        assert!(ok, "{} failed:\n{}", demo.label, demo.seen.join("\n"));
    }
    let checksum = progress_checksum(&host, 1200);
    assert_eq!(progress_checksum(&player, 1200), checksum);

    let watched = read_report(&report);
    assert_eq!(watched["spectator"], Value::Bool(true));
    assert_eq!(watched["frames"], Value::from(1200));
    assert_eq!(watched["checksum"], Value::from(checksum.clone()));
    let caught_up_at = watched["catch_up_frame"].as_u64().expect("catch_up_frame");
    let catch_up_ms = watched["catch_up_ms"].as_u64().expect("catch_up_ms");
    eprintln!("late spectator: caught up at frame {caught_up_at} after {catch_up_ms} ms");
    assert!(
        caught_up_at >= 300,
        "it came at frame {caught_up_at}: not late, or it did not replay from frame 0"
    );

    let second = read_report(&second_report);
    assert_eq!(second["frames"], Value::from(1200));
    assert_eq!(second["checksum"], Value::from(checksum.clone()), "late2");
    assert!(second["catch_up_frame"].as_u64() >= Some(300));
    // Each was served by its plan parent (the host's player, then the
    // other player): neither had to look for another feed.
    for report in [&watched, &second] {
        assert_eq!(report["spectate_reattachments"], Value::from(0), "{report}");
    }

    let out = Command::new(demo_bin())
        .args(["replay", "--headless", "--verify"])
        .arg(&replay)
        .output()
        .expect("run nearplay-demo replay");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "replay --verify:\n{text}");
    assert!(
        text.contains(&format!("final checksum {checksum} at frame 1200")),
        "the late spectator's replay does not end on the players' checksum {checksum}:\n{text}"
    );
}
