//! The sans-IO lobby cores with a fake clock: timeouts, kicks, leaves, closes, protocol errors.
//! No sockets, no sleeps: time is an `Instant` the harness moves forward.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::sim::{GAME, HOST_IP, Sim, VER, closed_reason, config, jc};
use nearplay_matchmaker::lobby::client::{ClientEvent, ClientMachine, CloseReason, JoinError};
use nearplay_matchmaker::lobby::codec::encode;
use nearplay_matchmaker::lobby::host::{ConnId, HostEvent, LeaveReason};
use nearplay_matchmaker::lobby::message::{ClientMsg, Hello, PROTOCOL_VERSION, RejectReason};
use nearplay_netcode::PeerAddr;

#[test]
fn silent_connection_loses_its_slot_after_the_hello_timeout() {
    let mut sim = Sim::new(config());
    let local = SocketAddr::from((HOST_IP, 7000));
    sim.host
        .handle_connect(sim.now, ConnId(50), Sim::peer(50), local);
    sim.pump();
    sim.advance(Duration::from_millis(2900));
    assert!(!sim.closed.contains(&50));
    sim.advance(Duration::from_millis(200));
    assert!(sim.closed.contains(&50));
    assert!(sim.take_host_events().iter().any(|e| matches!(
        e,
        HostEvent::Rejected {
            reason: RejectReason::HelloTimeout,
            ..
        }
    )));
    // A client whose host never answers gives up too.
    let mut c = ClientMachine::new(jc("A", 1), sim.now);
    c.handle_connected(sim.now);
    c.handle_timeout(sim.now + Duration::from_secs(3));
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::JoinFailed(JoinError::Timeout))
    );
}

#[test]
fn a_flood_of_silent_connections_is_capped() {
    let mut sim = Sim::new(config());
    let local = SocketAddr::from((HOST_IP, 7000));
    for id in 100..130 {
        sim.host
            .handle_connect(sim.now, ConnId(id), Sim::peer(1), local);
    }
    sim.pump();
    let cap = nearplay_matchmaker::lobby::host::MAX_PENDING_HELLOS as u64;
    assert_eq!(sim.closed.len() as u64, 30 - cap);
    // Real players still get in once the silent ones time out.
    sim.advance(Duration::from_secs(3));
    sim.join(1, jc("A", 1));
    assert!(matches!(
        sim.take_events(1).first(),
        Some(ClientEvent::Joined { .. })
    ));
}

#[test]
fn keepalives_hold_idle_members_and_silence_drops_them() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    sim.join(2, jc("B", 2));
    sim.advance(Duration::from_secs(30));
    assert_eq!(
        sim.host.roster().len(),
        3,
        "keepalives keep quiet members in"
    );
    // Client 2 vanishes without a FIN: the host drops it after the idle timeout.
    sim.cut.insert(2);
    let cut_at = sim.now;
    sim.advance(Duration::from_secs(3));
    let left = sim.take_host_events().into_iter().find_map(|e| match e {
        HostEvent::MemberLeft { id: 2, reason, .. } => Some(reason),
        _ => None,
    });
    assert_eq!(left, Some(LeaveReason::TimedOut));
    assert_eq!(sim.host.roster().len(), 2);
    // ... and client 2 sees its host gone within 3 s.
    assert_eq!(closed_reason(&sim.take_events(2)), CloseReason::HostGone);
    assert!(sim.now - cut_at <= Duration::from_secs(3));
}

#[test]
fn host_gone_means_lobby_closed_within_3_s() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    sim.take_events(1);
    sim.cut.insert(1);
    sim.advance(Duration::from_millis(2400));
    assert!(sim.take_events(1).is_empty());
    sim.advance(Duration::from_millis(600));
    assert_eq!(closed_reason(&sim.take_events(1)), CloseReason::HostGone);
    // A connection reset is reported at once.
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    sim.take_events(1);
    sim.client(1).handle_disconnected();
    sim.pump();
    assert_eq!(
        closed_reason(&sim.take_events(1)),
        CloseReason::Disconnected
    );
}

