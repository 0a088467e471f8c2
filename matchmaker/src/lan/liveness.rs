//! Liveness: the browser pings every lobby's port about once a second over
//! UDP, measures the round trip, and drops a lobby that stops answering
//! (mDNS alone would keep a crashed host listed for 120 s).
//!
//! Why UDP on the lobby's port number rather than a short TCP connection: a
//! ping then costs the host one datagram, holds no slot in the lobby (a TCP
//! connect would count against the hello timeout and the accept queue), and
//! the round trip measured is the network's, not a handshake's. The host binds
//! UDP on the same port number as its TCP lobby port, so the one port in the
//! DNS-SD record serves both (the service type is `_udp`).
//!
//! [`LivenessTable`] is the sans-IO core; the browser thread is its shell.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::txt::{LobbyTxt, TxtError};

const PING_MAGIC: &[u8; 4] = b"NPPI";
const PONG_MAGIC: &[u8; 4] = b"NPPO";
const PING_VERSION: u8 = 1;
/// Length of a ping and of a pong datagram.
pub const PING_LEN: usize = 13;

/// Encodes a ping carrying `nonce`.
pub fn encode_ping(nonce: u64) -> [u8; PING_LEN] {
    encode(PING_MAGIC, nonce)
}

/// The host side: the pong for a valid ping, `None` for anything else.
pub fn answer_ping(datagram: &[u8]) -> Option<[u8; PING_LEN]> {
    decode(PING_MAGIC, datagram).map(|nonce| encode(PONG_MAGIC, nonce))
}

/// The browser side: the nonce of a valid pong, `None` for anything else.
pub fn decode_pong(datagram: &[u8]) -> Option<u64> {
    decode(PONG_MAGIC, datagram)
}

fn encode(magic: &[u8; 4], nonce: u64) -> [u8; PING_LEN] {
    let nonce = nonce.to_be_bytes();
    let mut out = [0u8; PING_LEN];
    let bytes = magic.iter().chain(&[PING_VERSION]).chain(&nonce);
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

fn decode(magic: &[u8; 4], datagram: &[u8]) -> Option<u64> {
    let bytes: &[u8; PING_LEN] = datagram.try_into().ok()?;
    let (head, nonce) = bytes.split_first_chunk::<5>()?;
    let nonce: &[u8; 8] = nonce.try_into().ok()?;
    (head.starts_with(magic) && head.get(4) == Some(&PING_VERSION))
        .then(|| u64::from_be_bytes(*nonce))
}

/// What mDNS said about one lobby.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LobbyRecord {
    /// Full DNS-SD instance name (unique key).
    pub fullname: String,
    /// Lobby display name (the instance label).
    pub name: String,
    /// Lobby port (TCP lobby, UDP ping).
    pub port: u16,
    /// Host addresses, IPv4 first.
    pub addrs: Vec<SocketAddr>,
    /// The TXT record, or why it did not parse.
    pub txt: Result<LobbyTxt, TxtError>,
    /// Last measured round trip.
    pub rtt: Option<Duration>,
    /// An address that answers pings (IPv4 preferred).
    pub alive_addr: Option<SocketAddr>,
}

/// A change in the list of live lobbies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableEvent {
    /// A lobby appeared or changed (TXT, RTT, liveness regained).
    Up(LobbyRecord),
    /// A lobby disappeared (goodbye, or stopped answering pings).
    Down {
        /// Its full name.
        fullname: String,
        /// Its display name.
        name: String,
    },
}

/// Timers of the liveness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LivenessConfig {
    /// Time between pings to one lobby. Default 1 s.
    pub interval: Duration,
    /// Silence after which a lobby counts as gone. Default 2.5 s (a crashed
    /// host disappears within 3 s).
    pub dead_after: Duration,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig {
            interval: Duration::from_secs(1),
            dead_after: Duration::from_millis(2500),
        }
    }
}

#[derive(Debug)]
struct Entry {
    record: LobbyRecord,
    visible: bool,
    last_alive: Instant,
    next_ping: Instant,
    sent: VecDeque<(u64, Instant)>,
}

/// Lobbies known from mDNS, with their liveness (sans-IO).
#[derive(Debug)]
pub struct LivenessTable {
    config: LivenessConfig,
    entries: BTreeMap<String, Entry>,
    active: bool,
    next_nonce: u64,
    pings: VecDeque<(SocketAddr, [u8; PING_LEN])>,
    events: VecDeque<TableEvent>,
}

