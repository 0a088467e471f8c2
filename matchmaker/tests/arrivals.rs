//! Seats that change hands while a resume runs (issue 13: two players back
//! from one Wi-Fi drop), driven sans-IO with a fake clock: the first
//! rejoin makes epoch 1 at once; a second one during that resume is
//! welcomed but waits, with no new key, until the host's game says the
//! resume is over; two that waited share one epoch, and each hears of the
//! other before its plan (so both resume as newcomers together); a host
//! game that never says so still seats them after `RESUME_SETTLE`.

mod common;

use common::sim::{Sim, config, jc, plan_of, rekeys};
use nearplay_matchmaker::lobby::client::{ClientEvent, RejoinClaim};
use nearplay_matchmaker::lobby::host::RESUME_SETTLE;
use nearplay_matchmaker::lobby::message::SeatChange;
use nearplay_netcode::MatchPlan;

/// A started match: host + Ann (1), Bo (2), Cy (3); each member's plan.
fn started() -> (Sim, Vec<MatchPlan>) {
    let mut sim = Sim::new(config());
    for (id, name) in [(1, "Ann"), (2, "Bo"), (3, "Cy")] {
        sim.join(id, jc(name, 5000 + id as u16));
        let now = sim.now;
        sim.client(id).set_ready(now, true);
    }
    sim.pump();
    sim.host.start(sim.now).expect("start");
    sim.pump();
    let plans = (1..=3)
        .map(|id| plan_of(&sim.take_events(id)).expect("plan"))
        .collect();
    sim.take_host_events();
    (sim, plans)
}

/// Handles retaken in `events`' seat news.
fn retaken(events: &[ClientEvent]) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Seat(n) if n.change == SeatChange::Retaken => Some(n.handle),
            _ => None,
        })
        .collect()
}

/// The member of `plan` drops and comes back as connection `id`.
fn back(sim: &mut Sim, old: u64, id: u64, name: &str, plan: &MatchPlan) {
    sim.close(old);
    sim.pump();
    let mut again = jc(name, 7000 + id as u16);
    again.rejoin = Some(RejoinClaim {
        handle: plan.local_handle as u16,
        secret: plan.member_secret().expect("secret").clone(),
    });
    sim.join(id, again);
}

#[test]
fn a_seat_retaken_during_a_resume_waits_and_two_that_waited_share_an_epoch() {
    let (mut sim, plans) = started();
    back(&mut sim, 2, 20, "Bo", &plans[1]);
    let bo = plan_of(&sim.take_events(20)).expect("Bo's plan at once");
    assert_eq!(bo.key_epoch, 1);
    assert_eq!(rekeys(&sim.take_events(1)), [1]);

    // Cy comes back while epoch 1's resume runs: welcomed, not seated yet.
    back(&mut sim, 3, 30, "Cy", &plans[2]);
    let cy = sim.take_events(30);
    assert!(plan_of(&cy).is_none(), "{cy:?}");
    assert!(sim.client(30).in_match() || !sim.client(30).is_done());
    assert!(
        rekeys(&sim.take_events(1)).is_empty(),
        "no key under a resume"
    );
    assert_eq!(sim.host.waiting_arrivals(), 1);

    // Ann drops and comes back too, still during it.
    back(&mut sim, 1, 10, "Ann", &plans[0]);
    assert!(plan_of(&sim.take_events(10)).is_none());
    assert_eq!(sim.host.waiting_arrivals(), 2);
    sim.take_events(20);

    // The host's game finished epoch 1: Ann and Cy share epoch 2.
    let now = sim.now;
    sim.host.resume_settled(now);
    sim.pump();
    let (ann, cy) = (sim.take_events(10), sim.take_events(30));
    let ann_plan = plan_of(&ann).unwrap_or_else(|| panic!("Ann: {ann:?}"));
    let cy_plan = plan_of(&cy).unwrap_or_else(|| panic!("Cy: {cy:?}"));
    assert_eq!((ann_plan.key_epoch, cy_plan.key_epoch), (2, 2));
    assert_eq!(ann_plan.key, cy_plan.key);
    assert_eq!(ann_plan.local_handle, plans[0].local_handle);
    assert_eq!(cy_plan.local_handle, plans[2].local_handle);
    // Each newcomer heard of the other before its plan; Bo of both.
    assert_eq!(retaken(&ann), [plans[2].local_handle as u16]);
    assert_eq!(retaken(&cy), [plans[0].local_handle as u16]);
    let bo_events = sim.take_events(20);
    assert_eq!(rekeys(&bo_events), [2], "one epoch for both");
    let mut both = retaken(&bo_events);
    both.sort_unstable();
    assert_eq!(
        both,
        [plans[0].local_handle as u16, plans[2].local_handle as u16]
    );
    assert_eq!(sim.host.waiting_arrivals(), 0);
}

#[test]
fn a_host_game_that_never_settles_still_seats_the_arrival_after_the_settle_time() {
    let (mut sim, plans) = started();
    back(&mut sim, 2, 20, "Bo", &plans[1]);
    assert_eq!(plan_of(&sim.take_events(20)).map(|p| p.key_epoch), Some(1));
    back(&mut sim, 3, 30, "Cy", &plans[2]);
    assert!(plan_of(&sim.take_events(30)).is_none());
    sim.advance(RESUME_SETTLE / 2);
    assert!(plan_of(&sim.take_events(30)).is_none(), "still waiting");
    sim.advance(RESUME_SETTLE / 2);
    let cy = plan_of(&sim.take_events(30)).expect("seated after the settle time");
    assert_eq!(cy.key_epoch, 2);
    assert_eq!(rekeys(&sim.take_events(1)), [1, 2]);
}
