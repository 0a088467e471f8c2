//! Rendezvous benchmark, every figure a ratio to an anchor measured in the
//! same run, with its goal on the same line:
//!
//! ```text
//! cargo bench -p nearplay_matchmaker --features server,rendezvous --bench rendezvous [-- --peers 15000 --only join|load]
//! ```
//!
//! 1. **join**: join by room code -> first synchronized frame over WebRTC
//!    (2 players), against bare matchbox_socket connecting two peers through
//!    the same server (the anchor); the LAN path (TCP lobby, then UDP) is
//!    printed for scale. Runs inside a network namespace the bench creates
//!    (root), like the tests; skipped otherwise.
//! 2. **load**: idle websocket peers held by the server and resident memory
//!    per peer, against the stock `matchbox_server` under the same load
//!    script, if its binary is given in `NEARPLAY_STOCK_MATCHBOX_SERVER` (see
//!    `docs/rendezvous.md` for how it is built from the matchbox sources).
//!    The bench raises its own soft file-descriptor limit (it holds one
//!    socket per peer, as the server does).
//!
//! `--peers N` (or `NEARPLAY_BENCH_PEERS`, default 15000) sets the load;
//! `NEARPLAY_BENCH_TRIALS` (default 9) the join trials;
//! `NEARPLAY_BENCH_INPROCESS=1` runs the WebRTC trials one after the other in
//! one process instead (a game hosting again).

#[path = "rdv/join.rs"]
mod join;
#[path = "rdv/load.rs"]
mod load;

use std::process::Command;

