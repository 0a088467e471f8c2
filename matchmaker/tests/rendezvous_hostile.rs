//! The rendezvous server tried as a hostile internet client would (issue 10,
//! item 7), on loopback only: an unfinished 60 MB websocket message, silent
//! HTTP connections, 300 long public rooms, rooms opened from one address.
//! Several loopback source addresses (127.0.0.2, 127.0.0.3) stand for
//! different clients; the whole 127/8 is loopback on Linux.
#![cfg(all(feature = "server", feature = "rendezvous"))]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::ws::read_until;
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use nearplay_matchmaker::rendezvous::{Refusal, RendezvousClient, RendezvousError, RoomRequest};
use tungstenite::Message;
use tungstenite::stream::MaybeTlsStream;

const DEADLINE: Duration = Duration::from_secs(15);
const MIB: u64 = 1 << 20;

fn room(name: &str, version: &str) -> RoomRequest {
    RoomRequest {
        name: name.into(),
        game: "g".into(),
        proto: 1,
        version: version.into(),
        max_players: 4,
        password: false,
        mode: "ffa".into(),
        public: true,
        spectators: 0,
    }
}

/// A blocking TCP connection to `to` from the loopback address `from`.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(format!("{from}:0").parse().expect("addr"))
            .expect("bind");
        socket.connect(to).await.expect("connect")
    });
    let stream = stream.into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
}

