//! [`run_peer`]: one run-to-completion task per websocket, like
//! `matchbox_server`'s `topology.rs`, plus the limits: first message within
//! the handshake timeout, silence past the idle timeout, message size,
//! messages per second, and anything that is not a matchbox request cuts
//! the connection with a close frame naming the refusal. Size and garbage
//! are decided by [`decode_signal`] (always compiled, fuzzed); the size is
//! also bounded *while* a message is read (the upgrade in `ws.rs` gives
//! tungstenite the same limit), so an unfinished 60 MB message costs the
//! server one frame's worth of memory, not 60 MB.
//!
//! What the server sends a peer goes through a bounded outbox
//! ([`OUTBOX_MESSAGES`]); a peer that does not read for [`SEND_TIMEOUT`] is
//! cut, so a peer that never reads cannot make the server queue without end.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use matchbox_protocol::{JsonPeerEvent, PeerId};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::limits::TokenBucket;
use super::rooms::Requested;
use super::state::{Shared, close_message};
use crate::rendezvous::api::Refusal;
use crate::rendezvous::wire::{PeerMessage, SignalRequest, decode_signal};

/// Messages waiting for one peer at most (signals, peer events, close).
pub const OUTBOX_MESSAGES: usize = 64;
/// A peer that has not taken a message within this is cut.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// After the server's close frame, how long it waits for the peer's.
pub const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// A peer's outbox, as the shared state holds it.
pub type Outbox = mpsc::Sender<Message>;

fn key(p: PeerId) -> u128 {
    p.0.as_u128()
}

