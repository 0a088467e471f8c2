//! `cargo bench -p nearplay_netcode --bench netcode`: nearplay's session layer
//! against bare GGRS, measured in one run and printed as ratios.
//!
//! 1. Bytes per second per peer at 60 fps, 2 and 4 players: `UdpTransport`
//!    (postcard, messages to a peer batched, 11 bytes of version, sequence
//!    number and 64-bit tag per datagram) vs GGRS's own
//!    `UdpNonBlockingSocket` (bincode, one message a datagram, no header),
//!    same game, same inputs. Goal (issue 15): payload ratio <= 1.0.
//! 2. CPU time per advanced frame, unpaced on loopback: ours vs bare GGRS.
//! 3. 100 ms RTT + 5 % loss in the simulator, 60 fps: mean and max rollback
//!    depth, ticks stalled; over the plain simulated transport (GGRS's
//!    messages as they are) and over the authenticated layer on the same
//!    network (`SimLink`: batching that lets acks wait must not add
//!    rollbacks or stalls).
//!
//! Against bare GGRS on the same simulated link: `benches/lossy_link.rs`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{
    GameState, Peer, authed_sim_peers, input_for, loopback_socket, rollback_figures, run_paced,
    run_sim_frames, sim_peers, udp_peer, udp_plan,
};
use ggrs::{
    Config, GgrsRequest, Message, NonBlockingSocket, P2PSession, PlayerType, PredictRepeatLast,
    SessionBuilder, SessionState, UdpNonBlockingSocket,
};
use nearplay_netcode::prelude::*;

const TICK: Duration = Duration::from_micros(16_667);
const SEED: u64 = 0xbe7c;

/// Bare GGRS over its own UDP socket.
struct BareCfg;
impl Config for BareCfg {
    type Input = u8;
    type InputPredictor = PredictRepeatLast;
    type State = GameState;
    type Address = SocketAddr;
}

/// GGRS's socket, counting the bytes it sends (bincode, as GGRS encodes).
struct Counting {
    inner: UdpNonBlockingSocket,
    bytes: u64,
    datagrams: u64,
}

impl NonBlockingSocket<SocketAddr> for Counting {
    fn send_to(&mut self, msg: &Message, addr: &SocketAddr) {
        self.bytes += bincode::serialized_size(msg).unwrap_or(0);
        self.datagrams += 1;
        self.inner.send_to(msg, addr);
    }
    fn receive_all_messages(&mut self) -> Vec<(SocketAddr, Message)> {
        self.inner.receive_all_messages()
    }
}

/// Free loopback ports for GGRS's socket, which binds by port only.
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<UdpSocket> = (0..n).map(|_| loopback_socket()).collect();
    held.iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect()
}

struct BarePeer {
    handle: usize,
    session: P2PSession<BareCfg>,
    game: GameState,
    counters: std::sync::Arc<std::sync::Mutex<(u64, u64)>>,
}

/// Bare GGRS peers; the byte counters are read through a shared cell.
fn bare_peers(n: usize) -> Vec<BarePeer> {
    let ports = free_ports(n);
    let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    (0..n)
        .map(|me| {
            let mut b = SessionBuilder::<BareCfg>::new()
                .with_num_players(n)
                .unwrap()
                .with_input_delay(2);
            for (h, port) in ports.iter().enumerate() {
                let t = if h == me {
                    PlayerType::Local
                } else {
                    PlayerType::Remote(addr(*port))
                };
                b = b.add_player(t, h).unwrap();
            }
            let counters = std::sync::Arc::new(std::sync::Mutex::new((0, 0)));
            let socket = Shared {
                inner: Counting {
                    inner: UdpNonBlockingSocket::bind_to_port(ports[me]).unwrap(),
                    bytes: 0,
                    datagrams: 0,
                },
                out: counters.clone(),
            };
            BarePeer {
                handle: me,
                session: b.start_p2p_session(socket).unwrap(),
                game: GameState::default(),
                counters,
            }
        })
        .collect()
}

