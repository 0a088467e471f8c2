//! The spectator stream's state machines on a simulated lossy network with a
//! fake clock: 2 players and 6 spectators with k = 2, a relay killed
//! mid-match, a spectator joining late.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use nearplay_netcode::spectate::{
    FrameShape, RelayTree, SpectateConfig, SpectateMessage, SpectateNode,
};

const FRAMES: u32 = 1200;
const TICK: Duration = Duration::from_micros(16_667);

/// Player `p`'s input at frame `f` (2 bytes, as the demo's).
fn input(f: u32, p: u16) -> [u8; 2] {
    let x = f
        .wrapping_mul(2_654_435_761)
        .rotate_left(u32::from(p) * 7 + 3);
    [x as u8, (x >> 8) as u8]
}

struct Net {
    queue: VecDeque<(Instant, u16, u16, SpectateMessage)>,
    rng: u64,
    loss_per_mille: u64,
}

impl Net {
    fn lose(&mut self) -> bool {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 1000 < self.loss_per_mille
    }
}

struct Outcome {
    nodes: BTreeMap<u16, SpectateNode>,
    /// Most frames each spectator was behind the players, after it started.
    max_lag: BTreeMap<u16, u32>,
    most_player_children: usize,
}

/// Runs the match: `kill` (handle, tick) stops a member; `late` (handle,
/// tick) starts one late.
fn run(kill: Option<(u16, u32)>, late: Option<(u16, u32)>, loss_per_mille: u64) -> Outcome {
    let shape = FrameShape::new(2, 2).unwrap();
    let tree = RelayTree::new(&[0, 1], &[2, 3, 4, 5, 6, 7], 2).unwrap();
    let start = Instant::now();
    let mut nodes: BTreeMap<u16, SpectateNode> = (0u16..8)
        .map(|h| {
            let node = SpectateNode::new(
                h,
                tree.clone(),
                shape,
                SpectateConfig::with_fanout(2),
                start,
            )
            .unwrap();
            (h, node)
        })
        .collect();
    let mut net = Net {
        queue: VecDeque::new(),
        rng: 0x9E37_79B9,
        loss_per_mille,
    };
    let mut max_lag = BTreeMap::new();
    let mut most_player_children = 0;
    let mut dead = BTreeSet::new();
    for tick in 0..FRAMES + 600 {
        let now = start + TICK * tick;
        if let Some((h, at)) = kill
            && tick == at
        {
            dead.insert(h);
        }
        let asleep = |h: u16| late.is_some_and(|(l, at)| l == h && tick < at);
        // Players confirm one frame a tick.
        if tick < FRAMES {
            for p in 0..2u16 {
                let (a, b) = (input(tick, 0), input(tick, 1));
                let node = nodes.get_mut(&p).unwrap();
                node.push_confirmed(tick, &[a[0], a[1], b[0], b[1]])
                    .unwrap();
            }
        } else if tick == FRAMES {
            nodes.values_mut().take(2).for_each(|n| n.end(FRAMES));
        }
        // Deliver what is due (5 ms one way).
        while let Some((at, ..)) = net.queue.front() {
            if *at > now {
                break;
            }
            let Some((_, from, to, msg)) = net.queue.pop_front() else {
                break;
            };
            if !dead.contains(&to) && !asleep(to) {
                nodes.get_mut(&to).unwrap().handle(from, msg, now);
            }
        }
        for (h, node) in nodes.iter_mut() {
            if dead.contains(h) || asleep(*h) {
                continue;
            }
            let mut out = Vec::new();
            node.poll(now, &mut out);
            for (to, msg) in out {
                if !net.lose() {
                    net.queue
                        .push_back((now + Duration::from_millis(5), *h, to, msg));
                }
            }
            if *h < 2 {
                most_player_children = most_player_children.max(node.stats().children);
            } else if tick < FRAMES {
                let lag = (tick + 1).saturating_sub(node.history().len());
                let worst = max_lag.entry(*h).or_insert(0);
                if late.is_none_or(|(l, at)| l != *h || tick > at + 10) {
                    *worst = (*worst).max(lag);
                }
            }
        }
    }
    for h in dead {
        nodes.remove(&h);
    }
    Outcome {
        nodes,
        max_lag,
        most_player_children,
    }
}

fn assert_every_spectator_has_the_match(out: &Outcome) {
    let players = out.nodes.get(&0).unwrap().history();
    assert_eq!(players.len(), FRAMES);
    let want = players.frames(0, FRAMES).unwrap();
    for (h, node) in out.nodes.iter().filter(|(h, _)| **h >= 2) {
        assert!(node.is_complete(), "spectator {h} did not finish");
        assert_eq!(
            node.history().frames(0, FRAMES).unwrap(),
            want,
            "spectator {h}"
        );
    }
}

#[test]
fn six_spectators_with_k_2_get_every_frame_and_players_feed_at_most_2() {
    let out = run(None, None, 50);
    assert_every_spectator_has_the_match(&out);
    assert_eq!(out.nodes.len(), 8);
    assert!(out.most_player_children <= 2);
    // With 5% loss, no spectator fell a second behind.
    for (h, lag) in &out.max_lag {
        assert!(*lag < 60, "spectator {h} was {lag} frames behind");
    }
}

#[test]
fn a_relay_killed_mid_match_its_children_recover_within_a_second() {
    // Spectator 2 relays to 6 and 7 (k = 2, 2 players: 2..5 hang off players).
    let tree = RelayTree::new(&[0, 1], &[2, 3, 4, 5, 6, 7], 2).unwrap();
    assert_eq!(tree.children(2), vec![6, 7]);
    let out = run(Some((2, 600)), None, 20);
    assert_every_spectator_has_the_match(&out);
    assert_eq!(out.nodes.len(), 7);
    for h in [6u16, 7] {
        let node = out.nodes.get(&h).unwrap();
        assert!(node.stats().reattachments >= 1, "{h} never moved");
        let lag = out.max_lag.get(&h).copied().unwrap_or(0);
        eprintln!("orphan {h}: at most {lag} frames behind the players (simulated clock)");
        assert!(lag < 60, "orphan {h} lost {lag} frames of stream (> 1 s)");
    }
    assert!(out.most_player_children <= 2);
}

#[test]
fn a_spectator_joining_late_catches_up_from_frame_0() {
    let out = run(None, Some((7, 900)), 20);
    assert_every_spectator_has_the_match(&out);
    // Ten ticks after it started, it was never more than a few frames behind.
    let lag = out.max_lag.get(&7).copied().unwrap_or(u32::MAX);
    assert!(
        lag < 30,
        "late spectator lagged {lag} frames after catching up"
    );
}

#[test]
fn frames_from_a_member_that_is_not_our_feed_are_ignored() {
    let shape = FrameShape::new(2, 2).unwrap();
    let tree = RelayTree::new(&[0, 1], &[2, 3], 1).unwrap();
    let now = Instant::now();
    let mut node = SpectateNode::new(2, tree, shape, SpectateConfig::with_fanout(1), now).unwrap();
    assert_eq!(node.feed(), Some(0));
    let forged = SpectateMessage::Frames {
        first: 0,
        inputs: vec![9; 8],
    };
    node.handle(3, forged.clone(), now);
    node.handle(1, forged.clone(), now);
    assert_eq!(node.history().len(), 0);
    node.handle(0, forged, now);
    assert_eq!(node.history().len(), 2);
    assert_eq!(node.stats().ignored, 2);
}
