//! Online play end to end: a rendezvous server and three headless bot
//! processes meet by room code and play over WebRTC data channels. Runs in a
//! network namespace of its own (only `lo`, so ICE never picks a real
//! address); skipped with a message when not root. At frame 300 the
//! server gets SIGTERM: every player is told, and the match, peer to peer,
//! goes on to the end. The match plays at `--speed 4`; its last 600 frames
//! (2.5 s) leave the news time to arrive before anyone leaves.

mod common;

use std::time::Duration;

use common::{Demo, Netns, read_report, scratch_dir, sibling_bin};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(120);
/// Four times real time.
const SPEED: &str = "4";

#[test]
fn three_bots_meet_by_code_and_play_over_webrtc() {
    let Some(netns) = Netns::create("np-online") else {
        eprintln!(
            "SKIP three_bots_meet_by_code_and_play_over_webrtc: not root, cannot create a network namespace"
        );
        return;
    };
    let server_bin = sibling_bin("nearplay-rendezvous");
    let demo = common::demo_bin();
    let dir = scratch_dir("online3");
    let server = "127.0.0.1:3536";
    let mut rendezvous = Demo::start_in(&netns, "server", &server_bin, &["--listen", server]);
    rendezvous.wait_for_line("3536", DEADLINE);

    let reports: Vec<String> = (0..3)
        .map(|i| {
            dir.join(format!("peer{i}.json"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let common_args = ["--headless", "--bot", "--frames", "900", "--speed", SPEED];
    let mut host_args = vec![
        "host",
        "--online",
        server,
        "--players",
        "3",
        "--name",
        "bot0",
        "--report",
        &reports[0],
    ];
    host_args.extend(common_args);
    let mut host = Demo::start_in(&netns, "host", &demo, &host_args);
    host.wait_for_line("online: room code", DEADLINE);
    let code = host
        .seen
        .iter()
        .find_map(|l| l.split("room code ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the host printed its room code")
        .to_string();

    let mut peers = vec![host];
    for (i, report) in reports.iter().enumerate().skip(1) {
        let name = format!("bot{i}");
        let mut args = vec![
            "join",
            "--code",
            &code,
            "--rendezvous",
            server,
            "--name",
            &name,
            "--report",
            report,
        ];
        args.extend(common_args);
        peers.push(Demo::start_in(&netns, &name, &demo, &args));
    }
    // The server shuts down mid-match: every player hears of it within a
    // few seconds (the test's deadline only turns a hang into a failure).
    for peer in &mut peers {
        peer.wait_for_line("match: frame 300 confirmed", DEADLINE);
    }
    rendezvous.terminate();
    let terminated = std::time::Instant::now();
    for peer in &mut peers {
        peer.wait_for_line("rendezvous server is closing", Duration::from_secs(10));
        println!("{}: told after {:?}", peer.label, terminated.elapsed());
    }
    for peer in &mut peers {
        let ok = peer.wait_exit(DEADLINE);
        assert!(ok, "{} failed:\n{}", peer.label, peer.seen.join("\n"));
    }
    let reports: Vec<Value> = reports
        .iter()
        .map(|p| read_report(std::path::Path::new(p)))
        .collect();
    for r in &reports {
        assert_eq!(r["frames"], Value::from(900), "{r}");
        assert_eq!(
            r["checksum"], reports[0]["checksum"],
            "checksums differ: {reports:?}"
        );
        assert_eq!(r["desyncs"], Value::from(0), "{r}");
        assert_eq!(r["players"].as_array().map(Vec::len), Some(3), "{r}");
    }
}
