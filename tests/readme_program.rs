//! The README's quick start is `examples/quick_start.rs`, character for
//! character, and it runs: the program, unchanged, joins a headless host
//! (the same program with `host`) over mDNS inside a network namespace this
//! test creates (only `lo`), starts, plays its frames and exits by itself.
//! Before, the README's program sent `set_ready` before the welcome (dropped)
//! and spun forever.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Demo, Netns};

const EXAMPLE: &str = include_str!("../examples/quick_start.rs");
const README: &str = include_str!("../README.md");
const DEADLINE: Duration = Duration::from_secs(90);

/// `target/debug/examples/quick_start`, built with the tests (`make test`
/// builds every example first).
fn example_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let debug = exe.parent().and_then(Path::parent).expect("target/debug");
    let bin = debug.join("examples").join("quick_start");
    assert!(
        bin.exists(),
        "{} is missing: `cargo build --example quick_start` first (make test does)",
        bin.display()
    );
    bin
}

#[test]
fn the_readme_shows_the_example_program() {
    let start = README
        .find("<!-- examples/quick_start.rs -->")
        .expect("the README marks the quick start");
    let code = &README[start..];
    let open = code.find("```rust").expect("a rust block");
    let body_start = open + code[open..].find('\n').expect("fence line") + 1;
    let body_len = code[body_start..].find("\n```").expect("closing fence") + 1;
    assert_eq!(
        &code[body_start..body_start + body_len],
        EXAMPLE,
        "README's quick start and examples/quick_start.rs differ"
    );
}

#[test]
fn the_readme_program_reaches_its_end_against_a_headless_host() {
    let Some(ns) = Netns::create("np-readme") else {
        println!("SKIP: not root, cannot create a network namespace");
        return;
    };
    // mDNS on the namespace's only interface.
    let multicast = Command::new("ip")
        .args(["-n", &ns.name, "link", "set", "lo", "multicast", "on"])
        .status();
    assert!(multicast.is_ok_and(|s| s.success()), "multicast on lo");
    let bin = example_bin();
    let mut host = Demo::start_in(&ns, "host", &bin, &["host"]);
    host.wait_for_line("lobby open", DEADLINE);
    let mut player = Demo::start_in(&ns, "player", &bin, &[]);
    player.wait_for_line("joined", DEADLINE);
    for p in [&mut player, &mut host] {
        let ok = p.wait_exit(DEADLINE);
        assert!(ok, "{} failed:\n{}", p.label, p.seen.join("\n"));
        p.wait_for_line("match over: frame 300 confirmed", Duration::ZERO);
    }
    println!("{}", player.seen.join("\n"));
}
