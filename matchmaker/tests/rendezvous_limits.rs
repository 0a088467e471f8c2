//! The rendezvous server's refusals, each in words, while the server keeps
//! serving other rooms: unknown code, bad code, too many rooms, full room,
//! oversized message, flood, silent connection, garbage on the websocket,
//! stock `?next=N` rooms, and "server closing" on shutdown. Websockets only
//! (no WebRTC), on loopback, so no namespace is needed.
#![cfg(all(feature = "server", feature = "rendezvous"))]

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::ws::read_until;
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use nearplay_matchmaker::rendezvous::{Refusal, RendezvousClient, RendezvousError, RoomRequest};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;
/// One offence: what it does to its websocket.
type Offence = Box<dyn FnOnce(&mut Ws)>;

const DEADLINE: Duration = Duration::from_secs(10);

fn limits() -> Limits {
    Limits {
        max_rooms: 3,
        max_peers_per_room: 2,
        max_message_bytes: 1024,
        messages_per_second: 5,
        burst: 5,
        handshake_timeout: Duration::from_millis(400),
        // The address limit has its own test below.
        requests_per_second: 100_000,
        request_burst: 100_000,
        ..Limits::default()
    }
}

fn room(name: &str, max: u16, public: bool) -> RoomRequest {
    RoomRequest {
        name: name.into(),
        game: "g".into(),
        proto: 1,
        version: "1.0".into(),
        max_players: max,
        password: false,
        mode: "ffa".into(),
        public,
        spectators: 0,
    }
}

fn ws(addr: SocketAddr, path: &str) -> Result<Ws, tungstenite::Error> {
    let (mut ws, _) = tungstenite::connect(format!("ws://{addr}/{path}"))?;
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
    }
    Ok(ws)
}

/// Reads until the server closes; returns the close reason (panics at the deadline).
fn close_reason(ws: &mut Ws) -> String {
    read_until(
        ws,
        "the server to close the websocket",
        DEADLINE,
        |m| match m {
            Message::Close(Some(frame)) => Some(frame.reason.to_string()),
            Message::Close(None) => Some(String::new()),
            _ => None,
        },
    )
}

/// The first text event (the server sends IdAssigned first).
fn next_text(ws: &mut Ws) -> String {
    read_until(ws, "an event", DEADLINE, |m| match m {
        Message::Text(t) => Some(t.to_string()),
        _ => None,
    })
}

fn status_of(err: tungstenite::Error) -> u16 {
    match err {
        tungstenite::Error::Http(resp) => resp.status().as_u16(),
        e => panic!("expected an HTTP refusal, got {e}"),
    }
}

