//! Issue 14, spectators end to end: headless `nearplay-demo` processes on
//! loopback (mDNS confined to `--interface lo`). 2 bot players and 6
//! `spectate` processes with k = 2 (`--spectate-fanout 2`): every spectator
//! reaches frame 1200 with the players' checksum (the reports are
//! compared); the first spectator relays to the last two, and it is killed
//! mid-match: they re-attach and finish with the same checksum.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Demo, field, read_report, scratch_dir, unique};
use serde_json::Value;

const MATCH_DEADLINE: Duration = Duration::from_secs(180);
const SPEED: &str = "4";
const FRAMES: &str = "1200";

fn args<'a>(role: &[&'a str], lobby: &'a str, name: &'a str, report: &'a str) -> Vec<&'a str> {
    let mut args = role.to_vec();
    args.extend([
        "--lobby",
        lobby,
        "--name",
        name,
        "--headless",
        "--interface",
        "lo",
        "--frames",
        FRAMES,
        "--report",
        report,
        "--speed",
        SPEED,
        "--spectate-fanout",
        "2",
    ]);
    args
}

#[test]
fn six_spectators_k_2_get_the_players_checksum_and_a_killed_relays_children_finish() {
    let lobby = unique("watch");
    let dir = scratch_dir("watch");
    let path = |name: &str| -> (PathBuf, String) {
        let p = dir.join(format!("{name}.json"));
        let s = p.to_string_lossy().into_owned();
        (p, s)
    };
    let (host_report, host_arg) = path("bot0");
    let mut host = Demo::start(
        "bot0",
        &args(
            &["host", "--players", "2", "--bot"],
            &lobby,
            "bot0",
            &host_arg,
        ),
    );
    host.wait_for_line("lobby: hosting", Duration::from_secs(30));
    // Spectators join first (handles 2..7 in join order): 2..5 hang off
    // the players, 6 and 7 off spectator 2 (the first). They come in three
    // waves, each in the lobby before the next starts: the relay alone,
    // then three that hang off the players (in any order), then the
    // relay's two children. (One at a time, each waited about a second
    // for mDNS.)
    let mut watchers = Vec::new();
    let mut watcher_reports = Vec::new();
    for wave in [0..1, 1..4, 4..6] {
        let first = watchers.len();
        for i in wave {
            let name = format!("watcher{i}");
            let (report, report_arg) = path(&name);
            let demo = Demo::start(&name, &args(&["spectate"], &lobby, &name, &report_arg));
            watchers.push(demo);
            watcher_reports.push(report);
        }
        for demo in &mut watchers[first..] {
            demo.wait_for_line("lobby: joined", Duration::from_secs(60));
        }
    }
    let (player_report, player_arg) = path("bot1");
    let mut player = Demo::start(
        "bot1",
        &args(&["join", "--bot"], &lobby, "bot1", &player_arg),
    );
    // The relay leaves mid-match.
    watchers[0].wait_for_line("match: frame 300 confirmed", MATCH_DEADLINE);
    watchers[0].kill();
    for demo in std::iter::once(&mut host)
        .chain(std::iter::once(&mut player))
        .chain(watchers.iter_mut().skip(1))
    {
        let ok = demo.wait_exit(MATCH_DEADLINE);
        assert!(ok, "{} failed:\n{}", demo.label, demo.seen.join("\n"));
    }
    let players = [read_report(&host_report), read_report(&player_report)];
    let checksum = field(&players[0], "checksum").clone();
    assert_eq!(field(&players[1], "checksum"), &checksum);
    assert_eq!(field(&players[0], "frames"), &Value::from(1200));
    for (i, report) in watcher_reports.iter().enumerate().skip(1) {
        let report = read_report(report);
        assert_eq!(field(&report, "spectator"), &Value::Bool(true));
        assert_eq!(field(&report, "frames"), &Value::from(1200));
        assert_eq!(field(&report, "checksum"), &checksum, "watcher{i}");
        if i >= 4 {
            let moved = field(&report, "spectate_reattachments").as_u64();
            assert!(moved >= Some(1), "watcher{i} never re-attached: {report}");
        }
    }
    // Players upload to at most k = 2 spectators each: their stream stays
    // a small multiple of one child's.
    for p in &players {
        assert!(field(p, "spectate_bytes_sent").as_u64() > Some(0));
    }
}
