//! Issue 14: a lobby takes spectators beside players. The sans-IO lobby
//! cores with a fake clock: the role travels in the hello, the roster shows
//! spectators apart, they take no player seat and need not be ready, the
//! plan lists them in `spectators` (fed by the relay tree, so no GGRS
//! session streams to them) and every member accepts that plan.

mod common;

use common::sim::{Sim, config, jc, join_error, plan_of};
use nearplay_matchmaker::lobby::client::{JoinConfig, JoinError};
use nearplay_netcode::{MAX_SPECTATORS, PlanLimits};

fn spectator(name: &str, port: u16) -> JoinConfig {
    let mut c = jc(name, port);
    c.spectator = true;
    c
}

#[test]
fn spectators_join_apart_take_no_seat_and_are_in_the_plan() {
    let mut host = config();
    host.max_players = 2;
    let mut sim = Sim::new(host);
    sim.join(1, spectator("Eve", 5001));
    sim.join(2, jc("Ann", 5002));
    sim.join(3, spectator("Zed", 5003));
    sim.pump();
    // The lobby of 2 players is full of players, not of spectators.
    sim.join(4, jc("Bob", 5004));
    sim.pump();
    assert_eq!(join_error(&sim.take_events(4)), JoinError::Full { max: 2 });
    let roster = sim.host.roster();
    let watching: Vec<&str> = roster
        .iter()
        .filter(|m| m.spectator)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(watching, ["Eve", "Zed"]);
    // Spectators need not be ready: only Ann.
    let now = sim.now;
    sim.client(2).set_ready(now, true);
    sim.pump();
    let plan = sim
        .host
        .start(sim.now)
        .expect("start with spectators not ready");
    sim.pump();
    assert_eq!(plan.players.len(), 2);
    assert_eq!(plan.spectators.len(), 2);
    let names: Vec<&str> = plan.spectators.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Eve", "Zed"]);
    assert!(plan.spectators.iter().all(|s| s.is_relayed()));
    assert_eq!(
        plan.spectators.iter().map(|s| s.handle).collect::<Vec<_>>(),
        [2, 3]
    );
    // Every member accepted its copy; a spectator's local handle is its own.
    for (id, handle) in [(1u64, 2usize), (2, 1), (3, 3)] {
        let mine = plan_of(&sim.take_events(id)).expect("plan");
        assert_eq!(
            mine.without_secrets(),
            plan.for_member(handle).without_secrets(),
            "member {id}"
        );
    }
    // And a player's GGRS session does not wait on them.
    assert!(
        nearplay_netcode::NetSessionBuilder::<Cfg>::from_plan(&plan)
            .build(nearplay_netcode::SimNetwork::new(1).node(0))
            .is_ok()
    );
}

#[test]
fn a_lobby_takes_at_most_max_spectators() {
    let mut sim = Sim::new(config());
    for id in 0..MAX_SPECTATORS as u64 + 1 {
        sim.join(id + 1, spectator(&format!("s{id}"), 6000 + id as u16));
        sim.pump();
    }
    let last = MAX_SPECTATORS as u64 + 1;
    assert_eq!(
        join_error(&sim.take_events(last)),
        JoinError::Full {
            max: MAX_SPECTATORS as u16
        }
    );
    let watching = sim.host.roster().iter().filter(|m| m.spectator).count();
    assert_eq!(watching, MAX_SPECTATORS);
}

struct Cfg;
impl ggrs::Config for Cfg {
    type Input = u8;
    type InputPredictor = ggrs::PredictRepeatLast;
    type State = u64;
    type Address = nearplay_netcode::PeerAddr;
}

#[test]
fn a_plan_with_a_relayed_spectator_out_of_range_is_refused() {
    let mut sim = Sim::new(config());
    sim.join(1, spectator("Eve", 5001));
    sim.join(2, jc("Ann", 5002));
    sim.pump();
    let now = sim.now;
    sim.client(2).set_ready(now, true);
    sim.pump();
    let plan = sim.host.start(sim.now).expect("start");
    assert!(plan.validate(&PlanLimits::default()).is_ok());
    let mut bad = plan.clone();
    if let Some(s) = bad.spectators.first_mut() {
        s.handle = 60_000;
        s.host_handle = 60_000;
    }
    let refused = bad.validate(&PlanLimits::default());
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("spectator handle 60000")),
        "{refused:?}"
    );
}
