//! [`RendezvousTopology`]: one run-to-completion task per websocket, like
//! `matchbox_server`'s `topology.rs`, plus the limits: first message within
//! the handshake timeout, silence past the idle timeout, message size,
//! messages per second, and anything that is not a matchbox request cuts
//! the connection with a close frame naming the refusal.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::ws::Message;
use futures_lite::StreamExt;
use matchbox_protocol::{JsonPeerEvent, JsonPeerRequest, PeerId, PeerRequest};
use matchbox_signaling::{NoCallbacks, SignalingTopology, WsStateMeta};
use tracing::{info, warn};

use super::limits::TokenBucket;
use super::state::{Shared, close_message};
use crate::rendezvous::api::Refusal;

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
            let text = match next {
                Message::Text(t) => t,
                Message::Close(_) => break None,
                Message::Ping(_) | Message::Pong(_) => continue,
                Message::Binary(b) if b.len() > limits.max_message_bytes => {
                    break Some(Refusal::MessageTooLarge);
                }
                Message::Binary(_) => break Some(Refusal::ProtocolError),
            };
            if text.len() > limits.max_message_bytes {
                break Some(Refusal::MessageTooLarge);
            }
            let request: JsonPeerRequest = match text.as_str().parse() {
                Ok(r) => r,
                Err(_) => break Some(Refusal::ProtocolError),
            };
            match request {
                PeerRequest::Signal { receiver, data } => {
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
                PeerRequest::KeepAlive => {}
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
