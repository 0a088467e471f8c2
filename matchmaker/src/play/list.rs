//! [`LobbyList`]: lobbies to join, the LAN's (mDNS) and the rendezvous
//! server's public rooms, in one list of [`LobbyEntry`]s.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::lan::{
    BrowseEvent, Compatibility, Discovery, LobbyBrowser, LobbyInfo, LobbyStage, printable,
};
use crate::rendezvous::{RoomCode, RoomInfo};

use super::matchmaker::MatchmakerConfig;

/// Where a listed lobby is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LobbyPlace {
    /// On the LAN.
    Lan {
        /// Its TCP address (one mDNS resolved).
        addr: SocketAddr,
        /// Its full DNS-SD name: the key, raw (never show it; show `name`).
        instance: String,
    },
    /// A public room of the rendezvous server.
    Online {
        /// The room code.
        code: RoomCode,
    },
}

/// What identifies a listed lobby: a LAN lobby by its DNS-SD instance (its
/// address may change while listed), a room by its code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum ListKey {
    Lan(String),
    Online(RoomCode),
}

impl LobbyPlace {
    pub(super) fn key(&self) -> ListKey {
        match self {
            LobbyPlace::Lan { instance, .. } => ListKey::Lan(instance.clone()),
            LobbyPlace::Online { code } => ListKey::Online(*code),
        }
    }
}

/// One lobby in a [`LobbyList`]; every string is cleaned for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LobbyEntry {
    /// Display name.
    pub name: String,
    /// Players present.
    pub players: u16,
    /// Player limit.
    pub max_players: u16,
    /// Whether a password is needed.
    pub password: bool,
    /// Game mode.
    pub mode: String,
    /// Ping round trip (LAN, once measured).
    pub rtt: Option<Duration>,
    /// Whether we can join, with the reason if not.
    pub compatibility: Compatibility,
    /// Where it is (what [`JoinTarget`](super::JoinTarget) is made from).
    pub place: LobbyPlace,
    /// Taking joins, or in a match (with or without seats for newcomers),
    /// as the LAN advertisement says. Online rooms are listed while open.
    pub stage: LobbyStage,
    /// Names of the running match's vacant seats, waiting for their players
    /// (cleaned, at most the lobby's seats): "in match - Bo's seat free".
    pub vacant_seats: Vec<String>,
}

impl LobbyEntry {
    /// Whether a new player may join it: compatible, a seat free, and
    /// taking joins (before its match, or during it when it keeps seats
    /// open for late joiners). A lobby in a match with vacant seats takes
    /// only their own players back (with a [`RejoinTicket`](super::RejoinTicket)).
    pub fn takes_newcomers(&self) -> bool {
        self.compatibility.is_compatible()
            && self.players < self.max_players
            && self.stage != LobbyStage::InMatch
    }

    fn from_lan(info: &LobbyInfo) -> LobbyEntry {
        LobbyEntry {
            name: info.name.clone(),
            players: info.players,
            max_players: info.max_players,
            password: info.password,
            mode: info.mode.clone(),
            rtt: info.rtt,
            compatibility: info.compatibility.clone(),
            place: LobbyPlace::Lan {
                addr: info.addr,
                instance: info.instance.clone(),
            },
            stage: info.txt.as_ref().map(|t| t.stage).unwrap_or_default(),
            vacant_seats: info
                .txt
                .as_ref()
                .map(|t| t.vacant.clone())
                .unwrap_or_default(),
        }
    }

    /// A room the server described (already checked against the API's
    /// bounds by the client), judged against our game.
    pub(super) fn from_room(room: &RoomInfo, game: &str, game_version: &str) -> LobbyEntry {
        let r = &room.request;
        let ours = crate::lobby::message::PROTOCOL_VERSION;
        let compatibility = if r.game != game {
            Compatibility::OtherGame {
                host: printable(&r.game),
            }
        } else if r.proto != ours {
            Compatibility::Protocol {
                host: r.proto,
                ours,
            }
        } else if r.version != game_version {
            Compatibility::GameVersion {
                host: printable(&r.version),
                ours: game_version.to_string(),
            }
        } else {
            Compatibility::Compatible
        };
        LobbyEntry {
            name: printable(&r.name),
            players: room.players,
            max_players: r.max_players,
            password: r.password,
            mode: printable(&r.mode),
            rtt: None,
            compatibility,
            place: LobbyPlace::Online { code: room.code },
            stage: LobbyStage::Open,
            vacant_seats: Vec::new(),
        }
    }
}

