//! The host's event loop: one thread and one `mio::Poll` for the listener,
//! every connection, the UDP ping responder and the handle's wake-ups.
//!
//! Each turn: note which sockets are ready, read (a budget per connection),
//! then accept (through admission control, so a joiner's offer already
//! received is answered before any newcomer could evict its connection),
//! answer pings, run the machine's
//! timers, move the machine's frames into each connection's bounded outbox,
//! write what the sockets take, and drop what is finished. Nothing here
//! blocks: a member that stops reading fills only its own outbox, and is
//! dropped as too slow when that overflows.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};

mod io;

use super::admission::{Caps, Room, Slot, SlotKind, address_full, room};
use super::host::{SharedMachine, lock};
use super::outbox::{Outbox, READ_CHUNK};
use crate::lan::liveness::answer_ping;
use crate::lan::{Advertisement, LobbyStage, LobbyTxt};
use crate::lobby::host::{ConnId, HostMachine, MAX_PENDING_HELLOS};

/// The handle's wake-ups (a game call queued something to write).
pub(super) const WAKER: Token = Token(0);
const LISTENER: Token = Token(1);
const PING: Token = Token(2);
const FIRST_CONN: usize = 3;

/// Connections accepted per turn; the rest wait for the next turn.
const ACCEPT_BUDGET: usize = 64;
/// Ping datagrams answered per turn.
const PING_BUDGET: usize = 64;
/// How long a connection the host closed may linger to deliver its last
/// frames (a reject, the plan) and see the peer's goodbye.
const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// Bytes a closed connection may still send while it lingers; they are read
/// and discarded (never buffered), and past this the socket is dropped.
const CLOSE_DISCARD_LIMIT: usize = 64 * 1024;
/// After the lobby closed, how long the loop keeps
/// delivering the last frames before it drops every socket.
pub(super) const END_LINGER: Duration = Duration::from_secs(2);
/// The kernel's send buffer per connection (a fixed size also stops the
/// kernel from growing it for a peer that never reads).
const SEND_BUFFER: usize = 64 * 1024;
/// Longest sleep with no timer due (a wake-up cuts it short).
const IDLE_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug)]
enum IoState {
    Open,
    Closing {
        until: Instant,
        shut: bool,
        discarded: usize,
    },
}

struct ConnIo {
    stream: TcpStream,
    ip: IpAddr,
    opened: Instant,
    outbox: Outbox,
    /// Readiness seen and not yet read to `WouldBlock` (mio is edge-triggered).
    readable: bool,
    state: IoState,
}

/// The lobby's thread: owns every socket, shares the machine with the handle.
pub(super) struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    udp: UdpSocket,
    machine: SharedMachine,
    conns: BTreeMap<ConnId, ConnIo>,
    next_conn: u64,
    caps: Caps,
    advert: Option<Advertisement>,
    extras: Vec<(String, String)>,
    /// What the TXT says now: members present, stage, vacant seats.
    advertised: (usize, LobbyStage, Vec<String>),
    accept_ready: bool,
    /// Admission had no room at the last try: newcomers wait in the accept
    /// queue until this time (a connection turns stale) or a table change.
    accept_full: Option<Option<Instant>>,
    ping_ready: bool,
    ended: Option<Instant>,
    buf: Vec<u8>,
}

impl EventLoop {
    pub(super) fn new(
        poll: Poll,
        listener: std::net::TcpListener,
        udp: std::net::UdpSocket,
        machine: SharedMachine,
        advert: Option<Advertisement>,
        extras: Vec<(String, String)>,
    ) -> std::io::Result<EventLoop> {
        listener.set_nonblocking(true)?;
        udp.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let mut udp = UdpSocket::from_std(udp);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        poll.registry()
            .register(&mut udp, PING, Interest::READABLE)?;
        let caps = Caps::new(lock(&machine).config().max_players, MAX_PENDING_HELLOS);
        Ok(EventLoop {
            poll,
            listener,
            udp,
            machine,
            conns: BTreeMap::new(),
            next_conn: 0,
            caps,
            advert,
            extras,
            advertised: (1, LobbyStage::Open, Vec::new()),
            accept_ready: true,
            accept_full: None,
            ping_ready: true,
            ended: None,
            buf: vec![0; READ_CHUNK],
        })
    }

