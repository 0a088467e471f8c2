//! The client side of the lobby protocol, without I/O.
//!
//! The shell tells the machine when the TCP connection is up
//! ([`ClientMachine::handle_connected`]), feeds it bytes and time, and takes
//! frames to write and events for the game out. Inside, the machine runs the
//! key exchange of [`secure`](super::secure) after the host's greeting and
//! seals every later frame; in a locked lobby it sends nothing keyed by the
//! password before the host's answer has verified, and a joiner that gave a
//! password refuses a host that does not ask for one (a man in the middle
//! stripping the lock). Timers: no welcome within the
//! hello timeout is [`JoinError::Timeout`]; host silence past the idle timeout
//! is [`ClientEvent::LobbyClosed`] with [`CloseReason::HostGone`].
//!
//! The public types live in `types.rs`, the machine here.

mod handshake;
mod in_match;
mod plan_check;
mod resume;
mod types;

pub use types::{ClientEvent, ClientTransmit, CloseReason, JoinConfig, JoinError, RejoinClaim};

use std::collections::VecDeque;
use std::time::Instant;

use super::codec::{CodecError, Frame, FrameDecoder, encode};
use super::message::{
    ClientMsg, HostMsg, MAX_CHAT_CHARS, MAX_NAME_CHARS, MemberId, PROTOCOL_VERSION, RejectReason,
    sanitize,
};
use super::rng::SeededRng;
use super::secure::{Channel, Fingerprint, JoinerHandshake};

/// Longest string quoted from a host's refusal (its game id or version).
const MAX_QUOTED_CHARS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    AwaitGreeting,
    AwaitAnswer,
    AwaitWelcome,
    InLobby(MemberId),
    /// Our plan arrived: the lobby is the match's control channel.
    InMatch(MemberId),
    Done,
}

/// The client's lobby state machine.
#[derive(Debug)]
pub struct ClientMachine {
    config: JoinConfig,
    phase: Phase,
    decoder: FrameDecoder,
    rng: SeededRng,
    handshake: Option<JoinerHandshake>,
    channel: Option<Channel>,
    join_deadline: Instant,
    last_heard: Instant,
    last_sent: Instant,
    out: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
    /// What we saw of the lobby, to validate the plan (`plan_check.rs`).
    seen: plan_check::LobbyView,
    /// The match key epoch we hold (from the plan, then each rekey).
    epoch: u32,
}

impl ClientMachine {
    /// A machine about to connect; the hello timeout counts from `now`. Its
    /// ephemeral keys come from the OS RNG.
    pub fn new(config: JoinConfig, now: Instant) -> Self {
        Self::with_seed(config, now, SeededRng::from_os().bytes32())
    }

    /// [`new`](Self::new) with the seed of its ephemeral keys given (tests
    /// replay a run from it).
    pub fn with_seed(config: JoinConfig, now: Instant, seed: [u8; 32]) -> Self {
        let join_deadline = now + config.timeouts.hello;
        ClientMachine {
            config,
            phase: Phase::Connecting,
            decoder: FrameDecoder::new(),
            rng: SeededRng::new(seed),
            handshake: None,
            channel: None,
            join_deadline,
            last_heard: now,
            last_sent: now,
            out: VecDeque::new(),
            events: VecDeque::new(),
            seen: plan_check::LobbyView::default(),
            epoch: 0,
        }
    }

    /// Our member id once joined.
    pub fn member_id(&self) -> Option<MemberId> {
        match self.phase {
            Phase::InLobby(id) | Phase::InMatch(id) => Some(id),
            _ => None,
        }
    }