/// Whether a websocket read error is tungstenite's size limit (the message
/// or frame passed `max_message_bytes` while it was being read).
fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(tungstenite::Error::Capacity(_)) = s.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Runs one peer's websocket to its end: joins its room, relays its
/// signals within the room, enforces the limits, leaves. `_alive` is held
/// until the end (the server's shutdown waits for every holder).
pub async fn run_peer(
    peer_id: PeerId,
    req: Requested,
    mut socket: WebSocket,
    state: Shared,
    _alive: watch::Receiver<bool>,
) {
    let me = key(peer_id);
    let room = req.path.clone();
    let (outbox, mut inbox) = mpsc::channel::<Message>(OUTBOX_MESSAGES);
    let (limits, joined) = {
        let mut s = state.lock();
        let joined = s.join(me, &req, outbox, Instant::now());
        (s.rooms.limits().clone(), joined)
    };
    let id_event = JsonPeerEvent::IdAssigned(peer_id).to_string();
    let before = match joined {
        Ok(before) => before,
        Err(r) => {
            info!(peer = %peer_id, room = %room, refusal = r.kind(), "join refused");
            let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(close_message(r))).await;
            return;
        }
    };
    info!(peer = %peer_id, room = %room, others = before.len(), "joined");
    let said_id = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(id_event.into())));
    if !matches!(said_id.await, Ok(Ok(()))) {
        let rest = state.lock().leave(me);
        tell_left(&state, peer_id, rest);
        return;
    }
    {
        let s = state.lock();
        let text = JsonPeerEvent::NewPeer(peer_id).to_string();
        for other in &before {
            s.send_text(*other, text.clone());
        }
    }

    let mut bucket = TokenBucket::new(limits.messages_per_second, limits.burst, Instant::now());
    let mut deadline = tokio::time::Instant::now() + limits.handshake_timeout;
    let mut heard = false;
    let mut closing = false;
    let outcome: Option<Refusal> = loop {
        let next = tokio::select! {
            out = inbox.recv() => {
                let Some(out) = out else { break None };
                let close = matches!(out, Message::Close(_));
                match tokio::time::timeout(SEND_TIMEOUT, socket.send(out)).await {
                    Ok(Ok(())) => {}
                    // Our own close frames end with a slow or gone peer too.
                    _ => break None,
                }
                if close {
                    closing = true;
                    deadline = deadline.min(tokio::time::Instant::now() + CLOSE_LINGER);
                }
                continue;
            }
            next = tokio::time::timeout_at(deadline, socket.recv()) => next,
        };
        let next = match next {
            Err(_) if closing => break None,
            Err(_) if heard => break Some(Refusal::IdleTimeout),
            Err(_) => break Some(Refusal::HandshakeTimeout),
            Ok(Some(Err(e))) if is_too_large(&e) => break Some(Refusal::MessageTooLarge),
            Ok(None) | Ok(Some(Err(_))) => break None,
            Ok(Some(Ok(m))) => m,
        };
        if closing {
            if matches!(next, Message::Close(_)) {
                break None;
            }
            continue;
        }
        heard = true;
        deadline = tokio::time::Instant::now() + limits.idle_timeout;
        if !bucket.allow(Instant::now()) {
            break Some(Refusal::RateLimited);
        }
        let msg = match &next {
            Message::Text(t) => PeerMessage::Text(t.as_str()),
            Message::Binary(b) => PeerMessage::Binary(b),
            Message::Close(_) => break None,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let request = match decode_signal(msg, limits.max_message_bytes) {
            Ok(r) => r,
            Err(refusal) => break Some(refusal),
        };
        match request {
            SignalRequest::Signal { receiver, data } => {
                let receiver = PeerId(receiver);
                let s = state.lock();
                // Signals go only to peers of the same room.
                if s.rooms.same_room(me, key(receiver)) {
                    let event = JsonPeerEvent::Signal {
                        sender: peer_id,
                        data,
                    };
                    s.send_text(key(receiver), event.to_string());
                }
            }
            SignalRequest::KeepAlive => {}
        }
    };

    let rest = {
        let mut s = state.lock();
        if let Some(r) = outcome {
            s.count(r);
            if r == Refusal::ProtocolError {
                s.count_garbage();
            }
        }
        s.leave(me)
    };
    tell_left(&state, peer_id, rest);
    if let Some(r) = outcome {
        warn!(peer = %peer_id, room = %room, refusal = r.kind(), "connection cut");
        let sent = tokio::time::timeout(SEND_TIMEOUT, socket.send(close_message(r))).await;
        if matches!(sent, Ok(Ok(()))) {
            // Let the close frame reach the peer before the socket drops
            // (bounded: a peer that keeps talking is read and ignored).
            let _ = tokio::time::timeout(CLOSE_LINGER, async {
                while let Some(Ok(m)) = socket.recv().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    } else {
        info!(peer = %peer_id, room = %room, "left");
    }
}

/// Tells the peers left in a room that `peer_id` has gone.
fn tell_left(state: &Shared, peer_id: PeerId, rest: Vec<u128>) {
    let s = state.lock();
    let text = JsonPeerEvent::PeerLeft(peer_id).to_string();
    for other in rest {
        s.send_text(other, text.clone());
    }
}

#[cfg(test)]
mod tests {
    use matchbox_protocol::{JsonPeerRequest, PeerRequest};

    use crate::lobby::rng::SeededRng;
    use crate::rendezvous::wire::{MAX_SIGNAL_BYTES, PeerMessage, SignalRequest, decode_signal};

    /// `decode_signal` accepts exactly what matchbox_protocol's parser
    /// accepts, with the same receiver and data (valid texts, mutated ones,
    /// and other JSON shapes).
    #[test]
    fn decode_signal_agrees_with_matchbox_protocol() {
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let seeds = [
            format!(r#"{{"Signal":{{"receiver":"{id}","data":{{"Offer":"v=0"}}}}}}"#),
            format!(
                r#"{{"Signal":{{"receiver":"{}","data":[1,2.5,null]}}}}"#,
                id.replace('-', "")
            ),
            format!(r#"{{"Signal":{{"receiver":"{{{id}}}","data":"x"}}}}"#),
            format!(r#"{{"Signal":{{"receiver":"urn:uuid:{id}","data":{{}}}}}}"#),
            format!(r#"{{"Signal":["{id}",true]}}"#),
            format!(r#"{{"Signal":{{"data":0,"receiver":"{id}","extra":1}}}}"#),
            r#""KeepAlive""#.to_string(),
            r#"{"KeepAlive":null}"#.to_string(),
            " \"KeepAlive\"\n".to_string(),
        ];
        let mut rng = SeededRng::new([9; 32]);
        let mut accepted = 0;
        for round in 0..20_000 {
            let mut bytes = seeds[round % seeds.len()].clone().into_bytes();
            for _ in 0..(rng.next_u64() % 3) {
                let at = (rng.next_u64() as usize) % bytes.len();
                match rng.next_u64() % 3 {
                    0 => bytes[at] = b" {}[]\":,0aF-Sx"[(rng.next_u64() % 14) as usize],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, (rng.next_u64() % 128) as u8),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let ours = decode_signal(PeerMessage::Text(text), MAX_SIGNAL_BYTES).ok();
            let theirs = text.parse::<JsonPeerRequest>().ok();
            let theirs = theirs.map(|r| match r {
                PeerRequest::Signal { receiver, data } => SignalRequest::Signal {
                    receiver: receiver.0,
                    data,
                },
                PeerRequest::KeepAlive => SignalRequest::KeepAlive,
            });
            assert_eq!(ours, theirs, "{text}");
            accepted += usize::from(ours.is_some());
        }
        assert!(
            accepted > 1000,
            "mutations should keep some valid: {accepted}"
        );
    }
}
