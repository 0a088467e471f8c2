//! The host side of the lobby protocol, without I/O.
//!
//! The shell feeds connections, bytes and time in (`handle_*`), and takes
//! frames to write ([`HostMachine::poll_transmit`]), events for the game
//! ([`HostMachine::poll_event`]) and the next wake-up
//! ([`HostMachine::poll_timeout`]) out. The host is itself member 0.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use nearplay_netcode::{MatchId, MatchKey, MatchPlan, NetSettings, PeerAddr, PlanPlayer};

use super::Timeouts;
use super::codec::{CodecError, Frame, FrameDecoder, encode, encode_with_version};
use super::message::{
    ClientMsg, Hello, HostMsg, MAX_CHAT_CHARS, MAX_NAME_CHARS, MemberId, RejectReason, RosterEntry,
    sanitize, verify_proof,
};
use super::rng::SeededRng;

/// What a host is, and the rules of its lobby.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Lobby display name (also the DNS-SD instance name).
    pub lobby_name: String,
    /// The host player's name.
    pub host_name: String,
    /// Game id; joiners must match it.
    pub game: String,
    /// Game build version; joiners must match it.
    pub game_version: String,
    /// Player limit, the host included. Default 4.
    pub max_players: u16,
    /// Password of a private lobby; `None` for a public one.
    pub password: Option<String>,
    /// Game mode shown in the browser.
    pub mode: String,
    /// Netcode settings put into the [`MatchPlan`].
    pub settings: NetSettings,
    /// UDP port of the host's own game socket.
    pub game_port: u16,
    /// Lobby timers.
    pub timeouts: Timeouts,
}

impl HostConfig {
    /// A public lobby with defaults: 4 players, mode "default".
    pub fn new(lobby_name: &str, host_name: &str, game: &str, game_version: &str) -> Self {
        HostConfig {
            lobby_name: lobby_name.to_string(),
            host_name: host_name.to_string(),
            game: game.to_string(),
            game_version: game_version.to_string(),
            max_players: 4,
            password: None,
            mode: "default".to_string(),
            settings: NetSettings::default(),
            game_port: 0,
            timeouts: Timeouts::default(),
        }
    }
}

/// Identifies one connection; chosen by the shell, unique for the host's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Something the shell must do on a connection, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostTransmit {
    /// Write `frame` to `conn`.
    Send {
        /// Target connection.
        conn: ConnId,
        /// Encoded frame.
        frame: Vec<u8>,
    },
    /// Close `conn` once what was queued before is written.
    Close {
        /// Connection to close.
        conn: ConnId,
    },
}

/// Why a member left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    /// It said goodbye.
    Left,
    /// The host kicked it.
    Kicked,
    /// It went silent past the idle timeout.
    TimedOut,
    /// Its connection dropped.
    Disconnected,
    /// It sent bytes that are not the protocol.
    ProtocolError(String),
}

/// Something that happened in the lobby, for the host's game.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostEvent {
    /// A player joined.
    MemberJoined {
        /// Its id.
        id: MemberId,
        /// Its (unique) name.
        name: String,
    },
    /// A player left.
    MemberLeft {
        /// Its id.
        id: MemberId,
        /// Its name.
        name: String,
        /// Why.
        reason: LeaveReason,
    },
    /// A join request was turned away.
    Rejected {
        /// Who asked.
        peer: SocketAddr,
        /// Why it was refused.
        reason: RejectReason,
    },
    /// The roster changed (join, leave, ready); the host's shell updates the TXT.
    RosterChanged(Vec<RosterEntry>),
    /// A chat line.
    Chat {
        /// Sender id.
        from: MemberId,
        /// Sender name.
        name: String,
        /// The line.
        text: String,
    },
    /// The match started; the host's copy of the plan (handle 0).
    Started(MatchPlan),
    /// The lobby is closed.
    Closed,
}

/// Why [`HostMachine::start`] refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// Some members are not ready.
    #[error("not everyone is ready: {0:?}")]
    NotReady(Vec<String>),
    /// The lobby is no longer open.
    #[error("the lobby is not open")]
    NotOpen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    Started,
    Closed,
}