impl LivenessTable {
    /// An empty table; pinging starts with [`set_active`](Self::set_active).
    pub fn new(config: LivenessConfig, nonce_seed: u64) -> Self {
        LivenessTable {
            config,
            entries: BTreeMap::new(),
            active: false,
            next_nonce: nonce_seed,
            pings: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Turns pinging on (someone is browsing) or off. While off, the list
    /// follows mDNS alone.
    pub fn set_active(&mut self, now: Instant, active: bool) {
        if active && !self.active {
            for e in self.entries.values_mut() {
                e.last_alive = now;
                e.next_ping = now;
            }
        }
        self.active = active;
    }

    /// The lobbies currently listed.
    pub fn visible(&self) -> impl Iterator<Item = &LobbyRecord> {
        self.entries
            .values()
            .filter(|e| e.visible)
            .map(|e| &e.record)
    }

    /// mDNS resolved (or re-resolved) a lobby.
    pub fn handle_resolved(&mut self, now: Instant, mut record: LobbyRecord) {
        match self.entries.get_mut(&record.fullname) {
            Some(e) => {
                record.rtt = e.record.rtt;
                record.alive_addr = e.record.alive_addr;
                e.record = record;
                if e.visible {
                    self.events.push_back(TableEvent::Up(e.record.clone()));
                }
            }
            None => {
                self.events.push_back(TableEvent::Up(record.clone()));
                let entry = Entry {
                    record,
                    visible: true,
                    last_alive: now,
                    next_ping: now,
                    sent: VecDeque::new(),
                };
                self.entries.insert(entry.record.fullname.clone(), entry);
            }
        }
    }

    /// mDNS said goodbye for a lobby.
    pub fn handle_removed(&mut self, fullname: &str) {
        if let Some(e) = self.entries.remove(fullname)
            && e.visible
        {
            self.events.push_back(TableEvent::Down {
                fullname: e.record.fullname,
                name: e.record.name,
            });
        }
    }

    /// A pong arrived from `from` at `now`.
    pub fn handle_pong(&mut self, now: Instant, from: SocketAddr, nonce: u64) {
        // Keep an IPv6 scope id (link-local); unwrap IPv4-mapped addresses.
        let from = match from {
            SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_some() => {
                SocketAddr::new(v6.ip().to_canonical(), v6.port())
            }
            other => other,
        };
        for e in self.entries.values_mut() {
            let Some(pos) = e.sent.iter().position(|(n, _)| *n == nonce) else {
                continue;
            };
            let sent_at = e.sent.get(pos).map(|(_, t)| *t).unwrap_or(now);
            e.sent.drain(..=pos);
            e.last_alive = now;
            e.record.rtt = Some(now.saturating_duration_since(sent_at));
            // Prefer an IPv4 address once one answers: it is what the game's
            // UDP socket and every member can use (link-local IPv6 scopes are
            // per machine).
            if e.record
                .alive_addr
                .is_none_or(|a| a.is_ipv6() || from.is_ipv4())
            {
                e.record.alive_addr = Some(from);
            }
            e.visible = true;
            self.events.push_back(TableEvent::Up(e.record.clone()));
            return;
        }
    }

    /// Time passed: send due pings, drop silent lobbies.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.active {
            return;
        }
        for e in self.entries.values_mut() {
            if now >= e.next_ping {
                e.next_ping = now + self.config.interval;
                let nonce = self.next_nonce;
                self.next_nonce = self.next_nonce.wrapping_add(1);
                for addr in e.record.addrs.iter().take(4) {
                    self.pings.push_back((*addr, encode_ping(nonce)));
                }
                e.sent.push_back((nonce, now));
                while e.sent.len() > 4 {
                    e.sent.pop_front();
                }
            }
            if e.visible && now >= e.last_alive + self.config.dead_after {
                e.visible = false;
                e.record.rtt = None;
                self.events.push_back(TableEvent::Down {
                    fullname: e.record.fullname.clone(),
                    name: e.record.name.clone(),
                });
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.active {
            return None;
        }
        self.entries
            .values()
            .map(|e| match e.visible {
                true => e.next_ping.min(e.last_alive + self.config.dead_after),
                false => e.next_ping,
            })
            .min()
    }

    /// The next ping to send.
    pub fn poll_ping(&mut self) -> Option<(SocketAddr, [u8; PING_LEN])> {
        self.pings.pop_front()
    }

    /// The next change of the list.
    pub fn poll_event(&mut self) -> Option<TableEvent> {
        self.events.pop_front()
    }
}

/// Orders addresses IPv4 first, then IPv6, each sorted (stable output).
pub fn sort_addrs(addrs: impl IntoIterator<Item = SocketAddr>) -> Vec<SocketAddr> {
    let mut v: Vec<SocketAddr> = addrs.into_iter().collect();
    v.sort_by_key(|a| (a.is_ipv6(), *a));
    v.dedup();
    v
}
