//! A spectator never stops for good while some member can serve it: the
//! stuck paths seen under heavy load (`tests/spectate_late.rs`,
//! `tests/spectate_match.rs`), reproduced with the spectator stream's state
//! machines on a fake clock.
//!
//! A member "starved" for a while neither polls nor reads: what is sent to
//! it waits (as in a socket buffer) and is read when it runs again, as a
//! process starved of CPU under a load average of 17.
//!
//! - A player silent for 600 ms and back: with k = 2 its first child moved
//!   to the other player, which is full and answers `Busy` (which counted
//!   as hearing the feed), so it asked there forever, and its own child
//!   with it.
//! - A full member answering `Busy` forever while another has room.
//! - Both players silent one after the other: every feed was marked gone
//!   for good and the spectator had none.
//!
//! And the bounds: a spectator whose every feed is gone asks at a bounded
//! rate (no more messages per second than a fed one).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use nearplay_netcode::spectate::{
    FrameShape, RelayTree, SpectateConfig, SpectateMessage, SpectateNode,
};

const TICK: Duration = Duration::from_micros(16_667);
const FRAMES: u32 = 1200;
/// Ticks the simulation runs in all: the match, then 20 s for the
/// spectators to finish (players keep serving, as they linger while their
/// children progress).
const TICKS: u32 = FRAMES + 1200;

fn frame(f: u32) -> [u8; 4] {
    let x = f.wrapping_mul(2_654_435_761);
    x.to_le_bytes()
}

/// When a member is starved: `(handle, from tick, to tick)`.
type Starve = (u16, u32, u32);

struct Outcome {
    nodes: BTreeMap<u16, SpectateNode>,
    /// `Want`s each member sent in one simulated second, at most, counted
    /// from 6 s after the start (after every stall and kill of these tests).
    most_wants_per_second: BTreeMap<u16, usize>,
    /// Frames each spectator held when the players ended the match.
    held_at_end: BTreeMap<u16, u32>,
}

/// 2 players, `spectators` spectators (handles 2..), fanout `k`, 1 ms one
/// way, no loss; members starved as `starve` says; players in `killed`
/// stop for good at the tick given.
fn run(spectators: u16, k: usize, starve: &[Starve], killed: &[(u16, u32)]) -> Outcome {
    let shape = FrameShape::new(2, 2).unwrap();
    let watchers: Vec<u16> = (2..2 + spectators).collect();
    let tree = RelayTree::new(&[0, 1], &watchers, k).unwrap();
    let start = Instant::now();
    let config = SpectateConfig::with_fanout(k);
    let mut nodes: BTreeMap<u16, SpectateNode> = (0..2 + spectators)
        .map(|h| {
            let node = SpectateNode::new(h, tree.clone(), shape, config.clone(), start);
            (h, node.unwrap())
        })
        .collect();
    let mut queue: VecDeque<(Instant, u16, u16, SpectateMessage)> = VecDeque::new();
    let mut sent: BTreeMap<(u16, u32), usize> = BTreeMap::new();
    let mut held_at_end = BTreeMap::new();
    for tick in 0..TICKS {
        let now = start + TICK * tick;
        let starved = |h: u16| {
            starve
                .iter()
                .any(|(s, a, b)| *s == h && (*a..*b).contains(&tick))
        };
        let dead = |h: u16| killed.iter().any(|(s, at)| *s == h && tick >= *at);
        if tick < FRAMES {
            for p in 0..2u16 {
                if !dead(p) {
                    let node = nodes.get_mut(&p).unwrap();
                    node.push_confirmed(tick, &frame(tick)).unwrap();
                }
            }
        } else if tick == FRAMES {
            for p in 0..2u16 {
                nodes.get_mut(&p).unwrap().end(FRAMES);
            }
            for (h, node) in nodes.iter().filter(|(h, _)| **h >= 2) {
                held_at_end.insert(*h, node.history().len());
            }
        }
        // Deliver what is due; a starved member's mail waits for it.
        let mut waiting = VecDeque::new();
        while let Some((at, from, to, msg)) = queue.pop_front() {
            if at > now || starved(to) {
                waiting.push_back((at, from, to, msg));
            } else if !dead(to) {
                nodes.get_mut(&to).unwrap().handle(from, msg, now);
            }
        }
        queue = waiting;
        for (h, node) in nodes.iter_mut() {
            if starved(*h) || dead(*h) {
                continue;
            }
            let mut out = Vec::new();
            node.poll(now, &mut out);
            let wants = out
                .iter()
                .filter(|(_, m)| matches!(m, SpectateMessage::Want { .. }))
                .count();
            *sent.entry((*h, tick / 60)).or_default() += wants;
            for (to, msg) in out {
                queue.push_back((now + Duration::from_millis(1), *h, to, msg));
            }
        }
    }
    let mut most_wants_per_second = BTreeMap::new();
    for ((h, _), n) in sent.into_iter().filter(|((_, second), _)| *second >= 6) {
        let most = most_wants_per_second.entry(h).or_insert(0);
        *most = (*most).max(n);
    }
    Outcome {
        nodes,
        most_wants_per_second,
        held_at_end,
    }
}

