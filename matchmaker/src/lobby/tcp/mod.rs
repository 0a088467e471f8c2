//! The TCP shell: blocking std sockets on background threads, driving the
//! sans-IO cores, behind a non-blocking API a game loop calls every frame.
//!
//! - [`LobbyHost`]: binds the lobby port (TCP, plus UDP on the same port
//!   number for liveness pings), advertises it, runs the [`HostMachine`](super::host::HostMachine).
//! - [`LobbyClient`]: connects to a lobby and runs the [`ClientMachine`](super::client::ClientMachine).
//!
//! No async runtime: each connection has a reader thread, and one driver
//! thread per lobby owns the state machine, writes, and wakes on its timers.

mod client;
mod host;

pub use client::LobbyClient;
pub use host::{HostOptions, LobbyHost};

use std::io::Read;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use crate::lan::LanError;
use crate::lobby::host::StartError;

/// Errors of the TCP shell.
#[derive(Debug, thiserror::Error)]
pub enum LobbyError {
    /// A socket operation failed.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    /// Advertising the lobby failed.
    #[error("advertising failed: {0}")]
    Lan(#[from] LanError),
    /// The host refused to start.
    #[error("cannot start: {0}")]
    Start(#[from] StartError),
    /// The background thread has ended (lobby closed or started).
    #[error("the lobby is no longer running")]
    Stopped,
}

/// How long a blocked read waits before checking whether to stop.
const READ_POLL: Duration = Duration::from_millis(200);

/// Reads `stream` until EOF, an error, or `stop`, handing each chunk to
/// `on_data` and the end to `on_end`. Runs on its own thread.
fn spawn_reader<T: Send + 'static>(
    mut stream: TcpStream,
    stop: Arc<AtomicBool>,
    tx: Sender<T>,
    on_data: impl Fn(Vec<u8>) -> T + Send + 'static,
    on_end: T,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_POLL))?;
    std::thread::Builder::new()
        .name("nearplay-lobby-read".into())
        .spawn(move || {
            let mut buf = vec![0u8; 8192];
            loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let chunk = buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default();
                        if tx.send(on_data(chunk)).is_err() {
                            return;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock
                                | std::io::ErrorKind::TimedOut
                                | std::io::ErrorKind::Interrupted
                        ) => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(on_end);
        })?;
    Ok(())
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

/// Where to connect to wake the blocked `accept` on close.
pub(super) fn wake_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) if v6.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        IpAddr::V4(v4) if v4.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        _ => addr,
    }
}
