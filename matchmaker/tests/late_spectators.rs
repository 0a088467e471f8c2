//! Spectators who come to a running match, driven sans-IO with a fake
//! clock: every member connected (players and spectators already
//! watching) hears of the newcomer with the handle and address the relay
//! tree needs, and of its leaving; the spectator seats a match gives out
//! are bounded over its whole life, so joining and leaving in turn cannot
//! grow the plan past what every member's relay tree accepts.

mod common;

use common::sim::{Sim, config, jc, join_error, plan_of};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinError};
use nearplay_matchmaker::lobby::message::{SeatChange, SeatNews};
use nearplay_netcode::spectate::RelayTree;
use nearplay_netcode::{MAX_SPECTATORS, PeerAddr};

fn seat_news(events: &[ClientEvent]) -> Vec<SeatNews> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Seat(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

fn watcher(name: &str, port: u16) -> nearplay_matchmaker::lobby::client::JoinConfig {
    let mut c = jc(name, port);
    c.spectator = true;
    c
}

/// Host + Ann (1), Bo (2) playing, Wat (3) watching from the start.
fn started() -> Sim {
    let mut sim = Sim::new(config());
    sim.join(1, jc("Ann", 5001));
    sim.join(2, jc("Bo", 5002));
    sim.join(3, watcher("Wat", 5003));
    for id in [1, 2] {
        let now = sim.now;
        sim.client(id).set_ready(now, true);
    }
    sim.pump();
    sim.host.start(sim.now).expect("start");
    sim.pump();
    for id in 1..=3 {
        assert!(plan_of(&sim.take_events(id)).is_some(), "no plan for {id}");
    }
    sim.take_host_events();
    sim
}

#[test]
fn players_and_spectators_hear_of_a_late_spectator_and_of_its_leaving() {
    let mut sim = started();
    sim.join(10, watcher("Late", 6010));
    let plan = plan_of(&sim.take_events(10)).expect("the late spectator's plan");
    let mine = plan
        .spectators
        .iter()
        .find(|s| s.handle == plan.local_handle)
        .expect("its seat");
    let PeerAddr::Udp(addr) = mine.addr else {
        panic!("not a UDP seat: {:?}", mine.addr);
    };
    for id in 1..=3 {
        let news = seat_news(&sim.take_events(id));
        assert_eq!(
            news,
            vec![SeatNews {
                handle: plan.local_handle as u16,
                name: "Late".into(),
                addr,
                change: SeatChange::Watching,
            }],
            "member {id}"
        );
    }
    // Its plan's tree is the one the others extend with it.
    let tree = RelayTree::from_plan(&plan, 4).expect("tree");
    assert_eq!(tree.spectators().last(), Some(&(plan.local_handle as u16)));

    sim.close(10);
    sim.pump();
    for id in 1..=3 {
        let news = seat_news(&sim.take_events(id));
        assert_eq!(news.len(), 1, "member {id}: {news:?}");
        assert_eq!(news[0].change, SeatChange::Left);
        assert_eq!(usize::from(news[0].handle), plan.local_handle);
    }
}

#[test]
fn spectator_seats_are_bounded_over_the_whole_match() {
    let mut sim = started();
    // Wat holds one seat; the others come and go in turn.
    for i in 1..MAX_SPECTATORS as u64 {
        let id = 100 + i;
        sim.join(id, watcher(&format!("W{i}"), 6000 + i as u16));
        let events = sim.take_events(id);
        let plan = plan_of(&events).unwrap_or_else(|| panic!("seat {i} refused: {events:?}"));
        assert!(RelayTree::from_plan(&plan, 4).is_ok());
        sim.close(id);
        sim.pump();
    }
    sim.join(999, watcher("OneTooMany", 6999));
    assert_eq!(
        join_error(&sim.take_events(999)),
        JoinError::Full {
            max: MAX_SPECTATORS as u16
        }
    );
}
