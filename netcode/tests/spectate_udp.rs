//! The spectator stream over real UDP sockets on loopback, sealed with the
//! match key: a relay tree of 2 players and 6 spectators with k = 2, a relay
//! killed mid-match, and strangers trying to inject frames.

mod spectate_common;

use std::net::UdpSocket;
use std::time::Duration;

use std::time::Instant;

use nearplay_netcode::spectate::{
    FrameShape, RelayTree, SPECTATE_PREFIX, SpectateConfig, SpectateMember, SpectateMessage,
    SpectateNode, SpectateSocket, spectate_match_id,
};
use nearplay_netcode::wire::{Route, WireCodec};
use nearplay_netcode::{MatchId, MatchKey};
use spectate_common::Swarm;

fn digest(swarm: &Swarm, h: u16) -> blake3::Hash {
    let history = swarm.members.get(&h).unwrap().node.history();
    blake3::hash(history.frames(0, history.len()).unwrap_or(&[]))
}

#[test]
fn six_spectators_k_2_over_udp_a_relay_killed_its_children_finish() {
    let key = MatchKey([5; 32]);
    let mut swarm = Swarm::new(2, 6, 2, &key);
    // Handle 2 relays to 6 and 7; it dies at frame 600 (socket closed).
    let mut killed = None;
    swarm.play(1200, Duration::from_millis(2), |s, f| {
        if f == 600 {
            killed = s.members.remove(&2);
        }
    });
    assert!(killed.is_some());
    assert!(
        swarm.finish(Duration::from_secs(10)),
        "a spectator never finished"
    );
    let want = digest(&swarm, 0);
    assert_eq!(swarm.members.get(&0).unwrap().node.history().len(), 1200);
    for h in swarm.spectators() {
        assert_eq!(digest(&swarm, h), want, "spectator {h} has another match");
    }
    for h in [6u16, 7] {
        let stats = swarm.members.get(&h).unwrap().node.stats();
        assert!(stats.reattachments >= 1, "orphan {h} never re-attached");
    }
}

#[test]
fn a_stranger_cannot_inject_frames() {
    let key = MatchKey([5; 32]);
    let feed = UdpSocket::bind("127.0.0.1:0").unwrap();
    let victim_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let victim = victim_socket.local_addr().unwrap();
    let roster = [
        SpectateMember {
            handle: 0,
            addr: feed.local_addr().unwrap().into(),
        },
        SpectateMember {
            handle: 1,
            addr: victim.into(),
        },
    ];
    let shape = FrameShape::new(1, 2).unwrap();
    let tree = RelayTree::new(&[0], &[1], 1).unwrap();
    let now = Instant::now();
    let config = SpectateConfig::with_fanout(1);
    let max = config.max_frames;
    let mut node = SpectateNode::new(1, tree, shape, config, now).unwrap();
    let mut socket =
        SpectateSocket::new(victim_socket, 1, &roster, MatchId(42), &key, shape, max).unwrap();

    let frames = SpectateMessage::Frames {
        first: 0,
        inputs: vec![0xEE; 2 * 50],
    };
    let mut payload = Vec::new();
    frames.encode(&mut payload).unwrap();
    let route = Route {
        sender: 0,
        receiver: 1,
    };
    let right = WireCodec::new(spectate_match_id(MatchId(42)), &key);
    let wrong = WireCodec::new(spectate_match_id(MatchId(42)), &MatchKey([6; 32]));
    let game = WireCodec::new(MatchId(42), &key);
    let seal = |codec: &WireCodec, seq: u64, payload: &[u8]| {
        let mut out = Vec::new();
        codec.seal(route, seq, payload, &mut out).unwrap();
        out.insert(0, SPECTATE_PREFIX);
        out
    };
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    // 1. Sealed right, from an address that is no member.
    stranger
        .send_to(&seal(&right, 0, &payload), victim)
        .unwrap();
    // 2. From the feed's address (as a spoofer would), another key.
    feed.send_to(&seal(&wrong, 0, &payload), victim).unwrap();
    // 3. The match key, but sealed as a game datagram (no domain separation).
    feed.send_to(&seal(&game, 1, &payload), victim).unwrap();
    // 4. Authentic, but not whole frames: refused by validation.
    let mut partial = Vec::new();
    SpectateMessage::Frames {
        first: 0,
        inputs: vec![1; 3],
    }
    .encode(&mut partial)
    .unwrap();
    feed.send_to(&seal(&right, 2, &partial), victim).unwrap();
    let dropped = wait_dropped(&mut socket, &mut node, 4);
    assert_eq!(dropped, 4);
    assert_eq!(node.history().len(), 0, "a forged frame was taken");

    // The control: the same frames from the feed, sealed right, are taken,
    // and the same datagram replayed is dropped.
    let good = seal(&right, 3, &payload);
    feed.send_to(&good, victim).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while node.history().len() < 50 && Instant::now() < deadline {
        socket.pump(&mut node, Instant::now());
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(node.history().len(), 50);
    feed.send_to(&good, victim).unwrap();
    assert_eq!(wait_dropped(&mut socket, &mut node, 5), 5);
}

/// Pumps until `socket` dropped `count` datagrams (or 5 s); returns the count.
fn wait_dropped(socket: &mut SpectateSocket, node: &mut SpectateNode, count: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    while socket.dropped() < count && Instant::now() < deadline {
        socket.pump(node, Instant::now());
        std::thread::sleep(Duration::from_millis(1));
    }
    socket.dropped()
}