/// Publishes `Counting`'s totals after every send.
struct Shared {
    inner: Counting,
    out: std::sync::Arc<std::sync::Mutex<(u64, u64)>>,
}
impl NonBlockingSocket<SocketAddr> for Shared {
    fn send_to(&mut self, msg: &Message, addr: &SocketAddr) {
        self.inner.send_to(msg, addr);
        if let Ok(mut c) = self.out.lock() {
            *c = (self.inner.bytes, self.inner.datagrams);
        }
    }
    fn receive_all_messages(&mut self) -> Vec<(SocketAddr, Message)> {
        self.inner.receive_all_messages()
    }
}

impl BarePeer {
    fn tick(&mut self) -> bool {
        self.session.poll_remote_clients();
        self.session.events().for_each(drop);
        if self.session.current_state() != SessionState::Running {
            return false;
        }
        let input = input_for(SEED, self.handle, self.session.current_frame());
        self.session.add_local_input(self.handle, input).unwrap();
        let Ok(requests) = self.session.advance_frame() else {
            return false;
        };
        for r in requests {
            match r {
                GgrsRequest::SaveGameState { cell, frame } => {
                    cell.save(frame, Some(self.game), Some(self.game.checksum()))
                }
                GgrsRequest::LoadGameState { cell, .. } => self.game = cell.load().unwrap(),
                GgrsRequest::AdvanceFrame { inputs } => self.game.advance(&inputs),
            }
        }
        true
    }
}

fn ours_peers(n: usize) -> Vec<Peer> {
    let sockets: Vec<UdpSocket> = (0..n).map(|_| loopback_socket()).collect();
    let addrs: Vec<SocketAddr> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    let plan = udp_plan(&addrs, SEED, 0);
    sockets
        .into_iter()
        .enumerate()
        .map(|(h, s)| udp_peer(s, &plan.for_member(h)))
        .collect()
}

/// Thread CPU time (Linux `schedstat`), falling back to wall time.
fn cpu_now() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| START.with(|t| t.elapsed()))
}
thread_local!(static START: Instant = Instant::now());

/// Runs paced for `frames` after sync; returns bytes/s and datagrams/s per peer.
fn rate_ours(n: usize, frames: i32) -> (f64, f64) {
    let mut peers = ours_peers(n);
    let d = Duration::from_secs(30);
    run_paced(
        &mut peers,
        Some(TICK),
        d,
        "sync",
        |_| {},
        |ps| ps.iter().all(|p| p.session.current_frame() >= 30),
    );
    let sent = |ps: &[Peer]| {
        ps.iter()
            .flat_map(|p| p.monitor.traffic().peers().into_values())
            .fold((0, 0), |a, t| (a.0 + t.bytes_sent, a.1 + t.datagrams_sent))
    };
    let (b0, d0, t0) = (sent(&peers).0, sent(&peers).1, Instant::now());
    run_paced(
        &mut peers,
        Some(TICK),
        d,
        "frames",
        |_| {},
        |ps| ps.iter().all(|p| p.session.current_frame() >= 30 + frames),
    );
    let secs = t0.elapsed().as_secs_f64() * n as f64;
    let (b1, d1) = sent(&peers);
    ((b1 - b0) as f64 / secs, (d1 - d0) as f64 / secs)
}

fn rate_bare(n: usize, frames: i32) -> (f64, f64) {
    let mut peers = bare_peers(n);
    let mut next = Instant::now();
    let total = |ps: &[BarePeer]| {
        ps.iter()
            .map(|p| *p.counters.lock().unwrap())
            .fold((0, 0), |a, c| (a.0 + c.0, a.1 + c.1))
    };
    let mut mark = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while peers
        .iter()
        .any(|p| p.session.current_frame() < 30 + frames)
    {
        assert!(Instant::now() < deadline, "bare GGRS peers stalled");
        if Instant::now() >= next {
            next += TICK;
            peers.iter_mut().for_each(|p| {
                p.tick();
            });
            if mark.is_none() && peers.iter().all(|p| p.session.current_frame() >= 30) {
                mark = Some((total(&peers), Instant::now()));
            }
        } else {
            peers
                .iter_mut()
                .for_each(|p| p.session.poll_remote_clients());
        }
        std::thread::yield_now();
    }
    let ((b0, d0), t0) = mark.unwrap();
    let (b1, d1) = total(&peers);
    let secs = t0.elapsed().as_secs_f64() * n as f64;
    ((b1 - b0) as f64 / secs, (d1 - d0) as f64 / secs)
}

