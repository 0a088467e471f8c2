//! The live lobby list: mDNS resolutions, liveness pings, compatibility.
//!
//! One hub thread per [`Discovery`] owns the mDNS browse (mdns-sd keeps one
//! listener per service type and daemon) and the [`LivenessTable`]; every
//! [`LobbyBrowser`] subscribes to it and sees the same list, judged against
//! its own game id and version.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mdns_sd::{ResolvedService, ScopedIp, ServiceDaemon, ServiceEvent};

use super::liveness::{
    LivenessConfig, LivenessTable, LobbyRecord, TableEvent, decode_pong, sort_addrs,
};
use super::txt::{LobbyTxt, SERVICE_TYPE, TxtError};
use super::{Discovery, LanError};
use crate::lobby::message::PROTOCOL_VERSION;

/// Whether we can join a lobby, and if not why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compatibility {
    /// Same game, game version and protocol.
    Compatible,
    /// Another game.
    OtherGame {
        /// The lobby's game id.
        host: String,
    },
    /// Another lobby protocol version.
    Protocol {
        /// The lobby's version.
        host: u16,
        /// Ours.
        ours: u16,
    },
    /// Another build of the game.
    GameVersion {
        /// The lobby's version.
        host: String,
        /// Ours.
        ours: String,
    },
    /// The TXT record did not parse.
    BadRecord(TxtError),
}

impl Compatibility {
    /// Judges a lobby's TXT record against our game.
    pub fn check(txt: &Result<LobbyTxt, TxtError>, game: &str, game_version: &str) -> Self {
        match txt {
            Err(e) => Compatibility::BadRecord(e.clone()),
            Ok(t) if t.game != game => Compatibility::OtherGame {
                host: t.game.clone(),
            },
            Ok(t) if t.proto != PROTOCOL_VERSION => Compatibility::Protocol {
                host: t.proto,
                ours: PROTOCOL_VERSION,
            },
            Ok(t) if t.game_version != game_version => Compatibility::GameVersion {
                host: t.game_version.clone(),
                ours: game_version.to_string(),
            },
            Ok(_) => Compatibility::Compatible,
        }
    }

    /// `true` for [`Compatibility::Compatible`].
    pub fn is_compatible(&self) -> bool {
        *self == Compatibility::Compatible
    }
}

impl std::fmt::Display for Compatibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compatibility::Compatible => write!(f, "compatible"),
            Compatibility::OtherGame { host } => write!(f, "another game ({host})"),
            Compatibility::Protocol { host, ours } => {
                write!(f, "host runs protocol {host}, you run {ours}")
            }
            Compatibility::GameVersion { host, ours } => {
                write!(f, "host runs version {host}, you run {ours}")
            }
            Compatibility::BadRecord(e) => write!(f, "unreadable lobby record: {e}"),
        }
    }
}

/// One lobby in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LobbyInfo {
    /// Full DNS-SD name: the lobby's unique key.
    pub instance: String,
    /// Display name.
    pub name: String,
    /// Where to join: the address that answered pings, else the first one.
    pub addr: SocketAddr,
    /// Every address the host advertised.
    pub addrs: Vec<SocketAddr>,
    /// Players present.
    pub players: u16,
    /// Player limit.
    pub max_players: u16,
    /// The host's game version.
    pub game_version: String,
    /// Whether a password is needed.
    pub password: bool,
    /// Game mode.
    pub mode: String,
    /// The full TXT record, if it parsed.
    pub txt: Option<LobbyTxt>,
    /// Whether we can join, with the reason if not.
    pub compatibility: Compatibility,
    /// Last measured ping round trip (`None` until the first pong).
    pub rtt: Option<Duration>,
}

/// A change of the lobby list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrowseEvent {
    /// A lobby appeared.
    Added(LobbyInfo),
    /// A lobby changed (players, TXT, RTT).
    Updated(LobbyInfo),
    /// A lobby went away (closed, started, or stopped answering).
    Removed {
        /// Its full DNS-SD name.
        instance: String,
        /// Its display name.
        name: String,
    },
}

/// A live, non-blocking lobby list: call [`poll`](Self::poll) every frame.
pub struct LobbyBrowser {
    _discovery: Discovery,
    rx: Receiver<TableEvent>,
    game: String,
    game_version: String,
    lobbies: BTreeMap<String, LobbyInfo>,
}