#[test]
fn kick_leave_and_close() {
    let mut sim = Sim::new(config());
    for id in 1..=3 {
        sim.join(id, jc(&format!("P{id}"), id as u16));
        sim.take_events(id);
    }
    assert!(sim.host.kick(sim.now, 1));
    assert!(!sim.host.kick(sim.now, 0), "the host cannot kick itself");
    sim.pump();
    assert_eq!(closed_reason(&sim.take_events(1)), CloseReason::Kicked);
    let now = sim.now;
    sim.client(2).leave(now);
    sim.pump();
    assert_eq!(closed_reason(&sim.take_events(2)), CloseReason::Left);
    let reasons: Vec<LeaveReason> = sim
        .take_host_events()
        .into_iter()
        .filter_map(|e| match e {
            HostEvent::MemberLeft { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [LeaveReason::Kicked, LeaveReason::Left]);
    let events3 = sim.take_events(3);
    assert!(matches!(events3.last(), Some(ClientEvent::RosterChanged(r)) if r.len() == 2));
    sim.host.close(sim.now);
    sim.pump();
    assert_eq!(closed_reason(&sim.take_events(3)), CloseReason::HostClosed);
    assert!(sim.take_host_events().contains(&HostEvent::Closed));
}

#[test]
fn protocol_errors_drop_the_member_not_the_lobby() {
    let mut sim = Sim::new(config());
    sim.join(1, jc("A", 1));
    sim.join(2, jc("B", 2));
    // Garbage frame body from member 1 (length 3, our version, 0xff).
    let [hi, lo] = PROTOCOL_VERSION.to_be_bytes();
    sim.host
        .handle_data(sim.now, ConnId(1), &[0, 0, 0, 3, hi, lo, 0xff]);
    sim.pump();
    assert!(sim.take_host_events().iter().any(|e| matches!(
        e,
        HostEvent::MemberLeft {
            id: 1,
            reason: LeaveReason::ProtocolError(_),
            ..
        }
    )));
    // An oversized length prefix from member 2.
    sim.host
        .handle_data(sim.now, ConnId(2), &[0xff, 0xff, 0xff, 0xff]);
    sim.pump();
    assert_eq!(sim.host.roster().len(), 1);
    // A second hello is a protocol error too.
    sim.join(3, jc("C", 3));
    let hello = ClientMsg::Hello(Hello {
        game: GAME.into(),
        game_version: VER.into(),
        name: "again".into(),
        game_port: 1,
        spectator: false,
        rejoin: None,
    });
    sim.host
        .handle_data(sim.now, ConnId(3), &encode(&hello).expect("enc"));
    sim.pump();
    assert_eq!(sim.host.roster().len(), 1);
    // The host hears no more from closed connections.
    sim.host.handle_data(
        sim.now,
        ConnId(3),
        &encode(&ClientMsg::Chat("x".into())).expect("e"),
    );
    sim.pump();
    assert!(
        !sim.take_host_events()
            .iter()
            .any(|e| matches!(e, HostEvent::Chat { .. }))
    );
}

#[test]
fn loopback_members_get_the_hosts_lan_address_in_the_plan() {
    let mut sim = Sim::new(config());
    let mut c = ClientMachine::new(jc("Local", 6000), sim.now);
    c.handle_connected(sim.now);
    sim.clients.insert(1, c);
    let lo = SocketAddr::from(([127, 0, 0, 1], 40000));
    sim.host.handle_connect(
        sim.now,
        ConnId(1),
        lo,
        SocketAddr::from(([127, 0, 0, 1], 7000)),
    );
    sim.join(2, jc("Remote", 6001));
    sim.pump();
    for id in [1, 2] {
        let now = sim.now;
        sim.client(id).set_ready(now, true);
    }
    sim.pump();
    let plan = sim.host.start(sim.now).expect("start");
    let lan = IpAddr::from(HOST_IP);
    assert_eq!(
        plan.players[0].addr,
        PeerAddr::Udp(SocketAddr::new(lan, 9000))
    );
    assert_eq!(
        plan.players[1].addr,
        PeerAddr::Udp(SocketAddr::new(lan, 6000))
    );
}