#[derive(Debug)]
enum ConnState {
    AwaitHello { nonce: [u8; 32], deadline: Instant },
    Member(MemberId),
    Closing,
}

#[derive(Debug)]
struct Conn {
    peer: SocketAddr,
    local: SocketAddr,
    decoder: FrameDecoder,
    state: ConnState,
    last_heard: Instant,
    last_sent: Instant,
}

#[derive(Clone, Debug)]
struct Member {
    id: MemberId,
    name: String,
    ready: bool,
    conn: Option<ConnId>,
    game_addr: SocketAddr,
}

/// The host's lobby state machine.
#[derive(Debug)]
pub struct HostMachine {
    config: HostConfig,
    rng: SeededRng,
    conns: BTreeMap<ConnId, Conn>,
    members: Vec<Member>,
    next_id: MemberId,
    phase: Phase,
    out: VecDeque<HostTransmit>,
    events: VecDeque<HostEvent>,
}

impl HostMachine {
    /// A new open lobby with the host as member 0. `seed` feeds nonces, match
    /// id, seed and key (the shell passes OS randomness).
    pub fn new(config: HostConfig, seed: [u8; 32]) -> Self {
        let host = Member {
            id: 0,
            name: clean_name(&config.host_name),
            ready: true,
            conn: None,
            game_addr: SocketAddr::new(IpAddr::from([127, 0, 0, 1]), config.game_port),
        };
        HostMachine {
            config,
            rng: SeededRng::new(seed),
            conns: BTreeMap::new(),
            members: vec![host],
            next_id: 1,
            phase: Phase::Open,
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration the lobby runs with.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The current roster, host first.
    pub fn roster(&self) -> Vec<RosterEntry> {
        self.members
            .iter()
            .map(|m| RosterEntry {
                id: m.id,
                name: m.name.clone(),
                ready: m.ready,
            })
            .collect()
    }

    /// Whether the lobby still takes joins.
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// A TCP connection was accepted from `peer` on our `local` address.
    pub fn handle_connect(
        &mut self,
        now: Instant,
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
    ) {
        let nonce = self.rng.bytes32();
        let deadline = now + self.config.timeouts.hello;
        self.conns.insert(
            conn,
            Conn {
                peer: canonical(peer),
                local: canonical(local),
                decoder: FrameDecoder::new(),
                state: ConnState::AwaitHello { nonce, deadline },
                last_heard: now,
                last_sent: now,
            },
        );
        if self.phase != Phase::Open {
            self.reject(now, conn, RejectReason::AlreadyStarted);
            return;
        }
        let challenge = HostMsg::Challenge {
            nonce,
            password_required: self.config.password.is_some(),
            lobby_name: self.config.lobby_name.clone(),
        };
        self.send(now, conn, &challenge);
    }

    /// Bytes arrived on `conn`.
    pub fn handle_data(&mut self, now: Instant, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.last_heard = now;
        c.decoder.push(bytes);
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if matches!(c.state, ConnState::Closing) {
                return;
            }
            match c.decoder.next_frame() {
                Ok(Some(frame)) => self.handle_frame(now, conn, &frame),
                Ok(None) => return,
                Err(e) => {
                    self.protocol_error(now, conn, &e);
                    return;
                }
            }
        }
    }

    /// The connection `conn` closed (EOF or error).
    pub fn handle_disconnect(&mut self, now: Instant, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn)
            && let ConnState::Member(id) = c.state
        {
            self.remove_member(now, id, LeaveReason::Disconnected);
        }
    }

