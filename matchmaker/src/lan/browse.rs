//! The live lobby list: mDNS resolutions, liveness pings, compatibility.
//!
//! Every [`LobbyBrowser`] subscribes to its [`Discovery`]'s hub (`hub.rs`)
//! and sees the same list, judged against its own game id and version.
//!
//! Every string of a [`LobbyInfo`] that a person may see (name, version,
//! mode, TXT values, the reason a lobby is incompatible) is cleaned of
//! control characters ([`printable`]): a stranger chooses them. Only
//! [`LobbyInfo::instance`], the raw key, is left as it came.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::hub::HubInput;
use super::liveness::{LobbyRecord, TableEvent};
use super::text::printable;
use super::txt::{LobbyTxt, TxtError};
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
    /// The TXT record did not parse, or its values are impossible (seats).
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
    /// Full DNS-SD name: the lobby's unique key, raw as mDNS gave it (may
    /// hold control characters: never show it, show `name`).
    pub instance: String,
    /// Display name, cleaned of control characters.
    pub name: String,
    /// Where to join: always one of `addrs` (what mDNS resolved, never a
    /// pong's source): the one that answers pings (IPv4 preferred), else the
    /// first advertised one (IPv4 sorted first).
    pub addr: SocketAddr,
    /// Every address the host advertised.
    pub addrs: Vec<SocketAddr>,
    /// Players present.
    pub players: u16,
    /// Player limit.
    pub max_players: u16,
    /// The host's game version (cleaned).
    pub game_version: String,
    /// Whether a password is needed.
    pub password: bool,
    /// Game mode (cleaned).
    pub mode: String,
    /// The full TXT record, if it parsed, every value cleaned.
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
        /// Its full DNS-SD name (raw key).
        instance: String,
        /// Its display name (cleaned).
        name: String,
        /// The lobby as it was last listed: the same identity fields as
        /// [`BrowseEvent::Added`], to say which lobby left.
        lobby: Box<LobbyInfo>,
    },
}

/// A live, non-blocking lobby list: call [`poll`](Self::poll) every frame.
pub struct LobbyBrowser {
    _discovery: Discovery,
    /// Behind a mutex so the browser is `Sync` (a Bevy resource as is);
    /// reached through `&mut self` only, so never contended.
    rx: Mutex<Receiver<TableEvent>>,
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
            rx: Mutex::new(rx),
            game: game.to_string(),
            game_version: game_version.to_string(),
            lobbies: BTreeMap::new(),
        })
    }

    /// The next change of the list, if any (non-blocking).
    pub fn poll(&mut self) -> Option<BrowseEvent> {
        let event = self
            .rx
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .try_recv()
            .ok()?;
        Some(match event {
            TableEvent::Up(record) => {
                let info = self.info(record);
                match self.lobbies.insert(info.instance.clone(), info.clone()) {
                    Some(_) => BrowseEvent::Updated(info),
                    None => BrowseEvent::Added(info),
                }
            }
            TableEvent::Down(record) => {
                let lobby = match self.lobbies.remove(&record.fullname) {
                    Some(last) => last,
                    None => self.info(record),
                };
                BrowseEvent::Removed {
                    instance: lobby.instance.clone(),
                    name: lobby.name.clone(),
                    lobby: Box::new(lobby),
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

    /// The list entry for a record, every shown string cleaned.
    fn info(&self, r: LobbyRecord) -> LobbyInfo {
        let txt = r.txt.map(|t| cleaned(&t));
        let compatibility = Compatibility::check(&txt, &self.game, &self.game_version);
        let fallback = SocketAddr::from((Ipv4Addr::UNSPECIFIED, r.port));
        let addr = r
            .alive_addr
            .filter(|a| r.addrs.contains(a))
            .or(r.addrs.first().copied())
            .unwrap_or(fallback);
        let txt = txt.ok();
        LobbyInfo {
            instance: r.fullname,
            name: printable(&r.name),
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

/// A TXT record with every value cleaned for display.
fn cleaned(t: &LobbyTxt) -> LobbyTxt {
    LobbyTxt {
        game: printable(&t.game),
        game_version: printable(&t.game_version),
        mode: printable(&t.mode),
        vacant: t.vacant.iter().map(|n| printable(n)).collect(),
        extras: t
            .extras
            .iter()
            .map(|(k, v)| (printable(k), printable(v)))
            .collect(),
        ..t.clone()
    }
}
