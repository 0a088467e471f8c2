//! Rendezvous benchmark (`cargo bench -p nearplay_matchmaker --features
//! server,rendezvous --bench rendezvous`), printing ratios against anchors
//! measured in the same run:
//!
//! 1. join -> first synchronized frame: by code over the rendezvous server
//!    and WebRTC, next to the LAN path (TCP lobby, then UDP), 2 players.
//!    Runs inside a network namespace the bench creates (root), like the tests.
//! 2. idle peers held by the server and resident memory per peer, next to the
//!    stock `matchbox_server` under the same load script, if its binary is
//!    given in `NEARPLAY_STOCK_MATCHBOX_SERVER` (see `docs/rendezvous.md`
//!    for how it is built from the matchbox sources).
//!
//! `NEARPLAY_BENCH_PEERS` (default 2000) sets the load; `NEARPLAY_BENCH_TRIALS`
//! (default 5) the join trials; `NEARPLAY_BENCH_INPROCESS=1` runs the WebRTC
//! trials one after the other in one process instead (a game hosting again).

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ggrs::{P2PSession, PredictRepeatLast, SessionState};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::HostConfig;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use nearplay_matchmaker::rendezvous::{OnlineClient, OnlineHost, RendezvousClient};
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::webrtc::WebRtcConfig;

const INSIDE: &str = "NEARPLAY_IN_NETNS";
const LIMIT: Duration = Duration::from_secs(30);

struct Cfg;
impl ggrs::Config for Cfg {
    type Input = u8;
    type InputPredictor = PredictRepeatLast;
    type State = u64;
    type Address = PeerAddr;
}

fn until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + LIMIT;
    while !f() {
        assert!(Instant::now() < end, "timed out: {what}");
        std::thread::yield_now();
    }
}

fn synchronized(sessions: &mut [P2PSession<Cfg>]) {
    until("sessions synchronized", || {
        for s in sessions.iter_mut() {
            s.poll_remote_clients();
            let _ = NetMonitor::drain_events(s);
        }
        sessions
            .iter()
            .all(|s| s.current_state() == SessionState::Running)
    });
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Join by code -> both sessions running, over the rendezvous server and WebRTC.
fn webrtc_join_ms() -> f64 {
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), Limits::default(), 1)
            .expect("server");
    let client = RendezvousClient::new(&server.local_addr().to_string()).expect("url");
    let webrtc = WebRtcConfig::default();
    let mut host = OnlineHost::open(&client, HostConfig::new("b", "h", "g", "1"), false, &webrtc)
        .expect("host");
    // The host is in its room before anyone joins.
    until("host in room", || {
        let _ = host.poll();
        client
            .room(host.code().as_str())
            .is_ok_and(|r| r.players == 1)
    });
    let t0 = Instant::now();
    let mut member = OnlineClient::join(
        &client,
        host.code().as_str(),
        JoinConfig::new("m", "g", "1", 0),
        &webrtc,
    )
    .expect("join");
    let mut joined = false;
    until("joined", || {
        let _ = host.poll();
        while let Some(e) = member.poll() {
            if let ClientEvent::JoinFailed(why) = &e {
                panic!("join failed: {why}; host link {:?}", host.link_exit());
            }
            joined |= matches!(e, ClientEvent::Joined { .. });
        }
        joined
    });
    member.set_ready(true);
    until("ready", || {
        let _ = host.poll();
        let _ = member.poll();
        host.roster().iter().skip(1).all(|r| r.ready)
    });
    let plan = host.start().expect("start");
    let mut theirs = None;
    until("plan", || {
        let _ = host.poll();
        while let Some(e) = member.poll() {
            if let ClientEvent::Started(p) = e {
                theirs = Some(p);
            }
        }
        theirs.is_some()
    });
    let theirs = theirs.expect("plan");
    let t_host = host.into_transport(&plan).expect("transport");
    let t_member = member.into_transport(&theirs).expect("transport");
    let mut sessions = vec![
        NetSessionBuilder::<Cfg>::from_plan(&plan)
            .build(t_host)
            .expect("session"),
        NetSessionBuilder::<Cfg>::from_plan(&theirs)
            .build(t_member)
            .expect("session"),
    ];
    synchronized(&mut sessions);
    t0.elapsed().as_secs_f64() * 1e3
}

