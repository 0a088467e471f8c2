//! [`Lobby`]: one handle for a lobby, hosted or joined, on the LAN or in a
//! rendezvous room. Its logic (queued actions, auto-ready, start when N are
//! ready, the match hand-over, rematch) is written once over the shells of
//! `backend.rs`; the event translation is in `translate.rs`.

use std::collections::{BTreeMap, VecDeque};
use std::net::UdpSocket;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use nearplay_netcode::MatchPlan;

use crate::lobby::client::CloseReason;
use crate::lobby::host::StartRefused;
use crate::lobby::message::{MemberId, RosterEntry};
use crate::lobby::secure::Fingerprint;
use crate::rendezvous::RoomCode;

use super::backend::Backend;
use super::events::{LobbyActionError, LobbyError, LobbyEvent, LobbyPhase};

/// Most chat lines held while waiting for the host's welcome.
pub const MAX_QUEUED_CHAT: usize = 16;

/// What the handle keeps behind a mutex: the shells and the match's socket
/// or link are `Send` but not all `Sync`. Reached through `&mut self` only
/// (`Mutex::get_mut`), so the lock is never contended nor waited on.
#[derive(Debug)]
pub(super) struct Core {
    pub(super) backend: Backend,
    pub(super) events: VecDeque<LobbyEvent>,
    /// LAN: the game socket, bound by the library, kept for the lobby's life.
    pub(super) socket: Option<UdpSocket>,
    /// Online: the room's link, kept after the match took a clone (rematch);
    /// the shell in `backend` keeps its own for the lobby during the match.
    #[cfg(feature = "rendezvous")]
    pub(super) link: Option<nearplay_netcode::transport::webrtc::WebRtcLink>,
    /// The thread that lets a left lobby's last frames go.
    pub(super) reaper: Option<JoinHandle<()>>,
    /// Rejoins and late joins of the running match (see `resume.rs`).
    pub(super) resumes: super::resume::Resumes,
}