/// A change of a [`LobbyList`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListEvent {
    /// A lobby appeared.
    Added(LobbyEntry),
    /// A lobby changed (players, RTT, ...).
    Updated(LobbyEntry),
    /// A lobby went away (as last listed).
    Removed(LobbyEntry),
    /// The rendezvous server could not be asked (it is retried); the reason.
    ServerError(String),
    /// LAN browsing is not available; the reason.
    LanError(String),
}

/// Lobbies to join: the LAN's (mDNS) and, with a rendezvous server, its
/// public rooms (fetched off-thread). Call [`poll`](Self::poll) every
/// frame; it never blocks. `Send + Sync`: a Bevy resource as is.
pub struct LobbyList {
    lan: Option<LobbyBrowser>,
    #[cfg(feature = "rendezvous")]
    rooms: Option<super::list_online::RoomFeed>,
    /// Pending events (LAN failure at open).
    pending: Mutex<std::collections::VecDeque<ListEvent>>,
    entries: BTreeMap<ListKey, LobbyEntry>,
    sorted: Vec<LobbyEntry>,
    game: String,
    game_version: String,
}

impl std::fmt::Debug for LobbyList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LobbyList")
            .field("lobbies", &self.sorted.len())
            .finish_non_exhaustive()
    }
}

impl LobbyList {
    pub(super) fn open(
        config: &MatchmakerConfig,
        discovery: Option<&Discovery>,
        #[cfg(feature = "rendezvous")] server: Option<crate::rendezvous::RendezvousClient>,
    ) -> LobbyList {
        let mut pending = std::collections::VecDeque::new();
        let lan = match discovery {
            None => None,
            Some(d) => match d.browse(&config.game, &config.game_version) {
                Ok(b) => Some(b),
                Err(e) => {
                    pending.push_back(ListEvent::LanError(e.to_string()));
                    None
                }
            },
        };
        LobbyList {
            lan,
            #[cfg(feature = "rendezvous")]
            rooms: server.map(|s| super::list_online::RoomFeed::start(s, config)),
            pending: Mutex::new(pending),
            entries: BTreeMap::new(),
            sorted: Vec::new(),
            game: config.game.clone(),
            game_version: config.game_version.clone(),
        }
    }

    /// The next change of the list, if any. Never blocks.
    pub fn poll(&mut self) -> Option<ListEvent> {
        let pending = self
            .pending
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = pending.pop_front() {
            return Some(e);
        }
        while let Some(event) = self.lan.as_mut().and_then(LobbyBrowser::poll) {
            let event = match event {
                BrowseEvent::Added(i) | BrowseEvent::Updated(i) => {
                    Some(self.upsert(LobbyEntry::from_lan(&i)))
                }
                BrowseEvent::Removed { lobby, .. } => {
                    self.remove(&LobbyEntry::from_lan(&lobby).place.key())
                }
            };
            if event.is_some() {
                return event;
            }
        }
        #[cfg(feature = "rendezvous")]
        if let Some(feed) = self.rooms.as_mut()
            && let Some(update) = feed.poll()
        {
            return self.apply_rooms(update);
        }
        None
    }

    /// The current list: compatible lobbies first, then by name.
    pub fn lobbies(&self) -> &[LobbyEntry] {
        &self.sorted
    }

    pub(super) fn upsert(&mut self, entry: LobbyEntry) -> ListEvent {
        let event = match self.entries.insert(entry.place.key(), entry.clone()) {
            Some(_) => ListEvent::Updated(entry),
            None => ListEvent::Added(entry),
        };
        self.resort();
        event
    }

    pub(super) fn remove(&mut self, key: &ListKey) -> Option<ListEvent> {
        let gone = self.entries.remove(key)?;
        self.resort();
        Some(ListEvent::Removed(gone))
    }

    pub(super) fn pending(&mut self) -> &mut std::collections::VecDeque<ListEvent> {
        self.pending
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn online_keys(&self) -> Vec<ListKey> {
        self.entries
            .keys()
            .filter(|k| matches!(k, ListKey::Online(_)))
            .cloned()
            .collect()
    }

    pub(super) fn game(&self) -> (String, String) {
        (self.game.clone(), self.game_version.clone())
    }

    pub(super) fn entry(&self, key: &ListKey) -> Option<&LobbyEntry> {
        self.entries.get(key)
    }

    fn resort(&mut self) {
        let mut v: Vec<LobbyEntry> = self.entries.values().cloned().collect();
        v.sort_by(|a, b| {
            (!a.compatibility.is_compatible(), &a.name, &a.place).cmp(&(
                !b.compatibility.is_compatible(),
                &b.name,
                &b.place,
            ))
        });
        self.sorted = v;
    }
}