impl std::fmt::Debug for LobbyBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LobbyBrowser")
            .field("lobbies", &self.lobbies.len())
            .finish()
    }
}

impl LobbyBrowser {
    pub(crate) fn open(d: &Discovery, game: &str, game_version: &str) -> Result<Self, LanError> {
        let (tx, rx) = mpsc::channel();
        d.inner
            .hub
            .send(HubInput::Subscribe(tx))
            .map_err(|_| LanError::Stopped)?;
        Ok(LobbyBrowser {
            _discovery: d.clone(),
            rx,
            game: game.to_string(),
            game_version: game_version.to_string(),
            lobbies: BTreeMap::new(),
        })
    }

    /// The next change of the list, if any (non-blocking).
    pub fn poll(&mut self) -> Option<BrowseEvent> {
        let event = self.rx.try_recv().ok()?;
        Some(match event {
            TableEvent::Up(record) => {
                let info = self.info(record);
                match self.lobbies.insert(info.instance.clone(), info.clone()) {
                    Some(_) => BrowseEvent::Updated(info),
                    None => BrowseEvent::Added(info),
                }
            }
            TableEvent::Down { fullname, name } => {
                self.lobbies.remove(&fullname);
                BrowseEvent::Removed {
                    instance: fullname,
                    name,
                }
            }
        })
    }

    /// Applies every pending change, then returns the list sorted by name.
    pub fn lobbies(&mut self) -> Vec<LobbyInfo> {
        while self.poll().is_some() {}
        let mut v: Vec<LobbyInfo> = self.lobbies.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.instance.cmp(&b.instance)));
        v
    }

    fn info(&self, r: LobbyRecord) -> LobbyInfo {
        let compatibility = Compatibility::check(&r.txt, &self.game, &self.game_version);
        let fallback = SocketAddr::from((Ipv4Addr::UNSPECIFIED, r.port));
        let addr = r
            .alive_addr
            .or(r.addrs.first().copied())
            .unwrap_or(fallback);
        let txt = r.txt.ok();
        LobbyInfo {
            instance: r.fullname,
            name: r.name,
            addr,
            addrs: r.addrs,
            players: txt.as_ref().map_or(0, |t| t.players),
            max_players: txt.as_ref().map_or(0, |t| t.max_players),
            game_version: txt
                .as_ref()
                .map(|t| t.game_version.clone())
                .unwrap_or_default(),
            password: txt.as_ref().is_some_and(|t| t.password),
            mode: txt.as_ref().map(|t| t.mode.clone()).unwrap_or_default(),
            txt,
            compatibility,
            rtt: r.rtt,
        }
    }
}

pub(crate) enum HubInput {
    Mdns(ServiceEvent),
    Pong(Instant, SocketAddr, u64),
    Subscribe(Sender<TableEvent>),
    Shutdown,
}

/// Starts browsing and the hub thread; returns the hub's input.
pub(crate) fn start_hub(
    daemon: &ServiceDaemon,
    config: LivenessConfig,
    seen: Arc<Mutex<BTreeSet<String>>>,
) -> Result<Sender<HubInput>, LanError> {
    let (tx, rx) = mpsc::channel();
    let browse = daemon.browse(SERVICE_TYPE)?;
    let fwd = tx.clone();
    std::thread::Builder::new()
        .name("nearplay-mdns-fwd".into())
        .spawn(move || {
            while let Ok(ev) = browse.recv() {
                if fwd.send(HubInput::Mdns(ev)).is_err() {
                    return;
                }
            }
        })?;
    let stop = Arc::new(AtomicBool::new(false));
    let v4 = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    spawn_pong_reader(v4.try_clone()?, tx.clone(), stop.clone())?;
    let v6 = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).ok();
    if let Some(s) = &v6 {
        spawn_pong_reader(s.try_clone()?, tx.clone(), stop.clone())?;
    }
    let mut nonce = [0u8; 8];
    let _ = getrandom::getrandom(&mut nonce);
    let table = LivenessTable::new(config, u64::from_le_bytes(nonce));
    let hub = Hub {
        table,
        subscribers: Vec::new(),
        seen,
        v4,
        v6,
    };
    std::thread::Builder::new()
        .name("nearplay-lan-hub".into())
        .spawn(move || {
            hub.run(rx);
            stop.store(true, Ordering::Relaxed);
        })?;
    Ok(tx)
}

