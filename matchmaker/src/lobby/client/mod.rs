//! The client side of the lobby protocol, without I/O.
//!
//! The shell tells the machine when the TCP connection is up
//! ([`ClientMachine::handle_connected`]), feeds it bytes and time, and takes
//! frames to write and events for the game out. Timers: no welcome within the
//! hello timeout is [`JoinError::Timeout`]; host silence past the idle timeout
//! is [`ClientEvent::LobbyClosed`] with [`CloseReason::HostGone`].
//!
//! The public types live in `types.rs`, the machine here.

mod plan_check;
mod types;

pub use types::{ClientEvent, ClientTransmit, CloseReason, JoinConfig, JoinError};

use std::collections::VecDeque;
use std::time::Instant;

use super::codec::{CodecError, FrameDecoder, encode};
use super::message::{
    ClientMsg, Hello, HostMsg, MAX_CHAT_CHARS, MemberId, PROTOCOL_VERSION, RejectReason,
    password_proof, sanitize,
};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    AwaitChallenge,
    AwaitWelcome,
    InLobby(MemberId),
    Done,
}

/// The client's lobby state machine.
#[derive(Debug)]
pub struct ClientMachine {
    config: JoinConfig,
    phase: Phase,
    decoder: FrameDecoder,
    lobby_name: String,
    join_deadline: Instant,
    last_heard: Instant,
    last_sent: Instant,
    out: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
    /// What we saw of the lobby, to validate the plan (`plan_check.rs`).
    seen: plan_check::LobbyView,
}

impl ClientMachine {
    /// A machine about to connect; the hello timeout counts from `now`.
    pub fn new(config: JoinConfig, now: Instant) -> Self {
        let join_deadline = now + config.timeouts.hello;
        ClientMachine {
            config,
            phase: Phase::Connecting,
            decoder: FrameDecoder::new(),
            lobby_name: String::new(),
            join_deadline,
            last_heard: now,
            last_sent: now,
            out: VecDeque::new(),
            events: VecDeque::new(),
            seen: plan_check::LobbyView::default(),
        }
    }

    /// Our member id once joined.
    pub fn member_id(&self) -> Option<MemberId> {
        match self.phase {
            Phase::InLobby(id) => Some(id),
            _ => None,
        }
    }

    /// Whether the machine reached an end (started, closed or failed).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The TCP connection is up.
    pub fn handle_connected(&mut self, now: Instant) {
        if self.phase == Phase::Connecting {
            self.phase = Phase::AwaitChallenge;
            self.last_heard = now;
        }
    }

    /// The connection could not be made.
    pub fn handle_connect_failed(&mut self, reason: &str) {
        self.fail(JoinError::Unreachable(reason.to_string()));
    }