#[test]
fn every_refusal_in_words_and_the_server_keeps_serving() {
    let mut server = RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), limits(), 1)
        .expect("server starts");
    let addr = server.local_addr();
    let client = RendezvousClient::new(&format!("http://{addr}")).expect("url");

    // Codes: unknown, and not a code at all.
    assert!(matches!(
        client.room("ZZZZZZ"),
        Err(RendezvousError::RoomNotFound { .. })
    ));
    assert!(matches!(
        client.room("0O1IL0"),
        Err(RendezvousError::BadCode(_))
    ));

    // A room that must keep working through everything below.
    let keep = client.create_room(&room("Keep", 2, true)).expect("room");
    let mut keeper = ws(addr, keep.as_str()).expect("keeper joins");
    assert!(next_text(&mut keeper).contains("IdAssigned"));
    // Its first word within the handshake timeout (as matchbox's keep-alive).
    keeper
        .send(Message::Text("\"KeepAlive\"".into()))
        .expect("send");

    // Full room: two peers fit, the third is refused before the upgrade.
    let small = client.create_room(&room("Small", 2, false)).expect("room");
    let _a = ws(addr, small.as_str()).expect("first");
    // Codes are case-insensitive in the path too.
    let mut _b = ws(addr, &small.as_str().to_lowercase()).expect("second");
    _b.send(Message::Text("\"KeepAlive\"".into()))
        .expect("send");
    let third = ws(addr, small.as_str()).expect_err("third is refused");
    assert_eq!(status_of(third), 409);
    assert!(matches!(
        client.connect(small.as_str(), &Default::default()),
        Err(RendezvousError::RoomFull { .. })
    ));
    // Private rooms are not listed; public ones are.
    let listed = client.lobbies("g", Some(1)).expect("list");
    assert_eq!(
        listed.iter().map(|r| r.code).collect::<Vec<_>>(),
        vec![keep]
    );

    // Too many rooms: keep, small, third = 3.
    client
        .create_room(&room("Third", 2, false))
        .expect("third room");
    match client.create_room(&room("Fourth", 2, true)) {
        Err(RendezvousError::Refused {
            refusal: Refusal::TooManyRooms,
            ..
        }) => {}
        other => panic!("expected too_many_rooms, got {other:?}"),
    }

    // Stock rooms (any other path) admit while there is room; here none.
    assert_eq!(status_of(ws(addr, "stock").expect_err("no room left")), 503);

    // Each limit cuts only the offender, with its reason.
    let mut big = ws(addr, small.as_str()).err().map(status_of);
    assert_eq!(big.take(), Some(409));
    // `_b` stays as the room's resident; each offender takes the free seat.
    drop(_a);
    let mut cases: Vec<(&str, Offence)> = vec![
        (
            "message_too_large",
            Box::new(|w: &mut Ws| {
                w.send(Message::Text("x".repeat(4096).into()))
                    .expect("send");
            }),
        ),
        (
            "rate_limited",
            Box::new(|w: &mut Ws| {
                for _ in 0..20 {
                    let _ = w.send(Message::Text("\"KeepAlive\"".into()));
                }
            }),
        ),
        (
            "protocol_error",
            Box::new(|w: &mut Ws| {
                w.send(Message::Text("{not matchbox".into())).expect("send");
            }),
        ),
        (
            "protocol_error",
            Box::new(|w: &mut Ws| {
                w.send(Message::Binary(vec![0xff; 64].into()))
                    .expect("send");
            }),
        ),
        ("handshake_timeout", Box::new(|_: &mut Ws| {})),
    ];
    for (want, act) in cases.drain(..) {
        let end = Instant::now() + DEADLINE;
        // The seat frees asynchronously after the previous offender's cut.
        let mut w = loop {
            match ws(addr, small.as_str()) {
                Ok(w) => break w,
                Err(_) if Instant::now() < end => std::thread::yield_now(),
                Err(e) => panic!("cannot reconnect: {e}"),
            }
        };
        assert!(next_text(&mut w).contains("IdAssigned"));
        act(&mut w);
        assert_eq!(close_reason(&mut w), want);
    }

    // The keeper was never disturbed (it speaks within its limits).
    keeper
        .send(Message::Text("\"KeepAlive\"".into()))
        .expect("keeper still connected");
    let health = client.health().expect("health");
    assert_eq!(health.status, "ok");
    for kind in [
        "room_full",
        "too_many_rooms",
        "message_too_large",
        "rate_limited",
        "protocol_error",
        "handshake_timeout",
        "room_not_found",
    ] {
        assert!(
            health.refused.get(kind).copied().unwrap_or(0) >= 1,
            "{kind} counted: {health:?}"
        );
    }
    assert!(health.garbage >= 2, "{health:?}");
    assert!(client.room(keep.as_str()).is_ok());

    // Shutdown: connected peers hear "server_closing"; then "unreachable".
    let mut closing = keeper;
    let t = std::thread::spawn(move || close_reason(&mut closing));
    server.shutdown(Duration::from_secs(3));
    assert_eq!(t.join().expect("reader"), "server_closing");
    assert!(matches!(
        client.room(keep.as_str()),
        Err(RendezvousError::Unreachable { .. })
    ));
}

#[test]
fn stock_clients_pair_with_next() {
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), Limits::default(), 1)
            .expect("server starts");
    let addr = server.local_addr();
    let mut a = ws(addr, "game?next=2").expect("a");
    assert!(next_text(&mut a).contains("IdAssigned"));
    let mut b = ws(addr, "game?next=2").expect("b");
    let b_id = next_text(&mut b);
    assert!(b_id.contains("IdAssigned"));
    // a is told about b (a then offers, as in matchbox_server).
    let event = next_text(&mut a);
    assert!(event.contains("NewPeer"), "{event}");
    // A third starts a new group: nobody is told about it.
    let mut c = ws(addr, "game?next=2").expect("c");
    assert!(next_text(&mut c).contains("IdAssigned"));
    drop(b);
    let left = next_text(&mut a);
    assert!(left.contains("PeerLeft"), "{left}");
}

#[test]
fn lookups_per_address_are_rate_limited() {
    let limits = Limits {
        requests_per_second: 1,
        request_burst: 3,
        ..Limits::default()
    };
    let server = RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), limits, 1)
        .expect("server starts");
    let client = RendezvousClient::new(&server.local_addr().to_string()).expect("url");
    let outcomes: Vec<_> = (0..5).map(|_| client.room("ABCDEF")).collect();
    assert!(matches!(
        outcomes[0],
        Err(RendezvousError::RoomNotFound { .. })
    ));
    assert!(
        outcomes.iter().any(|o| matches!(
            o,
            Err(RendezvousError::Refused {
                refusal: Refusal::RateLimited,
                ..
            })
        )),
        "{outcomes:?}"
    );
}

#[test]
fn quick_match_puts_players_together() {
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), Limits::default(), 1)
            .expect("server starts");
    let addr = server.local_addr();
    let client = RendezvousClient::new(&addr.to_string()).expect("url");
    let first = client
        .quick_match(&room("Quick", 3, true))
        .expect("quick match");
    assert!(first.host, "an empty server: the first player hosts");
    // The host connects to its room (as OnlineHost::host_room does).
    let mut host = ws(addr, first.code.as_str()).expect("host joins");
    assert!(next_text(&mut host).contains("IdAssigned"));
    let second = client
        .quick_match(&room("Quick", 3, true))
        .expect("quick match");
    assert_eq!((second.code, second.host), (first.code, false));
    let mut other = room("Quick", 3, true);
    other.version = "2.0".into();
    assert!(
        client.quick_match(&other).expect("quick match").host,
        "other version"
    );
}
