//! The HTTP side: `POST /rooms`, `GET /rooms/{code}`, `GET /lobbies`,
//! `GET /health`, and the admission of websocket upgrades. Every refusal is
//! a JSON [`ErrorBody`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::connections::client_key;
use super::rooms::Requested;
use super::state::{Inner, Shared};
use crate::rendezvous::api::{ErrorBody, QuickMatch, Refusal, RoomCreated, RoomRequest};
use crate::rendezvous::code::RoomCode;

/// The largest `POST /rooms` body accepted (also the router's body limit,
/// so a longer body is refused while it is read).
pub const MAX_BODY: usize = 4096;

/// A refusal as an HTTP answer.
pub fn refuse(r: Refusal, message: String) -> Response {
    let status = StatusCode::from_u16(r.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(ErrorBody { error: r, message })).into_response()
}

/// The checks every `RoomRequest` body passes first: the sender's request
/// rate, then the body's size and shape (refusals are counted).
fn admit_room_request(
    s: &mut Inner,
    origin: SocketAddr,
    body: &[u8],
    now: Instant,
) -> Result<RoomRequest, (Refusal, &'static str)> {
    s.http_allow(client_key(origin), now)
        .map_err(|r| (r, "too many requests from this address"))?;
    match serde_json::from_slice(body) {
        Ok(r) if body.len() <= MAX_BODY => Ok(r),
        _ => {
            s.count(Refusal::BadRequest);
            Err((Refusal::BadRequest, "body is not a RoomRequest"))
        }
    }
}

/// `POST /rooms`: a host creates a code room.
pub async fn create_room(
    Extension(state): Extension<Shared>,
    ConnectInfo(origin): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let now = Instant::now();
    let mut s = state.lock();
    let request = match admit_room_request(&mut s, origin, &body, now) {
        Ok(request) => request,
        Err((r, why)) => return refuse(r, why.into()),
    };
    match s
        .rooms
        .create(request, client_key(origin), now, RoomCode::random)
    {
        Ok(code) => {
            tracing::info!(%code, %origin, "room created");
            (StatusCode::CREATED, Json(RoomCreated { code })).into_response()
        }
        Err(r) => {
            s.count(r);
            refuse(r, format!("cannot create a room: {r}"))
        }
    }
}

/// `POST /quickmatch`: a public room with a free seat, or a new one.
pub async fn quick_match(
    Extension(state): Extension<Shared>,
    ConnectInfo(origin): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let now = Instant::now();
    let mut s = state.lock();
    let request = match admit_room_request(&mut s, origin, &body, now) {
        Ok(request) => request,
        Err((r, why)) => return refuse(r, why.into()),
    };
    match s
        .rooms
        .quick_match(request, client_key(origin), now, RoomCode::random)
    {
        Ok((code, host)) => Json(QuickMatch { code, host }).into_response(),
        Err(r) => {
            s.count(r);
            refuse(r, format!("no quick match: {r}"))
        }
    }
}

/// `GET /rooms/{code}`: a room's public view (rate-limited per address, so
/// codes cannot be enumerated).
pub async fn room_info(
    Extension(state): Extension<Shared>,
    ConnectInfo(origin): ConnectInfo<SocketAddr>,
    Path(code): Path<String>,
) -> Response {
    let mut s = state.lock();
    if let Err(r) = s.http_allow(client_key(origin), Instant::now()) {
        return refuse(r, "too many requests from this address".into());
    }
    let Ok(code) = code.parse::<RoomCode>() else {
        s.count(Refusal::RoomNotFound);
        return refuse(
            Refusal::RoomNotFound,
            format!("'{code}' is not a room code"),
        );
    };
    match s.rooms.info(code) {
        Ok(info) => Json(info).into_response(),
        Err(r) => {
            s.count(r);
            refuse(r, format!("room {code}: {r}"))
        }
    }
}

/// `GET /lobbies?game=G&proto=P&after=CODE`: one page of the public rooms
/// of a game (rate-limited per address like every look-up).
pub async fn lobbies(
    Extension(state): Extension<Shared>,
    ConnectInfo(origin): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = state.lock();
    if let Err(r) = s.http_allow(client_key(origin), Instant::now()) {
        return refuse(r, "too many requests from this address".into());
    }
    let Some(game) = q.get("game") else {
        return refuse(Refusal::BadRequest, "missing ?game=".into());
    };
    let proto = match q.get("proto").map(|p| p.parse::<u16>()) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => return refuse(Refusal::BadRequest, "proto is not a number".into()),
    };
    let after = match q.get("after").map(|c| c.parse::<RoomCode>()) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => return refuse(Refusal::BadRequest, "after is not a room code".into()),
    };
    Json(s.rooms.lobbies(game, proto, after)).into_response()
}

/// `GET /health`.
pub async fn health(Extension(state): Extension<Shared>) -> Response {
    Json(state.health()).into_response()
}

/// Before a websocket upgrade: the room asked for, or the refusal as an
/// answer with its JSON body.
#[allow(clippy::result_large_err)]
pub fn admit_upgrade(
    state: &Shared,
    origin: SocketAddr,
    path: Option<String>,
    query: &HashMap<String, String>,
) -> Result<Requested, Response> {
    let mut s = state.lock();
    if let Err(r) = s.http_allow(client_key(origin), Instant::now()) {
        return Err(refuse(r, "too many connections from this address".into()));
    }
    let req = Requested {
        path: path.unwrap_or_else(|| "world".into()),
        next: query.get("next").and_then(|n| n.parse::<u16>().ok()),
        from: client_key(origin),
    };
    match s.rooms.admit(&req) {
        Ok(()) => Ok(req),
        Err(r) => {
            s.count(r);
            tracing::info!(origin = %origin, room = %req.path, refusal = r.kind(), "upgrade refused");
            Err(refuse(r, format!("room {}: {r}", req.path)))
        }
    }
}
