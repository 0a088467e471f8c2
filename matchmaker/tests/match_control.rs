//! The lobby as the match's control channel, driven sans-IO with a fake
//! clock, as a hostile peer would: connections kept through the match, a
//! drop vacates the seat and everyone is told; a stranger without the
//! member secret cannot take the vacant seat (and its guesses are
//! limited); the member with it can, and a new key epoch reaches only the
//! members connected; a wrong password cannot take a late-join seat;
//! spectators come late.

mod common;

use std::time::Duration;

use common::sim::{Sim, config, jc, join_error, plan_of, rekeys};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinError, RejoinClaim};
use nearplay_matchmaker::lobby::host::{HostConfig, HostEvent, LeaveReason};
use nearplay_matchmaker::lobby::message::{SeatChange, SeatNews};
use nearplay_netcode::{MatchPlan, MemberSecret};

/// A started match: host + Ann (1), Bo (2), Cy (3), every plan by id.
fn started(config: HostConfig) -> (Sim, MatchPlan, Vec<MatchPlan>) {
    let mut sim = Sim::new(config);
    for (id, name) in [(1, "Ann"), (2, "Bo"), (3, "Cy")] {
        sim.join(id, jc(name, 5000 + id as u16));
        let now = sim.now;
        sim.client(id).set_ready(now, true);
    }
    sim.pump();
    let plan = sim.host.start(sim.now).expect("start");
    sim.pump();
    let mut plans = Vec::new();
    for id in 1..=3 {
        let mine = sim
            .take_events(id)
            .into_iter()
            .find_map(|e| match e {
                ClientEvent::Started(p) => Some(p),
                _ => None,
            })
            .expect("plan");
        plans.push(mine);
    }
    sim.take_host_events();
    (sim, plan, plans)
}

