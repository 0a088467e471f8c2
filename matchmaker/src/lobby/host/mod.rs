//! The host side of the lobby protocol, without I/O.
//!
//! The shell feeds connections, bytes and time in (`handle_*`), and takes
//! frames to write ([`HostMachine::poll_transmit`]), events for the game
//! ([`HostMachine::poll_event`]) and the next wake-up
//! ([`HostMachine::poll_timeout`]) out. The host is itself member 0.
//!
//! Split in three: `types.rs` (config, events, errors), this file (the
//! machine and its public API), `handlers.rs` (message handling and the
//! plan).

mod handlers;
mod types;

pub use types::{ConnId, HostConfig, HostEvent, HostTransmit, LeaveReason, StartError};

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use nearplay_netcode::MatchPlan;

use super::codec::FrameDecoder;
use super::message::{
    HostMsg, MAX_CHAT_CHARS, MAX_NAME_CHARS, MemberId, RejectReason, RosterEntry, sanitize,
};
use super::rng::SeededRng;

/// Connections allowed to wait for their hello at the same time; more are
/// closed at once (each waits at most the hello timeout anyway).
pub const MAX_PENDING_HELLOS: usize = 16;

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
        let host_ip = self.host_ip();
        self.members
            .iter()
            .map(|m| RosterEntry {
                id: m.id,
                name: m.name.clone(),
                ready: m.ready,
                game_addr: m.plan_addr(host_ip),
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
        let pending = self
            .conns
            .values()
            .filter(|c| matches!(c.state, ConnState::AwaitHello { .. }))
            .count();
        if pending > MAX_PENDING_HELLOS {
            // A flood of silent connections: drop the newcomer at once.
            self.close_conn(conn);
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
}

fn clean_name(name: &str) -> String {
    sanitize(name, MAX_NAME_CHARS)
}

/// Maps `::ffff:a.b.c.d` (a dual-stack socket's view of IPv4) to `a.b.c.d`.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}
