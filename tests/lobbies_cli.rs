//! `nearplay-demo lobbies` against a lobby named with terminal escapes, in a
//! network namespace of the test's own: the output holds no control
//! character, and `--watch` names the lobby that left, in JSON and in the
//! table.

mod common;

use std::time::Duration;

use common::{Demo, Netns, demo_bin};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);
/// ESC [31m (red), BEL, ESC ]0; (window title): what a stranger may name a lobby.
const EVIL: &str = "Evil\u{1b}[31m\u{7}Den\u{1b}]0;owned";
const SHOWN: &str = "Evil[31mDen]0;owned";

fn no_control_characters(demo: &Demo) {
    for line in &demo.seen {
        assert!(
            !line.chars().any(char::is_control),
            "{}: raw control character in {line:?}",
            demo.label
        );
    }
}

fn lobbies_watch(json: bool) {
    let Some(ns) = Netns::create("np-cli") else {
        eprintln!("SKIPPED: network namespaces need root");
        return;
    };
    let bin = demo_bin();
    let common = ["--interface", "lo", "--headless", "--bot"];
    let mut host_args = vec!["host", "--lobby", EVIL, "--name", "Hosty"];
    host_args.extend(common);
    let mut host = Demo::start_in(&ns, "host", &bin, &host_args);
    host.wait_for_line("lobby: hosting", LIMIT);
    let mut args = vec!["lobbies", "--watch", "--interface", "lo"];
    if json {
        args.push("--json");
    }
    let mut watch = Demo::start_in(&ns, "lobbies", &bin, &args);
    watch.wait_for_line(SHOWN, LIMIT);
    // The host crashes: liveness drops it, and the removal names it.
    host.kill();
    watch.wait_for_line("removed", LIMIT);
    no_control_characters(&watch);
    let removed = watch
        .seen
        .iter()
        .find(|l| l.contains("removed"))
        .cloned()
        .unwrap_or_default();
    println!("FIGURE removal line: {removed}");
    if json {
        let v: Value = serde_json::from_str(&removed).expect("a JSON line");
        assert_eq!(v["event"], "removed");
        assert_eq!(v["lobby"]["name"], SHOWN);
        assert!(v["lobby"]["addr"].as_str().is_some_and(|a| a.contains(':')));
    } else {
        assert!(
            removed.starts_with("removed: ") && removed.contains(SHOWN),
            "{removed}"
        );
    }
}

#[test]
fn lobbies_watch_json_is_clean_and_names_the_removed_lobby() {
    lobbies_watch(true);
}

#[test]
fn lobbies_watch_table_is_clean_and_names_the_removed_lobby() {
    lobbies_watch(false);
}
