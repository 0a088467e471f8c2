//! Runs a test's body inside a network namespace the test creates (only `lo`,
//! up, multicast on), by re-executing this test binary there. The body's mDNS
//! then reaches no other process on this machine: tests that advertise
//! hundreds of fake lobbies or forge packets disturb nobody. Needs root (CI
//! runs as root); skipped with a message otherwise.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::netns::unavailable;

/// Set in the child: the body runs here.
const CHILD_ENV: &str = "NEARPLAY_TEST_IN_OWN_NETNS";

/// `true` when the caller is the re-executed child and must run the body.
/// In the parent: creates a namespace, runs `test` (its exact name) there,
/// prints its output, fails if it failed or did not finish within `limit`,
/// deletes the namespace, and returns `false`.
pub fn run_body_in_own_namespace(test: &str, limit: Duration) -> bool {
    if std::env::var_os(CHILD_ENV).is_some() {
        return true;
    }
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED {test}: {why}");
        return false;
    }
    let ns = Namespace::new(test);
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the test in its namespace");
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        let status = child.wait();
        let _ = tx.send((status, s));
    });
    let (status, stdout) = match rx.recv_timeout(limit) {
        Ok(done) => done,
        Err(_) => {
            // Our own child, by its id.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{test} did not finish within {limit:?} in its namespace");
        }
    };
    let stderr = err_reader.join().unwrap_or_default();
    println!("{stdout}");
    eprintln!("{stderr}");
    let status = status.expect("wait for the child");
    assert!(status.success(), "{test} failed in its namespace: {status}");
    false
}

/// A namespace with only `lo`, deleted on drop.
struct Namespace {
    name: String,
}

impl Namespace {
    fn new(test: &str) -> Namespace {
        let tag: String = test
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect();
        let mut b = [0u8; 3];
        getrandom::getrandom(&mut b).expect("os rng");
        let name = format!(
            "np-{tag}-{}-{:02x}{:02x}{:02x}",
            std::process::id(),
            b[0],
            b[1],
            b[2]
        );
        let ok = |args: &[&str]| {
            let s = Command::new("ip").args(args).status();
            assert!(s.is_ok_and(|s| s.success()), "ip {}", args.join(" "));
        };
        ok(&["netns", "add", &name]);
        let ns = Namespace { name };
        ok(&["-n", &ns.name, "link", "set", "lo", "up", "multicast", "on"]);
        ns
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
