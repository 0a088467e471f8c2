//! The TCP shell: non-blocking sockets on one event loop per lobby (mio),
//! driving the sans-IO cores, behind a non-blocking API a game loop calls
//! every frame.
//!
//! - [`LobbyHost`]: binds the lobby port (TCP, plus UDP on the same port
//!   number for liveness pings), advertises it, runs the
//!   [`HostMachine`](super::host::HostMachine) on one thread: accepts, reads,
//!   writes and pings are all readiness events of one `mio::Poll`, so a
//!   connection costs one file descriptor and no thread.
//! - [`LobbyClient`]: connects to a lobby and runs the
//!   [`ClientMachine`](super::client::ClientMachine) on one thread.
//!
//! Everything the network can grow is bounded here: connections awaiting
//! their hello per address and in total, open connections in total
//! (`admission.rs`), bytes read per wake-up, bytes queued for writing per
//! connection (`outbox.rs`; a member whose queue overflows is dropped as too
//! slow), and what a closed connection may still send (read and discarded up
//! to a limit for a short linger, then the socket is dropped).
//!
//! Files: `host.rs` (the [`LobbyHost`] handle), `host_loop/` (its event
//! loop; `io.rs` there: per-connection reads, writes and closes),
//! `admission.rs` (who gets a connection slot), `outbox.rs` (bounded
//! write queue and bounded reads), `client.rs` ([`LobbyClient`]).

mod admission;
mod client;
mod host;
mod host_loop;
mod outbox;

pub use admission::{MAX_PENDING_PER_ADDRESS, OPEN_CONNECTION_SLACK};
pub use client::{LobbyClient, MAX_QUEUED_CLIENT_EVENTS};
pub use host::{HostOptions, LobbyHost};
pub use outbox::MAX_QUEUED_BYTES;

use std::net::{IpAddr, Ipv6Addr, TcpListener, UdpSocket};

use crate::lan::LanError;
use crate::lobby::host::StartRefused;

/// Errors of the TCP shell.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// A socket operation failed.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    /// Advertising the lobby failed.
    #[error("advertising failed: {0}")]
    Lan(#[from] LanError),
    /// The host refused to start.
    #[error("cannot start: {0}")]
    Start(#[from] StartRefused),
    /// The background thread has ended (lobby closed or started).
    #[error("the lobby is no longer running")]
    Stopped,
}

/// Binds TCP and UDP on one port number (retrying if UDP's is taken).
pub(super) fn bind_pair(bind: Option<IpAddr>) -> std::io::Result<(TcpListener, UdpSocket)> {
    let ips = match bind {
        Some(ip) => vec![ip],
        None => vec![
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::from([0, 0, 0, 0]),
        ],
    };
    let mut last = std::io::Error::other("no address to bind");
    for ip in ips {
        for _ in 0..16 {
            match TcpListener::bind((ip, 0)) {
                Ok(l) => {
                    let port = l.local_addr()?.port();
                    match UdpSocket::bind((ip, port)) {
                        Ok(u) => return Ok((l, u)),
                        Err(e) => last = e,
                    }
                }
                Err(e) => {
                    last = e;
                    break;
                }
            }
        }
    }
    Err(last)
}
