//! The pure room table under a fake clock: admissions, caps, listing.

use std::time::Duration;

use super::*;

const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

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
        spectators: 0,
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
        from: HOME,
    }
}

#[test]
fn code_rooms_admit_fill_and_list() {
    let t = Instant::now();
    let mut rooms = Rooms::new(Limits::default());
    let mut draw = codes();
    let open = rooms
        .create(request(true, 2), HOME, t, &mut draw)
        .expect("create");
    let hidden = rooms
        .create(request(false, 4), HOME, t, &mut draw)
        .expect("create");
    assert_ne!(open, hidden);
    let listed = rooms.lobbies("g", Some(1), None).rooms;
    assert_eq!(listed.len(), 1, "private rooms are not listed");
    assert_eq!(listed[0].code, open);
    assert!(rooms.lobbies("g", Some(2), None).rooms.is_empty());
    assert!(rooms.lobbies("other", None, None).rooms.is_empty());

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
fn spectator_places_are_admitted_beside_the_players_and_bounded() {
    let t = Instant::now();
    let limits = Limits {
        max_spectators_per_room: 3,
        ..Limits::default()
    };
    let mut rooms = Rooms::new(limits);
    let mut draw = codes();
    // 2 seats and 2 spectator places: the fifth peer is refused.
    let watched = RoomRequest {
        spectators: 2,
        ..request(true, 2)
    };
    let code = rooms.create(watched, HOME, t, &mut draw).expect("create");
    let r = req(code.as_str(), None);
    for peer in 1..=4 {
        assert!(rooms.join(peer, &r, t).is_ok(), "peer {peer}");
    }
    assert_eq!(rooms.join(5, &r, t), Err(Refusal::RoomFull));
    let info = rooms.info(code).expect("info");
    assert_eq!((info.players, info.request.capacity()), (4, 4));
    assert_eq!(info.check(), Ok(()));
    // More places than the server gives are cut to its limit.
    let greedy = RoomRequest {
        spectators: 30,
        ..request(true, 2)
    };
    let code = rooms.create(greedy, HOME, t, &mut draw).expect("create");
    assert_eq!(rooms.info(code).map(|i| i.request.spectators), Ok(3));
    // More than a match takes is a bad request, and a room listing more
    // peers than seats and places is a protocol error.
    let hostile = RoomRequest {
        spectators: nearplay_netcode::MAX_SPECTATORS as u16 + 1,
        ..request(true, 2)
    };
    assert_eq!(
        rooms.create(hostile, HOME, t, &mut draw),
        Err(Refusal::BadRequest)
    );
    let mut lying = info;
    lying.players = 5;
    assert_eq!(lying.check(), Err(Refusal::ProtocolError));
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
    assert_eq!(
        rooms.create(empty, HOME, t, &mut draw),
        Err(Refusal::BadRequest)
    );
    let c = rooms
        .create(request(true, 50), HOME, t, &mut draw)
        .expect("create");
    assert_eq!(rooms.info(c).map(|i| i.request.max_players), Ok(3));
    rooms
        .create(request(true, 2), HOME, t, &mut draw)
        .expect("second");
    assert_eq!(
        rooms.create(request(true, 2), HOME, t, &mut draw),
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
        .quick_match(request(false, 2), HOME, t, &mut draw)
        .expect("qm");
    assert!(host, "nothing to join: a new room, hosted by the caller");
    assert_eq!(
        rooms.lobbies("g", None, None).rooms.len(),
        1,
        "quick-match rooms are public"
    );
    // Nobody in it yet: the next caller does not join an empty room.
    assert!(
        rooms
            .quick_match(request(true, 2), HOME, t, &mut draw)
            .expect("qm")
            .1
    );
    rooms
        .join(1, &req(a.as_str(), None), t)
        .expect("host joins");
    let mut other = request(true, 2);
    other.mode = "duel".into();
    assert!(
        rooms.quick_match(other, HOME, t, &mut draw).expect("qm").1,
        "other mode"
    );
    assert_eq!(
        rooms.quick_match(request(true, 2), HOME, t, &mut draw),
        Ok((a, false))
    );
    rooms.join(2, &req(a.as_str(), None), t).expect("joins");
    assert_ne!(
        rooms
            .quick_match(request(true, 2), HOME, t, &mut draw)
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
    let a = rooms
        .create(request(true, 2), HOME, t, &mut draw)
        .expect("a");
    let b = rooms
        .create(request(true, 2), HOME, t, &mut draw)
        .expect("b");
    rooms.join(1, &req(b.as_str(), None), t).expect("join b");
    assert!(rooms.expire(t + Duration::from_secs(5)).is_empty());
    assert_eq!(rooms.expire(t + Duration::from_secs(61)), vec![a]);
    assert!(rooms.info(b).is_ok());
}

/// One address opens at most `max_rooms_per_address` rooms, code rooms and
/// stock rooms together, whatever `max_rooms` is; others still can; a
/// room that closes gives its seat back. Long stock names are refused.
#[test]
fn rooms_per_address_and_name_bounds() {
    let t = Instant::now();
    let limits = Limits {
        max_rooms: 500,
        max_rooms_per_address: 3,
        ..Limits::default()
    };
    let mut rooms = Rooms::new(limits);
    let mut draw = codes();
    let a = rooms
        .create(request(true, 2), HOME, t, &mut draw)
        .expect("1");
    rooms
        .create(request(true, 2), HOME, t, &mut draw)
        .expect("2");
    rooms
        .join(1, &req("stock-a", None), t)
        .expect("3: a stock room");
    assert_eq!(rooms.owned_by(HOME), 3);
    assert_eq!(
        rooms.create(request(true, 2), HOME, t, &mut draw),
        Err(Refusal::AddressLimit)
    );
    assert_eq!(
        rooms.admit(&req("stock-b", None)),
        Err(Refusal::AddressLimit)
    );
    // Joining a room someone else opened is not opening one.
    let other = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));
    let theirs = Requested {
        path: "stock-c".into(),
        next: None,
        from: other,
    };
    rooms
        .join(2, &theirs, t)
        .expect("another address opens its own");
    assert_eq!(rooms.join(3, &req("stock-c", None), t), Ok(vec![2]));
    // A room that closes (emptied, or expired unjoined) frees its seat.
    rooms.leave(1);
    assert_eq!(rooms.owned_by(HOME), 2);
    rooms
        .join(4, &req(a.as_str(), None), t)
        .expect("host joins a");
    assert_eq!(rooms.expire(t + Duration::from_secs(61)).len(), 1);
    assert_eq!(rooms.owned_by(HOME), 1);
    // 16 KiB stock names (and anything past 64 bytes) are refused.
    let long = "n".repeat(16 * 1024);
    assert_eq!(rooms.admit(&req(&long, None)), Err(Refusal::BadRequest));
    assert_eq!(
        rooms.admit(&req(&"n".repeat(65), None)),
        Err(Refusal::BadRequest)
    );
    assert_eq!(rooms.admit(&req(&"n".repeat(64), None)), Ok(()));
}

/// Fields past their bounds or with control characters are refused at
/// creation; quick match checks the same.
#[test]
fn room_fields_are_bounded_at_creation() {
    let t = Instant::now();
    let mut rooms = Rooms::new(Limits::default());
    let mut draw = codes();
    let cases: [fn(&mut RoomRequest); 7] = [
        |r| r.version = "v".repeat(3900),
        |r| r.name = "n".repeat(64),
        |r| r.game = "g".repeat(65),
        |r| r.mode = "m".repeat(33),
        |r| r.name = "a\u{1b}[2Jb".into(),
        |r| r.mode = String::new(),
        |r| r.max_players = 1,
    ];
    for spoil in cases {
        let mut r = request(true, 2);
        spoil(&mut r);
        assert_eq!(
            rooms.create(r.clone(), HOME, t, &mut draw),
            Err(Refusal::BadRequest)
        );
        assert_eq!(
            rooms.quick_match(r, HOME, t, &mut draw),
            Err(Refusal::BadRequest)
        );
    }
    let mut longest = request(true, 2);
    longest.name = "é".repeat(31);
    longest.version = "v".repeat(32);
    rooms
        .create(longest, HOME, t, &mut draw)
        .expect("at the bounds");
}

/// `lobbies` pages by code: every public room once, in order, pages of
/// at most `lobbies_page`, and the last page has no cursor.
#[test]
fn lobbies_come_in_pages() {
    let t = Instant::now();
    let limits = Limits {
        lobbies_page: 7,
        max_rooms_per_address: 100,
        ..Limits::default()
    };
    let mut rooms = Rooms::new(limits);
    let mut n = 0usize;
    let mut fresh = || {
        n += 1;
        let alphabet = crate::rendezvous::code::ALPHABET;
        let mut code = String::new();
        let mut rest = n * 7919;
        for _ in 0..6 {
            code.push(char::from(alphabet[rest % 31]));
            rest /= 31;
        }
        code.parse::<RoomCode>().expect("code")
    };
    for i in 0..40 {
        rooms
            .create(request(i % 4 != 0, 2), HOME, t, &mut fresh)
            .expect("room");
    }
    rooms
        .join(1, &req("stock", None), t)
        .expect("stock rooms are never listed");
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let page = rooms.lobbies("g", Some(1), after);
        assert!(page.rooms.len() <= 7);
        seen.extend(page.rooms.iter().map(|r| r.code));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30, "every public room once");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    sorted.dedup();
    assert_eq!(sorted, seen, "in code order, no repeats");
}