/// The server binary as a child process, killed on drop.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nearplay-rendezvous"))
            .args(["--listen", "127.0.0.1:0", "--log-level", "error"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        ServerProcess { child, addr }
    }

    /// The child's resident memory in bytes (`VmRSS` in /proc).
    fn rss(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmRSS")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A masked websocket frame header (mask key 0: the payload goes as is).
fn frame_header(first: bool, opcode: u8, len: usize) -> Vec<u8> {
    let op = if first { opcode } else { 0 };
    let mut h = vec![op];
    if len < 126 {
        h.push(0x80 | len as u8);
    } else {
        h.push(0x80 | 126);
        h.extend_from_slice(&(len as u16).to_be_bytes());
    }
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

/// A websocket streams one text message of 60 MB in 8 KiB fragments and
/// never finishes it, then pings. The server must cut it (a close frame
/// naming `message_too_large`, or the connection closed) and its resident
/// memory must stay flat. Before: tungstenite's 64 MiB default buffered it
/// all, the ping was answered, and RSS grew by about 60 MiB.
#[test]
fn an_unfinished_60_mb_message_keeps_server_memory_flat() {
    let server = ServerProcess::start(&[]);
    let (mut ws, _) =
        tungstenite::connect(format!("ws://{}/rss-room", server.addr)).expect("websocket");
    let MaybeTlsStream::Plain(tcp) = ws.get_mut() else {
        panic!("plain TCP expected");
    };
    let mut raw = tcp.try_clone().expect("clone");
    let before = server.rss();
    let chunk = vec![b'x'; 8192];
    let mut sent = 0usize;
    let mut cut_while_sending = false;
    while sent < 60_000_000 {
        let mut frame = frame_header(sent == 0, 0x1, chunk.len());
        frame.extend_from_slice(&chunk);
        if raw.write_all(&frame).is_err() {
            cut_while_sending = true;
            break;
        }
        sent += chunk.len();
    }
    // A ping after the fragments: answered only if the server read them all.
    let mut ping = frame_header(true, 0x9, 4);
    ping[0] |= 0x80;
    ping.extend_from_slice(b"ping");
    let _ = raw.write_all(&ping);
    let tcp = match ws.get_mut() {
        MaybeTlsStream::Plain(t) => t,
        _ => unreachable!(),
    };
    tcp.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let end = Instant::now() + DEADLINE;
    let outcome = loop {
        assert!(Instant::now() < end, "neither a pong nor a cut");
        match ws.read() {
            Ok(Message::Pong(_)) => break "pong: the server read the whole 60 MB".to_string(),
            Ok(Message::Close(frame)) => {
                break format!(
                    "closed: {}",
                    frame.map(|f| f.reason.to_string()).unwrap_or_default()
                );
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => break format!("cut: {e}"),
        }
    };
    let grown = server.rss().saturating_sub(before);
    println!(
        "sent {} MB (cut while sending: {cut_while_sending}), {outcome}, server RSS +{} KiB",
        sent / 1_000_000,
        grown / 1024
    );
    assert!(!outcome.starts_with("pong"), "{outcome}");
    assert!(
        outcome == "closed: message_too_large" || outcome.starts_with("cut") || cut_while_sending,
        "{outcome}"
    );
    assert!(grown < 8 * MIB, "server RSS grew by {} KiB", grown / 1024);
}

/// 100 connections from one address that never send a request: the
/// server keeps at most its per-address cap of them (the rest get a 429
/// naming `address_limit` at once) and closes those after the header
/// timeout, while `/health` and `POST /rooms` from another address answer;
/// a request whose body never comes gets 408. Before: every one stayed
/// open for ever (1,100 of them took the server down).
#[test]
fn silent_connections_are_capped_per_address_and_timed_out() {
    let limits = Limits {
        max_connections_per_address: 8,
        // Long enough that no seat frees while the 100 connect (exact counts).
        header_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let server = RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), limits, 1)
        .expect("server starts");
    let addr = server.local_addr();
    let mut silent: Vec<Option<TcpStream>> = (0..100)
        .map(|_| Some(connect_from("127.0.0.2", addr)))
        .collect();
    // A complete head, then a body that never comes (checked at the end).
    let mut slow_body = connect_from("127.0.0.4", addr);
    slow_body
        .write_all(b"POST /rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .expect("head");
    let client = RendezvousClient::new(&addr.to_string()).expect("url");
    let health = client.health().expect("health answers during the attack");
    // The silent ones held, the slow body and this request.
    assert!(health.connections <= 8 + 2, "{health:?}");
    client
        .create_room(&room("Real", "1.0"))
        .expect("POST /rooms answers during the attack");
    for s in silent.iter().flatten() {
        s.set_nonblocking(true).expect("nonblocking");
    }
    let (mut refused, mut timed_out) = (0, 0);
    let end = Instant::now() + DEADLINE;
    while silent.iter().any(Option::is_some) {
        assert!(
            Instant::now() < end,
            "{} silent connections still open",
            silent.iter().flatten().count()
        );
        for slot in silent.iter_mut() {
            let Some(s) = slot else { continue };
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Ok(n) if n > 0 => {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    assert!(text.contains("address_limit"), "{text}");
                    refused += 1;
                }
                _ => timed_out += 1,
            }
            *slot = None;
        }
        // Poll interval of a wait that has a deadline (above): the header
        // timeout is 5 s away, and spinning here kept a core busy for it.
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("refused at accept: {refused}, closed by the header timeout: {timed_out}");
    assert_eq!(refused + timed_out, 100);
    assert!(refused >= 100 - 8, "refused {refused}");
    let after = client.health().expect("health");
    assert!(after.refused.get("address_limit").copied().unwrap_or(0) >= 92);

    // The slow body: answered 408 (the request deadline), not held for ever.
    slow_body.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut answer = Vec::new();
    let _ = slow_body.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// 300 public rooms with every field at its longest, and a real one: a
/// 3.9 KB version is refused at creation, `/lobbies` comes in pages of at
/// most 50, and the client's paged list holds all 301 (the real room
/// included). Before: the long version was accepted and 300 such rooms
/// made `/lobbies` 1.17 MiB, past the client's 1 MiB limit.
#[test]
fn lobbies_page_through_300_long_rooms() {
    let limits = Limits {
        requests_per_second: 100_000,
        request_burst: 100_000,
        max_rooms_per_address: 1000,
        ..Limits::default()
    };
    let server = RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), limits, 1)
        .expect("server starts");
    let client = RendezvousClient::new(&server.local_addr().to_string()).expect("url");
    match client.create_room(&room("Spam", &"v".repeat(3900))) {
        Err(RendezvousError::Refused {
            refusal: Refusal::BadRequest,
            ..
        }) => {}
        other => panic!("a 3.9 KB version must be refused, got {other:?}"),
    }
    let long_name = "n".repeat(63);
    let long_version = "v".repeat(32);
    for _ in 0..300 {
        client
            .create_room(&room(&long_name, &long_version))
            .expect("spam room at the bounds");
    }
    let real = client.create_room(&room("Real", "1.0")).expect("real room");
    let first = client.lobbies_page("g", Some(1), None).expect("first page");
    assert_eq!(first.rooms.len(), 50);
    assert!(first.next.is_some());
    let listed = client.lobbies("g", Some(1)).expect("every page");
    println!("{} rooms listed over the pages", listed.len());
    assert_eq!(listed.len(), 301);
    assert!(
        listed
            .iter()
            .any(|r| r.code == real && r.request.name == "Real")
    );
}

/// `/lobbies` counts against the address's request rate like every look-up.
#[test]
fn lobbies_are_rate_limited() {
    let limits = Limits {
        requests_per_second: 1,
        request_burst: 3,
        ..Limits::default()
    };
    let server = RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), limits, 1)
        .expect("server starts");
    let client = RendezvousClient::new(&server.local_addr().to_string()).expect("url");
    let refused = (0..6)
        .filter(|_| {
            matches!(
                client.lobbies_page("g", None, None),
                Err(RendezvousError::Refused {
                    refusal: Refusal::RateLimited,
                    ..
                })
            )
        })
        .count();
    assert!(refused >= 2, "{refused} of 6 refused");
}

type Ws = tungstenite::WebSocket<TcpStream>;

/// A stock websocket to `/{path}` from the loopback address `from`, or the
/// HTTP status of its refusal.
fn stock_ws(from: &str, addr: SocketAddr, path: &str) -> Result<Ws, u16> {
    let stream = connect_from(from, addr);
    match tungstenite::client(format!("ws://{addr}/{path}"), stream) {
        Ok((mut ws, _)) => {
            // The server says IdAssigned once the peer is in its room.
            ws.get_mut()
                .set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
            read_until(&mut ws, "IdAssigned", DEADLINE, |m| match m {
                Message::Text(t) if t.contains("IdAssigned") => Some(()),
                other => panic!("expected IdAssigned, got {other:?}"),
            });
            Ok(ws)
        }
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            Err(resp.status().as_u16())
        }
        Err(e) => panic!("websocket failed: {e}"),
    }
}