const INSIDE: &str = "NEARPLAY_IN_NETNS";
/// Goals of issue 15.
const GOAL_JOIN_MS: f64 = 400.0;
const GOAL_PEERS: usize = 15_000;
const GOAL_KIB_PER_PEER: f64 = 16.0;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs this bench again with `flag` in a fresh process; its stdout lines.
fn fresh_process(flag: &str) -> Vec<String> {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .arg(flag)
        .output()
        .expect("trial");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs this bench again inside a fresh network namespace with `lo` up (and
/// a default route through it, which matchbox needs), given `args`; with
/// `address`, also an unconnected veth pair holding 10.77.0.1/24: what a
/// machine with a network card looks like to ICE, while every packet still
/// stays inside the namespace (a local address routes through `lo`).
fn in_namespace(address: bool, args: &[String]) -> bool {
    let ns = format!("np-rdv-bench-{}-{}", std::process::id(), u8::from(address));
    let ip = |a: &[&str]| {
        Command::new("ip")
            .args(a)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !ip(&["netns", "add", &ns]) {
        return false;
    }
    ip(&["-n", &ns, "link", "set", "lo", "up"]);
    ip(&["-n", &ns, "route", "add", "default", "dev", "lo"]);
    if address {
        ip(&[
            "-n", &ns, "link", "add", "np0", "type", "veth", "peer", "name", "np1",
        ]);
        ip(&["-n", &ns, "addr", "add", "10.77.0.1/24", "dev", "np0"]);
        ip(&["-n", &ns, "link", "set", "np0", "up"]);
        ip(&["-n", &ns, "link", "set", "np1", "up"]);
    }
    let status = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(std::env::current_exe().expect("exe"))
        .args(args)
        .env(INSIDE, if address { "address" } else { "lo" })
        .status();
    ip(&["netns", "del", &ns]);
    status.map(|s| s.success()).unwrap_or(false)
}

/// As root and outside a namespace: runs the bench in one with an address,
/// then the join rows again in one with only `lo`; exits with the result.
fn into_namespaces(only: Option<&str>) {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if std::env::var_os(INSIDE).is_some() || !root {
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut ok = in_namespace(true, &args);
    if only != Some("load") {
        let mut join_only: Vec<String> = args.clone();
        join_only.extend(["--only".to_owned(), "join".to_owned()]);
        ok &= in_namespace(false, &join_only);
    }
    std::process::exit(if ok { 0 } else { 1 });
}

fn join_rows(trials: usize) {
    let place = match std::env::var(INSIDE).as_deref() {
        Ok("address") => "loopback, netns with an address",
        Ok(_) => "loopback, netns with only lo",
        Err(_) => {
            println!("(not root: no namespace, WebRTC join timing skipped)");
            return;
        }
    };
    let lan = median((0..trials).map(|_| join::lan_join_ms()).collect());
    let anchor = median(
        (0..trials)
            .map(|_| {
                let out = fresh_process("--one-anchor-trial");
                out.first().and_then(|l| l.parse().ok()).unwrap_or(f64::NAN)
            })
            .collect(),
    );
    // One process per WebRTC trial, as a game starting fresh.
    let runs: Vec<Vec<String>> = (0..trials)
        .map(|_| fresh_process("--one-webrtc-trial"))
        .collect();
    let total = |r: &Vec<String>| r.first().and_then(|l| l.parse().ok()).unwrap_or(f64::NAN);
    let rtc = median(runs.iter().map(total).collect());
    println!(
        "join by code -> first synchronized frame, WebRTC ({place})   {rtc:>7.1} ms = {:>5.2} x bare matchbox_socket connecting 2 peers ({anchor:.1} ms, anchor)   goal <= {GOAL_JOIN_MS:.0} ms",
        rtc / anchor
    );
    // Where the time goes: median of each phase (ms since the join call).
    if let Some(first) = runs.first() {
        for (i, line) in first.iter().enumerate().skip(1) {
            let name = line.split('\t').next().unwrap_or_default();
            let at = |r: &Vec<String>| {
                r.get(i)
                    .and_then(|l| l.split('\t').nth(1))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            };
            let m = median(runs.iter().map(at).collect());
            println!("    {name:<36} at {m:>7.1} ms");
        }
    }
    println!(
        "  (LAN for scale: TCP lobby + UDP, address known {lan:.1} ms; WebRTC = {:.0} x LAN)",
        rtc / lan
    );
}

fn load_rows(peers: usize) {
    let soft = nearplay_matchmaker::rendezvous::server::raise_fd_limit();
    if soft.is_some_and(|s| s < peers as u64 + 64) {
        println!("(file descriptor limit {soft:?} is below {peers} peers: raise `ulimit -Hn`)");
    }
    let (mut ours, addr) = load::spawn_ours();
    let ours_load = load::load(&ours, addr, peers);
    let _ = ours.kill();
    let _ = ours.wait();
    let stock = match std::env::var("NEARPLAY_STOCK_MATCHBOX_SERVER") {
        Ok(bin) if std::path::Path::new(&bin).exists() => {
            let (mut stock, addr) = load::spawn_stock(&bin);
            let l = load::load(&stock, addr, peers);
            let _ = stock.kill();
            let _ = stock.wait();
            Some(l)
        }
        _ => None,
    };
    let ours_per = ours_load.per_peer_kib();
    match &stock {
        Some(s) => println!(
            "rendezvous server, idle websocket peers: held {} of {peers} at {ours_per:.1} KiB/peer = {:.2} x stock matchbox_server ({:.1} KiB/peer, held {}, anchor)   goal >= {GOAL_PEERS} held at <= {GOAL_KIB_PER_PEER:.0} KiB/peer",
            ours_load.held,
            ours_per / s.per_peer_kib().max(0.001),
            s.per_peer_kib(),
            s.held
        ),
        None => println!(
            "rendezvous server, idle websocket peers: held {} of {peers} at {ours_per:.1} KiB/peer (no anchor: NEARPLAY_STOCK_MATCHBOX_SERVER not set)   goal >= {GOAL_PEERS} held at <= {GOAL_KIB_PER_PEER:.0} KiB/peer",
            ours_load.held
        ),
    }
    load::report("nearplay-rendezvous", &ours_load);
    if let Some(s) = &stock {
        load::report("stock matchbox_server", s);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .rposition(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let env_num = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let trials = env_num("NEARPLAY_BENCH_TRIALS", 9);
    let peers = flag("--peers")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| env_num("NEARPLAY_BENCH_PEERS", GOAL_PEERS));
    let only = flag("--only");
    into_namespaces(only.as_deref());

    if args.iter().any(|a| a == "--one-webrtc-trial") {
        let (total, phases) = join::webrtc_join_ms();
        println!("{total}");
        for (name, at) in phases {
            println!("{name}\t{at}");
        }
        return;
    }
    if std::env::var_os("NP_TRACE").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::stderr)
            .init();
    }
    if args.iter().any(|a| a == "--one-anchor-trial") {
        println!("{}", join::bare_connect_ms());
        return;
    }
    if std::env::var_os("NEARPLAY_BENCH_INPROCESS").is_some() && std::env::var_os(INSIDE).is_some()
    {
        for i in 0..trials {
            eprintln!("in-process trial {i}: {:.1} ms", join::webrtc_join_ms().0);
        }
        return;
    }
    if std::env::var(INSIDE).as_deref() != Ok("lo") {
        println!(
            "nearplay rendezvous benchmark ({trials} join trials, medians; {peers} idle peers)"
        );
    }
    if only.as_deref() != Some("load") {
        join_rows(trials);
    }
    if only.as_deref() != Some("join") {
        load_rows(peers);
    }
}