/// Every spectator has the whole match, and followed it: when the players
/// ended it, each was less than 2 s behind (players leave soon after the
/// end once their own children hold it, so a spectator that is nobody's
/// child then would be left without a feed).
fn assert_every_spectator_finished(out: &Outcome) {
    for (h, held) in &out.held_at_end {
        let node = &out.nodes[h];
        assert!(
            held + 120 >= FRAMES,
            "spectator {h} held {held} of {FRAMES} frames at the end (feed {:?}, {:?})",
            node.feed(),
            node.stats()
        );
    }
    let want = out.nodes[&0].history().frames(0, FRAMES).unwrap().to_vec();
    for (h, node) in out.nodes.iter().filter(|(h, _)| **h >= 2) {
        assert!(
            node.is_complete(),
            "spectator {h} stopped at frame {} (feed {:?}, {:?})",
            node.history().len(),
            node.feed(),
            node.stats()
        );
        assert_eq!(node.history().frames(0, FRAMES).unwrap(), want, "{h}");
    }
}

/// `Want`s an unfed spectator sends in one second at most: one per
/// `want_interval` (30 ms: 33) and one per re-attachment (at most one per
/// `feed_timeout`, 400 ms: 3), rounded up at the edges of a second.
const UNFED_WANTS_PER_SECOND: usize = 40;

#[test]
fn a_player_silent_600_ms_then_back_serves_its_children_again() {
    // k = 2: players feed 2, 4 and 3, 5; each player is full. Player 0 is
    // starved 600 ms at frame 300: spectator 2 (its first child) takes its
    // place with the next player (full: `Busy`), 4 follows 2.
    let out = run(4, 2, &[(0, 300, 336)], &[]);
    assert_every_spectator_finished(&out);
}

#[test]
fn both_players_silent_one_after_the_other_the_spectator_still_finishes() {
    // One spectator, k = 4 (as `spectate_late`): player 0 starved 600 ms
    // (the spectator moves to player 1), then player 1 starved 600 ms:
    // both were marked gone for good, and the spectator had no feed.
    let out = run(1, 4, &[(0, 300, 336), (1, 600, 636)], &[]);
    assert_every_spectator_finished(&out);
    assert!(out.nodes[&2].stats().reattachments >= 2);
}

#[test]
fn a_spectator_whose_feeds_all_went_silent_asks_at_a_bounded_rate() {
    // Both players stop for good at frame 300: nobody can serve, and the
    // spectator keeps trying (a player may come back) without asking
    // faster than a fed spectator does.
    let out = run(2, 1, &[], &[(0, 300), (1, 300)]);
    for h in [2u16, 3] {
        let node = &out.nodes[&h];
        assert!(node.history().len() <= 300);
        assert!(node.feed().is_some(), "{h} gave up: no feed at all");
        let most = out.most_wants_per_second[&h];
        assert!(most <= UNFED_WANTS_PER_SECOND, "{h} sent {most} Wants/s");
        assert!(most >= 10, "{h} stopped asking ({most} Wants/s)");
    }
}