/// Join (address known) -> both sessions running, over the LAN lobby and UDP.
fn lan_join_ms() -> f64 {
    let host_sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let member_sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut config = HostConfig::new("b", "h", "g", "1");
    config.game_port = host_sock.local_addr().expect("addr").port();
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..Default::default()
    };
    let host = LobbyHost::open(config, options).expect("host");
    let t0 = Instant::now();
    let port = member_sock.local_addr().expect("addr").port();
    let member = LobbyClient::join(host.local_addr(), JoinConfig::new("m", "g", "1", port));
    until("joined", || {
        matches!(member.poll(), Some(ClientEvent::Joined { .. }))
    });
    member.set_ready(true);
    // The roster snapshot can run ahead of the host thread: retry start.
    let mut plan = None;
    until("started", || {
        let _ = host.poll();
        plan = host.start().ok();
        plan.is_some()
    });
    let plan = plan.expect("plan");
    let mut theirs = None;
    until("plan", || {
        if let Some(ClientEvent::Started(p)) = member.poll() {
            theirs = Some(p);
        }
        theirs.is_some()
    });
    let theirs = theirs.expect("plan");
    let mut sessions = vec![
        NetSessionBuilder::<Cfg>::from_plan(&plan)
            .build(UdpTransport::from_plan(host_sock, &plan).expect("t"))
            .expect("session"),
        NetSessionBuilder::<Cfg>::from_plan(&theirs)
            .build(UdpTransport::from_plan(member_sock, &theirs).expect("t"))
            .expect("session"),
    ];
    synchronized(&mut sessions);
    t0.elapsed().as_secs_f64() * 1e3
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

struct Load {
    held: usize,
    base_kib: u64,
    loaded_kib: u64,
    connect_s: f64,
}

/// Opens `n` idle websockets, 8 to a room, each waiting for its id; then reads RSS.
fn load(server: &Child, addr: SocketAddr, n: usize) -> Load {
    let base_kib = rss_kib(server.id());
    let t0 = Instant::now();
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        match tungstenite::connect(format!("ws://{addr}/load{}", i / 8)) {
            Ok((mut ws, _)) => {
                if matches!(ws.read(), Ok(tungstenite::Message::Text(_))) {
                    sockets.push(ws);
                }
            }
            Err(_) => break,
        }
    }
    let connect_s = t0.elapsed().as_secs_f64();
    // Let the fan-out (NewPeer to room mates) settle before reading memory.
    let mut last = 0;
    until("memory settles", || {
        std::thread::sleep(Duration::from_millis(200));
        let now = rss_kib(server.id());
        let settled = now == last;
        last = now;
        settled
    });
    Load {
        held: sockets.len(),
        base_kib,
        loaded_kib: last,
        connect_s,
    }
}

fn spawn_ours() -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nearplay-rendezvous"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--requests-per-second",
            "1000000",
            "--request-burst",
            "1000000",
            "--handshake-timeout-ms",
            "600000",
            "--idle-timeout-s",
            "600",
            "--max-peers-per-room",
            "8",
            // The load comes from one address: lift the per-address caps.
            "--max-connections-per-address",
            "1000000",
            "--max-connections",
            "1000000",
            "--max-rooms-per-address",
            "1000000",
            "--log-level",
            "error",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("nearplay-rendezvous");
    let out = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("listening line");
    let addr = line
        .trim()
        .trim_start_matches("listening on ")
        .parse()
        .expect("addr");
    (child, addr)
}

