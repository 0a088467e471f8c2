//! Hostile plans never reach GGRS: `MatchPlan::validate` names what is
//! wrong, and `NetSessionBuilder::from_plan` (so `start_udp_session` too)
//! refuses to build, with a typed error and no panic.

mod common;

use std::net::SocketAddr;

use common::*;
use nearplay_netcode::plan_check::{MAX_PLAYERS, MAX_PREDICTION};
use nearplay_netcode::prelude::*;

fn plan3() -> MatchPlan {
    let addrs: Vec<SocketAddr> = (0..3)
        .map(|i| SocketAddr::from(([127, 0, 0, 1], 41000 + i)))
        .collect();
    udp_plan(&addrs, 5, 1)
}

/// The builder refuses `plan` with `SessionError::Plan`; returns the reason.
fn refused(plan: &MatchPlan) -> PlanError {
    let expected = plan.validate(&PlanLimits::default()).expect_err("invalid");
    match NetSessionBuilder::<GameCfg>::from_plan(plan).build(SimNetwork::new(0).node(1)) {
        Err(SessionError::Plan(e)) => {
            assert_eq!(e, expected);
            e
        }
        Err(other) => panic!("expected a plan error, got {other}"),
        Ok(_) => panic!("a session was built from a hostile plan"),
    }
}

#[test]
fn ggrs_crashing_settings_are_refused() {
    let mut plan = plan3();
    plan.settings.input_delay = 200;
    plan.settings.max_prediction = 300;
    assert_eq!(
        refused(&plan),
        PlanError::MaxPrediction {
            value: 300,
            max: MAX_PREDICTION
        }
    );
    plan.settings.max_prediction = 100_000;
    plan.settings.input_delay = 2;
    assert!(matches!(refused(&plan), PlanError::MaxPrediction { .. }));
    // The largest accepted window still builds and runs in GGRS.
    plan.settings.max_prediction = MAX_PREDICTION;
    plan.settings.input_delay = MAX_PREDICTION;
    assert!(
        NetSessionBuilder::<GameCfg>::from_plan(&plan)
            .build(SimNetwork::new(0).node(1))
            .is_ok()
    );
    // Lockstep still bounds the delay.
    plan.settings.max_prediction = 0;
    plan.settings.input_delay = 200;
    assert!(matches!(refused(&plan), PlanError::InputDelay { .. }));
}

#[test]
fn out_of_range_rates_and_timeouts_are_refused() {
    type Tweak = fn(&mut NetSettings);
    let cases: [(Tweak, &str); 6] = [
        (|s| s.fps = 0, "fps 0 is outside 10..=240"),
        (|s| s.fps = 5000, "fps 5000 is outside 10..=240"),
        (
            |s| s.disconnect_timeout_ms = 1,
            "disconnect timeout 1 ms is outside 100..=60000 ms",
        ),
        (
            |s| s.disconnect_timeout_ms = u64::MAX,
            "disconnect timeout 18446744073709551615 ms is outside 100..=60000 ms",
        ),
        (
            |s| s.disconnect_notify_start_ms = 9000,
            "disconnect notice after 9000 ms comes after the 2000 ms timeout",
        ),
        (
            |s| s.desync_interval = u32::MAX,
            "desync interval 4294967295 is above 3600 frames",
        ),
    ];
    for (tweak, words) in cases {
        let mut plan = plan3();
        tweak(&mut plan.settings);
        assert_eq!(refused(&plan).to_string(), words);
    }
}

