//! The server reads websockets in small chunks (`server::ws::READ_BUFFER`,
//! 1 KiB: what keeps an idle peer at a few KiB of memory). A signal longer
//! than a chunk, up to `Limits::max_message_bytes`, still arrives whole;
//! one byte more still cuts the sender with `message_too_large`, in one
//! frame or in many. Websockets only, on loopback.
#![cfg(all(feature = "server", feature = "rendezvous"))]

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::ws::read_until;

use nearplay_matchmaker::rendezvous::server::ws::READ_BUFFER;
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

const DEADLINE: Duration = Duration::from_secs(10);

fn connect(addr: std::net::SocketAddr, path: &str) -> Ws {
    let (mut ws, _) = tungstenite::connect(format!("ws://{addr}/{path}")).expect("connect");
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
    }
    ws
}

/// The next message that is not a ping/pong, within the deadline.
fn next(ws: &mut Ws) -> Message {
    read_until(ws, "a message", DEADLINE, |m| match m {
        Message::Ping(_) | Message::Pong(_) => None,
        m => Some(m),
    })
}

/// `bytes` as one text message in fragments of `size` bytes: a Text frame,
/// then Continue frames, the last one final.
fn text_fragments(bytes: &[u8], size: usize) -> Vec<Frame> {
    let pieces: Vec<&[u8]> = bytes.chunks(size).collect();
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let opcode = if i == 0 {
                OpCode::Data(Data::Text)
            } else {
                OpCode::Data(Data::Continue)
            };
            Frame::message(piece.to_vec(), opcode, i + 1 == pieces.len())
        })
        .collect()
}

fn json(m: Message) -> serde_json::Value {
    match m {
        Message::Text(t) => serde_json::from_str(t.as_str()).expect("json"),
        other => panic!("expected text, got {other:?}"),
    }
}

fn close_reason(ws: &mut Ws) -> String {
    match next(ws) {
        Message::Close(Some(frame)) => frame.reason.to_string(),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// A signal to `receiver` whose whole text is exactly `len` bytes.
fn signal_of_len(receiver: &str, len: usize) -> String {
    let head = format!(r#"{{"Signal":{{"receiver":"{receiver}","data":""#);
    let tail = r#""}}"#;
    let fill = len - head.len() - tail.len();
    format!("{head}{}{tail}", "x".repeat(fill))
}

#[test]
fn signals_longer_than_a_read_chunk_arrive_whole_and_the_limit_still_cuts() {
    let limits = Limits::default();
    let max = limits.max_message_bytes;
    assert!(
        max > 8 * READ_BUFFER,
        "the test needs many chunks per message"
    );
    let server = RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), limits, 1)
        .expect("server starts");
    let addr = server.local_addr();
    let mut a = connect(addr, "read-chunk?next=2");
    let a_id = json(next(&mut a))["IdAssigned"].clone();
    let mut b = connect(addr, "read-chunk?next=2");
    let b_id = json(next(&mut b))["IdAssigned"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(json(next(&mut a))["NewPeer"].is_string());

    // Exactly the limit, in one frame: relayed whole, sender named.
    let text = signal_of_len(&b_id, max);
    a.send(Message::Text(text.clone().into())).expect("send");
    let got = json(next(&mut b));
    assert_eq!(got["Signal"]["sender"], a_id);
    let sent: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(got["Signal"]["data"], sent["Signal"]["data"]);

    // The limit again, in 300-byte fragments (each under a chunk).
    let bytes = signal_of_len(&b_id, max).into_bytes();
    for frame in text_fragments(&bytes, 300) {
        a.write(Message::Frame(frame)).expect("fragment");
    }
    a.flush().expect("flush");
    let got = json(next(&mut b));
    assert_eq!(got["Signal"]["data"], sent["Signal"]["data"]);

    // One byte more, in one frame: the sender is cut, the other stays.
    a.send(Message::Text(signal_of_len(&b_id, max + 1).into()))
        .expect("send");
    assert_eq!(close_reason(&mut a), "message_too_large");

    // One byte more in fragments, from a fresh peer: cut too.
    let mut c = connect(addr, "read-chunk?next=2");
    assert!(json(next(&mut c))["IdAssigned"].is_string());
    let bytes = signal_of_len(&b_id, max + 1).into_bytes();
    for frame in text_fragments(&bytes, 700) {
        if c.write(Message::Frame(frame)).is_err() {
            break;
        }
    }
    let _ = c.flush();
    assert_eq!(close_reason(&mut c), "message_too_large");
    b.send(Message::Text("\"KeepAlive\"".into()))
        .expect("b is untouched");
}