fn spawn_stock(bin: &str) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let child = Command::new(bin)
        .arg(port.to_string())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("matchbox_server");
    until("stock server listening", || {
        TcpStream::connect(port).is_ok()
    });
    (child, port)
}

fn report(name: &str, l: &Load) -> f64 {
    let per = (l.loaded_kib.saturating_sub(l.base_kib)) as f64 / l.held.max(1) as f64;
    println!(
        "{name:<22} held {:>5} idle peers, RSS {:>7} KiB -> {:>7} KiB, {per:>6.1} KiB/peer, connected in {:.2} s",
        l.held, l.base_kib, l.loaded_kib, l.connect_s
    );
    per
}

fn main() {
    let env_num = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let trials = env_num("NEARPLAY_BENCH_TRIALS", 5);
    let peers = env_num("NEARPLAY_BENCH_PEERS", 2000);
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);

    if std::env::var_os(INSIDE).is_none() && root {
        let ns = format!("np-rdv-bench-{}", std::process::id());
        let ip = |a: &[&str]| {
            Command::new("ip")
                .args(a)
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        if ip(&["netns", "add", &ns]) {
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["-n", &ns, "route", "add", "default", "dev", "lo"]);
            let args: Vec<String> = std::env::args().skip(1).collect();
            let status = Command::new("ip")
                .args(["netns", "exec", &ns])
                .arg(std::env::current_exe().expect("exe"))
                .args(args)
                .env(INSIDE, "1")
                .status();
            ip(&["netns", "del", &ns]);
            std::process::exit(if status.map(|s| s.success()).unwrap_or(false) {
                0
            } else {
                1
            });
        }
    }

    if std::env::args().any(|a| a == "--one-webrtc-trial") {
        println!("{}", webrtc_join_ms());
        return;
    }
    if std::env::var_os("NEARPLAY_BENCH_INPROCESS").is_some() && std::env::var_os(INSIDE).is_some()
    {
        for i in 0..trials {
            eprintln!("in-process trial {i}: {:.1} ms", webrtc_join_ms());
        }
        return;
    }
    println!("nearplay rendezvous benchmark ({trials} trials, medians)");
    if std::env::var_os(INSIDE).is_some() {
        let lan = median((0..trials).map(|_| lan_join_ms()).collect());
        // One process per WebRTC trial, as a game starting fresh.
        let rtc = median(
            (0..trials)
                .map(|_| {
                    let out = Command::new(std::env::current_exe().expect("exe"))
                        .arg("--one-webrtc-trial")
                        .output()
                        .expect("trial");
                    String::from_utf8_lossy(&out.stdout)
                        .trim()
                        .parse()
                        .unwrap_or(f64::NAN)
                })
                .collect(),
        );
        println!(
            "join -> first synchronized frame, LAN (TCP lobby + UDP)     {lan:>8.1} ms (anchor)"
        );
        println!(
            "join -> first synchronized frame, by code over WebRTC       {rtc:>8.1} ms  = {:.1} x LAN",
            rtc / lan
        );
    } else {
        println!("(not root: no namespace, WebRTC join timing skipped)");
    }

    let (mut ours, addr) = spawn_ours();
    let ours_load = load(&ours, addr, peers);
    let ours_per = report("nearplay-rendezvous", &ours_load);
    let _ = ours.kill();
    let _ = ours.wait();
    match std::env::var("NEARPLAY_STOCK_MATCHBOX_SERVER") {
        Ok(bin) if std::path::Path::new(&bin).exists() => {
            let (mut stock, addr) = spawn_stock(&bin);
            let stock_load = load(&stock, addr, peers);
            let stock_per = report("stock matchbox_server", &stock_load);
            let _ = stock.kill();
            let _ = stock.wait();
            println!(
                "RSS per idle peer, nearplay / stock = {:.2}",
                ours_per / stock_per.max(0.001)
            );
        }
        _ => println!("(NEARPLAY_STOCK_MATCHBOX_SERVER not set: no stock comparison)"),
    }
}
