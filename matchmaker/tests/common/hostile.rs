//! Hostile peers of the lobby's TCP shell and what they cost: connections
//! bound to a chosen loopback source address (on Linux every 127.x.y.z is
//! loopback), a member that joins and then never reads, and the process's
//! threads, file descriptors and resident memory from `/proc/self`.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use nearplay_matchmaker::lobby::client::{ClientEvent, ClientMachine, ClientTransmit, JoinConfig};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Threads, open file descriptors and resident memory of this process.
#[derive(Clone, Copy, Debug)]
pub struct ProcStats {
    /// Entries of `/proc/self/task`.
    pub threads: usize,
    /// Entries of `/proc/self/fd`.
    pub fds: usize,
    /// `VmRSS` of `/proc/self/status`, in KiB.
    pub rss_kib: u64,
}

impl ProcStats {
    /// Reads the figures now.
    pub fn now() -> ProcStats {
        let count = |dir: &str| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        ProcStats {
            threads: count("/proc/self/task"),
            fds: count("/proc/self/fd"),
            rss_kib,
        }
    }
}

/// The `i`-th attacker source address: 127.0.0.2, 127.0.0.3, ... (never
/// 127.0.0.1, which the real joiners use).
pub fn attacker_ip(i: usize) -> IpAddr {
    let n = 2 + (i % 250) as u8;
    IpAddr::V4(Ipv4Addr::new(127, 0, (i / 250) as u8, n))
}

/// A blocking TCP connection to `to` from source address `from` (port 0).
pub fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SockAddr::from(SocketAddr::new(from, 0)))?;
    socket.connect_timeout(&SockAddr::from(to), Duration::from_secs(5))?;
    Ok(socket.into())
}

/// A member driven by hand over a blocking socket, so a test can make it stop
/// reading after it joined.
pub struct RawMember {
    /// The connection to the host.
    pub stream: TcpStream,
    machine: ClientMachine,
    /// Our member id.
    pub id: u32,
}

impl RawMember {
    /// Connects from `from`, joins with `config` and returns once welcomed.
    pub fn join(
        from: IpAddr,
        host: SocketAddr,
        config: JoinConfig,
        limit: Duration,
    ) -> Result<RawMember, String> {
        let deadline = Instant::now() + limit;
        let mut stream = connect_from(from, host).map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let mut machine = ClientMachine::new(config, Instant::now());
        machine.handle_connected(Instant::now());
        let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(t) = machine.poll_transmit() {
                if let ClientTransmit::Send(frame) = t {
                    stream.write_all(&frame).map_err(|e| e.to_string())?;
                }
            }
            while let Some(ev) = machine.poll_event() {
                match ev {
                    ClientEvent::Joined { you, .. } => {
                        return Ok(RawMember {
                            stream,
                            machine,
                            id: you,
                        });
                    }
                    ClientEvent::JoinFailed(e) => return Err(e.to_string()),
                    _ => {}
                }
            }
            if Instant::now() > deadline {
                return Err("no welcome before the deadline".into());
            }
            match stream.read(&mut buf) {
                Ok(0) => return Err("host closed".into()),
                Ok(n) => machine.handle_data(Instant::now(), buf.get(..n).unwrap_or_default()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(e.to_string()),
            }
            machine.handle_timeout(Instant::now());
        }
    }

    /// Sends our ready flag (without reading anything).
    pub fn set_ready(&mut self, ready: bool) -> std::io::Result<()> {
        self.machine.set_ready(Instant::now(), ready);
        self.write_out()
    }

    /// Says `text` in the chat (without reading anything). Fails once the
    /// host has dropped the connection.
    pub fn chat(&mut self, text: &str) -> std::io::Result<()> {
        self.machine.chat(Instant::now(), text);
        self.write_out()
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        let _ = self
            .stream
            .set_write_timeout(Some(Duration::from_millis(500)));
        while let Some(t) = self.machine.poll_transmit() {
            if let ClientTransmit::Send(frame) = t {
                self.stream.write_all(&frame)?;
            }
        }
        Ok(())
    }
}

/// An attacker holding one silent connection from each of `addresses`
/// distinct source addresses, reopening each as soon as the host closes it
/// (a thread per address, blocked in `read`, so it reopens at once).
pub struct ChurningAttacker {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Connections that got the host's greeting (were accepted).
    pub greeted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Connections the host closed and the attacker reopened.
    pub reopened: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl ChurningAttacker {
    /// Starts the attacker's threads against `host`.
    pub fn start(host: SocketAddr, addresses: usize) -> ChurningAttacker {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let greeted = std::sync::Arc::new(AtomicUsize::new(0));
        let reopened = std::sync::Arc::new(AtomicUsize::new(0));
        let threads = (0..addresses)
            .map(|i| {
                let (s, g, r) = (stop.clone(), greeted.clone(), reopened.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while !s.load(Relaxed) {
                        let Ok(mut c) = connect_from(attacker_ip(i), host) else {
                            continue;
                        };
                        // The timeout only lets the thread see `stop`.
                        let _ = c.set_read_timeout(Some(Duration::from_millis(100)));
                        let mut seen = false;
                        while !s.load(Relaxed) {
                            match c.read(&mut buf) {
                                Ok(0) => break,
                                Ok(_) => {
                                    if !std::mem::replace(&mut seen, true) {
                                        g.fetch_add(1, Relaxed);
                                    }
                                }
                                Err(e)
                                    if matches!(
                                        e.kind(),
                                        ErrorKind::WouldBlock | ErrorKind::TimedOut
                                    ) => {}
                                Err(_) => break,
                            }
                        }
                        r.fetch_add(1, Relaxed);
                    }
                })
            })
            .collect();
        ChurningAttacker {
            stop,
            greeted,
            reopened,
            threads,
        }
    }
}

impl Drop for ChurningAttacker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
