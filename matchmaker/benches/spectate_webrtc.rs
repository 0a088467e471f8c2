//! `cargo bench -p nearplay_matchmaker --features server,rendezvous --bench spectate_webrtc`:
//! the spectator stream of an online match, over the WebRTC game channel
//! of a room on an in-process rendezvous server, next to the same stream
//! over loopback UDP (the LAN path) measured in the same run. 2 players at
//! 60 fps (real time), fanout k = 4, with 0, 4 and 16 spectators: upload
//! per player (spectate payload bytes a second, and as a ratio to the
//! anchor: the raw confirmed inputs, 60 frames of every player's 2-byte
//! input a second, no framing; WebRTC's own DTLS/SCTP bytes are not
//! counted), and the spectators' delay behind the players: mean time from
//! a frame's confirmation by the players to a spectator holding it (ms, and
//! in frames of 16.7 ms; GGRS's own confirmation wait comes before it).
//!
//! WebRTC runs inside a network namespace the bench creates (root), with
//! an unconnected veth address so ICE has a host candidate, and every
//! packet stays inside it; not root: the WebRTC rows are skipped.

#[path = "../../netcode/tests/spectate_common/mod.rs"]
mod spectate_common;

use std::process::Command;
use std::time::{Duration, Instant};

use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use nearplay_netcode::spectate::{SpectatePort, SpectateTap};
use nearplay_netcode::transport::webrtc::{PeerChange, WebRtcConfig, WebRtcLink};
use nearplay_netcode::{MatchKey, PeerAddr};
use spectate_common::Swarm;

const INSIDE: &str = "NEARPLAY_IN_NETNS";
const PLAYERS: usize = 2;
const FANOUT: usize = 4;
const FRAMES: u32 = 600;
const PERIOD: Duration = Duration::from_micros(16_667);
const CONNECT_LIMIT: Duration = Duration::from_secs(120);

/// Plays the match on `swarm`; prints one row.
fn row(path: &str, spectators: usize, mut swarm: Swarm) {
    let anchor = (PLAYERS * 2 * 60) as f64;
    let start = Instant::now();
    let (delay, pairs) = swarm.play(FRAMES, PERIOD, |_, _| {});
    let seconds = start.elapsed().as_secs_f64();
    let finished = swarm.finish(Duration::from_secs(5));
    let upload: Vec<f64> = (0..PLAYERS as u16)
        .map(|h| swarm.members.get(&h).map_or(0, |m| m.socket.bytes_sent()) as f64 / seconds)
        .collect();
    let worst = upload.iter().copied().fold(0.0, f64::max);
    let mean_ms = match pairs {
        0 => 0.0,
        n => delay.as_secs_f64() * 1000.0 / n as f64,
    };
    println!(
        "{path:6} k={FANOUT} spectators={spectators:2}: upload per player max {worst:6.0} B/s \
         ({:5.1}x anchor); spectator delay mean {mean_ms:6.2} ms ({:.2} frames); \
         all finished: {finished}",
        worst / anchor,
        mean_ms / (PERIOD.as_secs_f64() * 1000.0),
    );
}

/// `members` links in one room of `server`, each connected to every other.
fn room_of(server: &str, room: &str, members: usize) -> Vec<(u128, WebRtcLink)> {
    let url = format!("ws://{server}/{room}?next={members}");
    let mut links: Vec<WebRtcLink> = (0..members)
        .map(|_| WebRtcLink::connect(&url, &WebRtcConfig::default()).expect("link"))
        .collect();
    let mut peers = vec![0usize; members];
    let until = Instant::now() + CONNECT_LIMIT;
    while peers.iter().any(|p| *p + 1 < members) || links.iter_mut().any(|l| l.id().is_none()) {
        assert!(Instant::now() < until, "room {room}: mesh not up");
        for (link, count) in links.iter_mut().zip(&mut peers) {
            for change in link.poll_peers() {
                match change {
                    PeerChange::Connected(_) => *count += 1,
                    PeerChange::Disconnected(_) => *count = count.saturating_sub(1),
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    links
        .into_iter()
        .map(|mut l| (l.id().unwrap_or_default(), l))
        .collect()
}

fn webrtc_rows() {
    // A stock room of 18 peers (the code rooms' cap on players is 16).
    let limits = Limits {
        max_peers_per_room: 64,
        ..Limits::default()
    };
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), limits, 1).expect("server");
    let addr = server.local_addr().to_string();
    for spectators in [0usize, 4, 16] {
        let t0 = Instant::now();
        let links = room_of(
            &addr,
            &format!("spectate-{spectators}"),
            PLAYERS + spectators,
        );
        eprintln!(
            "(mesh of {} peers up in {:.1} s)",
            PLAYERS + spectators,
            t0.elapsed().as_secs_f64()
        );
        let ports = links
            .into_iter()
            .map(|(id, link)| {
                let port = SpectatePort::WebRtc {
                    link,
                    tap: SpectateTap::default(),
                    owned: true,
                };
                (PeerAddr::WebRtc(id), port)
            })
            .collect();
        let swarm = Swarm::with_ports(PLAYERS, ports, FANOUT, &MatchKey([9; 32]));
        row("webrtc", spectators, swarm);
    }
}

/// As root outside a namespace: runs the bench again inside a fresh one
/// with `lo` up, a default route through it (matchbox needs one) and an
/// unconnected veth holding 10.78.0.1/24. `false` when that is not possible.
fn in_namespace() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if !root {
        return false;
    }
    let ns = format!("np-spec-bench-{}", std::process::id());
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
    ip(&[
        "-n", &ns, "link", "add", "np0", "type", "veth", "peer", "name", "np1",
    ]);
    ip(&["-n", &ns, "addr", "add", "10.78.0.1/24", "dev", "np0"]);
    ip(&["-n", &ns, "link", "set", "np0", "up"]);
    ip(&["-n", &ns, "link", "set", "np1", "up"]);
    let status = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(std::env::current_exe().expect("exe"))
        .env(INSIDE, "1")
        .status();
    ip(&["netns", "del", &ns]);
    status.map(|s| s.success()).unwrap_or(false)
}

fn main() {
    if std::env::var_os(INSIDE).is_none() {
        if in_namespace() {
            return;
        }
        println!("(not root: no namespace, WebRTC rows skipped)");
    }
    println!(
        "anchor: raw confirmed inputs, {} B/s ({PLAYERS} players x 2 bytes x 60 fps)",
        PLAYERS * 2 * 60
    );
    for spectators in [0usize, 4, 16] {
        let swarm = Swarm::new(PLAYERS, spectators, FANOUT, &MatchKey([9; 32]));
        row("udp", spectators, swarm);
    }
    if std::env::var_os(INSIDE).is_some() {
        webrtc_rows();
    }
}
