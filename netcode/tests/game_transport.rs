//! `GameTransport` (the one type a lobby hands over) and
//! `NetSessionBuilder::build_impaired` over real UDP on 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use nearplay_netcode::TrafficCounters;
use nearplay_netcode::prelude::*;

const DEADLINE: Duration = Duration::from_secs(25);

fn game_peer(
    socket: std::net::UdpSocket,
    plan: &MatchPlan,
    impairment: Option<LinkProfile>,
) -> (Peer, TrafficCounters) {
    let transport = GameTransport::udp(socket, plan).expect("transport");
    assert!(matches!(transport, GameTransport::Udp(_)));
    let counters = transport.counters();
    let (session, monitor) = NetSessionBuilder::<GameCfg>::from_plan(plan)
        .build_impaired(transport, impairment, plan.seed ^ plan.local_handle as u64)
        .expect("session builds");
    (
        Peer::new(plan.local_handle, session, monitor, plan.seed),
        counters,
    )
}

#[test]
fn a_game_transport_pair_plays_300_frames_one_side_impaired() {
    let (s0, s1) = (loopback_socket(), loopback_socket());
    let addrs = [s0.local_addr().unwrap(), s1.local_addr().unwrap()];
    let plan = udp_plan(&addrs, 12, 0);
    // Peer 1 sends through the conditioner (10 % loss, 5 ms): still the
    // same state, and the counters kept before the move are the live ones.
    let impaired = LinkProfile::latency(Duration::from_millis(5), Duration::ZERO).with_loss(0.1);
    let (p0, c0) = game_peer(s0, &plan, None);
    let (p1, c1) = game_peer(s1, &plan.for_member(1), Some(impaired));
    let mut peers = vec![p0, p1];
    run_until(
        &mut peers,
        DEADLINE,
        "300 frames",
        |_| {},
        all_confirmed(300),
    );
    let (frame, sum) = assert_agree(&peers);
    assert_eq!(sum, reference_checksum(2, 12, 2, frame));
    let (to1, to0) = (PeerAddr::Udp(addrs[1]), PeerAddr::Udp(addrs[0]));
    assert!(c0.peer(to1).datagrams_received > 100);
    assert!(c1.peer(to0).datagrams_received > 100);
    assert_eq!(c0.drop_counts().total(), 0, "{:?}", c0.drop_counts());
}

#[test]
fn build_impaired_with_total_loss_sends_nothing_and_none_sends() {
    let (s0, s1) = (loopback_socket(), loopback_socket());
    let addrs = [s0.local_addr().unwrap(), s1.local_addr().unwrap()];
    let plan = udp_plan(&addrs, 13, 0);
    // Peer 0 behind a link that loses everything: proof the conditioner
    // sits between GGRS and the socket. Peer 1, not impaired, sends.
    let (p0, c0) = game_peer(s0, &plan, Some(LinkProfile::lossy(1.0)));
    let (p1, c1) = game_peer(s1, &plan.for_member(1), None);
    let mut peers = vec![p0, p1];
    let (to1, to0) = (PeerAddr::Udp(addrs[1]), PeerAddr::Udp(addrs[0]));
    run_until(
        &mut peers,
        DEADLINE,
        "peer 0 to receive 50 handshake datagrams",
        |_| {},
        |_| c0.peer(to1).datagrams_received >= 50,
    );
    assert!(c1.peer(to0).datagrams_sent >= 50);
    assert_eq!(c0.peer(to1).datagrams_sent, 0, "all lost before the socket");
    assert_eq!(c1.peer(to0).datagrams_received, 0);
    assert!(peers.iter().all(|p| p.session.current_frame() == 0));
}
