//! The accept loop: every TCP connection takes a [`ConnectionPermit`] first
//! (a per-address and a total cap; without one it gets a short 429 and is
//! closed at once), then hyper serves it with a **header read timeout**: a
//! connection that does not send a complete request head within
//! `Limits::header_timeout` (the first one, or the next on a kept-alive
//! connection) is closed. Request heads are at most [`MAX_HEAD_BYTES`].
//! (`axum::serve` has neither: its hyper builder has no timer, so a silent
//! connection was never closed.)
//!
//! Shutdown: stop accepting, ask every HTTP connection to finish, and wait
//! until every connection task and websocket task has dropped its
//! `watch::Receiver` of the closing flag.

use std::io::ErrorKind;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use super::connections::{ConnectionPermit, client_key};
use super::state::Shared;
use crate::rendezvous::api::Refusal;

/// The largest request head (request line and headers) hyper buffers.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A pause after an accept error (out of file descriptors), so the loop
/// does not spin while connections drain.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// A TCP stream that holds its [`ConnectionPermit`] for as long as it lives
/// (through an upgrade to a websocket, too).
struct CountedStream {
    stream: TcpStream,
    _permit: ConnectionPermit,
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `stop` fires; returns when every
/// connection has ended (the caller bounds that wait).
pub async fn run(
    listener: TcpListener,
    router: Router,
    state: Shared,
    stop: oneshot::Receiver<()>,
) {
    let (closing, alive) = watch::channel(false);
    let router = router.layer(axum::Extension(alive.clone()));
    let header_timeout = state.lock().rooms.limits().header_timeout;
    let mut stop = stop;
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let permit = match state.connections().open(client_key(peer)) {
            Ok(permit) => permit,
            Err(r) => {
                state.lock().count(r);
                refuse_at_accept(&stream, r);
                continue;
            }
        };
        let io = TokioIo::new(CountedStream {
            stream,
            _permit: permit,
        });
        // The router as a hyper service that gives every request the
        // peer's address (axum's `ConnectInfo`).
        let inner = TowerToHyperService::new(router.clone());
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            inner.call(req)
        });
        let mut closed = alive.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(MAX_HEAD_BYTES);
            let conn = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { let _ = closed.wait_for(|c| *c).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    drop(router);
    drop(alive);
    let _ = closing.send(true);
    closing.closed().await;
}

/// A connection over its address's cap: one short 429 written without
/// waiting (dropped if the socket cannot take it now), then closed.
fn refuse_at_accept(stream: &TcpStream, r: Refusal) {
    let json = format!("{{\"error\":\"{}\",\"message\":\"{r}\"}}", r.kind());
    let answer = format!(
        "HTTP/1.1 {} Too Many Requests\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{json}",
        r.http_status(),
        json.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}