fn cpu_ours(frames: i32) -> Duration {
    let mut peers = ours_peers(2);
    run_paced(
        &mut peers,
        None,
        Duration::from_secs(30),
        "sync",
        |_| {},
        |ps| ps.iter().all(|p| p.session.current_frame() >= 10),
    );
    let c0 = cpu_now();
    let start: i32 = peers.iter().map(|p| p.session.current_frame()).sum();
    run_paced(
        &mut peers,
        None,
        Duration::from_secs(30),
        "cpu frames",
        |_| {},
        |ps| ps.iter().all(|p| p.session.current_frame() >= 10 + frames),
    );
    let advanced = peers.iter().map(|p| p.session.current_frame()).sum::<i32>() - start;
    (cpu_now() - c0) / (advanced as u32).max(1)
}

fn cpu_bare(frames: i32) -> Duration {
    let mut peers = bare_peers(2);
    while peers.iter().any(|p| p.session.current_frame() < 10) {
        peers.iter_mut().for_each(|p| {
            p.tick();
        });
        std::thread::yield_now();
    }
    let c0 = cpu_now();
    let start: i32 = peers.iter().map(|p| p.session.current_frame()).sum();
    while peers
        .iter()
        .any(|p| p.session.current_frame() < 10 + frames)
    {
        peers.iter_mut().for_each(|p| {
            p.tick();
        });
        std::thread::yield_now();
    }
    let advanced = peers.iter().map(|p| p.session.current_frame()).sum::<i32>() - start;
    (cpu_now() - c0) / (advanced as u32).max(1)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs a smoke pass.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (rate_frames, cpu_frames, sim_frames) = if quick {
        (30, 200, 60)
    } else {
        (180, 3000, 600)
    };
    println!("nearplay_netcode bench (ratios: ours / bare GGRS, measured in this run)");

    for n in [2, 4] {
        let (ob, od) = rate_ours(n, rate_frames);
        let (gb, gd) = rate_bare(n, rate_frames);
        let ip = 28.0; // IPv4 + UDP header per datagram
        println!(
            "bytes/s per peer, {n} players @60fps: ours {ob:.0} B/s ({od:.1} dgram/s) | ggrs {gb:.0} B/s ({gd:.1} dgram/s) | payload ratio {:.3} (goal <= 1.0, authenticated) | on-wire ratio incl. IP/UDP {:.3}",
            ob / gb,
            (ob + od * ip) / (gb + gd * ip)
        );
    }

    let ours = cpu_ours(cpu_frames);
    let bare = cpu_bare(cpu_frames);
    println!(
        "CPU per advanced frame (2 peers, loopback, unpaced): ours {:.1} us | ggrs {:.1} us | ratio {:.2}",
        ours.as_secs_f64() * 1e6,
        bare.as_secs_f64() * 1e6,
        ours.as_secs_f64() / bare.as_secs_f64()
    );

    let link = LinkProfile::latency(Duration::from_millis(50), Duration::ZERO).with_loss(0.05);
    let plain = SimNetwork::with_profile(SEED, link);
    sim_row(
        "plain",
        sim_peers(2, &plain, &NetSettings::default(), SEED),
        sim_frames,
    );
    let authed = SimNetwork::with_profile(SEED, link);
    sim_row(
        "authenticated",
        authed_sim_peers(2, &authed, SEED),
        sim_frames,
    );
}

/// Plays `frames` paced at 60 fps and prints each peer's rollbacks and stalls.
fn sim_row(transport: &str, mut peers: Vec<Peer>, frames: i32) {
    run_sim_frames(&mut peers, TICK, frames);
    for p in &mut peers {
        let r = p.monitor.rollbacks().clone();
        let s = p.monitor.snapshot(&p.session, Instant::now());
        println!(
            "sim 100 ms RTT + 5 % loss, {transport}, peer {}: {}",
            p.handle,
            rollback_figures(&r, &s)
        );
    }
}
