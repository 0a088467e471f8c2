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
//!
//! Each room counts against the address that opened it (the host's `POST`,
//! or the first websocket of a stock room): at most
//! `Limits::max_rooms_per_address`, so one address cannot fill `max_rooms`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Bound;
use std::time::Instant;

use super::limits::Limits;
use crate::rendezvous::api::{LobbyPage, MAX_STOCK_ROOM_BYTES, Refusal, RoomInfo, RoomRequest};
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
    /// The first peer that joined (the host of a code room).
    first: Option<PeerKey>,
    /// The address that opened it (its rooms are capped).
    owner: IpAddr,
}

/// What a websocket asked for when it connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requested {
    /// The path segment (a code or a stock room name).
    pub path: String,
    /// Stock `?next=N`.
    pub next: Option<u16>,
    /// The client's address (a stock room it opens counts against it).
    pub from: IpAddr,
}

/// The table of rooms and the peers in them.
#[derive(Debug)]
pub struct Rooms {
    limits: Limits,
    rooms: BTreeMap<String, Room>,
    peer_room: BTreeMap<PeerKey, String>,
    /// Rooms open per owner address (no entry at zero).
    owned: BTreeMap<IpAddr, usize>,
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
            owned: BTreeMap::new(),
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

    /// Rooms open that `owner` opened.
    pub fn owned_by(&self, owner: IpAddr) -> usize {
        self.owned.get(&owner).copied().unwrap_or(0)
    }

    /// Whether `owner` may open one more room: the server's and the
    /// address's caps.
    fn may_open(&self, owner: IpAddr) -> Result<(), Refusal> {
        if self.rooms.len() >= self.limits.max_rooms {
            Err(Refusal::TooManyRooms)
        } else if self.owned_by(owner) >= self.limits.max_rooms_per_address {
            Err(Refusal::AddressLimit)
        } else {
            Ok(())
        }
    }

    fn insert_room(&mut self, key: String, room: Room) {
        *self.owned.entry(room.owner).or_default() += 1;
        self.rooms.insert(key, room);
    }

    fn forget_owner(owned: &mut BTreeMap<IpAddr, usize>, owner: IpAddr) {
        if let Some(n) = owned.get_mut(&owner) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                owned.remove(&owner);
            }
        }
    }

    /// Creates a code room for `owner`; `fresh` draws candidate codes
    /// (random in the server, scripted in tests) until one is free. Every
    /// field is checked ([`RoomRequest::check`]).
    pub fn create(
        &mut self,
        mut request: RoomRequest,
        owner: IpAddr,
        now: Instant,
        mut fresh: impl FnMut() -> RoomCode,
    ) -> Result<RoomCode, Refusal> {
        if self.closing {
            return Err(Refusal::ServerClosing);
        }
        request.check()?;
        self.may_open(owner)?;
        request.max_players = request.max_players.min(self.limits.max_peers_per_room);
        request.spectators = request.spectators.min(self.limits.max_spectators_per_room);
        // 31^6 codes: a handful of draws always finds a free one.
        for _ in 0..64 {
            let code = fresh();
            if !self.rooms.contains_key(code.as_str()) {
                self.insert_room(
                    code.to_string(),
                    Room {
                        request: Some(request),
                        code: Some(code),
                        next: None,
                        members: BTreeSet::new(),
                        created: now,
                        ever_joined: false,
                        first: None,
                        owner,
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

    /// Quick match: the fullest public room of the same game, protocol,
    /// version and mode that has a free seat (`(code, false)`), or a new
    /// public room for the caller to host (`(code, true)`).
    pub fn quick_match(
        &mut self,
        mut request: RoomRequest,
        owner: IpAddr,
        now: Instant,
        fresh: impl FnMut() -> RoomCode,
    ) -> Result<(RoomCode, bool), Refusal> {
        if self.closing {
            return Err(Refusal::ServerClosing);
        }
        request.check()?;
        let best = self
            .rooms
            .values()
            .filter_map(room_info)
            .filter(|r| {
                let q = &r.request;
                q.public
                    && !q.password
                    && q.game == request.game
                    && q.proto == request.proto
                    && q.version == request.version
                    && q.mode == request.mode
                    && r.players >= 1
                    && r.players < q.max_players
            })
            .max_by_key(|r| r.players);
        if let Some(room) = best {
            return Ok((room.code, false));
        }
        request.public = true;
        request.password = false;
        self.create(request, owner, now, fresh).map(|c| (c, true))
    }

    /// One page of the public code rooms of `game` (and `proto`, if given),
    /// by code, starting after the code `after`: at most
    /// `Limits::lobbies_page` rooms, and the cursor of the next page.
    pub fn lobbies(&self, game: &str, proto: Option<u16>, after: Option<RoomCode>) -> LobbyPage {
        let page = self.limits.lobbies_page.max(1);
        let start = match &after {
            Some(code) => Bound::Excluded(code.as_str()),
            None => Bound::Unbounded,
        };
        let mut rooms: Vec<RoomInfo> = self
            .rooms
            .range::<str, _>((start, Bound::Unbounded))
            .filter_map(|(_, room)| room_info(room))
            .filter(|r| r.request.public && r.request.game == game)
            .filter(|r| proto.is_none_or(|p| r.request.proto == p))
            .take(page + 1)
            .collect();
        let next = if rooms.len() > page {
            rooms.truncate(page);
            rooms.last().map(|r| r.code)
        } else {
            None
        };
        LobbyPage { rooms, next }
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
            Err(_) if req.path.len() > MAX_STOCK_ROOM_BYTES => Err(Refusal::BadRequest),
            Err(_) => match self.rooms.get(&stock_key(req)) {
                Some(room) => self.check_capacity(room),
                None => self.may_open(req.from),
            },
        }
    }

    fn check_capacity(&self, room: &Room) -> Result<(), Refusal> {
        let cap = room
            .request
            .as_ref()
            .map_or(self.limits.max_peers_per_room, RoomRequest::capacity);
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
        if !self.rooms.contains_key(&key) {
            let room = Room {
                request: None,
                code: None,
                next: req.next,
                members: BTreeSet::new(),
                created: now,
                ever_joined: false,
                first: None,
                owner: req.from,
            };
            self.insert_room(key.clone(), room);
        }
        let Some(room) = self.rooms.get_mut(&key) else {
            return Err(Refusal::RoomNotFound);
        };
        let before: Vec<PeerKey> = room.members.iter().copied().collect();
        room.members.insert(peer);
        room.ever_joined = true;
        room.first.get_or_insert(peer);
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
            if let Some(room) = self.rooms.remove(&key) {
                Self::forget_owner(&mut self.owned, room.owner);
            }
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
        let owned = &mut self.owned;
        self.rooms.retain(|_, room| {
            let stale = !room.ever_joined
                && room.members.is_empty()
                && now.saturating_duration_since(room.created) >= ttl;
            if stale {
                gone.extend(room.code);
                Self::forget_owner(owned, room.owner);
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
        host_peer: room
            .first
            .filter(|f| room.members.contains(f))
            .map(|f| format!("{f:032x}")),
    })
}

#[cfg(test)]
#[path = "rooms_tests.rs"]
mod tests;
