//! Issue 14, watching online: a rendezvous server, 2 headless bot players
//! and 3 headless `spectate --code CODE` processes meet in one room and
//! the spectators follow the match over the room's WebRTC game channel
//! (the spectate stream shares it with the game, as it shares the UDP game
//! socket on the LAN). With fanout 1 each player feeds one spectator and
//! the third hangs off the first, so the relay path runs over WebRTC too.
//! The match plays at `--speed 4` (frames, inputs and the stream are the
//! same, in a quarter of the time). Runs in a network namespace of its own
//! (only `lo`); skipped with a message when not root.

mod common;

use std::time::Duration;

use common::{Demo, Netns, read_report, scratch_dir, sibling_bin};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(150);
const FRAMES: &str = "600";
/// Four times real time.
const SPEED: &str = "4";

#[test]
fn three_spectators_by_code_reach_the_players_frame_and_checksum_over_webrtc() {
    let Some(netns) = Netns::create("np-watch") else {
        eprintln!(
            "SKIP three_spectators_by_code_reach_the_players_frame_and_checksum_over_webrtc: \
             not root, cannot create a network namespace"
        );
        return;
    };
    let demo = common::demo_bin();
    let dir = scratch_dir("watch-online");
    let server = "127.0.0.1:3536";
    let mut rendezvous = Demo::start_in(
        &netns,
        "server",
        &sibling_bin("nearplay-rendezvous"),
        &["--listen", server],
    );
    rendezvous.wait_for_line("3536", DEADLINE);

    let report = |name: &str| {
        dir.join(format!("{name}.json"))
            .to_string_lossy()
            .into_owned()
    };
    let common_args = [
        "--headless",
        "--frames",
        FRAMES,
        "--speed",
        SPEED,
        "--spectate-fanout",
        "1",
    ];
    let host_report = report("bot0");
    let mut args = vec!["host", "--online", server, "--players", "2", "--bot"];
    args.extend(["--name", "bot0", "--report", &host_report]);
    args.extend(common_args);
    let mut host = Demo::start_in(&netns, "host", &demo, &args);
    host.wait_for_line("online: room code", DEADLINE);
    let code = host
        .seen
        .iter()
        .find_map(|l| l.split("room code ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the host printed its room code")
        .to_string();

    // The spectators come in first (the match starts when the second
    // player is ready).
    let by_code = ["--code", &code, "--rendezvous", server];
    let mut peers = vec![host];
    let mut watcher_reports = Vec::new();
    for i in 0..3 {
        let name = format!("watcher{i}");
        let path = report(&name);
        let mut args = vec!["spectate"];
        args.extend(by_code);
        args.extend(["--name", &name, "--report", &path]);
        args.extend(common_args);
        let mut watcher = Demo::start_in(&netns, &name, &demo, &args);
        watcher.wait_for_line("lobby: joined", DEADLINE);
        peers.push(watcher);
        watcher_reports.push(path);
    }
    let joiner_report = report("bot1");
    let mut args = vec!["join", "--bot"];
    args.extend(by_code);
    args.extend(["--name", "bot1", "--report", &joiner_report]);
    args.extend(common_args);
    peers.push(Demo::start_in(&netns, "bot1", &demo, &args));
    for peer in &mut peers {
        let ok = peer.wait_exit(DEADLINE);
        assert!(ok, "{} failed:\n{}", peer.label, peer.seen.join("\n"));
    }

    let players = [
        read_report(host_report.as_ref()),
        read_report(joiner_report.as_ref()),
    ];
    let checksum = players[0]["checksum"].clone();
    assert_eq!(players[1]["checksum"], checksum, "{players:?}");
    for p in &players {
        assert_eq!(p["frames"], Value::from(600), "{p}");
        assert_eq!(p["spectator"], Value::Bool(false), "{p}");
    }
    // k = 1: each player feeds one spectator.
    for p in &players {
        assert!(p["spectate_bytes_sent"].as_u64() > Some(0), "{p}");
    }
    for path in &watcher_reports {
        let r = read_report(path.as_ref());
        assert_eq!(r["spectator"], Value::Bool(true), "{r}");
        assert_eq!(r["frames"], Value::from(600), "{r}");
        assert_eq!(r["checksum"], checksum, "{r}");
        // Nobody's feed went silent: the third was fed by its relay, the
        // first spectator, from start to end.
        assert_eq!(r["spectate_reattachments"], Value::from(0), "{r}");
    }
}
