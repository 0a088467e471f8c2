//! WebRTC on loopback, inside a network namespace this test creates (so ICE
//! never offers the machine's real addresses): three peers play 600 frames to
//! the same state over matchbox data channels while an outsider in the same
//! room floods player 0 with garbage, which is dropped and counted.
//!
//! The test re-runs its own binary inside the namespace (`ip netns exec`) with
//! `NEARPLAY_IN_NETNS=1`; without root it prints why it skips.
#![cfg(feature = "webrtc")]

mod common;

use std::time::Instant;

use common::webrtc_lab::{DEADLINE, Server, connect_mesh, in_netns, peers_over, webrtc_plan};
use common::*;
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::SimRng;
use nearplay_netcode::transport::webrtc::{
    GAME_CHANNEL, LinkExit, PeerChange, RELIABLE_CHANNEL, WebRtcConfig, WebRtcLink,
};
use nearplay_netcode::wire::{MAX_DATAGRAM, Route, WireCodec};

#[test]
fn three_peers_600_frames_over_webrtc_with_garbage() {
    if !in_netns("three_peers_600_frames_over_webrtc_with_garbage", true) {
        return;
    }
    let server = Server::start();
    let url = format!("ws://{}/room-a", server.addr);
    let mut links: Vec<WebRtcLink> = (0..4)
        .map(|_| WebRtcLink::connect(&url, &WebRtcConfig::default()).expect("link"))
        .collect();
    let ids = connect_mesh(&mut links);
    let mut outsider = links.pop().expect("four links");
    let plan = webrtc_plan(&ids[..3], 33);
    let mut peers = peers_over(links, &plan);

    // The outsider knows the match id but not the key: random bytes,
    // oversized packets and datagrams forged as player 1, all to player 0.
    let forger = WireCodec::new(plan.match_id, &MatchKey([0xEE; 32]));
    let mut rng = SimRng::new(7);
    let mut sent = 0u64;
    let mut forged = Vec::new();
    run_until(
        &mut peers,
        DEADLINE,
        "600 frames over WebRTC",
        |_| {
            if sent < 300 {
                let len = (rng.next_u64() % (MAX_DATAGRAM as u64 + 64)) as usize;
                let junk: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                outsider.send(GAME_CHANNEL, ids[0], &junk);
                let as_player_1 = Route {
                    sender: 1,
                    receiver: 0,
                };
                let payload = &junk[..len.min(64)];
                if forger.seal(as_player_1, sent, payload, &mut forged).is_ok() {
                    outsider.send(GAME_CHANNEL, ids[0], &forged);
                }
                sent += 2;
            }
        },
        all_confirmed(600),
    );
    let (frame, sum) = assert_agree(&peers);
    assert_eq!(sum, reference_checksum(3, 33, 2, frame));
    assert_eq!(peers.iter().map(Peer::desyncs).sum::<usize>(), 0);
    // Everything the outsider sent and that arrived was dropped as from an
    // unknown peer (or too large): none of it reached GGRS.
    let drops = peers[0].monitor.traffic().drop_counts();
    assert!(
        drops.get(DropReason::UnknownAddress) + drops.get(DropReason::TooLarge) > 0,
        "garbage was counted: {drops:?}"
    );
    for p in &peers[1..] {
        assert_eq!(p.monitor.traffic().drop_counts().total(), 0);
    }
    println!("webrtc: settled at frame {frame}, player 0 drops {drops:?}");
}

#[test]
fn unreachable_signaling_server_ends_the_link_with_an_error() {
    // No WebRTC traffic happens (the websocket never opens): no namespace needed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let link = WebRtcLink::connect(&format!("ws://{addr}/x"), &WebRtcConfig::default())
        .expect("thread starts");
    let end = Instant::now() + DEADLINE;
    let exit = loop {
        if let Some(exit) = link.exit() {
            break exit;
        }
        assert!(Instant::now() < end, "link never reported the failure");
        std::thread::yield_now();
    };
    assert!(matches!(exit, LinkExit::Failed(_)), "{exit:?}");
}

