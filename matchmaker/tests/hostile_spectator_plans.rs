//! Issue 14: a fake lobby host sends plans that abuse the spectator role.
//! The joiner accepts a spectator in the plan only where its roster showed
//! a spectator (same name, same address), never seats a roster spectator as
//! a player, and refuses a fanout out of range; a spectator accepts its own
//! place. Driven through the client's sans-IO machine.

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use common::sim::join_error;
use nearplay_matchmaker::lobby::client::{
    ClientEvent, ClientMachine, ClientTransmit, JoinConfig, JoinError,
};
use nearplay_matchmaker::lobby::codec::{FrameDecoder, encode};
use nearplay_matchmaker::lobby::message::{ClientMsg, HostMsg, RosterEntry};
use nearplay_matchmaker::lobby::rng::SeededRng;
use nearplay_matchmaker::lobby::secure::answer_offer;
use nearplay_netcode::{
    MatchId, MatchKey, MatchPlan, NetSettings, PeerAddr, PlanPlayer, PlanSpectator,
};

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([192, 168, 1, last], port))
}

/// Host "Bo" and "Cy" play, "Eve" watches; we are `me` (id 1).
fn roster(me_spectator: bool) -> Vec<RosterEntry> {
    [
        (0, "Bo", addr(7, 9000), false),
        (1, "Ann", addr(20, 5001), me_spectator),
        (2, "Cy", addr(30, 5002), false),
        (3, "Eve", addr(40, 5003), true),
    ]
    .into_iter()
    .map(|(id, name, game_addr, spectator)| RosterEntry {
        id,
        name: name.into(),
        ready: true,
        game_addr,
        spectator,
        vacant: false,
    })
    .collect()
}

/// The plan an honest host sends for [`roster`].
fn honest(me_spectator: bool) -> MatchPlan {
    let r = roster(me_spectator);
    let mut players = Vec::new();
    let mut spectators = Vec::new();
    for m in r.iter().filter(|m| !m.spectator) {
        players.push(PlanPlayer {
            handle: players.len(),
            name: m.name.clone(),
            addr: PeerAddr::Udp(m.game_addr),
        });
    }
    for m in r.iter().filter(|m| m.spectator) {
        let handle = players.len() + spectators.len();
        spectators.push(PlanSpectator::relayed(
            handle,
            m.name.clone(),
            PeerAddr::Udp(m.game_addr),
        ));
    }
    let local_handle = players
        .iter()
        .map(|p| (p.handle, &p.name))
        .chain(spectators.iter().map(|s| (s.handle, &s.name)))
        .find(|(_, n)| *n == "Ann")
        .map_or(0, |(h, _)| h);
    MatchPlan {
        match_id: MatchId(1),
        seed: 2,
        players,
        spectators,
        key: MatchKey([9; 32]),
        key_epoch: 0,
        member_secrets: Default::default(),
        settings: NetSettings::default(),
        local_handle,
    }
}

fn frame(msg: &HostMsg) -> Vec<u8> {
    encode(msg).expect("encodes")
}

/// Joins the fake host (showing `roster`), then receives `Start(plan)`.
fn start_with(me_spectator: bool, plan: MatchPlan) -> Vec<ClientEvent> {
    let mut config = JoinConfig::new("Ann", "g", "1", 5001);
    config.spectator = me_spectator;
    let mut c = ClientMachine::new(config, Instant::now());
    let now = Instant::now();
    c.handle_connected(now);
    c.handle_data(
        now,
        &frame(&HostMsg::Greeting {
            password_required: false,
        }),
    );
    let mut offer = Vec::new();
    while let Some(t) = c.poll_transmit() {
        if let ClientTransmit::Send(bytes) = t {
            offer.extend_from_slice(&bytes);
        }
    }
    let mut d = FrameDecoder::new();
    d.push(&offer);
    let ClientMsg::Offer(offer) = d.next_frame().unwrap().unwrap().decode().unwrap() else {
        panic!("expected the offer");
    };
    let (mut channel, answer) = answer_offer(&mut SeededRng::new([3; 32]), None, &offer).unwrap();
    c.handle_data(now, &frame(&HostMsg::Answer(answer)));
    while c.poll_transmit().is_some() {}
    let welcome = HostMsg::Welcome {
        you: 1,
        lobby_name: "Fake".into(),
        name: "Ann".into(),
        max_players: 4,
        roster: roster(me_spectator),
    };
    c.handle_data(now, &channel.seal(&welcome).unwrap());
    c.handle_data(now, &channel.seal(&HostMsg::Start(plan)).unwrap());
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn refused(me_spectator: bool, plan: MatchPlan) -> String {
    let events = start_with(me_spectator, plan);
    assert!(
        !events.iter().any(|e| matches!(e, ClientEvent::Started(_))),
        "{events:?}"
    );
    match join_error(&events) {
        e @ JoinError::BadPlan(_) => e.to_string(),
        other => panic!("expected BadPlan, got {other:?}"),
    }
}

#[test]
fn honest_plans_with_spectators_start_for_players_and_spectators() {
    for me_spectator in [false, true] {
        let plan = honest(me_spectator);
        let events = start_with(me_spectator, plan.clone());
        assert!(events.contains(&ClientEvent::Started(plan)), "{events:?}");
    }
}

#[test]
fn a_player_listed_as_spectator_is_refused() {
    let mut plan = honest(false);
    // Cy (a roster player) moved to the spectators: the host would cut a
    // player out of the match.
    let cy = plan.players.remove(2);
    plan.spectators
        .insert(0, PlanSpectator::relayed(2, cy.name, cy.addr));
    plan.spectators[1].handle = 3;
    plan.spectators[1].host_handle = 3;
    assert!(refused(false, plan).contains("Cy"));
}

#[test]
fn a_spectator_seated_as_player_is_refused() {
    let mut plan = honest(false);
    // Eve (a roster spectator) seated as a player.
    let eve = plan.spectators.remove(0);
    plan.players.push(PlanPlayer {
        handle: 3,
        name: eve.name,
        addr: eve.addr,
    });
    assert!(refused(false, plan).contains("Eve"));
}

#[test]
fn a_stranger_spectator_and_a_bad_fanout_are_refused() {
    let mut plan = honest(false);
    plan.spectators.push(PlanSpectator::relayed(
        4,
        "Mallory".into(),
        PeerAddr::Udp(addr(66, 6666)),
    ));
    assert!(refused(false, plan).contains("Mallory"));
    let mut plan = honest(false);
    plan.settings.spectate_fanout = 0;
    assert!(refused(false, plan).contains("fanout"));
}
