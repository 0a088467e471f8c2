//! [`LobbyClient`]: the client's TCP shell, one thread and one `mio::Poll`
//! per joined lobby: a non-blocking connect, reads in bounded chunks, a
//! bounded write queue, and a waker for the game's calls.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

use super::outbox::{Outbox, READ_CHUNK, ReadOutcome, read_some};
use crate::lobby::client::{ClientEvent, ClientMachine, ClientTransmit, JoinConfig};

const WAKER: Token = Token(0);
const STREAM: Token = Token(1);
/// After our goodbye, how long we wait for the host to close its side
/// (reading and discarding at most [`CLOSE_DISCARD_LIMIT`] bytes).
const CLOSE_LINGER: Duration = Duration::from_millis(500);
const CLOSE_DISCARD_LIMIT: usize = 64 * 1024;
/// Longest sleep with no timer due (a wake-up cuts it short).
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// Events waiting for the game's [`LobbyClient::poll`]. The lobby runs a
/// whole match, and a game may not look at it meanwhile: when this many
/// wait, the thread stops reading the host (which then drops us as too
/// slow if it keeps talking) instead of growing memory.
pub const MAX_QUEUED_CLIENT_EVENTS: usize = 256;
/// How often a thread whose game stopped polling looks again.
const BACKLOG_WAIT: Duration = Duration::from_millis(20);

enum Input {
    SetReady(bool),
    Chat(String),
    Resume(u16, Vec<u8>),
    Leave,
}

/// A joined (or joining) lobby: call [`poll`](Self::poll) every frame.
///
/// [`join`](Self::join) returns at once; the outcome arrives as
/// [`ClientEvent::Joined`] or [`ClientEvent::JoinFailed`]. Dropping it leaves.
pub struct LobbyClient {
    tx: Sender<Input>,
    waker: Option<Arc<Waker>>,
    /// Behind a mutex so the handle is `Sync` (a Bevy resource as is);
    /// only [`poll`](Self::poll) takes it, never for long.
    events: Mutex<Receiver<ClientEvent>>,
    host: SocketAddr,
}

impl std::fmt::Debug for LobbyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LobbyClient")
            .field("host", &self.host)
            .finish()
    }
}

impl LobbyClient {
    /// Starts joining the lobby at `host` (its TCP address, e.g. from
    /// [`LobbyInfo::addr`](crate::lan::LobbyInfo::addr)) on a background thread.
    pub fn join(host: SocketAddr, config: JoinConfig) -> LobbyClient {
        let (tx, rx) = mpsc::channel();
        let (etx, events) = mpsc::sync_channel(MAX_QUEUED_CLIENT_EVENTS);
        let machine = ClientMachine::new(config, Instant::now()).with_lobby_addr(host);
        let started = Poll::new().and_then(|poll| {
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let stream = TcpStream::connect(host)?;
            let worker = Worker {
                poll,
                stream,
                connected: false,
                closing: None,
                shut: false,
                discarded: 0,
                outbox: Outbox::default(),
                readable: true,
                held: VecDeque::new(),
                buf: vec![0; READ_CHUNK],
            };
            std::thread::Builder::new()
                .name("nearplay-lobby-client".into())
                .spawn(move || worker.run(machine, rx, etx))?;
            Ok(waker)
        });
        match started {
            Ok(waker) => LobbyClient {
                tx,
                waker: Some(waker),
                events: Mutex::new(events),
                host,
            },
            Err(e) => {
                // Nothing started: report the failure through a machine of
                // our own, as the thread would have.
                let mut m = ClientMachine::new(JoinConfig::new("", "", "", 0), Instant::now());
                m.handle_connect_failed(&e.to_string());
                let (etx, erx) = mpsc::channel();
                while let Some(ev) = m.poll_event() {
                    let _ = etx.send(ev);
                }
                LobbyClient {
                    tx,
                    waker: None,
                    events: Mutex::new(erx),
                    host,
                }
            }
        }
    }

    fn send(&self, input: Input) {
        if self.tx.send(input).is_ok()
            && let Some(w) = &self.waker
        {
            let _ = w.wake();
        }
    }

    /// The next lobby event, if any (non-blocking).
    pub fn poll(&self) -> Option<ClientEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_recv()
            .ok()
    }

    /// The host's address.
    pub fn host_addr(&self) -> SocketAddr {
        self.host
    }

    /// Toggles our ready flag.
    pub fn set_ready(&self, ready: bool) {
        self.send(Input::SetReady(ready));
    }

    /// Says something in the chat.
    pub fn chat(&self, text: &str) {
        self.send(Input::Chat(text.to_string()));
    }

    /// During the match: sends an encoded resume message to the player at
    /// handle `to` through the host (see [`ClientMachine::send_resume`]).
    pub fn send_resume(&self, to: u16, bytes: Vec<u8>) {
        self.send(Input::Resume(to, bytes));
    }

    /// Leaves the lobby.
    pub fn leave(&self) {
        self.send(Input::Leave);
    }
}

impl Drop for LobbyClient {
    fn drop(&mut self) {
        self.leave();
    }
}