fn spawn_pong_reader(
    sock: UdpSocket,
    tx: Sender<HubInput>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    std::thread::Builder::new()
        .name("nearplay-pong".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let at = Instant::now();
                    if let Some(nonce) = buf.get(..n).and_then(decode_pong)
                        && tx.send(HubInput::Pong(at, from, nonce)).is_err()
                    {
                        return;
                    }
                }
            }
        })?;
    Ok(())
}

struct Hub {
    table: LivenessTable,
    subscribers: Vec<Sender<TableEvent>>,
    seen: Arc<Mutex<BTreeSet<String>>>,
    v4: UdpSocket,
    v6: Option<UdpSocket>,
}

impl Hub {
    fn run(mut self, rx: Receiver<HubInput>) {
        loop {
            let now = Instant::now();
            let wait = self
                .table
                .poll_timeout()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(Duration::from_millis(500))
                .min(Duration::from_millis(500));
            match rx.recv_timeout(wait) {
                Ok(HubInput::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(input) => self.handle(input),
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.table.handle_timeout(Instant::now());
            while let Some((addr, ping)) = self.table.poll_ping() {
                let sock = if addr.is_ipv4() {
                    Some(&self.v4)
                } else {
                    self.v6.as_ref()
                };
                if let Some(sock) = sock {
                    let _ = sock.send_to(&ping, addr);
                }
            }
            self.fan_out();
        }
    }

    fn handle(&mut self, input: HubInput) {
        let now = Instant::now();
        match input {
            HubInput::Mdns(ServiceEvent::ServiceResolved(svc)) => {
                self.table.handle_resolved(now, record(&svc));
            }
            HubInput::Mdns(ServiceEvent::ServiceRemoved(_, fullname)) => {
                self.table.handle_removed(&fullname);
            }
            HubInput::Mdns(_) => {}
            HubInput::Pong(at, from, nonce) => self.table.handle_pong(at, from, nonce),
            HubInput::Subscribe(tx) => {
                let ok = self
                    .table
                    .visible()
                    .all(|r| tx.send(TableEvent::Up(r.clone())).is_ok());
                if ok {
                    self.subscribers.push(tx);
                    self.table.set_active(now, true);
                }
            }
            HubInput::Shutdown => {}
        }
    }

    fn fan_out(&mut self) {
        while let Some(event) = self.table.poll_event() {
            if let Ok(mut seen) = self.seen.lock() {
                match &event {
                    TableEvent::Up(r) => seen.insert(r.name.to_lowercase()),
                    TableEvent::Down { name, .. } => seen.remove(&name.to_lowercase()),
                };
            }
            self.subscribers.retain(|s| s.send(event.clone()).is_ok());
        }
        if self.subscribers.is_empty() {
            self.table.set_active(Instant::now(), false);
        }
    }
}

/// A lobby record from an mDNS resolution.
fn record(svc: &ResolvedService) -> LobbyRecord {
    let port = svc.port;
    let addrs = sort_addrs(svc.addresses.iter().map(|ip| match ip {
        ScopedIp::V4(v4) => SocketAddr::from((*v4.addr(), port)),
        ScopedIp::V6(v6) => {
            let a = *v6.addr();
            let scope = if a.is_unicast_link_local() {
                v6.scope_id().index
            } else {
                0
            };
            SocketAddr::V6(SocketAddrV6::new(a, port, 0, scope))
        }
        _ => SocketAddr::from((ip.to_ip_addr(), port)),
    }));
    let txt = LobbyTxt::from_pairs(
        svc.txt_properties
            .iter()
            .map(|p| (p.key().as_bytes(), p.val())),
    );
    LobbyRecord {
        fullname: svc.fullname.clone(),
        name: instance_label(&svc.fullname),
        port,
        addrs,
        txt,
        rtt: None,
        alive_addr: None,
    }
}

/// The instance label of a full name, DNS escapes undone.
pub fn instance_label(fullname: &str) -> String {
    let suffix = format!(".{SERVICE_TYPE}");
    let label = fullname.strip_suffix(&suffix).unwrap_or(fullname);
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}