fn seat_news(events: &[ClientEvent]) -> Vec<SeatNews> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Seat(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// Bo's connection drops mid-match.
fn drop_bo(sim: &mut Sim) {
    sim.close(2);
    sim.pump();
}

#[test]
fn the_lobby_stays_open_through_the_match_and_a_drop_vacates_the_seat() {
    let (mut sim, _, plans) = started(config());
    assert!(sim.host.in_match() && sim.host.is_running());
    // Keepalives go on: a long match does not time anyone out.
    sim.advance(Duration::from_secs(30));
    for id in 1..=3 {
        assert!(sim.client(id).in_match(), "member {id} still connected");
    }
    assert!(sim.take_host_events().is_empty());
    drop_bo(&mut sim);
    let bo = plans[1].local_handle;
    let host = sim.take_host_events();
    assert!(
        host.contains(&HostEvent::MemberLeft {
            id: 2,
            name: "Bo".into(),
            reason: LeaveReason::Disconnected
        }),
        "{host:?}"
    );
    assert!(host.iter().any(|e| matches!(
        e,
        HostEvent::Seat(n) if n.change == SeatChange::Vacated && usize::from(n.handle) == bo
    )));
    assert_eq!(sim.host.vacant_seats(), ["Bo"]);
    for id in [1, 3] {
        let events = sim.take_events(id);
        let news = seat_news(&events);
        assert_eq!(news.len(), 1, "{events:?}");
        assert_eq!(
            (news[0].change, news[0].name.as_str()),
            (SeatChange::Vacated, "Bo")
        );
        let roster = events.iter().rev().find_map(|e| match e {
            ClientEvent::RosterChanged(r) => Some(r.clone()),
            _ => None,
        });
        let roster = roster.expect("roster");
        assert!(roster.iter().any(|m| m.name == "Bo" && m.vacant));
        assert_eq!(roster.len(), 4, "the seat stays in the roster");
    }
    // Leaving during the match works the same way.
    let now = sim.now;
    sim.client(3).leave(now);
    sim.pump();
    assert_eq!(sim.host.vacant_seats(), ["Bo", "Cy"]);
    assert!(
        seat_news(&sim.take_events(1))
            .iter()
            .any(|n| n.name == "Cy")
    );
    // Closing still ends it for everyone.
    sim.host.close(sim.now);
    sim.pump();
    assert!(sim.client(1).is_done());
}

#[test]
fn a_stranger_without_the_member_secret_cannot_take_the_vacant_seat() {
    let (mut sim, _, plans) = started(config());
    let bo = &plans[1];
    drop_bo(&mut sim);
    sim.take_host_events();
    // No claim at all: the match takes no newcomer.
    sim.join(10, jc("Bo", 6000));
    assert_eq!(join_error(&sim.take_events(10)), JoinError::AlreadyStarted);
    // A claim with a guessed secret is refused and counted.
    let mut guess = jc("Bo", 6001);
    guess.rejoin = Some(RejoinClaim {
        handle: bo.local_handle as u16,
        secret: MemberSecret([0x42; 32]),
    });
    sim.join(11, guess.clone());
    assert_eq!(join_error(&sim.take_events(11)), JoinError::BadRejoin);
    assert_eq!(sim.host.failed_guesses(), 1);
    assert!(
        sim.take_host_events()
            .iter()
            .any(|e| matches!(e, HostEvent::GuessFailed { failures: 1, .. }))
    );
    // Its next guess from the same address waits out the backoff.
    sim.join_from(12, Sim::peer(11), guess);
    assert!(matches!(
        join_error(&sim.take_events(12)),
        JoinError::TooManyGuesses { .. }
    ));
    // The right secret for another seat is no way into Bo's.
    let mut ann = jc("Ann", 6002);
    ann.rejoin = Some(RejoinClaim {
        handle: bo.local_handle as u16,
        secret: plans[0].member_secret().expect("secret").clone(),
    });
    sim.join(13, ann);
    assert_eq!(join_error(&sim.take_events(13)), JoinError::BadRejoin);
    assert_eq!(sim.host.vacant_seats(), ["Bo"]);
    // Nobody got a new key.
    for id in [1, 3] {
        assert!(rekeys(&sim.take_events(id)).is_empty());
    }
}

#[test]
fn the_member_with_its_secret_retakes_its_seat_and_a_new_key_reaches_only_those_connected() {
    let (mut sim, _, plans) = started(config());
    // Cy leaves for good; then Bo drops.
    let now = sim.now;
    sim.client(3).leave(now);
    sim.pump();
    drop_bo(&mut sim);
    for id in [1, 3] {
        sim.take_events(id);
    }
    sim.take_host_events();
    let bo = &plans[1];
    // Bo's game restarts (new port) and comes back with its ticket.
    let mut again = jc("Bo", 7777);
    again.rejoin = Some(RejoinClaim {
        handle: bo.local_handle as u16,
        secret: bo.member_secret().expect("secret").clone(),
    });
    sim.join(20, again);
    let events = sim.take_events(20);
    let back = plan_of(&events).unwrap_or_else(|| panic!("no plan: {events:?}"));
    assert_eq!(back.local_handle, bo.local_handle, "same seat");
    assert_eq!(back.match_id, bo.match_id, "same match");
    assert_eq!(back.key_epoch, 1);
    assert_ne!(back.key, bo.key, "a new key");
    assert_eq!(back.member_secret(), bo.member_secret());
    assert!(sim.client(20).in_match());
    // Ann, connected, gets the new key; Cy, gone, gets nothing.
    let ann = sim.take_events(1);
    assert_eq!(rekeys(&ann), [1]);
    let key = ann.iter().find_map(|e| match e {
        ClientEvent::Rekeyed { key, .. } => Some(key.clone()),
        _ => None,
    });
    assert_eq!(key, Some(back.key.clone()));
    assert!(
        seat_news(&ann)
            .iter()
            .any(|n| n.change == SeatChange::Retaken && n.addr.port() == 7777)
    );
    assert!(rekeys(&sim.take_events(3)).is_empty(), "Cy never learns it");
    let host = sim.take_host_events();
    assert!(host.contains(&HostEvent::Rekeyed {
        epoch: 1,
        key: back.key.clone()
    }));
    assert_eq!(sim.host.vacant_seats(), ["Cy"]);
    // Bo's secret opens Bo's seat only, not Cy's vacant one.
    let mut elsewhere = jc("Bo", 7778);
    elsewhere.rejoin = Some(RejoinClaim {
        handle: plans[2].local_handle as u16,
        secret: bo.member_secret().expect("secret").clone(),
    });
    sim.join(21, elsewhere);
    assert_eq!(join_error(&sim.take_events(21)), JoinError::BadRejoin);
    assert_eq!(sim.host.vacant_seats(), ["Cy"]);
}

#[test]
fn a_member_back_before_its_drop_was_noticed_takes_its_seat_over() {
    let (mut sim, _, plans) = started(config());
    // Ann's window reconnects while the host still holds her old
    // connection (a Wi-Fi hiccup not yet past the idle timeout).
    let ann = &plans[0];
    let mut again = jc("Ann", 5001);
    again.rejoin = Some(RejoinClaim {
        handle: ann.local_handle as u16,
        secret: ann.member_secret().expect("secret").clone(),
    });
    sim.join(50, again);
    let back = plan_of(&sim.take_events(50)).expect("plan");
    assert_eq!((back.local_handle, back.key_epoch), (ann.local_handle, 1));
    assert!(sim.client(1).is_done(), "the stale connection is closed");
    assert!(sim.host.vacant_seats().is_empty());
    assert_eq!(rekeys(&sim.take_events(2)), [1]);
}

#[test]
fn a_kicked_player_cannot_come_back() {
    let (mut sim, _, plans) = started(config());
    assert!(sim.host.kick(sim.now, 2));
    sim.pump();
    let mut back = jc("Bo", 7000);
    back.rejoin = Some(RejoinClaim {
        handle: plans[1].local_handle as u16,
        secret: plans[1].member_secret().expect("secret").clone(),
    });
    sim.join(30, back);
    assert_eq!(join_error(&sim.take_events(30)), JoinError::BadRejoin);
}

fn late_join_config(password: Option<&str>) -> HostConfig {
    let mut c = config();
    c.max_players = 5;
    c.late_join = true;
    c.password = password.map(str::to_string);
    c
}

#[test]
fn a_wrong_password_cannot_take_a_late_join_seat() {
    let mut sim = Sim::new(late_join_config(Some("s3cret-pw")));
    let mut ann = jc("Ann", 5001);
    ann.password = Some("s3cret-pw".into());
    sim.join(1, ann);
    let now = sim.now;
    sim.client(1).set_ready(now, true);
    sim.pump();
    sim.host.start(sim.now).expect("start");
    sim.pump();
    sim.take_events(1);
    let mut wrong = jc("Eve", 5002);
    wrong.password = Some("guess".into());
    sim.join(2, wrong);
    assert_eq!(join_error(&sim.take_events(2)), JoinError::WrongPassword);
    sim.join(3, jc("Eve", 5003));
    assert_eq!(join_error(&sim.take_events(3)), JoinError::PasswordRequired);
    assert!(rekeys(&sim.take_events(1)).is_empty());
    // With the password, the newcomer takes a free seat.
    let mut right = jc("Dee", 5004);
    right.password = Some("s3cret-pw".into());
    sim.join(4, right);
    let events = sim.take_events(4);
    let plan = plan_of(&events).unwrap_or_else(|| panic!("no plan: {events:?}"));
    assert_eq!((plan.local_handle, plan.players.len()), (2, 3));
    assert_eq!(plan.key_epoch, 1);
    assert!(plan.member_secret().is_some());
    let ann = sim.take_events(1);
    assert_eq!(rekeys(&ann), [1]);
    assert!(
        seat_news(&ann)
            .iter()
            .any(|n| n.change == SeatChange::Taken && n.name == "Dee")
    );
}

#[test]
fn without_late_join_a_newcomer_is_turned_away_but_a_spectator_may_watch() {
    let (mut sim, _, _) = started(config());
    sim.join(40, jc("Late", 1));
    assert_eq!(join_error(&sim.take_events(40)), JoinError::AlreadyStarted);
    let mut watcher = jc("Wat", 4040);
    watcher.spectator = true;
    sim.join(41, watcher);
    let events = sim.take_events(41);
    let plan = plan_of(&events).unwrap_or_else(|| panic!("no plan: {events:?}"));
    assert_eq!(plan.players.len(), 4);
    assert_eq!(plan.spectators.len(), 1);
    assert_eq!(plan.spectators[0].handle, plan.local_handle);
    assert!(
        plan.member_secrets.is_empty(),
        "a spectator holds no seat secret"
    );
    let news = seat_news(&sim.take_events(1));
    assert!(news.iter().any(|n| n.change == SeatChange::Watching));
}

#[test]
fn a_host_game_that_does_not_poll_during_the_match_holds_bounded_events() {
    use nearplay_matchmaker::lobby::codec::encode_with_version;
    use nearplay_matchmaker::lobby::host::{ConnId, MAX_QUEUED_EVENTS};
    use nearplay_matchmaker::lobby::message::ClientMsg;
    let (mut sim, _, _) = started(config());
    // A stranger knocks 5000 times in another protocol version; nobody
    // polls the host's events for the whole match.
    let knock = encode_with_version(&ClientMsg::KeepAlive, 999).expect("enc");
    for i in 0..5000u64 {
        let conn = ConnId(1000 + i);
        let peer = std::net::SocketAddr::from(([10, 9, (i >> 8) as u8, i as u8], 1));
        sim.host.handle_connect(sim.now, conn, peer, peer);
        sim.host.handle_data(sim.now, conn, &knock);
        sim.host.handle_disconnect(sim.now, conn);
        while sim.host.poll_transmit().is_some() {}
    }
    // Bo drops meanwhile: that news is kept.
    sim.host.handle_disconnect(sim.now, ConnId(2));
    while sim.host.poll_transmit().is_some() {}
    let held: Vec<HostEvent> = std::iter::from_fn(|| sim.host.poll_event()).collect();
    assert!(
        held.len() <= MAX_QUEUED_EVENTS + 8,
        "{} events held",
        held.len()
    );
    assert!(sim.host.dropped_events() >= 5000 - MAX_QUEUED_EVENTS as u64);
    assert!(
        held.iter()
            .any(|e| matches!(e, HostEvent::Seat(n) if n.name == "Bo"))
    );
}

#[test]
fn a_stranger_cannot_take_over_a_seat_still_held_as_a_reconnecting_window_does() {
    // A window that reconnects takes its seat over from its own stale
    // connection, proving the seat's secret; a stranger who claims a seat
    // still held (Ann is connected and playing) neither takes it nor
    // drops Ann, and its guess is counted.
    let (mut sim, _, plans) = started(config());
    let ann = &plans[0];
    let mut guess = jc("Ann", 6100);
    guess.rejoin = Some(RejoinClaim {
        handle: ann.local_handle as u16,
        secret: MemberSecret([0x17; 32]),
    });
    sim.join(60, guess);
    assert_eq!(join_error(&sim.take_events(60)), JoinError::BadRejoin);
    assert_eq!(sim.host.failed_guesses(), 1);
    assert!(!sim.client(1).is_done(), "Ann keeps her connection");
    assert!(sim.client(1).in_match());
    assert!(sim.host.vacant_seats().is_empty());
    for id in [1, 2, 3] {
        let events = sim.take_events(id);
        assert!(rekeys(&events).is_empty(), "no new key for a refused claim");
        assert!(seat_news(&events).is_empty(), "no seat changed hands");
    }
    // Bo's secret does not open Ann's held seat either.
    let mut other = jc("Ann", 6101);
    other.rejoin = Some(RejoinClaim {
        handle: ann.local_handle as u16,
        secret: plans[1].member_secret().expect("secret").clone(),
    });
    sim.join_from(61, Sim::peer(61), other);
    assert_eq!(join_error(&sim.take_events(61)), JoinError::BadRejoin);
    assert!(!sim.client(1).is_done(), "Ann keeps her connection");
}
