//! The rendezvous server (feature `server`): matchbox signaling in rooms by
//! code, the public lobby list, limits with clear refusals, graceful shutdown.
//!
//! | file | job |
//! |---|---|
//! | `limits.rs` | [`Limits`], [`TokenBucket`] (pure) |
//! | `buckets.rs` | [`AddressBuckets`]: request rate per address, bounded, evicts without forgiving (pure) |
//! | `rooms.rs` | [`Rooms`]: every admission decision (pure, fake clock in tests) |
//! | `connections.rs` | [`Connections`]: open connections per address and in all |
//! | `fd_limit.rs` | [`raise_fd_limit`]: one file descriptor per connection |
//! | `state.rs` | [`Shared`]: rooms + websocket outboxes + counters behind a lock |
//! | `serve.rs` | the accept loop: connection caps, header read timeout, shutdown |
//! | `ws.rs` | the websocket upgrade, with the size limit applied while reading |
//! | `topology.rs` | [`run_peer`]: one task per websocket, limits enforced |
//! | `http.rs` | `POST /rooms`, `GET /rooms/{code}`, `GET /lobbies`, `GET /health` |
//!
//! It speaks matchbox's signaling protocol (`matchbox_protocol`), so stock
//! matchbox clients work, but it does not run on `matchbox_signaling`'s
//! server: that one builds its own listener and websocket upgrade and
//! exposes none of the limits above.
//!
//! [`RendezvousServer::start`] runs it on a tokio runtime of its own, so a
//! test or a tool can start one without being async itself; the binary
//! `nearplay-rendezvous` is a thin CLI around it.

pub mod buckets;
pub mod connections;
pub mod fd_limit;
pub mod http;
pub mod limits;
pub mod rooms;
pub mod serve;
pub mod state;
pub mod topology;
pub mod ws;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use thiserror::Error;
use tokio::sync::oneshot;

use crate::rendezvous::api::Refusal;

pub use buckets::AddressBuckets;
pub use connections::{ConnectionPermit, Connections, client_key};
pub use fd_limit::raise_fd_limit;
pub use limits::{Limits, TokenBucket};
pub use rooms::{PeerKey, Requested, Rooms};
pub use state::Shared;
pub use topology::run_peer;

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The runtime or the listening socket could not be set up.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running rendezvous server with its own runtime.
#[derive(Debug)]
pub struct RendezvousServer {
    addr: SocketAddr,
    state: Shared,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
}

impl RendezvousServer {
    /// Binds `addr` (port 0 for an ephemeral port) and serves on `threads`
    /// runtime worker threads until [`shutdown`](Self::shutdown) or drop.
    pub fn start(addr: SocketAddr, limits: Limits, threads: usize) -> Result<Self, ServerError> {
        let bind_err = |source| ServerError::Bind { addr, source };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("nearplay-rendezvous")
            .enable_all()
            .build()
            .map_err(bind_err)?;
        let std_listener = std::net::TcpListener::bind(addr).map_err(bind_err)?;
        std_listener.set_nonblocking(true).map_err(bind_err)?;
        let bound = std_listener.local_addr().map_err(bind_err)?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener).map_err(bind_err)?
        };
        let state = Shared::new(limits);
        let (shutdown, stop) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let serving = state.clone();
        let router = routes(state.clone());
        runtime.spawn(async move {
            serve::run(listener, router, serving, stop).await;
            let _ = done_tx.send(());
        });
        let expiring = state.clone();
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                for code in expiring.lock().rooms.expire(Instant::now()) {
                    tracing::info!(%code, "unjoined room expired");
                }
            }
        });
        tracing::info!(addr = %bound, "nearplay-rendezvous listening");
        Ok(RendezvousServer {
            addr: bound,
            state,
            runtime: Some(runtime),
            shutdown: Some(shutdown),
            done: Some(done),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (counters, rooms), e.g. for tests.
    pub fn state(&self) -> &Shared {
        &self.state
    }

    /// Graceful shutdown: refuse new rooms and peers, close every websocket
    /// with `server_closing`, stop listening, and wait (at most `grace`) for
    /// the connections to end.
    pub fn shutdown(&mut self, grace: Duration) {
        self.state.lock().close_all();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let (Some(rt), Some(done)) = (self.runtime.as_ref(), self.done.take()) {
            rt.block_on(async {
                let _ = tokio::time::timeout(grace, done).await;
            });
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully (see
    /// [`shutdown`](Self::shutdown)).
    pub fn serve_until_signal(&mut self, grace: Duration) {
        if let Some(rt) = self.runtime.as_ref() {
            rt.block_on(async {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{SignalKind, signal};
                    match signal(SignalKind::terminate()) {
                        Ok(mut term) => {
                            tokio::select! {
                                _ = term.recv() => {}
                                _ = tokio::signal::ctrl_c() => {}
                            }
                        }
                        Err(_) => {
                            let _ = tokio::signal::ctrl_c().await;
                        }
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = tokio::signal::ctrl_c().await;
                }
            });
        }
        tracing::info!("shutting down: closing every connection with server_closing");
        self.shutdown(grace);
    }

    /// Blocks until the server stops (after [`shutdown`](Self::shutdown) from
    /// another handle, or an error).
    pub fn wait(&mut self) {
        if let (Some(rt), Some(done)) = (self.runtime.as_ref(), self.done.take()) {
            rt.block_on(async {
                let _ = done.await;
            });
        }
    }
}

/// Every route: the HTTP API, and the websocket upgrade on any other path.
/// A request (its body included) must be answered within the header
/// timeout: a client that sends its head and then trickles, or withholds,
/// a body gets `408` instead of holding the connection.
fn routes(state: Shared) -> Router {
    let deadline = state.lock().rooms.limits().header_timeout;
    Router::new()
        .route("/", get(ws::upgrade))
        .route("/{path}", get(ws::upgrade))
        .route("/rooms", post(http::create_room))
        .route("/quickmatch", post(http::quick_match))
        .route("/rooms/{code}", get(http::room_info))
        .route("/lobbies", get(http::lobbies))
        .route("/health", get(http::health))
        .layer(DefaultBodyLimit::max(http::MAX_BODY))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(deadline, next.run(req)).await {
                    Ok(response) => response,
                    Err(_) => http::refuse(
                        Refusal::HandshakeTimeout,
                        "the request was not complete in time".into(),
                    ),
                }
            },
        ))
        .layer(axum::Extension(state))
}

impl Drop for RendezvousServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
