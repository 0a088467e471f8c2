//! The one authenticated layer (`AuthTransport`) over the simulated network
//! (`SimLink`): the same sealing, replay window and counters as UDP and
//! WebRTC, under loss, duplication and reordering no loopback shows.

mod common;

use std::time::Duration;

use common::*;
use ggrs::{Message, NonBlockingSocket};
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::{AuthTransport, SimLink};

const DEADLINE: Duration = Duration::from_secs(25);

#[test]
fn three_peers_agree_through_loss_duplicates_and_reordering() {
    let ms = Duration::from_millis;
    let chaos = LinkProfile::latency(ms(5), ms(2))
        .with_loss(0.10)
        .with_reorder(0.20, ms(15))
        .with_duplicate(0.20);
    let net = SimNetwork::with_profile(61, chaos);
    let mut peers = authed_sim_peers(3, &net, 61);
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

/// Two transports on a perfect simulated network, members 0 and 1.
fn pair() -> (AuthTransport<SimLink>, AuthTransport<SimLink>) {
    let net = SimNetwork::new(9);
    let plan = sim_plan(2, 9);
    let t = |h: usize| {
        AuthTransport::<SimLink>::from_plan(net.datagram_link(h as u32), &plan.for_member(h))
            .expect("transport")
    };
    (t(0), t(1))
}

/// GGRS messages, postcard-encoded by hand: KeepAlive (waits for company)
/// and SyncRequest (leaves at once).
fn keep_alive() -> Message {
    postcard::from_bytes(&[1, 7]).expect("KeepAlive")
}
fn sync_request() -> Message {
    postcard::from_bytes(&[0x81, 0x01, 0, 42]).expect("SyncRequest")
}

#[test]
fn messages_to_one_peer_share_a_datagram_and_none_is_stranded() {
    let (mut a, mut b) = pair();
    let (to_b, from_a) = (PeerAddr::Sim(1), PeerAddr::Sim(0));
    let sent = |t: &AuthTransport<SimLink>| t.counters().peer(to_b).datagrams_sent;
    // 20 messages that may wait, then one that may not: 16 (the most a
    // datagram carries) leave when the 17th does not fit, 5 with the urgent one.
    for _ in 0..20 {
        a.send_to(&keep_alive(), &to_b);
    }
    assert_eq!(sent(&a), 1, "a full batch leaves");
    a.send_to(&sync_request(), &to_b);
    assert_eq!(sent(&a), 2, "the urgent message takes the rest along");
    let got = b.receive_all_messages();
    let mut want = vec![(from_a, keep_alive()); 20];
    want.push((from_a, sync_request()));
    assert_eq!(got, want, "all of them, in order");
    assert_eq!(b.counters().peer(from_a).datagrams_received, 2);

    // Alone, a waiting message still leaves, at a poll after MAX_WAIT.
    a.send_to(&keep_alive(), &to_b);
    let end = std::time::Instant::now() + DEADLINE;
    loop {
        a.receive_all_messages();
        if b.receive_all_messages() == vec![(from_a, keep_alive())] {
            break;
        }
        assert!(std::time::Instant::now() < end, "the KeepAlive never left");
        std::thread::yield_now();
    }
    assert_eq!(sent(&a), 3);
    assert_eq!(a.counters().drop_counts().total(), 0);
}