/// The client's thread.
struct Worker {
    poll: Poll,
    stream: TcpStream,
    connected: bool,
    /// Set once the machine closed: linger until then.
    closing: Option<Instant>,
    /// Our write side is shut (after the last frame of a close).
    shut: bool,
    discarded: usize,
    outbox: Outbox,
    readable: bool,
    /// Events the game's full queue could not take yet; while any wait,
    /// nothing more is read from the host.
    held: VecDeque<ClientEvent>,
    buf: Vec<u8>,
}

impl Worker {
    fn run(mut self, mut m: ClientMachine, rx: Receiver<Input>, events: SyncSender<ClientEvent>) {
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut self.stream, STREAM, interest)
        {
            m.handle_connect_failed(&e.to_string());
        }
        let mut evs = Events::with_capacity(16);
        loop {
            self.turn(&mut m, &rx);
            self.held.extend(std::iter::from_fn(|| m.poll_event()));
            while let Some(ev) = self.held.pop_front() {
                match events.try_send(ev) {
                    Ok(()) => {}
                    Err(TrySendError::Full(ev)) => {
                        self.held.push_front(ev);
                        break;
                    }
                    // The handle is gone: nobody will read them.
                    Err(TrySendError::Disconnected(_)) => self.held.clear(),
                }
            }
            let now = Instant::now();
            if let Some(until) = self.closing
                && (now >= until || (self.outbox.is_empty() && !self.connected))
            {
                return;
            }
            let next = match self.closing {
                Some(until) => Some(until),
                None if m.is_done() => return,
                None => m.poll_timeout(),
            };
            let wait = if !self.held.is_empty() {
                // The game's queue is full: look again soon, read nothing.
                BACKLOG_WAIT
            } else if self.readable && self.connected {
                Duration::ZERO
            } else {
                next.map(|t| t.saturating_duration_since(now))
                    .unwrap_or(IDLE_WAIT)
                    .min(IDLE_WAIT)
            };
            if let Err(e) = self.poll.poll(&mut evs, Some(wait))
                && e.kind() != ErrorKind::Interrupted
            {
                m.handle_disconnected();
            }
            for ev in evs.iter() {
                if ev.token() == STREAM
                    && (ev.is_readable() || ev.is_read_closed() || ev.is_error())
                {
                    self.readable = true;
                }
            }
        }
    }

    /// One turn: finish connecting, take the game's calls, read, run timers,
    /// write.
    fn turn(&mut self, m: &mut ClientMachine, rx: &Receiver<Input>) {
        let now = Instant::now();
        if !self.connected && self.closing.is_none() && !m.is_done() {
            match self.stream.take_error() {
                Ok(Some(e)) | Err(e) => m.handle_connect_failed(&e.to_string()),
                Ok(None) => {
                    if self.stream.peer_addr().is_ok() {
                        self.connected = true;
                        let _ = self.stream.set_nodelay(true);
                        m.handle_connected(now);
                    }
                }
            }
        }
        loop {
            match rx.try_recv() {
                Ok(Input::SetReady(r)) => m.set_ready(now, r),
                Ok(Input::Chat(t)) => m.chat(now, &t),
                Ok(Input::Resume(to, bytes)) => {
                    m.send_resume(now, to, bytes);
                }
                Ok(Input::Leave) => m.leave(now),
                Err(mpsc::TryRecvError::Empty) => break,
                // The handle is gone without a goodbye: leave.
                Err(mpsc::TryRecvError::Disconnected) => {
                    m.leave(now);
                    break;
                }
            }
        }
        if self.connected && self.readable && self.held.is_empty() {
            let outcome = match self.closing {
                None => read_some(&mut self.stream, &mut self.buf, |d| m.handle_data(now, d)),
                Some(_) => {
                    let discarded = &mut self.discarded;
                    let o = read_some(&mut self.stream, &mut self.buf, |d| *discarded += d.len());
                    if *discarded > CLOSE_DISCARD_LIMIT {
                        ReadOutcome::Closed
                    } else {
                        o
                    }
                }
            };
            match outcome {
                ReadOutcome::Drained => self.readable = false,
                ReadOutcome::More => {}
                ReadOutcome::Closed => {
                    m.handle_disconnected();
                    self.connected = false;
                }
            }
        }
        m.handle_timeout(now);
        while let Some(t) = m.poll_transmit() {
            match t {
                ClientTransmit::Send(frame) => {
                    if self.outbox.push(frame).is_err() {
                        // The host has not read our last frames for long:
                        // it is as good as gone.
                        m.handle_disconnected();
                    }
                }
                ClientTransmit::Close => {
                    self.closing.get_or_insert(now + CLOSE_LINGER);
                }
            }
        }
        if self.connected
            && !self.outbox.is_empty()
            && self.outbox.write_to(&mut self.stream).is_err()
        {
            m.handle_disconnected();
            self.connected = false;
        }
        if self.connected && self.closing.is_some() && self.outbox.is_empty() && !self.shut {
            let _ = self.stream.shutdown(Shutdown::Write);
            self.shut = true;
        }
    }
}
