//! [`LobbyClient`]: the client's TCP shell.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::spawn_reader;
use crate::lobby::client::{ClientEvent, ClientMachine, ClientTransmit, JoinConfig};

enum Input {
    Data(Vec<u8>),
    Eof,
    SetReady(bool),
    Chat(String),
    Leave,
}

/// A joined (or joining) lobby: call [`poll`](Self::poll) every frame.
///
/// [`join`](Self::join) returns at once; the outcome arrives as
/// [`ClientEvent::Joined`] or [`ClientEvent::JoinFailed`]. Dropping it leaves.
pub struct LobbyClient {
    tx: Sender<Input>,
    events: Receiver<ClientEvent>,
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
        let (etx, events) = mpsc::channel();
        let machine = ClientMachine::new(config, Instant::now());
        let inner_tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("nearplay-lobby-client".into())
            .spawn(move || run(machine, host, rx, inner_tx, etx.clone()));
        if let Err(e) = spawned {
            let mut m = ClientMachine::new(JoinConfig::new("", "", "", 0), Instant::now());
            m.handle_connect_failed(&e.to_string());
            let (etx, erx) = mpsc::channel();
            while let Some(ev) = m.poll_event() {
                let _ = etx.send(ev);
            }
            return LobbyClient {
                tx,
                events: erx,
                host,
            };
        }
        LobbyClient { tx, events, host }
    }

    /// The next lobby event, if any (non-blocking).
    pub fn poll(&self) -> Option<ClientEvent> {
        self.events.try_recv().ok()
    }

    /// The host's address.
    pub fn host_addr(&self) -> SocketAddr {
        self.host
    }

    /// Toggles our ready flag.
    pub fn set_ready(&self, ready: bool) {
        let _ = self.tx.send(Input::SetReady(ready));
    }

    /// Says something in the chat.
    pub fn chat(&self, text: &str) {
        let _ = self.tx.send(Input::Chat(text.to_string()));
    }

    /// Leaves the lobby.
    pub fn leave(&self) {
        let _ = self.tx.send(Input::Leave);
    }
}

impl Drop for LobbyClient {
    fn drop(&mut self) {
        self.leave();
    }
}

fn run(
    mut machine: ClientMachine,
    host: SocketAddr,
    rx: Receiver<Input>,
    tx: Sender<Input>,
    events: Sender<ClientEvent>,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let connect_timeout = machine
        .poll_timeout()
        .map(|t| t.saturating_duration_since(Instant::now()))
        .unwrap_or(Duration::from_secs(3))
        .max(Duration::from_millis(1));
    let writer = match connect(host, connect_timeout, &stop, tx) {
        Ok(w) => {
            machine.handle_connected(Instant::now());
            Some(w)
        }
        Err(e) => {
            machine.handle_connect_failed(&e.to_string());
            None
        }
    };
    loop {
        let mut closed = false;
        while let Some(t) = machine.poll_transmit() {
            match (t, writer.as_ref()) {
                (ClientTransmit::Send(frame), Some(w)) if !write_frame(w, &frame) => {
                    machine.handle_disconnected();
                }
                (ClientTransmit::Close, Some(w)) => {
                    let _ = w.shutdown(std::net::Shutdown::Write);
                    closed = true;
                }
                _ => {}
            }
        }
        while let Some(ev) = machine.poll_event() {
            let _ = events.send(ev);
        }
        if closed || machine.is_done() {
            break;
        }
        let now = Instant::now();
        let wait = machine
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or(Duration::from_secs(1));
        match rx.recv_timeout(wait) {
            Ok(input) => {
                let now = Instant::now();
                match input {
                    Input::Data(d) => machine.handle_data(now, &d),
                    Input::Eof => machine.handle_disconnected(),
                    Input::SetReady(r) => machine.set_ready(now, r),
                    Input::Chat(t) => machine.chat(now, &t),
                    Input::Leave => machine.leave(now),
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => machine.leave(Instant::now()),
        }
        machine.handle_timeout(Instant::now());
    }
    stop.store(true, Ordering::Relaxed);
}

fn connect(
    host: SocketAddr,
    timeout: Duration,
    stop: &Arc<AtomicBool>,
    tx: Sender<Input>,
) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&host, timeout)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    spawn_reader(
        stream.try_clone()?,
        stop.clone(),
        tx,
        Input::Data,
        Input::Eof,
    )?;
    Ok(stream)
}

/// Writes one frame; `false` if the connection failed.
fn write_frame(mut w: &TcpStream, frame: &[u8]) -> bool {
    w.write_all(frame).is_ok()
}