/// One address opens at most `max_rooms_per_address` rooms (stock rooms by
/// websocket and code rooms by POST together), so 500 websockets cannot
/// fill `max_rooms`; another address still opens its own; 16 KiB stock
/// room names are refused. Before: every room was admitted up to the
/// server's cap, whatever its name's length.
#[test]
fn rooms_are_capped_per_address() {
    let limits = Limits {
        max_rooms: 500,
        max_rooms_per_address: 4,
        requests_per_second: 100_000,
        request_burst: 100_000,
        ..Limits::default()
    };
    let server = RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), limits, 1)
        .expect("server starts");
    let addr = server.local_addr();
    assert!(
        stock_ws("127.0.0.1", addr, &"n".repeat(16 * 1024)).is_err(),
        "a 16 KiB room name is refused"
    );
    assert_eq!(
        stock_ws("127.0.0.1", addr, &"n".repeat(1024)).err(),
        Some(400)
    );
    // The websockets stay open (so do their rooms) until the test ends.
    let outcomes: Vec<_> = (0..10)
        .map(|i| stock_ws("127.0.0.1", addr, &format!("stock-{i}")))
        .collect();
    let statuses: Vec<Option<u16>> = outcomes.iter().map(|o| o.as_ref().err().copied()).collect();
    assert_eq!(
        statuses,
        [vec![None; 4], vec![Some(429); 6]].concat(),
        "four rooms, then address_limit"
    );
    let client = RendezvousClient::new(&addr.to_string()).expect("url");
    match client.create_room(&room("Fifth", "1.0")) {
        Err(RendezvousError::Refused {
            refusal: Refusal::AddressLimit,
            ..
        }) => {}
        other => panic!("expected address_limit, got {other:?}"),
    }
    let _elsewhere = stock_ws("127.0.0.3", addr, "elsewhere").expect("another address");
    assert_eq!(server.state().lock().rooms.room_count(), 5);
}
