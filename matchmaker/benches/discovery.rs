//! Discovery and lobby timings, side by side with bare mdns-sd measured in
//! the same run (the anchor). Run with `cargo bench -p nearplay_matchmaker`.
//!
//! When root, hosts and browsers are processes in two network namespaces
//! joined by veth through a bridge (like two machines); otherwise they are
//! processes on loopback. Nothing is sent on the machine's real interfaces.

#[path = "../tests/common/netns.rs"]
mod netns;
mod roles;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::{HostConfig, HostEvent};
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};
use netns::{Lab, Proc};

const TRIALS: usize = 20;
const LIMIT: Duration = Duration::from_secs(10);

struct Env {
    lab: Option<Lab>,
    exe: PathBuf,
    iface: String,
}

impl Env {
    /// Starts a role in "machine" `m` (0 = host side, 1 = browser side).
    fn spawn(&self, m: usize, args: &[&str]) -> Proc {
        let mut full = vec!["--role"];
        full.extend_from_slice(args);
        match &self.lab {
            Some(lab) => lab.spawn(m, &self.exe, &full),
            None => netns::spawn_local(&self.exe, &full),
        }
    }
}

fn stamp(line: &str) -> u128 {
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn ms(ns: u128) -> f64 {
    ns as f64 / 1e6
}

/// (median, p95) of samples in ms.
fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    (at(0.5), at(0.95))
}

fn row(what: &str, ours: &[f64], anchor: &[f64]) {
    row_goal(what, ours, anchor, "");
}

fn row_goal(what: &str, ours: &[f64], anchor: &[f64], goal: &str) {
    let (om, op) = stats(ours.to_vec());
    let (am, ap) = stats(anchor.to_vec());
    println!(
        "{what:<44} nearplay {om:>8.1} / {op:>8.1} ms   mdns-sd {am:>8.1} / {ap:>8.1} ms   ratio(median) {:>5.2}{goal}",
        om / am
    );
}

/// (a) a browser started after the host, ours and the anchor: fresh daemon
/// (browse at once) and warm daemon (browse 0.5 s after the daemon started).
///
/// mdns-sd 0.21 ignores a query that comes within about a second of its last
/// multicast answer (the first announcement burst included): such a browser
/// waits for its re-query, ~1 s. Each query here meets a host that has been
/// quiet for more than a second, as a player opening the browser usually does.
fn browser_after_host(env: &Env) -> [Vec<f64>; 4] {
    let ours = env.spawn(0, &["ours-host", &env.iface, "bench-a-ours", "1"]);
    let bare = env.spawn(0, &["bare-host", &env.iface, "bench-a-bare", "1"]);
    for h in [&ours, &bare] {
        h.expect_line("host registered", LIMIT, |l| l.starts_with("REGISTERED"));
    }
    // Probing (~0.75 s) and two announcements one second apart.
    std::thread::sleep(Duration::from_millis(3200));
    let mut out: [Vec<f64>; 4] = Default::default();
    let variants = [
        ("ours-browse", "bench-a-ours", "0"),
        ("bare-browse", "bench-a-bare", "0"),
        ("ours-browse", "bench-a-ours", "500"),
        ("bare-browse", "bench-a-bare", "500"),
    ];
    for _ in 0..TRIALS {
        for pair in [0, 2] {
            for (k, (role, name, warm)) in variants.iter().enumerate().skip(pair).take(2) {
                let b = env.spawn(1, &[role, &env.iface, name, warm]);
                let (_, line) = b.expect_line("found", LIMIT, |l| l.starts_with("FOUND"));
                out[k].push(ms(stamp(&line)));
            }
            std::thread::sleep(Duration::from_millis(1100));
        }
    }
    out
}

/// (b) a host registered while a browser runs: register call -> listed;
/// with `claim`, the lobby name was claimed (probed) before that call.
fn host_while_browsing(env: &Env, ours: bool, probe: bool, claim: bool) -> Vec<f64> {
    let watch = env.spawn(
        1,
        &[if ours { "ours-watch" } else { "bare-watch" }, &env.iface],
    );
    watch.expect_line("watcher up", LIMIT, |l| l.starts_with("WATCHING"));
    std::thread::sleep(Duration::from_millis(500));
    let mut v = Vec::new();
    for i in 0..TRIALS {
        let name = format!(
            "bench-b-{}-{}-{}-{i}",
            u8::from(ours),
            u8::from(probe),
            u8::from(claim)
        );
        let role = if ours { "ours-host" } else { "bare-host" };
        let probing = if probe { "1" } else { "0" };
        let ahead = if claim { "claim" } else { "" };
        let host = env.spawn(0, &[role, &env.iface, &name, probing, ahead]);
        let (_, reg) = host.expect_line("registered", LIMIT, |l| l.starts_with("REGISTERED"));
        let (_, added) = watch.expect_line("listed", LIMIT, |l| {
            l.starts_with("ADDED") && l.ends_with(&name)
        });
        v.push(ms(stamp(&added).saturating_sub(stamp(&reg))));
        drop(host);
    }
    v
}

