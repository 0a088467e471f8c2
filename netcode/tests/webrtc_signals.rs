//! A hostile member of a WebRTC room (anyone with the room's code, or the
//! signaling server itself) sends garbage where matchbox expects session
//! descriptions: an offer that is no SDP to each peer that joins after it,
//! an answer that is no SDP to each peer that offers to it, and candidates
//! that are no JSON. Before the vendored matchbox_socket's patch each of
//! these panicked inside the link's message loop and ended the link, with
//! every connection it had: one stranger in a room could end everyone's
//! lobby and match. Now only the handshake with the stranger fails; the
//! players connect, a late player connects to them, and they play.
//!
//! Re-runs its own binary inside a network namespace it creates (see
//! `common::webrtc_lab`); without root it says why it skips.
#![cfg(feature = "webrtc")]

mod common;

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::webrtc_lab::{DEADLINE, Server, connect_mesh, in_netns, peers_over, webrtc_plan};
use common::*;
use nearplay_netcode::transport::webrtc::{WebRtcConfig, WebRtcLink};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

/// What a stranger sent to one peer (named by its id).
#[derive(Debug)]
#[allow(dead_code)] // the ids show in a failure's message
enum Sent {
    /// A garbage offer (and garbage candidates) to a peer that joined.
    Offer(String),
    /// A garbage answer (and garbage candidates) to a peer that offered.
    Answer(String),
}

/// A stranger in the room, on its own thread until `stop`: it reports its
/// id, then every garbage signal it sent.
struct Stranger {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    sent: mpsc::Receiver<Sent>,
}

impl Stranger {
    /// Joins `url`'s room and waits for the server to assign an id.
    fn join(url: &str) -> Stranger {
        let (mut ws, _) = tungstenite::connect(url).expect("websocket");
        if let MaybeTlsStream::Plain(s) = ws.get_mut() {
            s.set_read_timeout(Some(Duration::from_millis(20)))
                .expect("timeout");
        }
        let (tx, sent) = mpsc::channel();
        let (id_tx, id_rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Some(event) = read(&mut ws) else {
                    continue;
                };
                if let Some(id) = event.get("IdAssigned") {
                    let _ = id_tx.send(id.clone());
                } else if let Some(Value::String(peer)) = event.get("NewPeer") {
                    garbage(
                        &mut ws,
                        peer,
                        json!({"Offer": "this is no session description"}),
                    );
                    let _ = tx.send(Sent::Offer(peer.clone()));
                } else if let Some(signal) = event.get("Signal")
                    && signal["data"].get("Offer").is_some()
                    && let Some(peer) = signal["sender"].as_str()
                {
                    garbage(
                        &mut ws,
                        peer,
                        json!({"Answer": "v=0\r\no=- 0 0 IN IP4 x\r\n"}),
                    );
                    let _ = tx.send(Sent::Answer(peer.to_owned()));
                }
            }
        });
        id_rx
            .recv_timeout(DEADLINE)
            .expect("the stranger got an id");
        Stranger {
            stop,
            thread: Some(thread),
            sent,
        }
    }

    /// Waits until it sent `n` more signals of the kind `is`, within the
    /// deadline.
    fn wait_sent(&self, n: usize, is: impl Fn(&Sent) -> bool) -> Vec<Sent> {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        while seen.iter().filter(|s| is(s)).count() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.sent.recv_timeout(left) {
                Ok(s) => seen.push(s),
                Err(_) => panic!("the stranger sent only {seen:?}"),
            }
        }
        seen
    }
}

impl Drop for Stranger {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The next event from the server, `None` when none came in time.
fn read(ws: &mut Ws) -> Option<Value> {
    match ws.read() {
        Ok(Message::Text(t)) => serde_json::from_str(t.as_str()).ok(),
        _ => None,
    }
}

/// `data` to `peer`, then candidates that are no JSON and no candidate.
fn garbage(ws: &mut Ws, peer: &str, data: Value) {
    for data in [
        data,
        json!({"IceCandidate": "{not json"}),
        json!({"IceCandidate": "{\"candidate\":\"candidate:0 1 UDP x\"}"}),
    ] {
        let signal = json!({"Signal": {"receiver": peer, "data": data}});
        ws.send(Message::Text(signal.to_string().into()))
            .expect("send");
    }
}

#[test]
fn a_stranger_sending_garbage_signals_ends_no_players_link() {
    if !in_netns(
        "a_stranger_sending_garbage_signals_ends_no_players_link",
        true,
    ) {
        return;
    }
    let server = Server::start();
    let url = format!("ws://{}/room-s", server.addr);
    // The first stranger is in the room before the players: it sends each
    // of them a garbage offer as they join (their accepting handshake).
    let first = Stranger::join(&url);
    let mut links: Vec<WebRtcLink> = (0..2)
        .map(|_| WebRtcLink::connect(&url, &WebRtcConfig::default()).expect("link"))
        .collect();
    first.wait_sent(2, |s| matches!(s, Sent::Offer(_)));
    // The second joins after them: both offer to it, and it answers each
    // with garbage (their offering handshake).
    let second = Stranger::join(&url);
    second.wait_sent(2, |s| matches!(s, Sent::Answer(_)));
    // A late player still connects to both (the strangers send it garbage
    // offers too), and the three play over the links they had.
    links.push(WebRtcLink::connect(&url, &WebRtcConfig::default()).expect("link"));
    first.wait_sent(1, |s| matches!(s, Sent::Offer(_)));
    second.wait_sent(1, |s| matches!(s, Sent::Offer(_)));
    let ids = connect_mesh(&mut links);
    let plan = webrtc_plan(&ids, 55);
    let mut peers = peers_over(links.iter().cloned(), &plan);
    run_until(
        &mut peers,
        DEADLINE,
        "120 frames",
        |_| {},
        all_confirmed(120),
    );
    let (frame, sum) = assert_agree(&peers);
    assert_eq!(sum, reference_checksum(3, 55, 2, frame));
    for (i, link) in links.iter().enumerate() {
        assert_eq!(link.exit(), None, "player {i}'s link ended");
    }
    println!("garbage signals from two strangers: the players connected and agree at {frame}");
}
