//! The host side of the lobby protocol, without I/O.
//!
//! The shell feeds connections, bytes and time in (`handle_*`), and takes
//! frames to write ([`HostMachine::poll_transmit`]), events for the game
//! ([`HostMachine::poll_event`]) and the next wake-up
//! ([`HostMachine::poll_timeout`]) out. The host is itself member 0.
//!
//! Every connection runs the key exchange of [`secure`](super::secure)
//! first: the host greets in clear, answers the joiner's offer, and from
//! then on seals and opens every frame. In a locked lobby each answer is
//! one password guess, slowed per source address by a
//! [`GuessLimiter`]; chat lines and ready toggles are rate-limited per
//! member. Bytes that reach a connection already closing are dropped unread.
//!
//! The lobby stays open during the match as its control channel: member
//! connections are kept (keepalives and idle timeouts as before), a member
//! whose connection drops vacates its seat instead of leaving the roster,
//! and a joiner may take a vacant seat back with the seat's member secret
//! (then the match key changes, see `in_match.rs`).
//!
//! Split by job: `types.rs` (config, events, errors), this file (the
//! machine, its inputs and outputs), `actions.rs` (the host's own actions:
//! ready, chat, kick, start, close), `handlers.rs` (message handling and
//! membership), `plan.rs` (handles and the plan), `state.rs` (roster,
//! phase, counters), `handshake.rs`
//! (greeting, offer, guesses), `in_match.rs` (seats, rejoin, late join and
//! key epochs during the match), `resume_relay.rs` (resume messages
//! between the match's players).

mod actions;
mod arrivals;
mod handlers;
mod handshake;
mod in_match;
mod plan;
mod resume_relay;
mod state;
mod types;

pub use arrivals::RESUME_SETTLE;
pub use resume_relay::RESUME_RATE;
pub use types::{ConnId, HostConfig, HostEvent, HostTransmit, LeaveReason, StartRefused};

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use nearplay_netcode::{MatchPlan, MemberSecret};

use super::codec::FrameDecoder;
use super::message::{HostMsg, MAX_NAME_CHARS, MemberId, RejectReason, sanitize};
use super::rng::SeededRng;
use super::secure::limits::{GuessLimiter, TokenBucket};
use super::secure::{Channel, Fingerprint};

/// Connections allowed to wait for their hello at the same time; more are
/// closed at once (each waits at most the hello timeout anyway).
pub const MAX_PENDING_HELLOS: usize = 16;

/// Events held for a game that does not poll (a whole match may pass
/// without a look at the lobby): past this, notices (refusals, failed
/// guesses, chat, roster updates) are dropped and counted; past four
/// times this, every event is.
pub const MAX_QUEUED_EVENTS: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    /// The match runs; the lobby is its control channel.
    InMatch,
    Closed,
}

#[derive(Debug)]
enum ConnState {
    /// Greeted; waiting for the joiner's offer (clear).
    AwaitOffer {
        deadline: Instant,
    },
    /// Answered; waiting for the first sealed message, the hello. `guess`:
    /// the answer used the lobby's password (a guess until the hello opens).
    AwaitHello {
        deadline: Instant,
        guess: bool,
    },
    Member(MemberId),
    Closing,
}

impl ConnState {
    fn is_pending(&self) -> bool {
        matches!(
            self,
            ConnState::AwaitOffer { .. } | ConnState::AwaitHello { .. }
        )
    }
}

#[derive(Debug)]
struct Conn {
    peer: SocketAddr,
    local: SocketAddr,
    decoder: FrameDecoder,
    state: ConnState,
    /// Set once the key exchange is done; every later frame goes through it.
    channel: Option<Channel>,
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
    /// Joined to watch, not to play.
    spectator: bool,
    fingerprint: Option<Fingerprint>,
    chat_bucket: TokenBucket,
    ready_bucket: TokenBucket,
    /// Resume messages it may still send (see `resume_relay.rs`).
    resume_bucket: TokenBucket,
    /// Its handle in the running match (set at start or when it joined it).
    handle: Option<usize>,
    /// Its seat's secret (players of the running match; never the host's
    /// own, which cannot drop out of its own lobby).
    secret: Option<MemberSecret>,
    /// Its connection is gone during the match: the seat waits for it.
    vacant: bool,
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
    guesses: GuessLimiter,
    /// Chat lines and ready toggles dropped by the per-member rate limits.
    rate_limited: u64,
    /// The running match's full plan (every secret; the host's copy only).
    plan: Option<MatchPlan>,
    /// Events dropped because the game did not poll (see [`MAX_QUEUED_EVENTS`]).
    dropped_events: u64,
    /// Player seat changes waiting for the running resume (at most one per
    /// seat).
    arrivals: Vec<arrivals::Arrival>,
    /// Until when a resume may still run (the last key epoch's).
    settle_by: Option<Instant>,
}

