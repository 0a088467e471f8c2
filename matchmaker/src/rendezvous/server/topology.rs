//! [`RendezvousTopology`]: one run-to-completion task per websocket, like
//! `matchbox_server`'s `topology.rs`, plus the limits: first message within
//! the handshake timeout, silence past the idle timeout, message size,
//! messages per second, and anything that is not a matchbox request cuts
//! the connection with a close frame naming the refusal. Size and garbage
//! are decided by [`decode_signal`] (always compiled, fuzzed).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::ws::Message;
use futures_lite::StreamExt;
use matchbox_protocol::{JsonPeerEvent, PeerId};
use matchbox_signaling::{NoCallbacks, SignalingTopology, WsStateMeta};
use tracing::{info, warn};

use super::limits::TokenBucket;
use super::state::{Shared, close_message};
use crate::rendezvous::api::Refusal;
use crate::rendezvous::wire::{PeerMessage, SignalRequest, decode_signal};

/// The rendezvous server's signaling topology: full mesh within a room.
#[derive(Debug, Default, Clone, Copy)]
pub struct RendezvousTopology;

fn key(p: PeerId) -> u128 {
    p.0.as_u128()
}

#[async_trait]
impl SignalingTopology<NoCallbacks, Shared> for RendezvousTopology {
    async fn state_machine(upgrade: WsStateMeta<NoCallbacks, Shared>) {
        let WsStateMeta {
            room,
            peer_id,
            sender,
            mut receiver,
            state,
            ..
        } = upgrade;
        let me = key(peer_id);
        let (limits, joined) = {
            let mut s = state.lock();
            let req = s.take_requested(me, &room);
            let joined = s.join(me, &req, sender.clone(), Instant::now());
            (s.rooms.limits().clone(), joined)
        };
        let before = match joined {
            Ok(before) => before,
            Err(r) => {
                info!(peer = %peer_id, room = %room, refusal = r.kind(), "join refused");
                let _ = sender.send(Ok(close_message(r)));
                return;
            }
        };
        info!(peer = %peer_id, room = %room, others = before.len(), "joined");
        {
            let s = state.lock();
            let text = JsonPeerEvent::NewPeer(peer_id).to_string();
            for other in &before {
                s.send_text(*other, text.clone());
            }
        }

        let mut bucket = TokenBucket::new(limits.messages_per_second, limits.burst, Instant::now());
        let mut heard = false;
        let outcome: Option<Refusal> = loop {
            let wait: Duration = if heard {
                limits.idle_timeout
            } else {
                limits.handshake_timeout
            };
            let next = match tokio::time::timeout(wait, receiver.next()).await {
                Err(_) if heard => break Some(Refusal::IdleTimeout),
                Err(_) => break Some(Refusal::HandshakeTimeout),
                Ok(None) | Ok(Some(Err(_))) => break None,
                Ok(Some(Ok(m))) => m,
            };
            heard = true;
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
        if let Some(r) = outcome {
            warn!(peer = %peer_id, room = %room, refusal = r.kind(), "connection cut");
            let _ = sender.send(Ok(close_message(r)));
        } else {
            info!(peer = %peer_id, room = %room, "left");
        }
        let s = state.lock();
        let text = JsonPeerEvent::PeerLeft(peer_id).to_string();
        for other in rest {
            s.send_text(other, text.clone());
        }
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
