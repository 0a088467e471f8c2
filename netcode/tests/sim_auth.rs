//! The one authenticated layer (`AuthTransport`) over the simulated network
//! (`SimLink`): the same sealing, replay window and counters as UDP and
//! WebRTC, under loss, duplication and reordering no loopback shows.

mod common;

use std::time::Duration;

use common::*;
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::{AuthTransport, SimLink};

const DEADLINE: Duration = Duration::from_secs(25);

fn sim_plan(n: usize, seed: u64) -> MatchPlan {
    MatchPlan {
        match_id: MatchId(0x5151 ^ seed),
        seed,
        players: (0..n)
            .map(|handle| PlanPlayer {
                handle,
                name: format!("p{handle}"),
                addr: PeerAddr::Sim(handle as u32),
            })
            .collect(),
        spectators: Vec::new(),
        key: MatchKey([seed as u8; 32]),
        settings: NetSettings::default(),
        local_handle: 0,
    }
}

fn authed_peers(n: usize, net: &SimNetwork, seed: u64) -> Vec<Peer> {
    let plan = sim_plan(n, seed);
    (0..n)
        .map(|h| {
            let plan = plan.for_member(h);
            let transport = AuthTransport::<SimLink>::from_plan(net.datagram_link(h as u32), &plan)
                .expect("transport");
            let (session, monitor) = NetSessionBuilder::<GameCfg>::from_plan(&plan)
                .build_monitored(transport)
                .expect("session");
            Peer::new(h, session, monitor, seed)
        })
        .collect()
}

#[test]
fn three_peers_agree_through_loss_duplicates_and_reordering() {
    let ms = Duration::from_millis;
    let chaos = LinkProfile::latency(ms(5), ms(2))
        .with_loss(0.10)
        .with_reorder(0.20, ms(15))
        .with_duplicate(0.20);
    let net = SimNetwork::with_profile(61, chaos);
    let mut peers = authed_peers(3, &net, 61);
    run_until(
        &mut peers,
        DEADLINE,
        "400 frames",
        |_| {},
        all_confirmed(400),
    );
    let (frame, sum) = assert_agree(&peers);
    assert_eq!(sum, reference_checksum(3, 61, 2, frame));
    for p in &peers {
        let drops = p.monitor.traffic().drop_counts();
        // Every duplicate the network made is caught by the replay window,
        // and nothing authentic is ever refused for anything else.
        assert!(drops.get(DropReason::Replayed) > 0, "{drops:?}");
        assert_eq!(drops.total(), drops.get(DropReason::Replayed), "{drops:?}");
    }
}

#[test]
fn a_plan_with_udp_addresses_is_refused_by_a_sim_link() {
    let mut plan = sim_plan(2, 3);
    plan.players[1].addr = PeerAddr::Udp("127.0.0.1:9".parse().expect("addr"));
    let err = AuthTransport::<SimLink>::from_plan(SimNetwork::new(3).datagram_link(0), &plan)
        .expect_err("refused");
    assert!(matches!(err, TransportError::NotSim { handle: 1 }), "{err}");
}