    /// Time passed: hello and idle timeouts, keepalives.
    pub fn handle_timeout(&mut self, now: Instant) {
        let t = self.config.timeouts;
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in ids {
            let Some(c) = self.conns.get(&conn) else {
                continue;
            };
            match c.state {
                ConnState::AwaitHello { deadline, .. } if now >= deadline => {
                    self.reject(now, conn, RejectReason::HelloTimeout);
                }
                ConnState::Member(id) if now >= c.last_heard + t.idle => {
                    self.close_conn(conn);
                    self.remove_member(now, id, LeaveReason::TimedOut);
                }
                ConnState::Member(_) if now >= c.last_sent + t.keepalive => {
                    self.send(now, conn, &HostMsg::KeepAlive);
                }
                _ => {}
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = self.config.timeouts;
        self.conns
            .values()
            .filter_map(|c| match c.state {
                ConnState::AwaitHello { deadline, .. } => Some(deadline),
                ConnState::Member(_) => {
                    Some((c.last_heard + t.idle).min(c.last_sent + t.keepalive))
                }
                ConnState::Closing => None,
            })
            .min()
    }

    /// The next thing to write or close.
    pub fn poll_transmit(&mut self) -> Option<HostTransmit> {
        self.out.pop_front()
    }

    /// The next event for the game.
    pub fn poll_event(&mut self) -> Option<HostEvent> {
        self.events.pop_front()
    }

    /// The host's own ready flag.
    pub fn set_ready(&mut self, now: Instant, ready: bool) {
        if let Some(m) = self.members.first_mut()
            && m.ready != ready
        {
            m.ready = ready;
            self.roster_changed(now);
        }
    }

    /// The host says something in the chat.
    pub fn chat(&mut self, now: Instant, text: &str) {
        let name = self
            .members
            .first()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        self.broadcast_chat(now, 0, name, sanitize(text, MAX_CHAT_CHARS));
    }

    /// Removes member `id` (not the host); `false` if there is no such member.
    pub fn kick(&mut self, now: Instant, id: MemberId) -> bool {
        let Some(m) = self.members.iter().find(|m| m.id == id && id != 0) else {
            return false;
        };
        if let Some(conn) = m.conn {
            self.send(now, conn, &HostMsg::Kicked);
            self.close_conn(conn);
        }
        self.remove_member(now, id, LeaveReason::Kicked);
        true
    }

    /// Starts the match: builds the one [`MatchPlan`], sends every member its
    /// copy and returns the host's (handle 0). Handles follow join order.
    pub fn start(&mut self, now: Instant) -> Result<MatchPlan, StartError> {
        if self.phase != Phase::Open {
            return Err(StartError::NotOpen);
        }
        let not_ready: Vec<String> = self
            .members
            .iter()
            .filter(|m| !m.ready)
            .map(|m| m.name.clone())
            .collect();
        if !not_ready.is_empty() {
            return Err(StartError::NotReady(not_ready));
        }
        let plan = self.build_plan();
        self.phase = Phase::Started;
        let members: Vec<(usize, Option<ConnId>)> = self
            .members
            .iter()
            .enumerate()
            .map(|(h, m)| (h, m.conn))
            .collect();
        for (handle, conn) in members {
            if let Some(conn) = conn {
                self.send(now, conn, &HostMsg::Start(plan.for_member(handle)));
                self.close_conn(conn);
            }
        }
        self.close_pending(now);
        self.events.push_back(HostEvent::Started(plan.clone()));
        Ok(plan)
    }

    /// Closes the lobby: every member gets `Closed`.
    pub fn close(&mut self, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            if matches!(
                self.conns.get(&conn).map(|c| &c.state),
                Some(ConnState::Member(_))
            ) {
                self.send(now, conn, &HostMsg::Closed);
            }
            self.close_conn(conn);
        }
        self.events.push_back(HostEvent::Closed);
    }

    fn build_plan(&mut self) -> MatchPlan {
        let host_ip = self.host_ip();
        let players = self
            .members
            .iter()
            .enumerate()
            .map(|(handle, m)| {
                let mut addr = m.game_addr;
                if m.id == 0 || addr.ip().is_loopback() {
                    addr.set_ip(host_ip);
                }
                PlanPlayer {
                    handle,
                    name: m.name.clone(),
                    addr: PeerAddr::Udp(addr),
                }
            })
            .collect();
        MatchPlan {
            match_id: MatchId(self.rng.next_u64()),
            seed: self.rng.next_u64(),
            players,
            spectators: Vec::new(),
            key: MatchKey(self.rng.bytes32()),
            settings: self.config.settings.clone(),
            local_handle: 0,
        }
    }

    /// The host's address as members reach it: a non-loopback local address
    /// of a member connection if there is one, else loopback.
    fn host_ip(&self) -> IpAddr {
        let locals = self
            .conns
            .values()
            .filter(|c| matches!(c.state, ConnState::Member(_)))
            .map(|c| c.local.ip());
        let mut best = None;
        for ip in locals {
            if !ip.is_loopback() {
                return ip;
            }
            best.get_or_insert(ip);
        }
        best.unwrap_or(IpAddr::from([127, 0, 0, 1]))
    }

    fn handle_frame(&mut self, now: Instant, conn: ConnId, frame: &Frame) {
        let msg: ClientMsg = match frame.decode() {
            Ok(m) => m,
            Err(CodecError::Version { ours, .. }) => {
                let reject = HostMsg::Reject(RejectReason::Protocol { host: ours });
                // The client may not parse our body, but our frame header
                // tells it which version we run.
                if let Ok(bytes) = encode_with_version(&reject, ours) {
                    self.push_send(now, conn, bytes);
                }
                let peer = self.conns.get(&conn).map(|c| c.peer);
                self.close_conn(conn);
                if let Some(peer) = peer {
                    self.events.push_back(HostEvent::Rejected {
                        peer,
                        reason: RejectReason::Protocol { host: ours },
                    });
                }
                return;
            }
            Err(e) => return self.protocol_error(now, conn, &e),
        };
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        match (&c.state, msg) {
            (ConnState::AwaitHello { nonce, .. }, ClientMsg::Hello(hello)) => {
                let nonce = *nonce;
                self.handle_hello(now, conn, nonce, hello);
            }
            (ConnState::AwaitHello { .. }, ClientMsg::KeepAlive) => {}
            (ConnState::AwaitHello { .. }, _) => {
                self.protocol_error(now, conn, &"message before hello");
            }
            (ConnState::Member(id), msg) => {
                let id = *id;
                self.handle_member_msg(now, conn, id, msg);
            }
            (ConnState::Closing, _) => {}
        }
    }

    fn handle_hello(&mut self, now: Instant, conn: ConnId, nonce: [u8; 32], hello: Hello) {
        let reason = if hello.game != self.config.game {
            Some(RejectReason::WrongGame {
                host: self.config.game.clone(),
            })
        } else if hello.game_version != self.config.game_version {
            Some(RejectReason::GameVersion {
                host: self.config.game_version.clone(),
            })
        } else if !self.password_ok(&nonce, hello.proof.as_ref()) {
            Some(RejectReason::WrongPassword)
        } else if self.members.len() >= usize::from(self.config.max_players) {
            Some(RejectReason::Full {
                max: self.config.max_players,
            })
        } else if clean_name(&hello.name).is_empty() {
            Some(RejectReason::InvalidName)
        } else {
            None
        };
        if let Some(reason) = reason {
            return self.reject(now, conn, reason);
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        c.state = ConnState::Member(id);
        let game_addr = SocketAddr::new(c.peer.ip(), hello.game_port);
        let name = self.unique_name(&clean_name(&hello.name));
        self.members.push(Member {
            id,
            name: name.clone(),
            ready: false,
            conn: Some(conn),
            game_addr,
        });
        let welcome = HostMsg::Welcome {
            you: id,
            name: name.clone(),
            max_players: self.config.max_players,
            roster: self.roster(),
        };
        self.send(now, conn, &welcome);
        self.events.push_back(HostEvent::MemberJoined { id, name });
        self.roster_changed(now);
    }

    fn handle_member_msg(&mut self, now: Instant, conn: ConnId, id: MemberId, msg: ClientMsg) {
        match msg {
            ClientMsg::Hello(_) => self.protocol_error(now, conn, &"second hello"),
            ClientMsg::SetReady(ready) => {
                if let Some(m) = self.members.iter_mut().find(|m| m.id == id)
                    && m.ready != ready
                {
                    m.ready = ready;
                    self.roster_changed(now);
                }
            }
            ClientMsg::Chat(text) => {
                let name = self.member_name(id);
                self.broadcast_chat(now, id, name, sanitize(&text, MAX_CHAT_CHARS));
            }
            ClientMsg::Leave => {
                self.close_conn(conn);
                self.remove_member(now, id, LeaveReason::Left);
            }
            ClientMsg::KeepAlive => {}
        }
    }

    fn password_ok(&self, nonce: &[u8; 32], proof: Option<&[u8; 32]>) -> bool {
        match (&self.config.password, proof) {
            (None, _) => true,
            (Some(pw), Some(proof)) => verify_proof(pw, nonce, proof),
            (Some(_), None) => false,
        }
    }

    fn unique_name(&self, wanted: &str) -> String {
        let taken = |n: &str| self.members.iter().any(|m| m.name.eq_ignore_ascii_case(n));
        if !taken(wanted) {
            return wanted.to_string();
        }
        (2..)
            .map(|i| format!("{wanted} ({i})"))
            .find(|n| !taken(n))
            .unwrap_or_default()
    }

    fn member_name(&self, id: MemberId) -> String {
        self.members
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.name.clone())
            .unwrap_or_default()
    }

    fn broadcast_chat(&mut self, now: Instant, from: MemberId, name: String, text: String) {
        if text.is_empty() || self.phase != Phase::Open {
            return;
        }
        let msg = HostMsg::Chat {
            from,
            name: name.clone(),
            text: text.clone(),
        };
        self.broadcast(now, &msg);
        self.events.push_back(HostEvent::Chat { from, name, text });
    }

    fn roster_changed(&mut self, now: Instant) {
        let roster = self.roster();
        self.broadcast(now, &HostMsg::Roster(roster.clone()));
        self.events.push_back(HostEvent::RosterChanged(roster));
    }

    fn broadcast(&mut self, now: Instant, msg: &HostMsg) {
        let conns: Vec<ConnId> = self.members.iter().filter_map(|m| m.conn).collect();
        for conn in conns {
            self.send(now, conn, msg);
        }
    }

    fn remove_member(&mut self, now: Instant, id: MemberId, reason: LeaveReason) {
        let Some(pos) = self.members.iter().position(|m| m.id == id && id != 0) else {
            return;
        };
        let m = self.members.remove(pos);
        self.events.push_back(HostEvent::MemberLeft {
            id,
            name: m.name,
            reason,
        });
        if self.phase == Phase::Open {
            self.roster_changed(now);
        }
    }

    fn reject(&mut self, now: Instant, conn: ConnId, reason: RejectReason) {
        self.send(now, conn, &HostMsg::Reject(reason.clone()));
        let peer = self.conns.get(&conn).map(|c| c.peer);
        self.close_conn(conn);
        if let Some(peer) = peer {
            self.events.push_back(HostEvent::Rejected { peer, reason });
        }
    }

    fn protocol_error(&mut self, now: Instant, conn: ConnId, error: &dyn std::fmt::Display) {
        let state = self.conns.get(&conn).map(|c| match c.state {
            ConnState::Member(id) => Some(id),
            _ => None,
        });
        self.close_conn(conn);
        if let Some(Some(id)) = state {
            self.remove_member(now, id, LeaveReason::ProtocolError(error.to_string()));
        }
    }

    fn close_pending(&mut self, now: Instant) {
        let pending: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.state, ConnState::AwaitHello { .. }))
            .map(|(id, _)| *id)
            .collect();
        for conn in pending {
            self.reject(now, conn, RejectReason::AlreadyStarted);
        }
    }

    fn send(&mut self, now: Instant, conn: ConnId, msg: &HostMsg) {
        if let Ok(frame) = encode(msg) {
            self.push_send(now, conn, frame);
        }
    }

    fn push_send(&mut self, now: Instant, conn: ConnId, frame: Vec<u8>) {
        if let Some(c) = self.conns.get_mut(&conn)
            && !matches!(c.state, ConnState::Closing)
        {
            c.last_sent = now;
            self.out.push_back(HostTransmit::Send { conn, frame });
        }
    }

    fn close_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn)
            && !matches!(c.state, ConnState::Closing)
        {
            c.state = ConnState::Closing;
            self.out.push_back(HostTransmit::Close { conn });
        }
    }
}

fn clean_name(name: &str) -> String {
    sanitize(name, MAX_NAME_CHARS)
}

/// Maps `::ffff:a.b.c.d` (a dual-stack socket's view of IPv4) to `a.b.c.d`.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}
