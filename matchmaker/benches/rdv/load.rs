//! Idle websocket peers held by a server, and its resident memory per peer:
//! `nearplay-rendezvous` and, as the anchor, the stock `matchbox_server`
//! (binary given in `NEARPLAY_STOCK_MATCHBOX_SERVER`, see
//! `docs/rendezvous.md`) under the same load script.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::join::until;

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

pub struct Load {
    pub held: usize,
    pub base_kib: u64,
    pub loaded_kib: u64,
    pub connect_s: f64,
}

impl Load {
    pub fn per_peer_kib(&self) -> f64 {
        self.loaded_kib.saturating_sub(self.base_kib) as f64 / self.held.max(1) as f64
    }
}

/// Opens `n` idle websockets, 8 to a room, each waiting for its id; then reads RSS.
pub fn load(server: &Child, addr: SocketAddr, n: usize) -> Load {
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
    // Let the fan-out (NewPeer to room mates) settle before reading memory:
    // a pause between two equal readings paces the observation.
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

pub fn spawn_ours() -> (Child, SocketAddr) {
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

pub fn spawn_stock(bin: &str) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    // The stock server does not raise its own descriptor limit: it inherits
    // the bench's (raised in `main`).
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

pub fn report(name: &str, l: &Load) {
    println!(
        "  {name:<22} held {:>5} idle peers, RSS {:>7} KiB -> {:>7} KiB, {:>6.1} KiB/peer, connected in {:.2} s",
        l.held,
        l.base_kib,
        l.loaded_kib,
        l.per_peer_kib(),
        l.connect_s
    );
}