/// One lobby, hosted or joined, on the LAN or by room code: the same
/// methods and events whatever the path. Get one from
/// [`Matchmaker::host`](super::Matchmaker::host) or
/// [`Matchmaker::join`](super::Matchmaker::join); call [`poll`](Self::poll)
/// every frame until it returns `None`.
///
/// # Threads and blocking
///
/// Nothing here blocks the caller: [`poll`](Self::poll) and every action
/// return at once. The sockets run on the lobby's own background thread
/// (LAN) or the WebRTC link's (online); the HTTP calls to the rendezvous
/// server (creating a room, checking a code) run on a short-lived thread
/// and report through [`LobbyEvent::Opened`], [`LobbyEvent::Joined`] or
/// [`LobbyEvent::Failed`]. Only dropping the handle waits, at most about
/// 2.5 s (see *Leaving safely*).
///
/// # As a Bevy resource
///
/// `Lobby` is `Send + Sync`, so it can be inserted as a `Resource` as is
/// (no `SyncCell`): the parts that are not `Sync` sit behind a mutex that
/// only `&mut self` methods reach. Call `poll` from a system with
/// `ResMut<..>` (or an `Option<ResMut<..>>` while there is no lobby).
///
/// # The game socket
///
/// On the LAN the library binds the game's UDP socket itself (on
/// [`MatchmakerConfig::bind`](super::MatchmakerConfig::bind), port 0),
/// announces its port to the host, and keeps it for the lobby's life: the
/// plan's own seat is this socket, and the [`MatchStart::transport`](super::MatchStart::transport) it
/// hands over reads and writes it. Do not bind one yourself. Online there
/// is no game socket: the match runs over the room's WebRTC link, which
/// the lobby keeps as well. A [`rematch`](Self::rematch) reuses the same
/// socket or link, so drop the previous session first (its datagrams,
/// of another match id, are dropped by the new transport).
///
/// # Ready, and actions before the welcome
///
/// The host is ready by default ([`LobbySettings::host_ready`](super::LobbySettings::host_ready));
/// joiners are not unless [`PlayerSettings::auto_ready`](super::PlayerSettings::auto_ready).
/// [`set_ready`](Self::set_ready) and [`chat`](Self::chat) called while
/// joining are queued and sent when the host welcomes us; if the join
/// fails they are dropped with the [`LobbyEvent::Failed`] that says why.
///
/// # Leaving safely
///
/// [`leave`](Self::leave) says goodbye without waiting (a host closes the
/// lobby and every member gets [`LobbyEvent::Closed`], or during a match
/// [`MatchControl::Ended`](super::MatchControl::Ended); a member leaving
/// during a match vacates its seat); the last frames go from a background
/// thread. Dropping the handle leaves too, and then waits until those
/// frames have left (at most about 2.5 s), so a program may exit right
/// after dropping its lobby.
///
/// # During the match
///
/// The lobby stays open as the match's control channel (on the LAN over
/// its TCP connection, online over the reliable channel of the room's
/// WebRTC link, whose game channel the match's transport shares): phase
/// [`LobbyPhase::InMatch`], keepalives as before, and
/// [`LobbyEvent::Control`] news (seats vacated, retaken or taken, a new
/// match key). Keep polling it. A player saves [`rejoin_ticket`](Self::rejoin_ticket)
/// so that a restarted game takes its seat back
/// ([`PlayerSettings::rejoin`](super::PlayerSettings::rejoin)), by the
/// lobby's address on the LAN or the room code online. A player
/// whose window stays open needs no ticket (LAN): when its connection to
/// the host drops, the lobby takes the seat back by itself
/// ([`ReconnectPolicy`](super::ReconnectPolicy), on by default;
/// [`MatchControl::Reconnecting`](super::MatchControl::Reconnecting) ...
/// `Reconnected`, then a resumed [`LobbyEvent::MatchStarted`]); a game
/// whose session lost every other player while the lobby looks connected
/// calls [`reconnect`](Self::reconnect).
///
/// In a match, leave the *match* safely
/// too: a peer that quits as soon as its own confirmed frame reaches N can
/// leave others without its inputs for frames before N; linger until your
/// confirmed frame is `input_delay + max_prediction + 1` past N.
pub struct Lobby {
    pub(super) core: Mutex<Core>,
    pub(super) host: bool,
    pub(super) phase: LobbyPhase,
    pub(super) name: String,
    pub(super) code: Option<RoomCode>,
    pub(super) you: Option<MemberId>,
    pub(super) roster: Vec<RosterEntry>,
    pub(super) fingerprints: BTreeMap<MemberId, Fingerprint>,
    pub(super) queued_ready: Option<bool>,
    pub(super) queued_chat: VecDeque<String>,
    pub(super) auto_ready: bool,
    pub(super) start_when_ready: Option<usize>,
    pub(super) last_plan: Option<MatchPlan>,
    /// LAN member: taking the seat back after a drop (`reconnect.rs`).
    pub(super) reconnect: Option<super::reconnect_schedule::Reconnector>,
}

impl std::fmt::Debug for Lobby {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lobby")
            .field("host", &self.host)
            .field("phase", &self.phase)
            .field("name", &self.name)
            .field("code", &self.code)
            .field("you", &self.you)
            .field("roster", &self.roster)
            .finish_non_exhaustive()
    }
}

impl Lobby {
    /// A lobby in `phase` over `backend`.
    pub(super) fn new(host: bool, phase: LobbyPhase, name: String, backend: Backend) -> Lobby {
        Lobby {
            core: Mutex::new(Core {
                backend,
                events: VecDeque::new(),
                socket: None,
                #[cfg(feature = "rendezvous")]
                link: None,
                reaper: None,
                resumes: Default::default(),
            }),
            host,
            phase,
            name,
            code: None,
            you: None,
            roster: Vec::new(),
            fingerprints: BTreeMap::new(),
            queued_ready: None,
            queued_chat: VecDeque::new(),
            auto_ready: false,
            start_when_ready: None,
            last_plan: None,
            reconnect: None,
        }
    }

