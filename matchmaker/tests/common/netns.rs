//! A throwaway network lab: N namespaces on one bridge (itself in its own
//! namespace), so multi-host tests never touch the machine's real interfaces.
//! Everything is deleted on drop. Needs root.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The interface name inside every lab namespace.
pub const LAB_IF: &str = "np0";

/// Namespaces `ns[i]` with address `10.213.0.(i+1)/24` on `np0`, all on one bridge.
pub struct Lab {
    pub ns: Vec<String>,
    bridge: String,
}

/// Why the lab cannot run here (not root, no `ip`, ...).
pub fn unavailable() -> Option<String> {
    // `id -u` prints 0 for root.
    let out = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        return Some("not root: network namespaces need root".into());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(o) if o.status.success() => None,
        _ => Some("`ip netns` is not available".into()),
    }
}

/// Runs `ip` with `args`: its error output if it failed.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Lab {
    /// Creates `n` namespaces joined by a bridge.
    pub fn new(tag: &str, n: usize) -> Result<Lab, String> {
        let id = std::process::id() % 100_000;
        let bridge = format!("np-{tag}-{id}-br");
        let mut lab = Lab {
            ns: Vec::new(),
            bridge: bridge.clone(),
        };
        ip(&["netns", "add", &bridge])?;
        ip(&[
            "-n",
            &bridge,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        ip(&["-n", &bridge, "link", "set", "br0", "up"])?;
        for k in 0..n {
            let ns = format!("np-{tag}-{id}-{k}");
            ip(&["netns", "add", &ns])?;
            lab.ns.push(ns.clone());
            // No duplicate address detection: a fresh IPv6 link-local
            // address is "tentative" for a second or more (longer on a busy
            // machine) and a connect from it fails with EADDRNOTAVAIL. The
            // veth below takes the namespace's defaults when it moves in.
            ip(&[
                "netns",
                "exec",
                &ns,
                "sh",
                "-c",
                "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad && \
                 echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
            ])?;
            let port = format!("npb{k}");
            ip(&[
                "-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", LAB_IF,
                "netns", &ns,
            ])?;
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0"])?;
            ip(&["-n", &bridge, "link", "set", &port, "up"])?;
            let addr = format!("10.213.0.{}/24", k + 1);
            ip(&["-n", &ns, "addr", "add", &addr, "dev", LAB_IF])?;
            ip(&["-n", &ns, "link", "set", LAB_IF, "up", "multicast", "on"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up", "multicast", "on"])?;
        }
        Ok(lab)
    }

    /// Runs `program args` inside namespace `i`, stdout read line by line.
    pub fn spawn(&self, i: usize, program: &PathBuf, args: &[&str]) -> Proc {
        let ns = self.ns.get(i).expect("namespace index");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).arg(program).args(args);
        Proc::start(cmd)
    }
}

/// Runs `program args` here (no namespace), stdout read line by line.
pub fn spawn_local(program: &PathBuf, args: &[&str]) -> Proc {
    let mut cmd = Command::new(program);
    cmd.args(args);
    Proc::start(cmd)
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.ns.iter().chain(std::iter::once(&self.bridge)) {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// A process in the lab; killed on drop.
pub struct Proc {
    pub child: Child,
    lines: Receiver<(Instant, String)>,
}

impl Proc {
    fn start(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        Proc { child, lines: rx }
    }

    /// The first line matching `pred` (and when it was read), or a clear
    /// failure after `limit`.
    pub fn expect_line(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> (Instant, String) {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if pred(&line) => return (at, line),
                Ok((_, line)) => seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "timed out after {limit:?} waiting for {what}; it printed:\n{}",
                    seen.join("\n")
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                    "the process ended before {what}; it printed:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }

    /// Kills the process at once (SIGKILL: a crash, no goodbye).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `lobby` example next to this test binary (cargo test builds it).
pub fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join("lobby");
    path.exists().then_some(path)
}

/// Re-runs `test` of this test binary inside a fresh namespace named
/// `{tag}-PID-N` (lo up, default route on lo), with `inside_var` set so the
/// re-run knows where it is. Returns true when already inside (run the
/// test); false otherwise, after the re-run passed or after saying why it
/// skips (not root, no `ip netns`). The namespace is deleted afterwards.
pub fn rerun_inside(test: &str, inside_var: &str, tag: &str) -> bool {
    if std::env::var_os(inside_var).is_some() {
        return true;
    }
    if let Some(why) = unavailable() {
        println!("SKIP {test}: {why}");
        return false;
    }
    let ns = format!("{tag}-{}-{}", std::process::id(), test.len());
    let ip = |args: &[&str]| {
        let st = Command::new("ip").args(args).status().expect("run ip");
        assert!(st.success(), "ip {args:?} failed");
    };
    ip(&["netns", "add", &ns]);
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _cleanup = Cleanup(ns.clone());
    ip(&["-n", &ns, "link", "set", "lo", "up"]);
    ip(&["-n", &ns, "route", "add", "default", "dev", "lo"]);
    let exe = std::env::current_exe().expect("test binary");
    let status = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(inside_var, "1")
        .status()
        .expect("re-run the test inside the namespace");
    assert!(status.success(), "{test} failed inside the namespace");
    false
}

/// A network namespace this thread can enter (`setns`).
pub struct Netns(File);

impl Netns {
    /// The namespace `ip netns add` created as `name`.
    pub fn named(name: &str) -> Netns {
        Netns(File::open(format!("/run/netns/{name}")).expect("namespace file"))
    }

    /// The namespace this thread is in now.
    pub fn current() -> Netns {
        Netns(File::open("/proc/thread-self/ns/net").expect("own namespace"))
    }

    /// Moves this thread into the namespace: sockets it creates from now
    /// on (and threads it starts) live there.
    pub fn enter(&self) {
        // SAFETY: setns(2) on a namespace file we hold open; it changes
        // only this thread's network namespace.
        let rc = unsafe { libc::setns(self.0.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
    }
}

/// Puts the thread back where it was (before the lab is deleted).
pub struct Home(pub Netns);

impl Drop for Home {
    fn drop(&mut self) {
        self.0.enter();
    }
}
