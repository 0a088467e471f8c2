//! [`LobbyHost`]: the host's TCP shell.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nearplay_netcode::MatchPlan;

use super::{LobbyError, READ_POLL, bind_pair, spawn_reader, wake_addr};
use crate::lan::liveness::answer_ping;
use crate::lan::{Advertisement, Discovery, LobbyTxt};
use crate::lobby::host::{ConnId, HostConfig, HostEvent, HostMachine, HostTransmit};
use crate::lobby::message::{MemberId, RosterEntry};
use crate::lobby::rng::SeededRng;

/// Where and how a [`LobbyHost`] listens and advertises.
#[derive(Clone, Debug, Default)]
pub struct HostOptions {
    /// Address to bind the lobby port on. Default `None`: `[::]` (dual stack),
    /// falling back to `0.0.0.0`.
    pub bind: Option<IpAddr>,
    /// Advertise the lobby over mDNS on this daemon. Default `None`.
    pub discovery: Option<Discovery>,
    /// Game-defined TXT keys added to the record.
    pub txt_extras: Vec<(String, String)>,
}

enum Input {
    Accepted(TcpStream, SocketAddr, SocketAddr),
    Data(ConnId, Vec<u8>),
    Eof(ConnId),
    SetReady(bool),
    Chat(String),
    Kick(MemberId),
    Start(Sender<Result<MatchPlan, LobbyError>>),
    Close,
}

/// A hosted lobby: call [`poll`](Self::poll) every frame.
///
/// Dropping it closes the lobby (members get `LobbyClosed`).
pub struct LobbyHost {
    tx: Sender<Input>,
    events: Receiver<HostEvent>,
    addr: SocketAddr,
    roster: Arc<Mutex<Vec<RosterEntry>>>,
    /// Discovery handle and registered full name, to read the current name.
    advertised: Option<(Discovery, String, String)>,
}

impl std::fmt::Debug for LobbyHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LobbyHost")
            .field("addr", &self.addr)
            .finish()
    }
}

impl LobbyHost {
    /// Binds the lobby port, starts the threads, and advertises the lobby if
    /// `options.discovery` is set.
    pub fn open(config: HostConfig, options: HostOptions) -> Result<LobbyHost, LobbyError> {
        let (listener, udp) = bind_pair(options.bind)?;
        let addr = listener.local_addr()?;
        let advert = match &options.discovery {
            Some(d) => {
                let txt = LobbyTxt::for_host(&config, 1, &options.txt_extras);
                Some(d.advertise(&config.lobby_name, addr.port(), &txt)?)
            }
            None => None,
        };
        let advertised = match (&advert, &options.discovery) {
            (Some(a), Some(d)) => Some((d.clone(), a.fullname().to_string(), a.instance_name())),
            _ => None,
        };
        let (tx, rx) = mpsc::channel();
        let (etx, events) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        spawn_acceptor(listener, tx.clone(), stop.clone())?;
        spawn_pinger(udp, stop.clone())?;
        let machine = HostMachine::new(config, SeededRng::from_os().bytes32());
        let roster = Arc::new(Mutex::new(machine.roster()));
        let driver = Driver {
            machine,
            rx,
            tx: tx.clone(),
            events: etx,
            conns: HashMap::new(),
            next_conn: 0,
            advert,
            extras: options.txt_extras,
            advertised_players: 1,
            roster: roster.clone(),
            stop,
            wake_addr: wake_addr(addr),
        };
        std::thread::Builder::new()
            .name("nearplay-lobby-host".into())
            .spawn(move || driver.run())?;
        Ok(LobbyHost {
            tx,
            events,
            addr,
            roster,
            advertised,
        })
    }

    /// The next lobby event, if any (non-blocking).
    pub fn poll(&self) -> Option<HostEvent> {
        self.events.try_recv().ok()
    }

    /// The lobby's TCP address (port shared with the UDP ping responder).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The DNS-SD instance name actually advertised: with a suffix if the
    /// name was taken, and updated if mDNS probing renamed it after a
    /// conflict with a host this process had not seen (about 1 s after open).
    pub fn instance_name(&self) -> Option<String> {
        let (d, fullname, instance) = self.advertised.as_ref()?;
        Some(
            d.current_instance(fullname)
                .unwrap_or_else(|| instance.clone()),
        )
    }

    /// The latest roster, host first.
    pub fn roster(&self) -> Vec<RosterEntry> {
        self.roster.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Sets the host player's ready flag.
    pub fn set_ready(&self, ready: bool) {
        let _ = self.tx.send(Input::SetReady(ready));
    }

    /// Says something in the chat.
    pub fn chat(&self, text: &str) {
        let _ = self.tx.send(Input::Chat(text.to_string()));
    }

    /// Removes a member.
    pub fn kick(&self, id: MemberId) {
        let _ = self.tx.send(Input::Kick(id));
    }

    /// Starts the match and returns the host's plan; every member receives
    /// its copy. Fails if someone is not ready. Waits for the driver thread
    /// (microseconds; at most one second).
    pub fn start(&self) -> Result<MatchPlan, LobbyError> {
        let (rtx, rrx) = mpsc::channel();
        self.tx
            .send(Input::Start(rtx))
            .map_err(|_| LobbyError::Stopped)?;
        rrx.recv_timeout(Duration::from_secs(1))
            .map_err(|_| LobbyError::Stopped)?
    }

    /// Closes the lobby.
    pub fn close(&self) {
        let _ = self.tx.send(Input::Close);
    }
}

impl Drop for LobbyHost {
    fn drop(&mut self) {
        self.close();
    }
}

fn spawn_acceptor(
    listener: TcpListener,
    tx: Sender<Input>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("nearplay-lobby-accept".into())
        .spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                if tx.send(Input::Accepted(stream, peer, local)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

fn spawn_pinger(udp: UdpSocket, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    udp.set_read_timeout(Some(READ_POLL))?;
    std::thread::Builder::new()
        .name("nearplay-lobby-ping".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, from)) = udp.recv_from(&mut buf)
                    && let Some(pong) = buf.get(..n).and_then(answer_ping)
                {
                    let _ = udp.send_to(&pong, from);
                }
            }
        })?;
    Ok(())
}

