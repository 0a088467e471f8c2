//! Two peers over authenticated UDP on localhost, in two terminals:
//!
//! ```text
//! cargo run -p nearplay_netcode --example two_peers -- --local 7001 --remote 127.0.0.1:7002 --handle 0
//! cargo run -p nearplay_netcode --example two_peers -- --local 7002 --remote 127.0.0.1:7001 --handle 1
//! ```
//!
//! Options: `--frames N` (default 600), `--secret S` (both sides derive the
//! match id and key from it), `--sim-latency MS`, `--sim-jitter MS`,
//! `--sim-loss PERCENT` (impair what this side sends). Every second it prints
//! frame, confirmed frame, ping, kbps, rollbacks and the state checksum; at the
//! end both sides print the checksum of the same confirmed frame.

use std::collections::BTreeMap;
use std::error::Error;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ggrs::{Config, GgrsRequest, PredictRepeatLast, SessionState};
use nearplay_netcode::prelude::*;

struct Cfg;
impl Config for Cfg {
    type Input = u8;
    type InputPredictor = PredictRepeatLast;
    type State = (i32, u64);
    type Address = PeerAddr;
}

struct Args {
    local: u16,
    remote: SocketAddr,
    handle: usize,
    frames: i32,
    secret: String,
    link: LinkProfile,
}

fn parse() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        local: 7001,
        remote: "127.0.0.1:7002".parse()?,
        handle: 0,
        frames: 600,
        secret: "nearplay-example".into(),
        link: LinkProfile::perfect(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--local" => a.local = v.parse()?,
            "--remote" => a.remote = v.parse()?,
            "--handle" => a.handle = v.parse()?,
            "--frames" => a.frames = v.parse()?,
            "--secret" => a.secret = v,
            "--sim-latency" => a.link.latency = Duration::from_millis(v.parse()?),
            "--sim-jitter" => a.link.jitter = Duration::from_millis(v.parse()?),
            "--sim-loss" => a.link.loss = v.parse::<f64>()? / 100.0,
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    if a.handle > 1 {
        return Err("--handle is 0 or 1".into());
    }
    Ok(a)
}

/// The game: a running hash of both players' inputs.
fn advance(state: &mut (i32, u64), inputs: &[(u8, ggrs::InputStatus)]) {
    for (i, _) in inputs {
        state.1 = (state.1 ^ u64::from(*i)).wrapping_mul(0x0100_0000_01b3);
    }
    state.0 += 1;
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse()?;
    let derived = blake3::derive_key("nearplay two_peers example", args.secret.as_bytes());
    let match_id = MatchId(u64::from_le_bytes(derived[..8].try_into()?));
    let key = MatchKey(derived);
    let remote_handle = 1 - args.handle;

    let socket = UdpSocket::bind(("127.0.0.1", args.local))?;
    let udp = UdpTransport::new(
        socket,
        match_id,
        &key,
        args.handle,
        [(remote_handle, args.remote)],
    )?;
    let remote = PeerAddr::Udp(args.remote);
    let builder = NetSessionBuilder::<Cfg>::new()
        .local_player(args.handle)
        .remote_player(remote_handle, remote);
    let (mut session, mut monitor) = if args.link.is_perfect() {
        builder.build_monitored(udp)?
    } else {
        builder.build_monitored(Conditioned::new(udp, args.link, args.local.into()))?
    };

    println!(
        "handle {} on port {}, peer {}",
        args.handle, args.local, args.remote
    );
    let mut state = (0i32, 0xcbf2_9ce4_8422_2325u64);
    let mut sums = BTreeMap::new();
    let frame_time = Duration::from_micros(16_667);
    let mut next = Instant::now();
    let mut last_print = Instant::now();
    let mut done_at = None;
    loop {
        session.poll_remote_clients();
        let events = monitor.drain_events(&mut session);
        for e in &events {
            println!("event: {e:?}");
        }
        // A peer that never answers ends the run in words after 10 s.
        monitor.check_sync(&session, &events, Instant::now())?;
        if session.current_state() == SessionState::Running {
            let input = (session.current_frame().wrapping_mul(7) % 16) as u8;
            session.add_local_input(args.handle, input)?;
            let requests = session.advance_frame()?;
            monitor.record_advance(&requests);
            for r in requests {
                match r {
                    GgrsRequest::SaveGameState { cell, frame } => {
                        sums.insert(frame, state.1);
                        cell.save(frame, Some(state), Some(u128::from(state.1)));
                    }
                    GgrsRequest::LoadGameState { cell, .. } => {
                        state = cell.load().unwrap_or(state);
                    }
                    GgrsRequest::AdvanceFrame { inputs } => advance(&mut state, &inputs),
                }
            }
        }
        if last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            let s = monitor.snapshot(&session, Instant::now());
            let p = s.peers.first().cloned().unwrap_or_default();
            println!(
                "frame {:5} confirmed {:5} ping {:>4} ms up {:6.1} kbps down {:6.1} kbps rollbacks {} (max {}) drops {} checksum {:016x}",
                s.current_frame,
                s.confirmed_frame,
                p.ping_ms.map_or("-".into(), |v| v.to_string()),
                p.kbps_up,
                p.kbps_down,
                s.rollbacks.rollbacks,
                s.rollbacks.max_depth,
                s.drops.total(),
                state.1
            );
        }
        let settled = session.confirmed_frame().min(session.current_frame() - 1);
        if done_at.is_none() && settled >= args.frames {
            let sum = sums.get(&args.frames).copied().unwrap_or_default();
            println!("confirmed frame {} checksum {sum:016x}", args.frames);
            done_at = Some(Instant::now());
        }
        // Keep serving the peer for a moment so it reaches the frame too.
        if done_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
            return Ok(());
        }
        next += frame_time;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait); // frame pacing of a game loop
        }
    }
}
