//! Multi-host: network namespaces on one bridge. A host process in one,
//! joiners in the others (one over IPv6 only): they discover it over mDNS,
//! join and start with one plan; a killed host leaves every list within 3 s.
//! Skipped (with a message) when not root.

mod common;

use std::time::{Duration, Instant};

use common::netns::{LAB_IF, Lab, example_binary, unavailable};

const LIMIT: Duration = Duration::from_secs(15);

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == key {
            return words.next().unwrap_or_default();
        }
    }
    ""
}

#[test]
fn namespaces_discover_join_start_over_v4_and_v6_and_see_a_crash() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED netns test: {why}");
        return;
    }
    let Some(bin) = example_binary() else {
        eprintln!(
            "SKIPPED netns test: the `lobby` example is not built (run `cargo test -p nearplay_matchmaker`)"
        );
        return;
    };
    let lab = Lab::new("t", 4).expect("create namespaces");
    let host = lab.spawn(
        0,
        &bin,
        &[
            "host",
            "--name",
            "NS Lobby",
            "--interface",
            LAB_IF,
            "--start-when",
            "4",
        ],
    );
    host.expect_line("host up", LIMIT, |l| l.starts_with("hosting"));
    // Ann and Bob over IPv4 (and whatever else), Cyd over IPv6 only.
    let joiners: Vec<_> = [(1, "Ann", "both"), (2, "Bob", "v4"), (3, "Cyd", "v6")]
        .iter()
        .map(|(i, name, family)| {
            let args = ["join", "--lobby", "NS Lobby", "--name", name, "--ready"];
            let mut args = args.to_vec();
            args.extend(["--interface", LAB_IF, "--family", family]);
            lab.spawn(*i, &bin, &args)
        })
        .collect();
    let (_, host_line) = host.expect_line("host started", LIMIT, |l| l.starts_with("started"));
    let mut handles = vec![field(&host_line, "handle").to_string()];
    for (k, j) in joiners.iter().enumerate() {
        let who = format!("joiner {k}");
        let (_, found) = j.expect_line(&format!("{who}: lobby found"), LIMIT, |l| {
            l.starts_with("found")
        });
        // Ann (both families) may meet either address first.
        let v4 = found.contains("at 10.213.0.1:");
        let v6 = found.contains("at [fe80::");
        let ok = [v4 || v6, v4, v6][k];
        assert!(ok, "{who} joined over the lab link: {found}");
        let (_, line) = j.expect_line(&format!("{who}: started"), LIMIT, |l| {
            l.starts_with("started")
        });
        assert_eq!(
            field(&line, "started"),
            field(&host_line, "started"),
            "same match id"
        );
        assert_eq!(field(&line, "plan"), field(&host_line, "plan"), "same plan");
        handles.push(field(&line, "handle").to_string());
    }
    handles.sort();
    assert_eq!(handles, ["0", "1", "2", "3"]);

    // A host that crashes: browsers in both other namespaces drop it.
    let mut crasher = lab.spawn(
        0,
        &bin,
        &["host", "--name", "NS Crash", "--interface", LAB_IF],
    );
    crasher.expect_line("crash host up", LIMIT, |l| l.starts_with("hosting"));
    let lists: Vec<_> = [1, 2]
        .iter()
        .map(|i| lab.spawn(*i, &bin, &["list", "--interface", LAB_IF, "--verbose"]))
        .collect();
    for l in &lists {
        // Wait for a measured RTT: pings flow before the crash.
        l.expect_line("crash lobby listed", LIMIT, |s| {
            s.contains("NS Crash") && s.contains("ms (")
        });
    }
    // A member of the crashing lobby learns it is gone too.
    let member = lab.spawn(
        3,
        &bin,
        &[
            "join",
            "--lobby",
            "NS Crash",
            "--name",
            "Dee",
            "--interface",
            LAB_IF,
        ],
    );
    member.expect_line("member joined", LIMIT, |l| l.starts_with("joined"));
    let killed = Instant::now();
    crasher.kill();
    for l in &lists {
        let (at, _) = l.expect_line("crash lobby removed", LIMIT, |s| s == "removed NS Crash");
        let gone = at.saturating_duration_since(killed);
        eprintln!("crashed host left the list after {gone:?}");
        assert!(
            gone <= Duration::from_secs(3),
            "a crashed host must leave the list within 3 s, took {gone:?}"
        );
    }
    let (at, line) = member.expect_line("member told", LIMIT, |l| l.starts_with("closed"));
    let told = at.saturating_duration_since(killed);
    eprintln!("member of the crashed lobby told after {told:?}: {line}");
    assert!(
        told <= Duration::from_secs(3),
        "LobbyClosed within 3 s, took {told:?}"
    );
}