    /// The fingerprint of our channel to the host, once the key exchange is
    /// done: the host's screen shows the same for us unless someone sits in
    /// between.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.channel.as_ref().map(Channel::fingerprint)
    }

    /// Whether our match runs with the lobby as its control channel.
    pub fn in_match(&self) -> bool {
        matches!(self.phase, Phase::InMatch(_))
    }

    /// Whether the machine reached an end (closed or failed).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The TCP connection is up.
    pub fn handle_connected(&mut self, now: Instant) {
        if self.phase == Phase::Connecting {
            self.phase = Phase::AwaitGreeting;
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
                Ok(Some(frame)) => match self.open(&frame) {
                    Ok(msg) => self.handle_msg(now, msg),
                    Err(CodecError::Version { theirs, ours }) if self.channel.is_none() => {
                        self.fail(JoinError::VersionMismatch { host: theirs, ours });
                    }
                    Err(e) => self.protocol_error(&e),
                },
                Ok(None) => return,
                Err(e) => self.protocol_error(&e),
            }
        }
        // Nothing more will be read: free the buffer.
        self.decoder = FrameDecoder::new();
    }

    /// Clear before the key exchange, sealed after it.
    fn open(&mut self, frame: &Frame) -> Result<HostMsg, CodecError> {
        match self.channel.as_mut() {
            Some(channel) => channel.open(frame),
            None => frame.decode(),
        }
    }

    /// The connection closed.
    pub fn handle_disconnected(&mut self) {
        match self.phase {
            Phase::Done => {}
            Phase::InLobby(_) | Phase::InMatch(_) => {
                self.end(ClientEvent::LobbyClosed(CloseReason::Disconnected))
            }
            _ => self.fail(JoinError::Unreachable("connection closed".to_string())),
        }
    }

    /// Time passed: join and idle timeouts, keepalives.
    pub fn handle_timeout(&mut self, now: Instant) {
        let t = self.config.timeouts;
        match self.phase {
            Phase::Connecting | Phase::AwaitGreeting | Phase::AwaitAnswer | Phase::AwaitWelcome
                if now >= self.join_deadline =>
            {
                self.fail(JoinError::Timeout);
            }
            Phase::InLobby(_) | Phase::InMatch(_) if now >= self.last_heard + t.idle => {
                self.end(ClientEvent::LobbyClosed(CloseReason::HostGone));
            }
            Phase::InLobby(_) | Phase::InMatch(_) if now >= self.last_sent + t.keepalive => {
                self.send(now, &ClientMsg::KeepAlive);
            }
            _ => {}
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = self.config.timeouts;
        match self.phase {
            Phase::Connecting | Phase::AwaitGreeting | Phase::AwaitAnswer | Phase::AwaitWelcome => {
                Some(self.join_deadline)
            }
            Phase::InLobby(_) | Phase::InMatch(_) => {
                Some((self.last_heard + t.idle).min(self.last_sent + t.keepalive))
            }
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
        match (self.phase, msg) {
            (Phase::AwaitGreeting, HostMsg::Greeting { password_required }) => {
                self.start_handshake(now, password_required);
            }
            (Phase::AwaitAnswer, HostMsg::Answer(answer)) => self.finish_handshake(now, &answer),
            (
                Phase::AwaitWelcome,
                HostMsg::Welcome {
                    you,
                    lobby_name,
                    name,
                    max_players,
                    roster,
                },
            ) => {
                let Some(fingerprint) = self.fingerprint() else {
                    return self.protocol_error(&"welcome outside the channel");
                };
                self.phase = Phase::InLobby(you);
                let name = sanitize(&name, MAX_NAME_CHARS + 8);
                let roster = handshake::clean_roster(roster);
                self.seen.joined(&name, max_players, &roster);
                self.events.push_back(ClientEvent::Joined {
                    you,
                    name,
                    lobby: handshake::clean_lobby_name(&lobby_name),
                    max_players,
                    roster,
                    fingerprint,
                });
            }
            (
                Phase::AwaitGreeting | Phase::AwaitAnswer | Phase::AwaitWelcome,
                HostMsg::Reject(reason),
            ) => {
                let error = self.reject_error(reason);
                self.fail(error);
            }
            (_, HostMsg::KeepAlive) => {}
            (Phase::InLobby(_) | Phase::InMatch(_), HostMsg::Roster(roster)) => {
                let roster = handshake::clean_roster(roster);
                self.seen.roster.clone_from(&roster);
                self.events.push_back(ClientEvent::RosterChanged(roster));
            }
            (Phase::InLobby(_) | Phase::InMatch(_), HostMsg::Chat { from, name, text }) => {
                self.events.push_back(ClientEvent::Chat {
                    from,
                    name: sanitize(&name, MAX_NAME_CHARS + 8),
                    text: sanitize(&text, MAX_CHAT_CHARS),
                });
            }
            (Phase::InLobby(id), HostMsg::Start(plan)) => self.start(id, plan),
            // Seat news reach a member let back into a running match while
            // it waits for its plan (the host seats arrivals once the
            // resume in progress is over): other arrivals are newcomers too.
            (Phase::InLobby(_) | Phase::InMatch(_), HostMsg::Seat(news)) => self.seat_news(news),
            // Before our plan we hold no key and play no resume: our plan
            // carries the key, and the next resume is ours.
            (Phase::InLobby(_), HostMsg::Rekey { .. } | HostMsg::Resume { .. }) => {}
            (Phase::InMatch(_), HostMsg::Rekey { epoch, key }) => self.rekeyed(epoch, key),
            (Phase::InMatch(_), HostMsg::Resume { from, bytes }) => self.resume_in(from, bytes),
            (Phase::InLobby(_) | Phase::InMatch(_), HostMsg::Kicked) => {
                self.end(ClientEvent::LobbyClosed(CloseReason::Kicked));
            }
            (Phase::InLobby(_) | Phase::InMatch(_), HostMsg::Closed) => {
                self.end(ClientEvent::LobbyClosed(CloseReason::HostClosed));
            }
            (_, other) => {
                self.protocol_error(&format_args!("unexpected {}", handshake::msg_name(&other)))
            }
        }
    }

    fn reject_error(&self, reason: RejectReason) -> JoinError {
        match reason {
            RejectReason::Full { max } => JoinError::Full { max },
            RejectReason::WrongPassword if self.config.password.is_none() => {
                JoinError::PasswordRequired
            }
            RejectReason::WrongPassword => JoinError::WrongPassword,
            // A reject may come before the channel is up (in clear, from
            // anyone on the path): what it quotes is cleaned and bounded.
            RejectReason::WrongGame { host } => JoinError::WrongGame {
                host: sanitize(&host, MAX_QUOTED_CHARS),
                ours: self.config.game.clone(),
            },
            RejectReason::GameVersion { host } => JoinError::GameVersion {
                host: sanitize(&host, MAX_QUOTED_CHARS),
                ours: self.config.game_version.clone(),
            },
            RejectReason::Protocol { host } => JoinError::VersionMismatch {
                host,
                ours: PROTOCOL_VERSION,
            },
            RejectReason::InvalidName => JoinError::InvalidName,
            RejectReason::AlreadyStarted => JoinError::AlreadyStarted,
            RejectReason::BadRejoin => JoinError::BadRejoin,
            RejectReason::HelloTimeout => JoinError::Timeout,
            RejectReason::TooManyGuesses { retry_after_ms } => {
                JoinError::TooManyGuesses { retry_after_ms }
            }
        }
    }

    fn protocol_error(&mut self, error: &dyn std::fmt::Display) {
        match self.phase {
            Phase::InLobby(_) | Phase::InMatch(_) => self.end(ClientEvent::LobbyClosed(
                CloseReason::Protocol(error.to_string()),
            )),
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

    /// Sends `msg`: sealed once the channel exists, clear before (the offer).
    fn send(&mut self, now: Instant, msg: &ClientMsg) {
        let frame = match self.channel.as_mut() {
            Some(channel) => channel.seal(msg),
            None => encode(msg),
        };
        if let Ok(frame) = frame {
            self.last_sent = now;
            self.out.push_back(ClientTransmit::Send(frame));
        }
    }
}
