//! Issue 14, a spectator's replay: 2 headless bot players and a headless
//! `spectate --record FILE` on loopback (mDNS confined to `--interface lo`).
//! The spectator's file passes `nearplay-demo replay FILE --headless
//! --verify` and ends on the players' checksum, and the match is also kept
//! in the spectator's data directory, as a player's is.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Demo, bot_args, demo_bin, read_report, scratch_dir, unique};

const MATCH_DEADLINE: Duration = Duration::from_secs(120);
const FRAMES: u32 = 600;

/// `nearplay-demo replay FILE --headless --verify`: exit code and output.
fn verify(file: &Path) -> (Option<i32>, String) {
    let out = Command::new(demo_bin())
        .args(["replay", "--headless", "--verify"])
        .arg(file)
        .output()
        .expect("run nearplay-demo replay");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_spectators_recorded_match_verifies_to_the_players_checksum() {
    let lobby = unique("watchrec");
    let dir = scratch_dir("watchrec");
    let frames = FRAMES.to_string();
    let arg = |p: &Path| p.to_string_lossy().into_owned();
    let report = |name: &str| dir.join(format!("{name}.json"));
    let (host_report, joiner_report) = (arg(&report("bot0")), arg(&report("bot1")));
    let (watcher_report, watcher_replay) = (report("watcher"), dir.join("watched.npreplay"));
    let (watcher_report_arg, watcher_replay_arg) = (arg(&watcher_report), arg(&watcher_replay));
    let watcher_data = dir.join("watcher-data");

    let mut host_args = vec!["host", "--players", "2", "--report", &host_report];
    host_args.extend(bot_args(&lobby, "bot0", &frames, "4"));
    let mut host = Demo::start("bot0", &host_args);
    host.wait_for_line("lobby: hosting", Duration::from_secs(30));
    let mut watcher_args = vec![
        "spectate",
        "--report",
        &watcher_report_arg,
        "--record",
        &watcher_replay_arg,
    ];
    // bot_args without `--bot`: a spectator has no inputs to make.
    watcher_args.extend(
        bot_args(&lobby, "watcher", &frames, "4")
            .into_iter()
            .filter(|a| *a != "--bot"),
    );
    let mut watcher = Demo::start_env(
        "watcher",
        &watcher_args,
        &[("XDG_DATA_HOME", &watcher_data)],
    );
    watcher.wait_for_line("lobby: joined", Duration::from_secs(60));
    let mut joiner_args = vec!["join", "--report", &joiner_report];
    joiner_args.extend(bot_args(&lobby, "bot1", &frames, "4"));
    let mut joiner = Demo::start("bot1", &joiner_args);
    for demo in [&mut host, &mut joiner, &mut watcher] {
        let ok = demo.wait_exit(MATCH_DEADLINE);
        assert!(ok, "{} failed:\n{}", demo.label, demo.seen.join("\n"));
    }

    let checksum = read_report(&dir.join("bot0.json"))["checksum"].clone();
    assert_eq!(read_report(&dir.join("bot1.json"))["checksum"], checksum);
    let watched = read_report(&watcher_report);
    assert_eq!(watched["spectator"], serde_json::Value::Bool(true));
    assert_eq!(watched["checksum"], checksum);
    let checksum = checksum.as_str().expect("report checksum");

    let (code, text) = verify(&watcher_replay);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("final checksum {checksum} at frame {FRAMES}")),
        "the spectator's replay does not end on the players' checksum {checksum}:\n{text}"
    );
    // The data directory keeps the watched match too, and it verifies.
    let kept: Vec<_> = std::fs::read_dir(watcher_data.join("nearplay/replays"))
        .expect("the spectator's data directory has replays")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let (code, text) = verify(&kept[0]);
    assert_eq!(code, Some(0), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