#[test]
fn a_panic_inside_matchbox_is_contained_and_reported() {
    // Without a default route, matchbox's native handshake unwraps an OS
    // error ("No such device") and panics (see docs/pitfalls): the link
    // must report it, and this thread must live on.
    if !in_netns("a_panic_inside_matchbox_is_contained_and_reported", false) {
        return;
    }
    let server = Server::start();
    let url = format!("ws://{}/room-p", server.addr);
    let mut links: Vec<WebRtcLink> = (0..2)
        .map(|_| WebRtcLink::connect(&url, &WebRtcConfig::default()).expect("link"))
        .collect();
    let end = Instant::now() + DEADLINE;
    let exits = loop {
        for l in links.iter_mut() {
            let _ = l.poll_peers();
        }
        let exits: Vec<_> = links.iter().filter_map(WebRtcLink::exit).collect();
        if !exits.is_empty() {
            break exits;
        }
        assert!(Instant::now() < end, "no link reported anything");
        std::thread::yield_now();
    };
    println!("contained: {exits:?}");
    assert!(
        exits.iter().any(|e| matches!(e, LinkExit::Panicked(_))),
        "{exits:?}"
    );
}

#[test]
fn a_kept_link_clone_outlives_the_match_transport_and_the_last_drop_closes() {
    if !in_netns(
        "a_kept_link_clone_outlives_the_match_transport_and_the_last_drop_closes",
        true,
    ) {
        return;
    }
    let server = Server::start();
    let url = format!("ws://{}/room-k", server.addr);
    let mut links: Vec<WebRtcLink> = (0..2)
        .map(|_| WebRtcLink::connect(&url, &WebRtcConfig::default()).expect("link"))
        .collect();
    let ids = connect_mesh(&mut links);
    let plan = webrtc_plan(&ids, 44);
    // The lobby keeps `links`; the match gets clones, as GameTransport.
    let mut peers: Vec<Peer> = links
        .iter()
        .enumerate()
        .map(|(h, link)| {
            let plan = plan.for_member(h);
            let transport = GameTransport::webrtc(link.clone(), &plan).expect("transport");
            let (session, monitor) = NetSessionBuilder::<GameCfg>::from_plan(&plan)
                .build_monitored(transport)
                .expect("session");
            Peer::new(h, session, monitor, plan.seed)
        })
        .collect();
    assert!(links.iter().all(|l| l.handles() == 2));
    run_until(
        &mut peers,
        DEADLINE,
        "120 frames",
        |_| {},
        all_confirmed(120),
    );
    assert_agree(&peers);
    drop(peers); // the sessions and their transports (one clone each) go
    assert!(links.iter().all(|l| l.handles() == 1 && l.exit().is_none()));

    // The kept handles still carry the room: a reliable message 0 -> 1.
    assert!(links[0].send(RELIABLE_CHANNEL, ids[1], b"rematch?"));
    let end = Instant::now() + DEADLINE;
    let got = loop {
        if let Some((from, p)) = links[1].receive(RELIABLE_CHANNEL).into_iter().next() {
            break (from, p.to_vec());
        }
        assert!(Instant::now() < end, "no message over the kept link");
        std::thread::yield_now();
    };
    assert_eq!(got, (ids[0], b"rematch?".to_vec()));

    // Every handle sees peer changes, a clone too; dropping player 1's
    // last handle closes its socket, and player 0 sees it leave.
    let mut watcher = links[0].clone();
    drop(links.pop());
    let end = Instant::now() + DEADLINE;
    let mut seen = [false; 2];
    while seen != [true; 2] {
        for (i, l) in [&mut links[0], &mut watcher].into_iter().enumerate() {
            if l.poll_peers().contains(&PeerChange::Disconnected(ids[1])) {
                seen[i] = true;
            }
        }
        assert!(Instant::now() < end, "peer 1 never left: {seen:?}");
        std::thread::yield_now();
    }
}
