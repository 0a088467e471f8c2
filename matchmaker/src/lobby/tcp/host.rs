//! [`LobbyHost`]: the host's handle on its lobby, and the thread it runs.
//!
//! The [`HostMachine`] sits behind a mutex shared by this handle and the
//! event loop (`host_loop/`): a game call such as [`LobbyHost::start`]
//! runs the machine directly and returns its answer, then wakes the loop to
//! write what the machine queued. So `start` either starts the match or does
//! not, and never waits on the network.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use mio::{Poll, Waker};
use nearplay_netcode::MatchPlan;

use super::host_loop::{END_LINGER, EventLoop, WAKER};
use super::{ShellError, bind_pair};
use crate::lan::{Discovery, LobbyTxt};
use crate::lobby::host::{HostConfig, HostEvent, HostMachine};
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

/// The machine, shared by the handle and the event loop.
pub(super) type SharedMachine = Arc<Mutex<HostMachine>>;

/// Locks the machine; a panic elsewhere while it was held does not make it
/// unusable (its state is plain data, consistent between calls).
pub(super) fn lock(m: &SharedMachine) -> MutexGuard<'_, HostMachine> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Longest wait in [`LobbyHost`]'s `drop` for the lobby's last frames: the
/// loop's own limit after the lobby ended, and a margin.
const DROP_WAIT: Duration = END_LINGER.saturating_add(Duration::from_millis(500));

/// Set when the lobby's thread ends (even by a panic), so a dropped handle
/// can wait for the last frames to leave before its process exits.
#[derive(Debug, Default)]
struct LoopEnded {
    ended: Mutex<bool>,
    cv: Condvar,
}

/// Marks [`LoopEnded`] when the thread that owns it ends.
struct EndGuard(Arc<LoopEnded>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        *self.0.ended.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.0.cv.notify_all();
    }
}

/// A hosted lobby: call [`poll`](Self::poll) every frame.
///
/// One background thread runs the lobby's sockets, whatever the number of
/// connections. Dropping it closes the lobby (members get `LobbyClosed`)
/// and waits until the lobby's last frames (the goodbye) have left, at
/// most about 2.5 s (a member that stops reading is not waited for
/// longer): a program may exit right after. The lobby does not end when
/// the match starts: it stays open as the match's control channel (member
/// connections, keepalives, vacant seats, rejoins) until it is closed.
pub struct LobbyHost {
    machine: SharedMachine,
    waker: Arc<Waker>,
    thread_ended: Arc<LoopEnded>,
    addr: SocketAddr,
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
    /// Binds the lobby port, starts the lobby's thread, and advertises the
    /// lobby if `options.discovery` is set.
    pub fn open(config: HostConfig, options: HostOptions) -> Result<LobbyHost, ShellError> {
        let (listener, udp) = bind_pair(options.bind)?;
        let addr = listener.local_addr()?;
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
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
        let machine = Arc::new(Mutex::new(HostMachine::new(
            config,
            SeededRng::from_os().bytes32(),
        )));
        let event_loop = EventLoop::new(
            poll,
            listener,
            udp,
            machine.clone(),
            advert,
            options.txt_extras,
        )?;
        let thread_ended = Arc::new(LoopEnded::default());
        let guard = EndGuard(thread_ended.clone());
        std::thread::Builder::new()
            .name("nearplay-lobby-host".into())
            .spawn(move || {
                let _marks_the_end = guard;
                event_loop.run();
            })?;
        Ok(LobbyHost {
            machine,
            waker,
            thread_ended,
            addr,
            advertised,
        })
    }

    /// Runs `f` on the machine, then wakes the loop to write what it queued.
    fn act<T>(&self, f: impl FnOnce(&mut HostMachine, Instant) -> T) -> T {
        let out = f(&mut lock(&self.machine), Instant::now());
        let _ = self.waker.wake();
        out
    }

    /// The next lobby event, if any (non-blocking).
    pub fn poll(&self) -> Option<HostEvent> {
        lock(&self.machine).poll_event()
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

    /// The current roster, host first.
    pub fn roster(&self) -> Vec<RosterEntry> {
        lock(&self.machine).roster()
    }

    /// Whether a match runs with this lobby as its control channel.
    pub fn in_match(&self) -> bool {
        lock(&self.machine).in_match()
    }

    /// Names of the running match's vacant seats, in handle order.
    pub fn vacant_seats(&self) -> Vec<String> {
        lock(&self.machine).vacant_seats()
    }

    /// Sets the host player's ready flag.
    pub fn set_ready(&self, ready: bool) {
        self.act(|m, now| m.set_ready(now, ready));
    }

    /// Says something in the chat.
    pub fn chat(&self, text: &str) {
        self.act(|m, now| m.chat(now, text));
    }

    /// During the match: sends an encoded resume message from the host's
    /// player to the player at handle `to` (see [`HostMachine::send_resume`]).
    pub fn send_resume(&self, to: u16, bytes: Vec<u8>) -> bool {
        self.act(|m, now| m.send_resume(now, to, bytes))
    }

    /// The host's game finished the running resume (see
    /// [`HostMachine::resume_settled`]).
    pub fn resume_settled(&self) {
        self.act(|m, now| m.resume_settled(now));
    }

    /// Removes a member.
    pub fn kick(&self, id: MemberId) {
        self.act(|m, now| m.kick(now, id));
    }

    /// Starts the match and returns the host's plan; every member receives
    /// its copy. Fails if someone is not ready or the lobby is no longer
    /// open. The answer is the machine's own decision, taken on this thread
    /// without waiting on the network: `Ok` means the match started (and a
    /// [`HostEvent::Started`] follows), an error means it did not.
    pub fn start(&self) -> Result<MatchPlan, ShellError> {
        self.act(|m, now| m.start(now)).map_err(ShellError::from)
    }

    /// Closes the lobby.
    pub fn close(&self) {
        self.act(|m, now| m.close(now));
    }
}

impl Drop for LobbyHost {
    fn drop(&mut self) {
        self.close();
        let ended = self
            .thread_ended
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .thread_ended
            .cv
            .wait_timeout_while(ended, DROP_WAIT, |ended| !*ended);
    }
}
