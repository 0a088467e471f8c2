//! The spectator stream of an online match, as a room intruder attacks it.
//! A room on an in-process rendezvous server holds two players, a
//! spectator and an intruder (in the room, not in the plan). Player 0's
//! game channel carries the stream (its transport diverts spectate packets
//! into a tap); the spectator reads its own channel. All along, the
//! intruder floods both with spectate-prefixed garbage and with a
//! well-formed `Frames` message sealed under a key it guessed, naming
//! player 0 as sender.
//!
//! The spectator gets every frame exactly as player 0 confirmed it; the
//! intruder's packets never reach the player's tap (its game layer drops
//! and counts them as from an unknown address) and are dropped by the
//! spectator's socket.
//!
//! Runs inside a network namespace this test creates (ICE never offers the
//! machine's real addresses); without root it prints why it skips.
#![cfg(all(feature = "server", feature = "rendezvous"))]

mod common;

use std::time::{Duration, Instant};

use ggrs::NonBlockingSocket;
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use nearplay_netcode::prelude::*;
use nearplay_netcode::spectate::{
    FrameShape, RelayTree, SPECTATE_PREFIX, SpectateConfig, SpectateMessage, SpectateNode,
    SpectateSocket, spectate_match_id,
};
use nearplay_netcode::transport::webrtc::{
    GAME_CHANNEL, PeerChange, WebRtcConfig, WebRtcLink, WebRtcTransport,
};
use nearplay_netcode::wire::{Route, WireCodec};

const INSIDE: &str = "NEARPLAY_IN_NETNS";
const DEADLINE: Duration = Duration::from_secs(60);
const FRAMES: u32 = 300;

/// Links in one stock room of `server`, each connected to every other;
/// `(id, link)` in connection order.
fn room(server: &str, members: usize) -> Vec<(u128, WebRtcLink)> {
    let url = format!("ws://{server}/watch-room?next={members}");
    let mut links: Vec<WebRtcLink> = (0..members)
        .map(|_| WebRtcLink::connect(&url, &WebRtcConfig::default()).expect("link"))
        .collect();
    let mut peers = vec![0usize; members];
    common::wait_for("the room's mesh", DEADLINE, || {
        for (link, count) in links.iter_mut().zip(&mut peers) {
            for change in link.poll_peers() {
                if let PeerChange::Connected(_) = change {
                    *count += 1;
                }
            }
        }
        let up = peers.iter().all(|p| *p + 1 == members);
        (up && links.iter_mut().all(|l| l.id().is_some())).then_some(())
    });
    links
        .into_iter()
        .map(|mut l| (l.id().unwrap_or_default(), l))
        .collect()
}

/// The inputs of both players at frame `f`.
fn frame(f: u32) -> Vec<u8> {
    vec![(f % 251) as u8, (f * 7 % 253) as u8]
}