#[test]
fn seat_counts_are_bounded() {
    let mut plan = plan3();
    for i in 0..2000u16 {
        let handle = plan.players.len();
        plan.players.push(PlanPlayer {
            handle,
            name: format!("x{i}"),
            addr: PeerAddr::Udp(SocketAddr::from(([127, 0, 0, 77], 10_000 + i))),
        });
    }
    assert_eq!(
        refused(&plan),
        PlanError::TooManyPlayers {
            count: 2003,
            max: MAX_PLAYERS
        }
    );
    // The same through the one call a game makes: no session, no datagram.
    let socket = loopback_socket();
    let sent = start_udp_session::<GameCfg>(&plan, socket, None);
    assert!(matches!(
        sent,
        Err(StartError::Session(SessionError::Plan(
            PlanError::TooManyPlayers { .. }
        )))
    ));
    let mut alone = plan3();
    alone.players.truncate(1);
    alone.local_handle = 0;
    assert!(matches!(refused(&alone), PlanError::TooFewPlayers { .. }));
    let mut spectated = plan3();
    for h in 3..40 {
        spectated.spectators.push(PlanSpectator {
            handle: h,
            name: format!("w{h}"),
            addr: PeerAddr::Udp(SocketAddr::from(([127, 0, 0, 1], 42000 + h as u16))),
            host_handle: 0,
        });
    }
    assert!(matches!(
        refused(&spectated),
        PlanError::TooManySpectators { count: 37, .. }
    ));
    // Builders without a plan are bounded too.
    let mut b = NetSessionBuilder::<GameCfg>::new().local_player(0);
    for h in 1..=MAX_PLAYERS {
        b = b.remote_player(h, PeerAddr::Sim(h as u32));
    }
    assert!(matches!(
        b.build(SimNetwork::new(0).node(0)),
        Err(SessionError::TooManySeats { count: 17, .. })
    ));
}

#[test]
fn seats_names_and_addresses_are_checked() {
    let mut plan = plan3();
    plan.local_handle = 9;
    assert_eq!(
        plan.validate(&PlanLimits::default()),
        Err(PlanError::LocalMissing { handle: 9 })
    );
    assert!(
        NetSessionBuilder::<GameCfg>::from_plan(&plan)
            .build(SimNetwork::new(0).node(1))
            .is_err()
    );
    let mut plan = plan3();
    plan.players[2].addr = plan.players[0].addr;
    assert!(matches!(refused(&plan), PlanError::DuplicateAddress { .. }));
    let mut plan = plan3();
    plan.players[2].name = "p0".into();
    assert!(matches!(refused(&plan), PlanError::DuplicateName { .. }));
    let mut plan = plan3();
    plan.players[2].name = "evil\u{1b}[2J".into();
    assert_eq!(refused(&plan), PlanError::BadName { handle: 2 });
    let mut plan = plan3();
    plan.players[2].handle = 5;
    assert!(matches!(
        refused(&plan),
        PlanError::PlayerHandle { index: 2, .. }
    ));
    for (ip, port) in [
        ([0, 0, 0, 0], 5000),
        ([239, 1, 2, 3], 5000),
        ([127, 0, 0, 1], 0),
    ] {
        let mut plan = plan3();
        plan.players[2].addr = PeerAddr::Udp(SocketAddr::from((ip, port)));
        assert!(matches!(refused(&plan), PlanError::BadAddress { .. }));
    }
}

#[test]
fn known_members_and_our_port_are_enforced() {
    let plan = plan3();
    let members: std::collections::BTreeSet<PeerAddr> =
        plan.players.iter().map(|p| p.addr).collect();
    let limits = PlanLimits {
        members: Some(members.clone()),
        local_port: Some(41001),
        ..PlanLimits::default()
    };
    assert_eq!(plan.validate(&limits), Ok(()));
    let mut third_party = plan.clone();
    third_party.players[2].addr = PeerAddr::Udp(SocketAddr::from(([127, 0, 0, 77], 41002)));
    assert!(matches!(
        third_party.validate(&limits),
        Err(PlanError::UnknownAddress { name, .. }) if name == "p2"
    ));
    let wrong_port = PlanLimits {
        local_port: Some(5),
        ..limits.clone()
    };
    assert!(matches!(
        plan.validate(&wrong_port),
        Err(PlanError::LocalAddress { port: 5, .. })
    ));
    let lobby_of_two = PlanLimits {
        max_players: 2,
        ..limits
    };
    assert_eq!(
        plan.validate(&lobby_of_two),
        Err(PlanError::TooManyPlayers { count: 3, max: 2 })
    );
}