/// A match runs on in its room: a peer that dropped out frees its place
/// for whoever comes back (a rejoin or a late joiner by code), the room
/// stays bounded by its seats and spectator places, and the host stays
/// the room's host for the newcomers to pin.
#[test]
fn a_vacated_place_is_taken_again_within_the_bound_and_the_host_stays_first() {
    let t = Instant::now();
    let mut rooms = Rooms::new(Limits::default());
    let mut draw = codes();
    let code = rooms
        .create(request(false, 3), HOME, t, &mut draw)
        .expect("create");
    let r = req(code.as_str(), None);
    for peer in 1..=3 {
        assert!(rooms.join(peer, &r, t).is_ok(), "peer {peer}");
    }
    assert_eq!(rooms.join(4, &r, t), Err(Refusal::RoomFull));
    // Bo (peer 3) drops: its place is free, and the room still says who hosts.
    assert_eq!(rooms.leave(3), vec![1, 2]);
    assert_eq!(rooms.info(code).map(|i| i.players), Ok(2));
    assert_eq!(rooms.admit(&r), Ok(()));
    // Bo's restarted game (a new peer id) is let in and hears of the others.
    assert_eq!(rooms.join(5, &r, t), Ok(vec![1, 2]));
    assert!(rooms.same_room(5, 1));
    // Full again: a stranger is refused; the bound did not grow.
    assert_eq!(rooms.join(6, &r, t), Err(Refusal::RoomFull));
    let info = rooms.info(code).expect("info");
    assert_eq!((info.players, info.request.capacity()), (3, 3));
    assert_eq!(info.host_peer, Some(format!("{:032x}", 1)));
    // The same for a member other than the last to come, several times over.
    for round in 0..3u128 {
        let gone = if round == 0 { 2 } else { 10 + round - 1 };
        assert_eq!(rooms.leave(gone).len(), 2);
        assert!(rooms.join(10 + round, &r, t).is_ok(), "round {round}");
        assert_eq!(rooms.join(20 + round, &r, t), Err(Refusal::RoomFull));
    }
    assert_eq!(
        rooms.info(code).map(|i| i.host_peer),
        Ok(Some(format!("{:032x}", 1)))
    );
}