    /// Runs until the lobby has ended and its last frames are delivered.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            let wait = self.wait_time();
            if let Err(e) = self.poll.poll(&mut events, Some(wait))
                && e.kind() != ErrorKind::Interrupted
            {
                break;
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_ready = true,
                    PING => self.ping_ready = true,
                    WAKER => {}
                    Token(t) => {
                        let id = t.checked_sub(FIRST_CONN).map(|i| ConnId(i as u64));
                        if let Some(c) = id.and_then(|id| self.conns.get_mut(&id))
                            && (ev.is_readable() || ev.is_read_closed() || ev.is_error())
                        {
                            c.readable = true;
                        }
                    }
                }
            }
            if self.turn() {
                break;
            }
        }
        if let Some(ad) = self.advert.take() {
            ad.unregister();
        }
    }

    /// One turn of the loop; `true` when it is time to stop.
    fn turn(&mut self) -> bool {
        let machine = self.machine.clone();
        let mut m = lock(&machine);
        let now = Instant::now();
        self.read(&mut m, now);
        if self.ended.is_none() {
            self.accept(&mut m, now);
        }
        self.answer_pings();
        m.handle_timeout(now);
        loop {
            self.take_transmits(&mut m, now);
            self.write(&mut m, now);
            if !self.reap(&mut m, now) {
                break;
            }
        }
        self.update_advert(&m);
        if self.ended.is_none() && !m.is_running() {
            self.ended = Some(now);
            self.accept_ready = false;
            let _ = self.poll.registry().deregister(&mut self.listener);
        }
        self.ended
            .is_some_and(|t| self.conns.is_empty() || now >= t + END_LINGER)
    }

    fn wait_time(&self) -> Duration {
        let accept_now = self.accept_ready && self.accept_full.is_none();
        let busy = accept_now || self.ping_ready || self.conns.values().any(|c| c.readable);
        if busy {
            return Duration::ZERO;
        }
        let mut next = lock(&self.machine).poll_timeout();
        if let Some(Some(until)) = self.accept_full {
            next = Some(next.map_or(until, |n| n.min(until)));
        }
        for c in self.conns.values() {
            if let IoState::Closing { until, .. } = c.state {
                next = Some(next.map_or(until, |n| n.min(until)));
            }
        }
        if let Some(t) = self.ended {
            let end = t + END_LINGER;
            next = Some(next.map_or(end, |n| n.min(end)));
        }
        next.map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(IDLE_WAIT)
            .min(IDLE_WAIT)
    }

    fn accept(&mut self, m: &mut HostMachine, now: Instant) {
        self.accept_full = None;
        if !self.accept_ready {
            return;
        }
        for _ in 0..ACCEPT_BUDGET {
            let slots = self.slots(m);
            let evict = match room(&slots, self.caps, now) {
                Room::Free => None,
                Room::Evict(old) => Some(old),
                Room::Full { until } => {
                    // Leave newcomers queued (first in, first out) rather
                    // than evict a connection still within its grace.
                    self.accept_full = Some(until);
                    return;
                }
            };
            match self.listener.accept() {
                Ok((stream, _)) => self.admit(m, now, stream, &slots, evict),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // WouldBlock: all taken. Anything else (out of file
                // descriptors): wait for the next connection's event.
                Err(_) => {
                    self.accept_ready = false;
                    return;
                }
            }
        }
    }

    /// The open connections as admission control sees them.
    fn slots(&self, m: &HostMachine) -> Vec<Slot> {
        self.conns
            .iter()
            .map(|(&conn, c)| Slot {
                conn,
                ip: c.ip,
                kind: match c.state {
                    IoState::Closing { .. } => SlotKind::Closing,
                    IoState::Open if m.is_member_conn(conn) => SlotKind::Member,
                    IoState::Open if m.conn_progressed(conn) => SlotKind::Answered,
                    IoState::Open => SlotKind::Pending,
                },
                opened: c.opened,
            })
            .collect()
    }

    /// Takes `stream` in (after dropping `evict`, if admission chose one),
    /// unless its address already has its share of pending connections.
    fn admit(
        &mut self,
        m: &mut HostMachine,
        now: Instant,
        mut stream: TcpStream,
        slots: &[Slot],
        evict: Option<ConnId>,
    ) {
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            return;
        };
        let ip = peer.ip().to_canonical();
        if address_full(slots, ip) {
            return;
        }
        if let Some(old) = evict {
            self.drop_conn(m, now, old);
        }
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        let _ = stream.set_nodelay(true);
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
        let Some(token) = usize::try_from(id.0)
            .ok()
            .and_then(|i| i.checked_add(FIRST_CONN))
        else {
            return;
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(&mut stream, Token(token), interest)
            .is_err()
        {
            return;
        }
        self.conns.insert(
            id,
            ConnIo {
                stream,
                ip,
                opened: now,
                outbox: Outbox::default(),
                readable: true,
                state: IoState::Open,
            },
        );
        m.handle_connect(now, id, peer, local);
    }

    fn answer_pings(&mut self) {
        if !self.ping_ready {
            return;
        }
        let mut b = [0u8; 64];
        for _ in 0..PING_BUDGET {
            match self.udp.recv_from(&mut b) {
                Ok((n, from)) => {
                    if let Some(pong) = b.get(..n).and_then(answer_ping) {
                        let _ = self.udp.send_to(&pong, from);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.ping_ready = false;
                    return;
                }
                Err(_) => {}
            }
        }
    }

    /// Re-announces the TXT when the members present, the stage or the
    /// vacant seats change (not on ready toggles: each announcement is a
    /// multicast burst).
    fn update_advert(&mut self, m: &HostMachine) {
        let Some(ad) = &mut self.advert else {
            return;
        };
        let vacant = m.vacant_seats();
        let present = m.roster().len().saturating_sub(vacant.len());
        let stage = match (m.in_match(), m.config().late_join) {
            (false, _) => LobbyStage::Open,
            (true, false) => LobbyStage::InMatch,
            (true, true) => LobbyStage::LateJoin,
        };
        let now = (present, stage, vacant);
        if now != self.advertised {
            let txt = LobbyTxt::for_host(m.config(), now.0, &self.extras).in_match(now.1, &now.2);
            if ad.update(&txt).is_ok() {
                self.advertised = now;
            }
        }
    }
}
