//! The lobby host's TCP shell under hostile load, one process on loopback:
//!
//! 1. What 500 held connections cost the host (threads, file descriptors,
//!    resident memory), spread over 125 attacker addresses (127.0.0.2..),
//!    and whether a real joiner from 127.0.0.1 still gets in.
//! 2. How late chat reaches the other members while one member joined and
//!    then stopped reading (it floods chat, the host chats too), as a ratio to
//!    the chat latency of the same quiet lobby measured first (the anchor).
//!
//! Run with `cargo bench -p nearplay_matchmaker --bench lobby_shell`.

#[path = "../tests/common/hostile.rs"]
mod hostile;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hostile::{ProcStats, RawMember, attacker_ip, connect_from};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::{HostConfig, HostEvent};
use nearplay_matchmaker::lobby::secure::limits::Rate;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};

const GAME: &str = "bench-shell";
const HELD: usize = 500;
const PER_ADDRESS: usize = 4;
const LIMIT: Duration = Duration::from_secs(10);

fn main() {
    held_connections();
    stalled_member();
}

fn open_host(config: HostConfig) -> LobbyHost {
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..HostOptions::default()
    };
    LobbyHost::open(config, options).expect("open lobby")
}

/// Joins as `name`: the client, how long the answer took, and the answer.
fn join(addr: SocketAddr, name: &str) -> (LobbyClient, Duration, String) {
    let t = Instant::now();
    let c = LobbyClient::join(addr, JoinConfig::new(name, GAME, "1", 1));
    while t.elapsed() < LIMIT {
        match c.poll() {
            Some(ClientEvent::Joined { .. }) => return (c, t.elapsed(), "joined".into()),
            Some(ClientEvent::JoinFailed(e)) => return (c, t.elapsed(), format!("refused: {e}")),
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    (c, t.elapsed(), "no answer".into())
}

fn held_connections() {
    let mut config = HostConfig::new("held", "h", GAME, "1");
    config.timeouts.hello = Duration::from_secs(60);
    let host = open_host(config);
    let (_quiet, anchor, _) = join(host.local_addr(), "anchor");
    let before = ProcStats::now();
    let mut conns = Vec::new();
    let mut refused = 0;
    for i in 0..HELD {
        match connect_from(attacker_ip(i / PER_ADDRESS), host.local_addr()) {
            Ok(s) => conns.push(s),
            Err(_) => refused += 1,
        }
    }
    // The host accepts in order: once this joiner (connected after the
    // others) has its answer, every held connection has been dealt with.
    let (_real, join_time, outcome) = join(host.local_addr(), "real");
    let after = ProcStats::now();
    // Less the joiner's socket, poll and waker.
    let host_fds = after.fds as i64 - before.fds as i64 - conns.len() as i64 - 3;
    println!("lobby_shell: {HELD} held connections ({PER_ADDRESS} per address, 127.0.0.2..)");
    println!("  connected {}, refused at connect {refused}", conns.len());
    println!(
        "  process threads {} -> {} (host: {:+}, the other is the real joiner's)",
        before.threads,
        after.threads,
        after.threads as i64 - before.threads as i64 - 1
    );
    println!(
        "  process fds {} -> {} (host side: {host_fds:+}; the other {} are the attackers' sockets, 3 the real joiner's)",
        before.fds,
        after.fds,
        conns.len()
    );
    println!(
        "  process RSS {} KiB -> {} KiB (+{} KiB)",
        before.rss_kib,
        after.rss_kib,
        after.rss_kib as i64 - before.rss_kib as i64
    );
    println!(
        "  real joiner from 127.0.0.1 while they are held: {outcome} after {:.1} ms (anchor: quiet join {:.1} ms, ratio {:.1})",
        ms(join_time),
        ms(anchor),
        join_time.as_secs_f64() / anchor.as_secs_f64().max(1e-9)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A lobby with two reading members, A and B, and the departures seen.
struct Lobby {
    host: LobbyHost,
    a: LobbyClient,
    b: LobbyClient,
    left: Vec<(Duration, String)>,
    t0: Instant,
}

impl Lobby {
    /// Sends `count` markers from A, one per `gap` (the host says
    /// `host_chat` long lines before each); each one's latency to B (None =
    /// lost).
    fn markers(&mut self, count: usize, gap: Duration, host_chat: usize) -> Vec<Option<Duration>> {
        let mut sent: Vec<Instant> = Vec::new();
        let mut got: Vec<Option<Duration>> = vec![None; count];
        let long = "x".repeat(250);
        let end_limit = Duration::from_secs(5);
        let mut last_sent = Instant::now() - gap;
        let mut done_at: Option<Instant> = None;
        loop {
            if sent.len() < count && last_sent.elapsed() >= gap {
                for _ in 0..host_chat {
                    self.host.chat(&long);
                }
                self.a.chat(&format!("marker {}", sent.len()));
                last_sent = Instant::now();
                sent.push(last_sent);
            }
            while let Some(ev) = self.b.poll() {
                match ev {
                    ClientEvent::Chat { text, .. } => {
                        if let Some(i) = text
                            .strip_prefix("marker ")
                            .and_then(|n| n.parse::<usize>().ok())
                            && let (Some(slot), Some(at)) = (got.get_mut(i), sent.get(i))
                        {
                            *slot = Some(at.elapsed());
                        }
                    }
                    ClientEvent::LobbyClosed(r) => self
                        .left
                        .push((self.t0.elapsed(), format!("B (closed: {r:?})"))),
                    _ => {}
                }
            }
            while self.a.poll().is_some() {}
            while let Some(ev) = self.host.poll() {
                if let HostEvent::MemberLeft { name, reason, .. } = ev {
                    self.left
                        .push((self.t0.elapsed(), format!("{name}: {reason:?}")));
                }
            }
            if sent.len() == count {
                let d = *done_at.get_or_insert_with(Instant::now);
                if got.iter().all(Option::is_some) || d.elapsed() > end_limit {
                    return got;
                }
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

fn summary(label: &str, v: &[Option<Duration>]) -> f64 {
    let mut ok: Vec<f64> = v.iter().flatten().map(|d| ms(*d)).collect();
    ok.sort_by(f64::total_cmp);
    let at = |q: f64| {
        ok.get(((ok.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "  {label}: {} of {} arrived; median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ok.len(),
        v.len(),
        at(0.5),
        at(0.95),
        ok.last().copied().unwrap_or(f64::NAN)
    );
    at(0.5)
}

fn stalled_member() {
    let mut config = HostConfig::new("stall", "h", GAME, "1");
    // The shell's write queues are measured here, not the per-member chat
    // limit (which would drop most markers and S's flood before the shell).
    config.chat_rate = Rate {
        burst: 1_000,
        per: Duration::from_millis(1),
    };
    let host = open_host(config);
    let (a, _, _) = join(host.local_addr(), "A");
    let (b, _, _) = join(host.local_addr(), "B");
    let mut lobby = Lobby {
        host,
        a,
        b,
        left: Vec::new(),
        t0: Instant::now(),
    };
    let quiet = lobby.markers(30, Duration::from_millis(20), 0);
    println!("lobby_shell: chat A -> B while member S joined and stopped reading");
    let anchor = summary("quiet lobby (anchor)", &quiet);

    let mut s = RawMember::join(
        attacker_ip(0),
        lobby.host.local_addr(),
        JoinConfig::new("S", GAME, "1", 1),
        LIMIT,
    )
    .expect("S joins");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let flood = std::thread::spawn(move || {
        let text = "f".repeat(250);
        let t = Instant::now();
        let mut lines = 0u64;
        while !stop2.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(30) {
            if s.chat(&text).is_err() {
                break;
            }
            lines += 1;
        }
        (lines, t.elapsed())
    });
    lobby.t0 = Instant::now();
    let stalled = lobby.markers(150, Duration::from_millis(40), 20);
    stop.store(true, Ordering::Relaxed);
    let (lines, flood_time) = flood.join().unwrap_or_default();
    let median = summary(
        "S stalled, S floods chat, host chats 20 lines per marker",
        &stalled,
    );
    println!(
        "  ratio of medians (stalled / quiet): {:.1}",
        median / anchor.max(1e-9)
    );
    println!(
        "  S sent {lines} chat lines in {:.1} s before its connection failed or the run ended",
        flood_time.as_secs_f64()
    );
    for (at, who) in &lobby.left {
        println!("  left after {:.2} s: {who}", at.as_secs_f64());
    }
}