    /// Bytes arrived from the host.
    pub fn handle_data(&mut self, now: Instant, bytes: &[u8]) {
        if self.phase == Phase::Done {
            return;
        }
        self.last_heard = now;
        self.decoder.push(bytes);
        while self.phase != Phase::Done {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => match frame.decode::<HostMsg>() {
                    Ok(msg) => self.handle_msg(now, msg),
                    Err(CodecError::Version { theirs, ours }) => {
                        self.fail(JoinError::VersionMismatch { host: theirs, ours });
                    }
                    Err(e) => self.protocol_error(&e),
                },
                Ok(None) => return,
                Err(e) => self.protocol_error(&e),
            }
        }
    }

    /// The connection closed.
    pub fn handle_disconnected(&mut self) {
        match self.phase {
            Phase::Done => {}
            Phase::InLobby(_) => self.end(ClientEvent::LobbyClosed(CloseReason::Disconnected)),
            _ => self.fail(JoinError::Unreachable("connection closed".to_string())),
        }
    }

    /// Time passed: join and idle timeouts, keepalives.
    pub fn handle_timeout(&mut self, now: Instant) {
        let t = self.config.timeouts;
        match self.phase {
            Phase::Connecting | Phase::AwaitChallenge | Phase::AwaitWelcome
                if now >= self.join_deadline =>
            {
                self.fail(JoinError::Timeout);
            }
            Phase::InLobby(_) if now >= self.last_heard + t.idle => {
                self.end(ClientEvent::LobbyClosed(CloseReason::HostGone));
            }
            Phase::InLobby(_) if now >= self.last_sent + t.keepalive => {
                self.send(now, &ClientMsg::KeepAlive);
            }
            _ => {}
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = self.config.timeouts;
        match self.phase {
            Phase::Connecting | Phase::AwaitChallenge | Phase::AwaitWelcome => {
                Some(self.join_deadline)
            }
            Phase::InLobby(_) => Some((self.last_heard + t.idle).min(self.last_sent + t.keepalive)),
            Phase::Done => None,
        }
    }

    /// The next thing to write or close.
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        self.out.pop_front()
    }

    /// The next event for the game.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Toggles our ready flag.
    pub fn set_ready(&mut self, now: Instant, ready: bool) {
        if self.member_id().is_some() {
            self.send(now, &ClientMsg::SetReady(ready));
        }
    }

    /// Says something in the chat.
    pub fn chat(&mut self, now: Instant, text: &str) {
        let text = sanitize(text, MAX_CHAT_CHARS);
        if self.member_id().is_some() && !text.is_empty() {
            self.send(now, &ClientMsg::Chat(text));
        }
    }

    /// Leaves the lobby (or gives up joining).
    pub fn leave(&mut self, now: Instant) {
        if self.phase == Phase::Done {
            return;
        }
        if self.member_id().is_some() {
            self.send(now, &ClientMsg::Leave);
        }
        self.end(ClientEvent::LobbyClosed(CloseReason::Left));
    }

    fn handle_msg(&mut self, now: Instant, msg: HostMsg) {
        match (self.phase.clone(), msg) {
            (
                Phase::AwaitChallenge,
                HostMsg::Challenge {
                    nonce,
                    password_required,
                    lobby_name,
                },
            ) => {
                let proof = match (&self.config.password, password_required) {
                    (_, false) => None,
                    (Some(pw), true) => Some(password_proof(pw, &nonce)),
                    (None, true) => return self.fail(JoinError::PasswordRequired),
                };
                let hello = Hello {
                    game: self.config.game.clone(),
                    game_version: self.config.game_version.clone(),
                    name: self.config.name.clone(),
                    game_port: self.config.game_port,
                    proof,
                };
                self.send(now, &ClientMsg::Hello(hello));
                self.phase = Phase::AwaitWelcome;
                self.lobby_name = lobby_name;
            }
            (
                Phase::AwaitWelcome,
                HostMsg::Welcome {
                    you,
                    name,
                    max_players,
                    roster,
                },
            ) => {
                self.phase = Phase::InLobby(you);
                self.seen.joined(&name, max_players, &roster);
                self.events.push_back(ClientEvent::Joined {
                    you,
                    name,
                    lobby: std::mem::take(&mut self.lobby_name),
                    max_players,
                    roster,
                });
            }
            (Phase::AwaitChallenge | Phase::AwaitWelcome, HostMsg::Reject(reason)) => {
                let error = self.reject_error(reason);
                self.fail(error);
            }
            (_, HostMsg::KeepAlive) => {}
            (Phase::InLobby(_), HostMsg::Roster(roster)) => {
                self.seen.roster.clone_from(&roster);
                self.events.push_back(ClientEvent::RosterChanged(roster));
            }
            (Phase::InLobby(_), HostMsg::Chat { from, name, text }) => {
                self.events
                    .push_back(ClientEvent::Chat { from, name, text });
            }
            (Phase::InLobby(_), HostMsg::Start(plan)) => self.start(plan),
            (Phase::InLobby(_), HostMsg::Kicked) => {
                self.end(ClientEvent::LobbyClosed(CloseReason::Kicked));
            }
            (Phase::InLobby(_), HostMsg::Closed) => {
                self.end(ClientEvent::LobbyClosed(CloseReason::HostClosed));
            }
            (_, other) => self.protocol_error(&format_args!("unexpected {}", msg_name(&other))),
        }
    }

    fn reject_error(&self, reason: RejectReason) -> JoinError {
        match reason {
            RejectReason::Full { max } => JoinError::Full { max },
            RejectReason::WrongPassword if self.config.password.is_none() => {
                JoinError::PasswordRequired
            }
            RejectReason::WrongPassword => JoinError::WrongPassword,
            RejectReason::WrongGame { host } => JoinError::WrongGame {
                host,
                ours: self.config.game.clone(),
            },
            RejectReason::GameVersion { host } => JoinError::GameVersion {
                host,
                ours: self.config.game_version.clone(),
            },
            RejectReason::Protocol { host } => JoinError::VersionMismatch {
                host,
                ours: PROTOCOL_VERSION,
            },
            RejectReason::InvalidName => JoinError::InvalidName,
            RejectReason::AlreadyStarted => JoinError::AlreadyStarted,
            RejectReason::HelloTimeout => JoinError::Timeout,
        }
    }

    fn protocol_error(&mut self, error: &dyn std::fmt::Display) {
        match self.phase {
            Phase::InLobby(_) => self.end(ClientEvent::LobbyClosed(CloseReason::Protocol(
                error.to_string(),
            ))),
            _ => self.fail(JoinError::Protocol(error.to_string())),
        }
    }

    fn fail(&mut self, error: JoinError) {
        self.end(ClientEvent::JoinFailed(error));
    }

    fn end(&mut self, event: ClientEvent) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        self.out.push_back(ClientTransmit::Close);
        self.events.push_back(event);
    }

    fn send(&mut self, now: Instant, msg: &ClientMsg) {
        if let Ok(frame) = encode(msg) {
            self.last_sent = now;
            self.out.push_back(ClientTransmit::Send(frame));
        }
    }
}

fn msg_name(msg: &HostMsg) -> &'static str {
    match msg {
        HostMsg::Challenge { .. } => "challenge",
        HostMsg::Welcome { .. } => "welcome",
        HostMsg::Reject(_) => "reject",
        HostMsg::Roster(_) => "roster",
        HostMsg::Chat { .. } => "chat",
        HostMsg::Kicked => "kicked",
        HostMsg::Start(_) => "start",
        HostMsg::Closed => "closed",
        HostMsg::KeepAlive => "keepalive",
    }
}