    /// A lobby that failed before it began: its first event says why.
    pub(super) fn failed(host: bool, name: String, error: LobbyError) -> Lobby {
        let phase = if host {
            LobbyPhase::Opening
        } else {
            LobbyPhase::Joining
        };
        let mut lobby = Lobby::new(host, phase, name, Backend::Gone);
        lobby.fail(error);
        lobby
    }

    pub(super) fn core(&mut self) -> &mut Core {
        self.core.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    fn locked(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn push(&mut self, event: LobbyEvent) {
        self.core().events.push_back(event);
    }

    /// Ends the lobby with `error` as its next event.
    pub(super) fn fail(&mut self, error: LobbyError) {
        self.queued_ready = None;
        self.queued_chat.clear();
        self.phase = LobbyPhase::Closed;
        self.push(LobbyEvent::Failed(error));
    }

    /// The next event, if any. Never blocks: call it every frame.
    pub fn poll(&mut self) -> Option<LobbyEvent> {
        loop {
            if let Some(event) = self.core().events.pop_front() {
                return Some(event);
            }
            #[cfg(feature = "rendezvous")]
            self.settle_connecting();
            self.try_reconnect_now();
            if !self.core().events.is_empty() {
                continue;
            }
            let raw = self.core().backend.poll()?;
            self.translate(raw);
        }
    }

    /// Where the lobby is in its life.
    pub fn phase(&self) -> LobbyPhase {
        self.phase
    }

    /// Whether we host this lobby.
    pub fn is_host(&self) -> bool {
        self.host
    }

    /// The lobby's name: as advertised (host, maybe with a suffix; followed
    /// when a member joins or leaves, with a [`LobbyEvent::Notice`]), as the
    /// host named it (joiner, once joined), or `"Room CODE"` while a room
    /// is being opened or checked.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The room code, online (to show and share).
    pub fn code(&self) -> Option<RoomCode> {
        self.code
    }

    /// Our member id, once in (the host is 0).
    pub fn you(&self) -> Option<MemberId> {
        self.you
    }

    /// The roster, host first, as last reported.
    pub fn roster(&self) -> &[RosterEntry] {
        &self.roster
    }

    /// The fingerprint of the channel between us and `member` (host: that
    /// member's channel; joiner: ours, for our own id or the host's), to
    /// compare with what the other screen shows.
    pub fn fingerprint(&self, member: MemberId) -> Option<Fingerprint> {
        self.fingerprints.get(&member).copied()
    }

    /// The lobby's TCP address on the LAN: the one to share for a join by
    /// address (host; with the host's IP if bound to all), or the host's
    /// (joiner). `None` online.
    pub fn lobby_addr(&self) -> Option<std::net::SocketAddr> {
        self.locked().backend.lobby_addr()
    }

    /// The game socket's local address (LAN), or `None` online.
    pub fn game_addr(&self) -> Option<std::net::SocketAddr> {
        self.locked().socket.as_ref()?.local_addr().ok()
    }

    /// Says whether we are ready. Queued while joining (sent on welcome).
    pub fn set_ready(&mut self, ready: bool) -> Result<(), LobbyActionError> {
        match self.phase {
            LobbyPhase::Opening | LobbyPhase::Joining => self.queued_ready = Some(ready),
            LobbyPhase::InLobby => self.core().backend.set_ready(ready),
            LobbyPhase::InMatch | LobbyPhase::Closed => return Err(LobbyActionError::NotInLobby),
        }
        Ok(())
    }

    /// Says something in the chat (cleaned and cut by the lobby). Queued
    /// while joining, at most [`MAX_QUEUED_CHAT`] lines.
    pub fn chat(&mut self, text: &str) -> Result<(), LobbyActionError> {
        match self.phase {
            LobbyPhase::Opening | LobbyPhase::Joining => {
                if self.queued_chat.len() >= MAX_QUEUED_CHAT {
                    return Err(LobbyActionError::QueueFull);
                }
                self.queued_chat.push_back(text.to_string());
            }
            LobbyPhase::InLobby => self.core().backend.chat(text),
            LobbyPhase::InMatch | LobbyPhase::Closed => return Err(LobbyActionError::NotInLobby),
        }
        Ok(())
    }

    /// Host: removes a member (it gets [`LobbyEvent::Closed`] with
    /// [`CloseReason::Kicked`]).
    pub fn kick(&mut self, member: MemberId) -> Result<(), LobbyActionError> {
        self.host_in_lobby()?;
        if member == 0 || !self.live_roster().iter().any(|m| m.id == member) {
            return Err(LobbyActionError::NoSuchMember(member));
        }
        self.core().backend.kick(member);
        Ok(())
    }

    /// Host: starts the match if everyone is ready. Returns at once: `Ok`
    /// means it started, and [`LobbyEvent::MatchStarted`] follows on every
    /// member (this one included); an error means nothing happened.
    pub fn start(&mut self) -> Result<(), LobbyActionError> {
        self.host_in_lobby()?;
        if self.live_roster().iter().filter(|m| !m.spectator).count() < 2 {
            return Err(LobbyActionError::TooFew);
        }
        self.core().backend.start().map_err(|e| match e {
            StartRefused::NotReady(names) => LobbyActionError::NotReady(names),
            StartRefused::NotOpen => LobbyActionError::NotInLobby,
        })
    }

    /// Leaves: a host closes its lobby, a member says goodbye. Returns at
    /// once; a [`LobbyEvent::Closed`] with [`CloseReason::Left`] follows.
    /// A match already handed over goes on (its transport owns a copy of
    /// the socket or link).
    pub fn leave(&mut self) {
        if self.phase == LobbyPhase::Closed && matches!(self.core().backend, Backend::Gone) {
            return;
        }
        let was_closed = self.phase == LobbyPhase::Closed;
        self.phase = LobbyPhase::Closed;
        self.queued_ready = None;
        self.queued_chat.clear();
        let core = self.core();
        core.backend.leave();
        let backend = std::mem::replace(&mut core.backend, Backend::Gone);
        core.socket = None;
        #[cfg(feature = "rendezvous")]
        {
            core.link = None;
        }
        // Dropping a LAN host waits for its last frames: not on this thread.
        core.reaper = std::thread::Builder::new()
            .name("nearplay-lobby-leave".into())
            .spawn(move || drop(backend))
            .ok();
        if !was_closed {
            self.push(LobbyEvent::Closed(CloseReason::Left));
        }
    }

    /// The host machine's roster now (not as last polled), else the last polled.
    fn live_roster(&mut self) -> Vec<RosterEntry> {
        match self.core().backend.host_roster() {
            Some(r) => r,
            None => self.roster.clone(),
        }
    }

    fn host_in_lobby(&self) -> Result<(), LobbyActionError> {
        if !self.host {
            return Err(LobbyActionError::NotHost);
        }
        if self.phase != LobbyPhase::InLobby {
            return Err(LobbyActionError::NotInLobby);
        }
        Ok(())
    }

    /// Sends what waited for the welcome (or the lobby's opening).
    pub(super) fn flush_queue(&mut self) {
        let ready = self.queued_ready.take();
        let chat: Vec<String> = self.queued_chat.drain(..).collect();
        let backend = &mut self.core().backend;
        if let Some(r) = ready {
            backend.set_ready(r);
        }
        for line in chat {
            backend.chat(&line);
        }
    }
}

impl Drop for Lobby {
    fn drop(&mut self) {
        self.leave();
        if let Some(reaper) = self.core().reaper.take() {
            let _ = reaper.join();
        }
    }
}