#[test]
fn a_room_intruder_cannot_feed_or_crowd_an_online_spectator() {
    let test = "a_room_intruder_cannot_feed_or_crowd_an_online_spectator";
    if !common::netns::rerun_inside(test, INSIDE, "np-spec") {
        return;
    }
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), Limits::default(), 1)
            .expect("server");
    let mut links = room(&server.local_addr().to_string(), 4);
    let (intruder_id, mut intruder) = links.pop().expect("intruder");
    let (watcher_id, watcher_link) = links.pop().expect("spectator");
    let ids: Vec<u128> = links.iter().map(|(id, _)| *id).collect();
    let plan = MatchPlan {
        match_id: MatchId(77),
        seed: 5,
        players: ids
            .iter()
            .enumerate()
            .map(|(handle, id)| PlanPlayer {
                handle,
                name: format!("p{handle}"),
                addr: PeerAddr::WebRtc(*id),
            })
            .collect(),
        spectators: vec![PlanSpectator::relayed(
            2,
            "watcher".into(),
            PeerAddr::WebRtc(watcher_id),
        )],
        key: MatchKey([0x5a; 32]),
        settings: NetSettings::default(),
        local_handle: 0,
        key_epoch: 0,
        member_secrets: Default::default(),
    };
    plan.validate(&PlanLimits::default()).expect("plan");
    let shape = FrameShape::new(2, 1).expect("shape");
    let tree = RelayTree::from_plan(&plan, 4).expect("tree");
    let config = SpectateConfig::with_fanout(4);
    let now = Instant::now();
    let (_, player_link) = links.swap_remove(0);
    let mut transport = WebRtcTransport::from_plan(player_link, &plan).expect("transport");
    let counters = transport.counters();
    let port = transport.spectate_port();
    let mut player_socket =
        SpectateSocket::from_plan(port, &plan, shape, config.max_frames).expect("socket");
    let mut player = SpectateNode::new(0, tree.clone(), shape, config.clone(), now).expect("node");
    let mine = plan.for_member(2);
    let watcher_transport = WebRtcTransport::from_plan(watcher_link, &mine).expect("transport");
    let mut watcher_socket = SpectateSocket::from_plan(
        watcher_transport.into_spectate_port(),
        &mine,
        shape,
        config.max_frames,
    )
    .expect("socket");
    let mut watcher = SpectateNode::new(2, tree, shape, config.clone(), now).expect("node");

    // What the intruder sends: garbage behind the prefix, and a Frames
    // message of other inputs sealed as from player 0 under a guessed key.
    let mut forged = Vec::new();
    let mut payload = Vec::new();
    SpectateMessage::Frames {
        first: 0,
        inputs: vec![0xEE; 2 * 8],
    }
    .encode(&mut payload)
    .expect("encodes");
    let guess = WireCodec::new(spectate_match_id(plan.match_id), &MatchKey([0x11; 32]));
    let route = Route {
        sender: 0,
        receiver: 2,
    };
    let mut seq = 0u64;
    let mut spray = |intruder: &mut WebRtcLink| {
        for _ in 0..64 {
            seq += 1;
            guess
                .seal(route, seq, &payload, &mut forged)
                .expect("seals");
            forged.insert(0, SPECTATE_PREFIX);
            let garbage = [SPECTATE_PREFIX, 0xFF, (seq % 256) as u8, 1, 2, 3];
            for target in [ids[0], watcher_id] {
                intruder.send(GAME_CHANNEL, target, &forged);
                intruder.send(GAME_CHANNEL, target, &garbage);
            }
        }
        let _ = intruder.receive(GAME_CHANNEL);
    };

    let deadline = Instant::now() + DEADLINE;
    let mut pushed = 0;
    while watcher.history().len() < FRAMES {
        assert!(Instant::now() < deadline, "the spectator stalled");
        spray(&mut intruder);
        if pushed < FRAMES {
            player.push_confirmed(pushed, &frame(pushed)).expect("push");
            pushed += 1;
        }
        // The player's game layer reads the channel (and diverts the
        // stream's packets) as its GGRS session would.
        let _ = transport.receive_all_messages();
        player_socket.pump(&mut player, Instant::now());
        watcher_socket.pump(&mut watcher, Instant::now());
        std::thread::sleep(Duration::from_millis(1));
    }
    for f in 0..FRAMES {
        assert_eq!(watcher.history().frame(f), Some(&frame(f)[..]), "frame {f}");
    }
    assert!(
        watcher_socket.dropped() > 0,
        "the intruder's packets reached the spectator and were dropped there"
    );
    assert_eq!(
        player_socket.dropped(),
        0,
        "a non-member's packets never reach the player's spectate tap"
    );
    let unknown = counters.drops(DropReason::UnknownAddress);
    assert!(unknown > 0, "the game layer dropped and counted them");
    println!(
        "intruder {intruder_id:032x}: spectator dropped {}, player's game layer dropped {unknown} as unknown",
        watcher_socket.dropped()
    );
}
