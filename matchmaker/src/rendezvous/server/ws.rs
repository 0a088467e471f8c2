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

/// tungstenite's read chunk per websocket: what an idle peer costs most.
/// tungstenite zero-fills its read buffer up to this size before every read,
/// so every byte of it is resident for as long as the connection lives (its
/// default, 128 KiB, was 137 KiB per idle peer; 16 KiB was 21 KiB). Signaling
/// messages are small (a keep-alive 11 bytes, an ICE candidate ~200, an SDP
/// offer 1-4 KiB): a larger one makes the buffer grow to its announced
/// length (bounded by `max_message_bytes`) and is read in a few chunks.
pub const READ_BUFFER: usize = 1024;

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
        .read_buffer_size(READ_BUFFER.min(max))
        .write_buffer_size(0)
        .max_write_buffer_size(4 * max.max(16 * 1024))
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
