//! Helpers for multi-process tests: run `nearplay-demo` processes, wait for
//! lines they print and for their exit, each with a deadline, and read their
//! JSON reports. Every process is killed when its handle drops.

#![allow(dead_code)]

pub mod resume_report;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The demo binary: `NEARPLAY_DEMO_BIN`, else next to the test binaries'
/// directory (`target/debug/nearplay-demo`, built by `make test` first).
pub fn demo_bin() -> PathBuf {
    if let Ok(path) = std::env::var("NEARPLAY_DEMO_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let debug = exe.parent().and_then(Path::parent).expect("target/debug");
    let bin = debug.join("nearplay-demo");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p nearplay_demo` (make test does)",
        bin.display()
    );
    bin
}

/// A name no other test run uses, so parallel tests never join each other.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

/// A fresh directory for reports.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The arguments a headless bot peer on loopback takes after its
/// subcommand (`host ...` or `join`): the lobby to meet in, its name, how
/// many frames to play and at what simulation speed.
pub fn bot_args<'a>(
    lobby: &'a str,
    name: &'a str,
    frames: &'a str,
    speed: &'a str,
) -> [&'a str; 12] {
    [
        "--lobby",
        lobby,
        "--name",
        name,
        "--headless",
        "--bot",
        "--interface",
        "lo",
        "--frames",
        frames,
        "--speed",
        speed,
    ]
}

/// A running `nearplay-demo` whose output lines arrive on a channel.
pub struct Demo {
    /// A label for messages.
    pub label: String,
    child: Child,
    lines: Receiver<String>,
    /// Every line seen so far (stdout and stderr).
    pub seen: Vec<String>,
}

impl Demo {
    /// Starts `nearplay-demo ARGS`.
    pub fn start(label: &str, args: &[&str]) -> Demo {
        Demo::spawn(label, Command::new(demo_bin()).args(args))
    }

    /// Starts `nearplay-demo ARGS` with extra environment variables.
    pub fn start_env(label: &str, args: &[&str], env: &[(&str, &Path)]) -> Demo {
        let mut command = Command::new(demo_bin());
        command.args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        Demo::spawn(label, &mut command)
    }

    /// Starts `program ARGS` inside the network namespace `netns`.
    pub fn start_in(netns: &Netns, label: &str, program: &Path, args: &[&str]) -> Demo {
        Demo::spawn(
            label,
            Command::new("ip")
                .args(["netns", "exec", &netns.name])
                .arg(program)
                .args(args),
        )
    }

    fn spawn(label: &str, command: &mut Command) -> Demo {
        // Replays and desync reports of test processes go to a scratch data
        // directory, never the user's own (unless the test chose one).
        if !command.get_envs().any(|(k, _)| k == "XDG_DATA_HOME") {
            command.env(
                "XDG_DATA_HOME",
                std::env::temp_dir().join("nearplay-test-data"),
            );
        }
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nearplay-demo");
        let (tx, lines) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Demo {
            label: label.to_string(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until a printed line contains `needle`.
    pub fn wait_for_line(&mut self, needle: &str, within: Duration) {
        if !self.try_wait_for_line(needle, within) {
            panic!(
                "{}: no line with {needle:?} within {within:?}; output:\n{}",
                self.label,
                self.seen.join("\n")
            );
        }
    }

    /// Waits until a printed line contains `needle`; whether one did
    /// within `within`.
    pub fn try_wait_for_line(&mut self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        if self.seen.iter().any(|l| l.contains(needle)) {
            return true;
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => break,
            }
        }
        false
    }

    /// Stops the process (SIGSTOP) as a machine that freezes does: none of
    /// its threads runs, its sockets fill, its clocks go on.
    /// [`Demo::thaw`] wakes it.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Wakes a process [`Demo::freeze`] stopped (SIGCONT).
    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: `kill` takes plain integers; the child is ours and not
        // yet reaped (it is killed and waited for on drop).
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "{}: signal {signal} not sent", self.label);
    }

    /// Everything printed so far (what has arrived), labelled: for a
    /// failure message that shows every process of a test.
    pub fn output(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        format!("--- {} ---\n{}", self.label, self.seen.join("\n"))
    }

    /// Waits for the process to exit and returns whether it succeeded.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Collect what is left of the output.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status.success();
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                let _ = self.child.kill();
                panic!(
                    "{}: still running after {within:?}; output:\n{}",
                    self.label,
                    self.seen.join("\n")
                );
            };
            // Block on output (or the deadline) instead of spinning.
            if let Ok(line) = self
                .lines
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                self.seen.push(line);
            }
        }
    }

    /// Asks the process to shut down (SIGTERM), as a service manager would.
    pub fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "kill -TERM {pid} ({}) failed",
            self.label
        );
    }

    /// Kills the process now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A binary built next to `nearplay-demo` (e.g. `nearplay-rendezvous`).
pub fn sibling_bin(name: &str) -> PathBuf {
    let bin = demo_bin().with_file_name(name);
    assert!(
        bin.exists(),
        "{} is missing: `make test` builds it",
        bin.display()
    );
    bin
}

/// Whether this process runs as root (network namespaces need it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A network namespace of the test's own, with only `lo` up and a default
/// route through it (WebRTC's ICE needs a route), deleted on drop.
pub struct Netns {
    /// Its name.
    pub name: String,
}

impl Netns {
    /// Creates it; `None` when that is not possible (not root).
    pub fn create(tag: &str) -> Option<Netns> {
        if !is_root() {
            return None;
        }
        let name = unique(tag);
        let run = |args: &[&str]| {
            let ok = Command::new("ip")
                .args(args)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "ip {} failed", args.join(" "));
        };
        run(&["netns", "add", &name]);
        let ns = Netns { name };
        run(&["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"]);
        run(&[
            "netns", "exec", &ns.name, "ip", "route", "add", "default", "dev", "lo",
        ]);
        Some(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Reads a JSON report written by `--report`.
pub fn read_report(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("report {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("report {}: {e}", path.display()))
}

/// Field `key` of a report; a failure that shows the report when missing.
pub fn field<'a>(report: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    report
        .get(key)
        .unwrap_or_else(|| panic!("report has no {key}: {report}"))
}
