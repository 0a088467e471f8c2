//! `GET /` and `GET /{room}`: the websocket upgrade, served here rather than
//! by matchbox_signaling's router, which keeps tungstenite's defaults (a
//! 64 MiB message, a 16 MiB frame) and checks a size only on finished
//! messages. Here tungstenite itself stops reading at
//! `Limits::max_message_bytes`, per frame and per message, so a message
//! that never ends costs at most that much.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Extension, Path, Query};
use axum::response::Response;
use matchbox_protocol::PeerId;
use tokio::sync::watch;
use uuid::Uuid;

use super::http::admit_upgrade;
use super::state::Shared;
use super::topology::run_peer;

/// tungstenite's read chunk per websocket (its default is 128 KiB; signaling
/// messages are a few KiB).
const READ_BUFFER: usize = 16 * 1024;

/// The upgrade of `GET /{room}` (or `/`, the stock room "world").
pub async fn upgrade(
    ws: WebSocketUpgrade,
    path: Option<Path<String>>,
    Query(query): Query<HashMap<String, String>>,
    Extension(state): Extension<Shared>,
    Extension(alive): Extension<watch::Receiver<bool>>,
    ConnectInfo(origin): ConnectInfo<SocketAddr>,
) -> Response {
    let req = match admit_upgrade(&state, origin, path.map(|p| p.0), &query) {
        Ok(req) => req,
        Err(refusal) => return refusal,
    };
    let max = state.lock().rooms.limits().max_message_bytes.max(1);
    let peer_id = PeerId(new_peer_id());
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER.min(max.max(4096)))
        .write_buffer_size(0)
        .max_write_buffer_size(4 * max.max(READ_BUFFER))
        .on_upgrade(move |socket| run_peer(peer_id, req, socket, state, alive))
}

/// A random (version 4) peer id, as matchbox gives.
fn new_peer_id() -> Uuid {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes.copy_from_slice(&blake3::hash(&t.to_le_bytes()).as_bytes()[..16]);
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}
