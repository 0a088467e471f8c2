//! Spectators who come while the match runs: the relay tree grows by them
//! at run time (sans-IO, fake clock), the newcomer catches up from frame 0
//! through its parent and nobody else re-attaches; over UDP, a key holder
//! posing as a spectator the host never announced gets nothing uploaded.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use nearplay_netcode::spectate::{
    FrameShape, RelayTree, SPECTATE_PREFIX, SpectateConfig, SpectateMember, SpectateMessage,
    SpectateNode, SpectateSocket, spectate_match_id,
};
use nearplay_netcode::wire::{Route, WireCodec};
use nearplay_netcode::{MatchId, MatchKey};

const FRAMES: u32 = 1200;
const TICK: Duration = Duration::from_micros(16_667);

fn frame(f: u32) -> [u8; 4] {
    let x = f.wrapping_mul(2_654_435_761);
    x.to_le_bytes()
}

/// 2 players, spectators 2..=5 from the start (k = 2: all on the players),
/// 6 comes at tick 400 and 7 at tick 700 (both below spectator 2). Each
/// member hears of a newcomer `news_delay` ticks after it started.
/// Returns the nodes and the tick each newcomer caught up.
fn run(news_delay: u32) -> (BTreeMap<u16, SpectateNode>, BTreeMap<u16, u32>) {
    let shape = FrameShape::new(2, 2).unwrap();
    let config = SpectateConfig::with_fanout(2);
    let start = Instant::now();
    let first = RelayTree::new(&[0, 1], &[2, 3, 4, 5], 2).unwrap();
    let mut nodes: BTreeMap<u16, SpectateNode> = (0u16..6)
        .map(|h| {
            let node = SpectateNode::new(h, first.clone(), shape, config.clone(), start);
            (h, node.unwrap())
        })
        .collect();
    let late = [(6u16, 400u32), (7, 700)];
    let mut queue: Vec<(Instant, u16, u16, SpectateMessage)> = Vec::new();
    let mut caught_up = BTreeMap::new();
    for tick in 0..FRAMES + 600 {
        let now = start + TICK * tick;
        for (h, at) in late {
            if tick == at {
                // Its plan: the tree as the host has it now.
                let tree = nodes.get(&0).unwrap().tree().with_spectator(h).unwrap();
                let node = SpectateNode::new(h, tree, shape, config.clone(), now).unwrap();
                nodes.insert(h, node);
            }
            if tick == at + news_delay {
                for (m, node) in nodes.iter_mut().filter(|(m, _)| **m != h) {
                    node.add_spectator(h)
                        .unwrap_or_else(|e| panic!("{m} refused {h}: {e}"));
                }
            }
        }
        if tick < FRAMES {
            for p in 0..2u16 {
                let inputs = frame(tick);
                nodes
                    .get_mut(&p)
                    .unwrap()
                    .push_confirmed(tick, &inputs)
                    .unwrap();
            }
        } else if tick == FRAMES {
            nodes.values_mut().take(2).for_each(|n| n.end(FRAMES));
        }
        let (due, later): (Vec<_>, Vec<_>) = queue.drain(..).partition(|(at, ..)| *at <= now);
        queue = later;
        for (_, from, to, msg) in due {
            if let Some(node) = nodes.get_mut(&to) {
                node.handle(from, msg, now);
            }
        }
        for (h, node) in nodes.iter_mut() {
            let mut out = Vec::new();
            node.poll(now, &mut out);
            for (to, msg) in out {
                queue.push((now + Duration::from_millis(5), *h, to, msg));
            }
            let started = late.iter().find(|(l, _)| l == h).map(|(_, at)| *at);
            if let Some(at) = started
                && !caught_up.contains_key(h)
                && node.history().len() + 3 >= tick.min(FRAMES)
                && tick > at
            {
                caught_up.insert(*h, tick - at);
            }
        }
    }
    (nodes, caught_up)
}

#[test]
fn late_spectators_catch_up_from_frame_0_through_their_parent_and_nobody_moves() {
    for news_delay in [0, 20] {
        let (nodes, caught_up) = run(news_delay);
        let want = nodes.get(&0).unwrap().history().frames(0, FRAMES).unwrap();
        for (h, node) in nodes.iter().filter(|(h, _)| **h >= 2) {
            assert!(node.is_complete(), "spectator {h} did not finish");
            assert_eq!(node.history().frames(0, FRAMES).unwrap(), want, "{h}");
            assert_eq!(node.stats().reattachments, 0, "spectator {h} moved");
        }
        for h in [6u16, 7] {
            let node = nodes.get(&h).unwrap();
            assert_eq!(node.feed(), Some(2), "{h} is fed by its plan parent");
            let ticks = caught_up.get(&h).copied().unwrap_or(u32::MAX);
            eprintln!("news delay {news_delay}: spectator {h} caught up in {ticks} ticks");
            assert!(ticks < 600, "{h} never caught up");
        }
        for p in [0u16, 1] {
            let children = nodes.get(&p).unwrap().stats().children;
            assert!(children <= 2, "player {p} feeds {children}");
        }
    }
}

