//! `NetSessionBuilder` validates plans and settings with typed errors.

mod common;

use common::*;
use nearplay_netcode::prelude::*;

fn plan3() -> MatchPlan {
    let addrs: Vec<_> = (0..3)
        .map(|i| format!("127.0.0.1:{}", 40000 + i).parse().unwrap())
        .collect();
    udp_plan(&addrs, 5, 1)
}

fn err(b: NetSessionBuilder<GameCfg>) -> SessionError {
    match b.build(SimNetwork::new(0).node(0)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn plan_builds_and_spectators_follow_their_host() {
    let mut plan = plan3();
    plan.spectators.push(PlanSpectator {
        handle: 3,
        name: "watcher".into(),
        addr: PeerAddr::Udp("127.0.0.1:40010".parse().unwrap()),
        host_handle: 1,
    });
    let s = NetSessionBuilder::<GameCfg>::from_plan(&plan)
        .build(SimNetwork::new(0).node(1))
        .expect("builds");
    assert_eq!(s.num_players(), 3);
    assert_eq!(s.num_spectators(), 1, "handle 1 hosts the spectator");
    assert_eq!(s.local_player_handles(), vec![1]);
    let s0 = NetSessionBuilder::<GameCfg>::from_plan(&plan.for_member(0))
        .build(SimNetwork::new(0).node(0))
        .expect("builds");
    assert_eq!(s0.num_spectators(), 0, "handle 0 hosts nobody");
    let spectating = plan.for_member(3);
    assert!(
        NetSessionBuilder::<GameCfg>::spectate(&spectating, SimNetwork::new(0).node(3)).is_ok()
    );
    assert!(matches!(
        NetSessionBuilder::<GameCfg>::from_plan(&spectating)
            .build(SimNetwork::new(0).node(3))
            .map(|_| ()),
        Err(SessionError::LocalNotAPlayer { handle: 3 })
    ));
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        err(NetSessionBuilder::new()),
        SessionError::NoPlayers
    ));
    assert!(matches!(
        err(NetSessionBuilder::new()
            .local_player(0)
            .remote_player(2, PeerAddr::Sim(2))),
        SessionError::MissingHandle { handle: 1 }
    ));
    assert!(matches!(
        err(NetSessionBuilder::new()
            .local_player(0)
            .remote_player(0, PeerAddr::Sim(2))),
        SessionError::DuplicateHandle { handle: 0 }
    ));
    assert!(matches!(
        err(NetSessionBuilder::new().remote_player(0, PeerAddr::Sim(0))),
        SessionError::NoLocalPlayer
    ));
    assert!(matches!(
        err(NetSessionBuilder::new()
            .local_player(0)
            .remote_player(1, PeerAddr::Sim(1))
            .spectator(1, PeerAddr::Sim(5))),
        SessionError::DuplicateHandle { handle: 1 }
    ));
    let bad_fps = NetSettings {
        fps: 0,
        ..NetSettings::default()
    };
    assert!(matches!(
        err(NetSessionBuilder::new().local_player(0).settings(bad_fps)),
        SessionError::Plan(PlanError::Fps { fps: 0 })
    ));
    let window = NetSettings::default().max_prediction;
    let bad_delay = NetSettings {
        input_delay: window + 1,
        ..NetSettings::default()
    };
    assert!(matches!(
        err(NetSessionBuilder::new().local_player(0).settings(bad_delay)),
        SessionError::Plan(PlanError::InputDelay { delay, max })
            if delay == window + 1 && max == window
    ));
    let mut plan = plan3();
    plan.spectators.push(PlanSpectator {
        handle: 3,
        name: "w".into(),
        addr: PeerAddr::Sim(3),
        host_handle: 7,
    });
    assert!(matches!(
        err(NetSessionBuilder::from_plan(&plan)),
        SessionError::SpectatorHost { handle: 3, host: 7 }
    ));
}

#[test]
fn udp_transport_rejects_bad_plans() {
    let mut plan = plan3();
    plan.players[2].addr = PeerAddr::Sim(2);
    assert!(matches!(
        UdpTransport::from_plan(loopback_socket(), &plan),
        Err(TransportError::NotUdp { handle: 2 })
    ));
    let mut plan = plan3();
    plan.players[2].addr = plan.players[0].addr;
    assert!(matches!(
        UdpTransport::from_plan(loopback_socket(), &plan),
        Err(TransportError::DuplicateAddress { .. })
    ));
}

/// One lost handshake datagram used to start one peer 200 ms (GGRS's sync
/// retry) before the other, which then froze at its prediction window: a
/// session now sends each handshake message `HANDSHAKE_COPIES` times.
#[test]
fn the_first_sync_request_goes_out_in_several_copies() {
    let net = SimNetwork::new(1);
    let node = net.node(0);
    let counters = node.counters();
    let mut session = NetSessionBuilder::<GameCfg>::new()
        .local_player(0)
        .remote_player(1, PeerAddr::Sim(1))
        .build(node)
        .expect("session builds");
    session.poll_remote_clients();
    let sent = counters
        .peers()
        .get(&PeerAddr::Sim(1))
        .map_or(0, |t| t.datagrams_sent);
    assert_eq!(
        sent,
        nearplay_netcode::handshake::HANDSHAKE_COPIES as u64,
        "datagrams of the first sync request"
    );
}
