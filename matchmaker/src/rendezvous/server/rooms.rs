//! [`Rooms`]: who is in which room, and every admission decision (pure:
//! no socket, time comes in, so tests drive it with a fake clock).
//!
//! Two kinds of rooms share one table, keyed by a string:
//! - **code rooms**, created by a host (`POST /rooms`), keyed by their
//!   [`RoomCode`]; a websocket to `/{CODE}` joins one, or is refused with
//!   `room_not_found` / `room_full`.
//! - **stock rooms**, for stock matchbox clients: any other path is a room
//!   created on first use, and `?next=N` groups peers N at a time the way
//!   `matchbox_server` does (a complete group is sealed under its own key and
//!   later arrivals start a new one).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::limits::Limits;
use crate::rendezvous::api::{Refusal, RoomInfo, RoomRequest};
use crate::rendezvous::code::RoomCode;

/// A websocket peer, by the 128-bit id the signaling layer gave it.
pub type PeerKey = u128;

#[derive(Debug)]
struct Room {
    /// `Some` for code rooms.
    request: Option<RoomRequest>,
    code: Option<RoomCode>,
    /// Stock rooms: the group size of `?next=N`.
    next: Option<u16>,
    members: BTreeSet<PeerKey>,
    created: Instant,
    ever_joined: bool,
}

/// What a websocket asked for when it connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requested {
    /// The path segment (a code or a stock room name).
    pub path: String,
    /// Stock `?next=N`.
    pub next: Option<u16>,
}

/// The table of rooms and the peers in them.
#[derive(Debug)]
pub struct Rooms {
    limits: Limits,
    rooms: BTreeMap<String, Room>,
    peer_room: BTreeMap<PeerKey, String>,
    sealed: u64,
    closing: bool,
}