/// Crashed host (SIGKILL) -> removed from a running browser's list.
fn crash_disappearance(env: &Env) -> Vec<f64> {
    let watch = env.spawn(1, &["ours-watch", &env.iface]);
    watch.expect_line("watcher up", LIMIT, |l| l.starts_with("WATCHING"));
    let mut v = Vec::new();
    for i in 0..5u64 {
        let name = format!("bench-crash-{i}");
        let mut host = env.spawn(0, &["ours-host", &env.iface, &name, "0"]);
        watch.expect_line("alive", LIMIT, |l| {
            l.starts_with("ALIVE") && l.ends_with(&name)
        });
        // Crash at different points of the 1 s ping cycle.
        std::thread::sleep(Duration::from_millis(200 * i));
        let killed = roles::unix_ns();
        host.kill();
        let (_, gone) = watch.expect_line("removed", LIMIT, |l| {
            l.starts_with("REMOVED") && l.ends_with(&name)
        });
        v.push(ms(stamp(&gone).saturating_sub(killed)));
    }
    v
}

/// Join round trip and start -> plan on every member, real TCP on loopback.
fn lobby_round_trips() -> (Vec<f64>, Vec<f64>) {
    let (mut join, mut start) = (Vec::new(), Vec::new());
    let poll = |f: &mut dyn FnMut() -> bool| {
        let deadline = Instant::now() + LIMIT;
        while !f() {
            assert!(Instant::now() < deadline, "lobby round trip timed out");
            std::thread::yield_now();
        }
    };
    for _ in 0..TRIALS {
        let options = HostOptions {
            bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ..Default::default()
        };
        // Every seat needs its own game address: joiners refuse a plan with
        // port 0 or two members on one address.
        let mut config = HostConfig::new("rt", "h", "g", "1");
        config.game_port = 40_000;
        let host = LobbyHost::open(config, options).expect("host");
        let mut clients = Vec::new();
        for i in 0..3 {
            let t0 = Instant::now();
            let c = LobbyClient::join(
                host.local_addr(),
                JoinConfig::new(&format!("p{i}"), "g", "1", 40_001 + i),
            );
            poll(&mut || matches!(host.poll(), Some(HostEvent::MemberJoined { .. })));
            join.push(t0.elapsed().as_secs_f64() * 1e3);
            poll(&mut || matches!(c.poll(), Some(ClientEvent::Joined { .. })));
            c.set_ready(true);
            clients.push(c);
        }
        poll(&mut || host.roster().iter().all(|m| m.ready));
        let t0 = Instant::now();
        host.start().expect("start");
        for c in &clients {
            poll(&mut || match c.poll() {
                Some(ClientEvent::JoinFailed(e)) => panic!("a member refused the start: {e}"),
                e => matches!(e, Some(ClientEvent::Started(_))),
            });
        }
        start.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    (join, start)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--role") {
        roles::run(args.get(i + 1..).unwrap_or_default());
    }
    let exe = std::env::current_exe().expect("own path");
    let started = Instant::now();
    let env = match netns::unavailable() {
        None => Env {
            lab: Some(Lab::new("b", 2).expect("lab")),
            exe,
            iface: netns::LAB_IF.into(),
        },
        Some(why) => {
            println!("(not in namespaces: {why}; measuring on loopback)");
            Env {
                lab: None,
                exe,
                iface: "lo".into(),
            }
        }
    };
    let place = if env.lab.is_some() {
        "two netns over veth"
    } else {
        "loopback"
    };
    println!("nearplay discovery benchmark, {TRIALS} trials, {place}; median / p95");
    // `-- --only b`: the host-while-browsing rows alone.
    let only_b = args.windows(2).any(|w| w[0] == "--only" && w[1] == "b");
    if !only_b {
        let [of, af, ow, aw] = browser_after_host(&env);
        row("(a) browser after host, fresh daemon", &of, &af);
        row("(a) browser after host, daemon up 0.5 s", &ow, &aw);
    }
    // The anchor: bare mdns-sd registering with probing, as a host does.
    let anchor = host_while_browsing(&env, false, true, false);
    let ours = host_while_browsing(&env, true, true, false);
    row("(b) host while browsing, probing", &ours, &anchor);
    let claimed = host_while_browsing(&env, true, true, true);
    row_goal(
        "(b) host while browsing, name claimed ahead",
        &claimed,
        &anchor,
        "   goal <= 400 ms median, probing kept",
    );
    let fast = host_while_browsing(&env, true, false, false);
    row("(b) host while browsing, probe: false", &fast, &anchor);
    if only_b {
        return;
    }
    let (join, start) = lobby_round_trips();
    let (jm, jp) = stats(join);
    let (sm, sp) = stats(start);
    println!("join round trip (connect -> in roster), loopback TCP   {jm:.2} / {jp:.2} ms");
    println!("start -> MatchPlan on all 3 members, loopback TCP      {sm:.2} / {sp:.2} ms");
    let crash = crash_disappearance(&env);
    let (cm, cp) = stats(crash.clone());
    println!(
        "crashed host leaves the list (5 kills)                 {cm:.0} / {cp:.0} ms (max {:.0}); mdns-sd alone keeps it for the record TTL (120 s)",
        crash.iter().copied().fold(0.0, f64::max)
    );
    println!("total bench time {:.1} s", started.elapsed().as_secs_f64());
}