struct ConnIo {
    writer: TcpStream,
    stop: Arc<AtomicBool>,
}

struct Driver {
    machine: HostMachine,
    rx: Receiver<Input>,
    tx: Sender<Input>,
    events: Sender<HostEvent>,
    conns: HashMap<ConnId, ConnIo>,
    next_conn: u64,
    advert: Option<Advertisement>,
    extras: Vec<(String, String)>,
    advertised_players: usize,
    roster: Arc<Mutex<Vec<RosterEntry>>>,
    stop: Arc<AtomicBool>,
    wake_addr: SocketAddr,
}

impl Driver {
    fn run(mut self) {
        let mut finished = false;
        while !finished {
            let now = Instant::now();
            let wait = self
                .machine
                .poll_timeout()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(Duration::from_secs(1));
            match self.rx.recv_timeout(wait) {
                Ok(input) => self.handle(input),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.machine.close(Instant::now()),
            }
            self.machine.handle_timeout(Instant::now());
            finished = self.flush();
        }
        self.shutdown();
    }

    fn handle(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Accepted(stream, peer, local) => {
                let id = ConnId(self.next_conn);
                self.next_conn += 1;
                let stop = Arc::new(AtomicBool::new(false));
                let reader = stream.try_clone();
                match reader {
                    Ok(reader) => {
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
                        let ok = spawn_reader(
                            reader,
                            stop.clone(),
                            self.tx.clone(),
                            move |d| Input::Data(id, d),
                            Input::Eof(id),
                        );
                        if ok.is_ok() {
                            self.conns.insert(
                                id,
                                ConnIo {
                                    writer: stream,
                                    stop,
                                },
                            );
                            self.machine.handle_connect(now, id, peer, local);
                        }
                    }
                    Err(_) => drop(stream),
                }
            }
            Input::Data(id, bytes) => self.machine.handle_data(now, id, &bytes),
            Input::Eof(id) => {
                if let Some(io) = self.conns.remove(&id) {
                    io.stop.store(true, Ordering::Relaxed);
                }
                self.machine.handle_disconnect(now, id);
            }
            Input::SetReady(r) => self.machine.set_ready(now, r),
            Input::Chat(text) => self.machine.chat(now, &text),
            Input::Kick(id) => {
                self.machine.kick(now, id);
            }
            Input::Start(reply) => {
                let _ = reply.send(self.machine.start(now).map_err(LobbyError::from));
            }
            Input::Close => self.machine.close(now),
        }
    }

    /// Performs queued writes and closes, forwards events. `true` once the
    /// lobby has ended (started or closed).
    fn flush(&mut self) -> bool {
        while let Some(t) = self.machine.poll_transmit() {
            match t {
                HostTransmit::Send { conn, frame } => {
                    let failed = match self.conns.get_mut(&conn) {
                        Some(io) => io.writer.write_all(&frame).is_err(),
                        None => false,
                    };
                    if failed {
                        let _ = self.tx.send(Input::Eof(conn));
                    }
                }
                HostTransmit::Close { conn } => {
                    if let Some(io) = self.conns.get(&conn) {
                        let _ = io.writer.shutdown(std::net::Shutdown::Write);
                    }
                }
            }
        }
        let mut ended = false;
        while let Some(event) = self.machine.poll_event() {
            match &event {
                HostEvent::RosterChanged(roster) => {
                    if let Ok(mut r) = self.roster.lock() {
                        r.clone_from(roster);
                    }
                    // Re-announce only when the record changes (not on ready
                    // toggles): each announcement is a multicast burst.
                    let players = roster.len();
                    if let Some(ad) = &mut self.advert
                        && players != self.advertised_players
                    {
                        let txt = LobbyTxt::for_host(self.machine.config(), players, &self.extras);
                        if ad.update(&txt).is_ok() {
                            self.advertised_players = players;
                        }
                    }
                }
                HostEvent::Started(_) | HostEvent::Closed => ended = true,
                _ => {}
            }
            let _ = self.events.send(event);
        }
        ended
    }

    fn shutdown(mut self) {
        if let Some(ad) = self.advert.take() {
            ad.unregister();
        }
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect_timeout(&self.wake_addr, Duration::from_millis(200));
        for io in self.conns.values() {
            io.stop.store(true, Ordering::Relaxed);
        }
    }
}