impl Rooms {
    /// An empty table under `limits`.
    pub fn new(limits: Limits) -> Self {
        Rooms {
            limits,
            rooms: BTreeMap::new(),
            peer_room: BTreeMap::new(),
            sealed: 0,
            closing: false,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Rooms open.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Peers in rooms.
    pub fn peer_count(&self) -> usize {
        self.peer_room.len()
    }

    /// From now on every admission is refused with `server_closing`.
    pub fn set_closing(&mut self) {
        self.closing = true;
    }

    /// Whether the server is shutting down.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Creates a code room; `fresh` draws candidate codes (random in the
    /// server, scripted in tests) until one is free.
    pub fn create(
        &mut self,
        mut request: RoomRequest,
        now: Instant,
        mut fresh: impl FnMut() -> RoomCode,
    ) -> Result<RoomCode, Refusal> {
        if self.closing {
            return Err(Refusal::ServerClosing);
        }
        let name_ok = !request.name.trim().is_empty() && request.name.len() <= 63;
        if !name_ok || request.game.is_empty() || request.game.len() > 64 || request.max_players < 2
        {
            return Err(Refusal::BadRequest);
        }
        if self.rooms.len() >= self.limits.max_rooms {
            return Err(Refusal::TooManyRooms);
        }
        request.max_players = request.max_players.min(self.limits.max_peers_per_room);
        // 31^6 codes: a handful of draws always finds a free one.
        for _ in 0..64 {
            let code = fresh();
            if !self.rooms.contains_key(code.as_str()) {
                self.rooms.insert(
                    code.to_string(),
                    Room {
                        request: Some(request),
                        code: Some(code),
                        next: None,
                        members: BTreeSet::new(),
                        created: now,
                        ever_joined: false,
                    },
                );
                return Ok(code);
            }
        }
        Err(Refusal::TooManyRooms)
    }

    /// A code room's public view.
    pub fn info(&self, code: RoomCode) -> Result<RoomInfo, Refusal> {
        let room = self.rooms.get(code.as_str()).ok_or(Refusal::RoomNotFound)?;
        room_info(room).ok_or(Refusal::RoomNotFound)
    }

    /// Public code rooms of `game` (and `proto`, if given), by code.
    pub fn lobbies(&self, game: &str, proto: Option<u16>) -> Vec<RoomInfo> {
        self.rooms
            .values()
            .filter_map(room_info)
            .filter(|r| r.request.public && r.request.game == game)
            .filter(|r| proto.is_none_or(|p| r.request.proto == p))
            .collect()
    }

    /// Decides whether a websocket may connect (before the upgrade).
    pub fn admit(&self, req: &Requested) -> Result<(), Refusal> {
        if self.closing {
            return Err(Refusal::ServerClosing);
        }
        match req.path.parse::<RoomCode>() {
            Ok(code) => {
                let room = self.rooms.get(code.as_str()).ok_or(Refusal::RoomNotFound)?;
                self.check_capacity(room)
            }
            Err(_) => match self.rooms.get(&stock_key(req)) {
                Some(room) => self.check_capacity(room),
                None if self.rooms.len() >= self.limits.max_rooms => Err(Refusal::TooManyRooms),
                None => Ok(()),
            },
        }
    }

    fn check_capacity(&self, room: &Room) -> Result<(), Refusal> {
        let cap = room
            .request
            .as_ref()
            .map_or(self.limits.max_peers_per_room, |r| r.max_players);
        if room.members.len() >= usize::from(cap) {
            Err(Refusal::RoomFull)
        } else {
            Ok(())
        }
    }

    /// Puts `peer` in the room it asked for; returns the peers already there
    /// (they are told about the newcomer). Re-checks the admission, since
    /// others may have joined since [`admit`](Self::admit).
    pub fn join(
        &mut self,
        peer: PeerKey,
        req: &Requested,
        now: Instant,
    ) -> Result<Vec<PeerKey>, Refusal> {
        self.admit(req)?;
        let key = match req.path.parse::<RoomCode>() {
            Ok(code) => code.to_string(),
            Err(_) => stock_key(req),
        };
        let room = self.rooms.entry(key.clone()).or_insert_with(|| Room {
            request: None,
            code: None,
            next: req.next,
            members: BTreeSet::new(),
            created: now,
            ever_joined: false,
        });
        let before: Vec<PeerKey> = room.members.iter().copied().collect();
        room.members.insert(peer);
        room.ever_joined = true;
        let mut home = key.clone();
        let complete = room
            .next
            .is_some_and(|n| room.members.len() >= usize::from(n.max(1)));
        if complete {
            // A complete `?next=N` group: seal it, the next arrival starts anew.
            if let Some(group) = self.rooms.remove(&key) {
                self.sealed += 1;
                home = format!("{key}#{}", self.sealed);
                for m in &group.members {
                    self.peer_room.insert(*m, home.clone());
                }
                self.rooms.insert(home.clone(), group);
            }
        }
        self.peer_room.insert(peer, home);
        Ok(before)
    }

    /// Removes `peer`; returns the peers left in its room (to be told).
    /// An emptied room is removed.
    pub fn leave(&mut self, peer: PeerKey) -> Vec<PeerKey> {
        let Some(key) = self.peer_room.remove(&peer) else {
            return Vec::new();
        };
        let Some(room) = self.rooms.get_mut(&key) else {
            return Vec::new();
        };
        room.members.remove(&peer);
        let rest: Vec<PeerKey> = room.members.iter().copied().collect();
        if rest.is_empty() {
            self.rooms.remove(&key);
        }
        rest
    }

    /// The other peers in `peer`'s room (signals go only to them).
    pub fn same_room(&self, peer: PeerKey, other: PeerKey) -> bool {
        match (self.peer_room.get(&peer), self.peer_room.get(&other)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// Removes code rooms nobody joined within the TTL; returns their codes.
    pub fn expire(&mut self, now: Instant) -> Vec<RoomCode> {
        let ttl = self.limits.unjoined_room_ttl;
        let mut gone = Vec::new();
        self.rooms.retain(|_, room| {
            let stale = !room.ever_joined
                && room.members.is_empty()
                && now.saturating_duration_since(room.created) >= ttl;
            if stale {
                gone.extend(room.code);
            }
            !stale
        });
        gone
    }
}

fn stock_key(req: &Requested) -> String {
    match req.next {
        Some(n) => format!("{}?next={n}", req.path),
        None => req.path.clone(),
    }
}

fn room_info(room: &Room) -> Option<RoomInfo> {
    Some(RoomInfo {
        code: room.code?,
        request: room.request.clone()?,
        players: u16::try_from(room.members.len()).unwrap_or(u16::MAX),
    })
}