impl HostMachine {
    /// A new open lobby with the host as member 0. `seed` feeds the ephemeral
    /// keys and SPAKE2 scalars of every connection, and the match
    /// id, seed and key (the shell passes OS randomness).
    pub fn new(config: HostConfig, seed: [u8; 32]) -> Self {
        let host = Member {
            id: 0,
            name: clean_name(&config.host_name),
            ready: true,
            conn: None,
            game_addr: SocketAddr::new(IpAddr::from([127, 0, 0, 1]), config.game_port),
            spectator: false,
            fingerprint: None,
            // The host's own member never goes through the buckets.
            chat_bucket: TokenBucket::full(),
            ready_bucket: TokenBucket::full(),
            resume_bucket: TokenBucket::full(),
            handle: None,
            secret: None,
            vacant: false,
        };
        let guesses = GuessLimiter::new(config.guesses);
        HostMachine {
            config,
            rng: SeededRng::new(seed),
            conns: BTreeMap::new(),
            members: vec![host],
            next_id: 1,
            phase: Phase::Open,
            out: VecDeque::new(),
            events: VecDeque::new(),
            guesses,
            rate_limited: 0,
            plan: None,
            dropped_events: 0,
            arrivals: Vec::new(),
            settle_by: None,
        }
    }

    /// A TCP connection was accepted from `peer` on our `local` address.
    pub fn handle_connect(
        &mut self,
        now: Instant,
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
    ) {
        let deadline = now + self.config.timeouts.hello;
        self.conns.insert(
            conn,
            Conn {
                peer: canonical(peer),
                local: canonical(local),
                decoder: FrameDecoder::new(),
                state: ConnState::AwaitOffer { deadline },
                channel: None,
                last_heard: now,
                last_sent: now,
            },
        );
        if self.phase == Phase::Closed {
            self.reject(now, conn, RejectReason::AlreadyStarted);
            return;
        }
        let pending = self.conns.values().filter(|c| c.state.is_pending()).count();
        if pending > MAX_PENDING_HELLOS {
            // A flood of silent connections: drop the newcomer at once.
            self.close_conn(now, conn);
            return;
        }
        let greeting = HostMsg::Greeting {
            password_required: self.config.password.is_some(),
        };
        self.send(now, conn, &greeting);
    }

    /// Bytes arrived on `conn`.
    pub fn handle_data(&mut self, now: Instant, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if matches!(c.state, ConnState::Closing) {
            // Closed by us: whatever the peer still sends is dropped unread,
            // so a peer cannot grow our memory after we hung up.
            return;
        }
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
        self.settle_guess(now, conn, false);
        if let Some(c) = self.conns.remove(&conn)
            && let ConnState::Member(id) = c.state
        {
            self.remove_member(now, id, LeaveReason::Disconnected);
        }
    }

    /// The shell dropped `conn` because its write queue overflowed (the peer
    /// stopped reading): the connection is gone, and a member on it leaves
    /// with [`LeaveReason::TooSlow`].
    pub fn handle_too_slow(&mut self, now: Instant, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn)
            && let ConnState::Member(id) = c.state
        {
            self.remove_member(now, id, LeaveReason::TooSlow);
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
                ConnState::AwaitOffer { deadline } | ConnState::AwaitHello { deadline, .. }
                    if now >= deadline =>
                {
                    self.reject(now, conn, RejectReason::HelloTimeout);
                }
                ConnState::Member(id) if now >= c.last_heard + t.idle => {
                    self.close_conn(now, conn);
                    self.remove_member(now, id, LeaveReason::TimedOut);
                }
                ConnState::Member(_) if now >= c.last_sent + t.keepalive => {
                    self.send(now, conn, &HostMsg::KeepAlive);
                }
                _ => {}
            }
        }
        if self.arrivals_due().is_some_and(|t| now >= t) {
            self.flush_arrivals(now);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = self.config.timeouts;
        self.conns
            .values()
            .filter_map(|c| match c.state {
                ConnState::AwaitOffer { deadline } | ConnState::AwaitHello { deadline, .. } => {
                    Some(deadline)
                }
                ConnState::Member(_) => {
                    Some((c.last_heard + t.idle).min(c.last_sent + t.keepalive))
                }
                ConnState::Closing => None,
            })
            .chain(self.arrivals_due())
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

    /// Events dropped because the game let [`MAX_QUEUED_EVENTS`] pile up.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Queues `event` for the game, within [`MAX_QUEUED_EVENTS`].
    fn push_event(&mut self, event: HostEvent) {
        let notice = matches!(
            event,
            HostEvent::Rejected { .. }
                | HostEvent::GuessFailed { .. }
                | HostEvent::Chat { .. }
                | HostEvent::RosterChanged(_)
        );
        let len = self.events.len();
        if len >= MAX_QUEUED_EVENTS.saturating_mul(4) || (notice && len >= MAX_QUEUED_EVENTS) {
            self.dropped_events = self.dropped_events.saturating_add(1);
            return;
        }
        self.events.push_back(event);
    }
}

fn clean_name(name: &str) -> String {
    sanitize(name, MAX_NAME_CHARS)
}

/// Maps `::ffff:a.b.c.d` (a dual-stack socket's view of IPv4) to `a.b.c.d`.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}