#[test]
fn a_full_member_answering_busy_forever_is_left_for_one_with_room() {
    // Spectator 2 of players 0 and 1 (k = 1, spectator 3 is player 1's
    // child). Player 0 is silent 500 ms: 2 moves to player 1, which
    // answers every request with `Busy`, forever. Player 0 is back and
    // has room: 2 must end up fed by it.
    let shape = FrameShape::new(2, 2).unwrap();
    let tree = RelayTree::new(&[0, 1], &[2, 3], 1).unwrap();
    let start = Instant::now();
    let config = SpectateConfig::with_fanout(1);
    let mut node = SpectateNode::new(2, tree, shape, config, start).unwrap();
    let mut fed_by_0 = 0u32;
    let mut wants_to_1 = 0u32;
    for ms in 0..10_000u32 {
        let now = start + Duration::from_millis(u64::from(ms));
        let mut out = Vec::new();
        node.poll(now, &mut out);
        for (to, msg) in out {
            let SpectateMessage::Want { next } = msg else {
                panic!("a spectator without children sends only Want: {msg:?}");
            };
            match to {
                // Player 0 answers after its silence (ms 100..600).
                0 if !(100..600).contains(&ms) => {
                    let inputs = (next..next + 10).flat_map(frame).collect();
                    let batch = SpectateMessage::Frames {
                        first: next,
                        inputs,
                    };
                    node.handle(0, batch, now);
                    fed_by_0 += 1;
                }
                1 => {
                    wants_to_1 += 1;
                    node.handle(1, SpectateMessage::Busy, now);
                }
                _ => {}
            }
        }
    }
    assert!(wants_to_1 > 0, "the test never sent it to the full player");
    assert_eq!(node.feed(), Some(0), "still asking the full member");
    assert!(node.history().len() > 5000, "fed {fed_by_0} times");
    assert!(node.stats().refused > 0);
}

#[test]
fn a_spectator_starved_itself_does_not_blame_its_feed() {
    // The node is made when the match starts, but its process is starved
    // and first polls 600 ms later: it never asked, so its feed's silence
    // says nothing. Later it is not polled for 600 ms again while its feed
    // dropped it (as a feeder drops a child it did not hear from): on
    // waking it asks again rather than leaving.
    let shape = FrameShape::new(2, 2).unwrap();
    let tree = RelayTree::new(&[0, 1], &[2], 4).unwrap();
    let start = Instant::now();
    let mut node = SpectateNode::new(2, tree, shape, SpectateConfig::default(), start).unwrap();
    let mut asked = Vec::new();
    for ms in (600..1000u32).chain(1600..1700) {
        let now = start + Duration::from_millis(u64::from(ms));
        let mut out = Vec::new();
        node.poll(now, &mut out);
        for (to, msg) in out {
            asked.push(to);
            if let SpectateMessage::Want { next } = msg {
                let inputs = (next..next + 1).flat_map(frame).collect();
                node.handle(
                    to,
                    SpectateMessage::Frames {
                        first: next,
                        inputs,
                    },
                    now,
                );
            }
        }
    }
    assert_eq!(node.stats().reattachments, 0);
    assert!(asked.iter().all(|to| *to == 0), "asked {asked:?}");
    assert!(node.history().len() > 100);
}

#[test]
fn a_machine_stalled_whole_moves_no_spectator() {
    // Measured under load: every process of a match stalls at once, for
    // different lengths. The spectator is starved 350 ms, its feed 450 ms
    // from the same moment: the spectator heard nothing for 450 ms, but it
    // was deaf itself for 350 of them.
    let out = run(1, 4, &[(0, 300, 327), (2, 300, 321)], &[]);
    assert_every_spectator_finished(&out);
    assert_eq!(out.nodes[&2].stats().reattachments, 0);
    // And a feed really silent while the spectator runs is still left.
    let out = run(1, 4, &[(0, 300, 327)], &[]);
    assert_every_spectator_finished(&out);
    assert_eq!(out.nodes[&2].stats().reattachments, 1);
}