#[test]
fn before_the_news_a_newcomer_is_not_served_and_a_spectator_who_left_is_fed_no_more() {
    let shape = FrameShape::new(1, 2).unwrap();
    let config = SpectateConfig::with_fanout(2);
    let now = Instant::now();
    let tree = RelayTree::new(&[0], &[1], 2).unwrap();
    let mut player = SpectateNode::new(0, tree, shape, config, now).unwrap();
    for f in 0..10 {
        player.push_confirmed(f, &[1, 2]).unwrap();
    }
    let mut out = Vec::new();
    player.handle(2, SpectateMessage::Want { next: 0 }, now);
    player.poll(now, &mut out);
    assert!(out.iter().all(|(to, _)| *to != 2), "served before the news");
    assert_eq!(player.stats().ignored, 1);
    assert!(player.add_spectator(2).is_ok());
    assert!(player.add_spectator(2).is_err(), "the same handle twice");
    player.handle(2, SpectateMessage::Want { next: 0 }, now);
    out.clear();
    player.poll(now, &mut out);
    assert!(
        out.iter()
            .any(|(to, m)| *to == 2 && matches!(m, SpectateMessage::Frames { first: 0, .. }))
    );
    player.spectator_left(2);
    assert_eq!(player.stats().children, 0);
    out.clear();
    player.poll(now + Duration::from_millis(200), &mut out);
    assert!(out.iter().all(|(to, _)| *to != 2), "fed after it left");
}

/// A key holder (spectator 1) poses as spectator 2, whom the host never
/// announced: from its own address sealed as 2, and from a new address as
/// 1 and as 2. The player uploads nothing to it; once the host announces
/// 2 at its real address, only that address is served.
#[test]
fn a_forged_late_spectator_makes_no_player_upload_to_it() {
    let key = MatchKey([7; 32]);
    let shape = FrameShape::new(1, 2).unwrap();
    let config = SpectateConfig::with_fanout(2);
    let max = config.max_frames;
    let player_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let player_addr = player_socket.local_addr().unwrap();
    let insider = UdpSocket::bind("127.0.0.1:0").unwrap();
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    let real_late = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&insider, &other, &real_late] {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    }
    let roster = [
        SpectateMember {
            handle: 0,
            addr: player_addr.into(),
        },
        SpectateMember {
            handle: 1,
            addr: insider.local_addr().unwrap().into(),
        },
    ];
    let now = Instant::now();
    let tree = RelayTree::new(&[0], &[1], 2).unwrap();
    let mut node = SpectateNode::new(0, tree, shape, config, now).unwrap();
    let mut socket =
        SpectateSocket::new(player_socket, 0, &roster, MatchId(9), &key, shape, max).unwrap();
    for f in 0..100 {
        node.push_confirmed(f, &[3, 4]).unwrap();
    }
    let codec = WireCodec::new(spectate_match_id(MatchId(9)), &key);
    let want = |sender: u16, seq: u64| {
        let mut payload = Vec::new();
        SpectateMessage::Want { next: 0 }
            .encode(&mut payload)
            .unwrap();
        let mut out = Vec::new();
        let route = Route {
            sender,
            receiver: 0,
        };
        codec.seal(route, seq, &payload, &mut out).unwrap();
        out.insert(0, SPECTATE_PREFIX);
        out
    };
    insider.send_to(&want(2, 0), player_addr).unwrap();
    other.send_to(&want(1, 1), player_addr).unwrap();
    other.send_to(&want(2, 2), player_addr).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while socket.dropped() < 3 && Instant::now() < deadline {
        socket.pump(&mut node, Instant::now());
        std::thread::yield_now();
    }
    assert_eq!(socket.dropped(), 3);
    assert_eq!(socket.bytes_sent(), 0, "the player uploaded to a forgery");
    assert_eq!(node.stats().children, 0);

    // The host's news: 2 is at `real_late`.
    let real_addr = real_late.local_addr().unwrap();
    socket
        .add_member(SpectateMember {
            handle: 2,
            addr: real_addr.into(),
        })
        .unwrap();
    node.add_spectator(2).unwrap();
    assert!(
        socket
            .add_member(SpectateMember {
                handle: 3,
                addr: real_addr.into()
            })
            .is_err(),
        "two members at one address"
    );
    other.send_to(&want(2, 3), player_addr).unwrap();
    real_late.send_to(&want(2, 0), player_addr).unwrap();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut served = false;
    while !served && Instant::now() < deadline {
        socket.pump(&mut node, Instant::now());
        served = real_late.recv_from(&mut buf).is_ok();
    }
    assert!(served, "the announced spectator was not served");
    assert!(other.recv_from(&mut buf).is_err(), "the forger was served");
    assert!(
        insider.recv_from(&mut buf).is_err(),
        "the insider was served"
    );
}
