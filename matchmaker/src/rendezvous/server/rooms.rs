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
    /// The first peer that joined (the host of a code room).
    first: Option<PeerKey>,
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
                        first: None,
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
        now: Instant,
        fresh: impl FnMut() -> RoomCode,
    ) -> Result<(RoomCode, bool), Refusal> {
        if self.closing {
            return Err(Refusal::ServerClosing);
        }
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
        self.create(request, now, fresh).map(|c| (c, true))
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
            first: None,
        });
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
        host_peer: room
            .first
            .filter(|f| room.members.contains(f))
            .map(|f| format!("{f:032x}")),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(public: bool, max: u16) -> RoomRequest {
        RoomRequest {
            name: "Den".into(),
            game: "g".into(),
            proto: 1,
            version: "1.0".into(),
            max_players: max,
            password: false,
            mode: "ffa".into(),
            public,
        }
    }

    fn codes() -> impl FnMut() -> RoomCode {
        let mut n = 0;
        move || {
            n += 1;
            format!("ABCDE{}", ALPH[n % ALPH.len()] as char)
                .parse()
                .expect("code")
        }
    }
    const ALPH: &[u8] = b"FGHJKMNPQRST";

    fn req(path: &str, next: Option<u16>) -> Requested {
        Requested {
            path: path.into(),
            next,
        }
    }

    #[test]
    fn code_rooms_admit_fill_and_list() {
        let t = Instant::now();
        let mut rooms = Rooms::new(Limits::default());
        let mut draw = codes();
        let open = rooms
            .create(request(true, 2), t, &mut draw)
            .expect("create");
        let hidden = rooms
            .create(request(false, 4), t, &mut draw)
            .expect("create");
        assert_ne!(open, hidden);
        let listed = rooms.lobbies("g", Some(1));
        assert_eq!(listed.len(), 1, "private rooms are not listed");
        assert_eq!(listed[0].code, open);
        assert!(rooms.lobbies("g", Some(2)).is_empty());
        assert!(rooms.lobbies("other", None).is_empty());

        let r = req(open.as_str(), None);
        assert_eq!(rooms.join(1, &r, t), Ok(vec![]));
        assert_eq!(rooms.join(2, &r, t), Ok(vec![1]));
        assert_eq!(rooms.admit(&r), Err(Refusal::RoomFull));
        assert_eq!(rooms.join(3, &r, t), Err(Refusal::RoomFull));
        assert_eq!(
            rooms.admit(&req("ZZZZZZ", None)),
            Err(Refusal::RoomNotFound)
        );
        assert_eq!(rooms.info(open).map(|i| i.players), Ok(2));
        assert_eq!(
            rooms.info(open).map(|i| i.host_peer),
            Ok(Some(format!("{:032x}", 1)))
        );
        assert!(rooms.same_room(1, 2));
        assert_eq!(rooms.leave(1), vec![2]);
        assert_eq!(rooms.leave(2), Vec::<u128>::new());
        assert_eq!(
            rooms.info(open),
            Err(Refusal::RoomNotFound),
            "emptied room closes"
        );
    }

    #[test]
    fn bad_requests_caps_and_limits() {
        let t = Instant::now();
        let limits = Limits {
            max_rooms: 2,
            max_peers_per_room: 3,
            ..Limits::default()
        };
        let mut rooms = Rooms::new(limits);
        let mut draw = codes();
        let mut empty = request(true, 4);
        empty.name = " ".into();
        assert_eq!(rooms.create(empty, t, &mut draw), Err(Refusal::BadRequest));
        let c = rooms
            .create(request(true, 50), t, &mut draw)
            .expect("create");
        assert_eq!(rooms.info(c).map(|i| i.request.max_players), Ok(3));
        rooms
            .create(request(true, 2), t, &mut draw)
            .expect("second");
        assert_eq!(
            rooms.create(request(true, 2), t, &mut draw),
            Err(Refusal::TooManyRooms)
        );
        assert_eq!(rooms.admit(&req("lobby", None)), Err(Refusal::TooManyRooms));
        rooms.set_closing();
        assert_eq!(
            rooms.admit(&req(c.as_str(), None)),
            Err(Refusal::ServerClosing)
        );
    }

    #[test]
    fn stock_next_groups_are_sealed() {
        let t = Instant::now();
        let mut rooms = Rooms::new(Limits::default());
        let r = req("game", Some(2));
        assert_eq!(rooms.join(1, &r, t), Ok(vec![]));
        assert_eq!(rooms.join(2, &r, t), Ok(vec![1]));
        // The pair is complete: the third starts a new group.
        assert_eq!(rooms.join(3, &r, t), Ok(vec![]));
        assert!(rooms.same_room(1, 2));
        assert!(!rooms.same_room(1, 3));
        assert_eq!(rooms.leave(1), vec![2]);
        // Plain stock rooms hold anyone up to the peer limit.
        let plain = req("world", None);
        assert_eq!(rooms.join(10, &plain, t), Ok(vec![]));
        assert_eq!(rooms.join(11, &plain, t), Ok(vec![10]));
    }

    #[test]
    fn quick_match_fills_rooms_then_opens_one() {
        let t = Instant::now();
        let mut rooms = Rooms::new(Limits::default());
        let mut draw = codes();
        let (a, host) = rooms
            .quick_match(request(false, 2), t, &mut draw)
            .expect("qm");
        assert!(host, "nothing to join: a new room, hosted by the caller");
        assert_eq!(
            rooms.lobbies("g", None).len(),
            1,
            "quick-match rooms are public"
        );
        // Nobody in it yet: the next caller does not join an empty room.
        assert!(
            rooms
                .quick_match(request(true, 2), t, &mut draw)
                .expect("qm")
                .1
        );
        rooms
            .join(1, &req(a.as_str(), None), t)
            .expect("host joins");
        let mut other = request(true, 2);
        other.mode = "duel".into();
        assert!(
            rooms.quick_match(other, t, &mut draw).expect("qm").1,
            "other mode"
        );
        assert_eq!(
            rooms.quick_match(request(true, 2), t, &mut draw),
            Ok((a, false))
        );
        rooms.join(2, &req(a.as_str(), None), t).expect("joins");
        assert_ne!(
            rooms
                .quick_match(request(true, 2), t, &mut draw)
                .expect("qm")
                .0,
            a,
            "full"
        );
    }

    #[test]
    fn unjoined_rooms_expire() {
        let t = Instant::now();
        let mut rooms = Rooms::new(Limits::default());
        let mut draw = codes();
        let a = rooms.create(request(true, 2), t, &mut draw).expect("a");
        let b = rooms.create(request(true, 2), t, &mut draw).expect("b");
        rooms.join(1, &req(b.as_str(), None), t).expect("join b");
        assert!(rooms.expire(t + Duration::from_secs(5)).is_empty());
        assert_eq!(rooms.expire(t + Duration::from_secs(61)), vec![a]);
        assert!(rooms.info(b).is_ok());
    }
}
