//! The lobby's side as the resume tests need it: the control channel, each
//! epoch's plan and session, the game state as bytes, the paced loop.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ggrs::P2PSession;
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::{AuthTransport, EpochLink, SimLink};

use super::{Member, TICK};
use crate::common::{GameCfg, GameState};

/// The lobby's control channel: reliable, in order, `latency` one way.
pub struct Control {
    latency: Duration,
    queue: VecDeque<(Instant, u16, u16, Vec<u8>)>,
}

impl Control {
    /// A channel with one-way `latency`.
    pub fn new(latency: Duration) -> Self {
        Control {
            latency,
            queue: VecDeque::new(),
        }
    }

    /// Sends `bytes` from `from` to `to` at `now`.
    pub fn send(&mut self, now: Instant, from: u16, to: u16, bytes: Vec<u8>) {
        self.queue.push_back((now + self.latency, from, to, bytes));
    }

    /// What has arrived by `now`: (from, to, bytes).
    pub fn due(&mut self, now: Instant) -> Vec<(u16, u16, Vec<u8>)> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|(at, ..)| *at <= now) {
            if let Some((_, from, to, bytes)) = self.queue.pop_front() {
                out.push((from, to, bytes));
            }
        }
        out
    }
}

/// What the lobby hands every member for one key epoch.
#[derive(Clone, Debug)]
pub struct EpochPlan {
    pub match_id: MatchId,
    pub key: MatchKey,
    /// The players' handles (node `h` is handle `h`).
    pub players: Vec<usize>,
    pub settings: NetSettings,
}

/// A monitored session of `plan` for `me` over `link`.
pub fn epoch_session(
    link: EpochLink<SimLink>,
    plan: &EpochPlan,
    me: usize,
) -> (P2PSession<GameCfg>, NetMonitor) {
    let peers = plan
        .players
        .iter()
        .filter(|h| **h != me)
        .map(|h| (*h, *h as u32));
    let transport =
        AuthTransport::<EpochLink<SimLink>>::new(link, plan.match_id, &plan.key, me, peers)
            .expect("transport");
    let mut b = NetSessionBuilder::<GameCfg>::new().settings(plan.settings.clone());
    for &h in &plan.players {
        b = if h == me {
            b.local_player(h)
        } else {
            b.remote_player(h, PeerAddr::Sim(h as u32))
        };
    }
    b.build_monitored(transport).expect("session builds")
}

/// The game state as bytes (what a game's serializer would write).
pub fn encode_state(g: &GameState) -> Vec<u8> {
    let mut out = g.frame.to_le_bytes().to_vec();
    for ((x, y), s) in g.pos.iter().zip(g.score) {
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.extend_from_slice(&g.rng.to_le_bytes());
    out
}

/// The state back from bytes; `None` unless exactly 60 bytes.
pub fn decode_state(bytes: &[u8]) -> Option<GameState> {
    if bytes.len() != 60 {
        return None;
    }
    let word = |i: usize| -> Option<[u8; 4]> { bytes.get(i..i + 4)?.try_into().ok() };
    let mut g = GameState {
        frame: i32::from_le_bytes(word(0)?),
        ..GameState::default()
    };
    for k in 0..4 {
        let at = 4 + 12 * k;
        g.pos[k] = (
            i32::from_le_bytes(word(at)?),
            i32::from_le_bytes(word(at + 4)?),
        );
        g.score[k] = u32::from_le_bytes(word(at + 8)?);
    }
    g.rng = u64::from_le_bytes(bytes.get(52..60)?.try_into().ok()?);
    Some(g)
}

/// How fast the members' game loop runs against the wall clock.
///
/// A tick is one game frame whatever the speed: everything counted in
/// frames or ticks (input delay, prediction window, the switch 20 frames
/// ahead, stalls in ticks) means the same. Wall-clock timers (GGRS's
/// disconnect timeout and 200 ms retries, the resume machine's deadlines,
/// the links' latency) are not scaled, so a faster loop sees them as more
/// ticks: use it where the links' latency is well under a tick.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    tick: Duration,
}

impl Pace {
    /// 60 fps, like a game (the benches and the lossy-link tests).
    pub const REAL_TIME: Pace = Pace { tick: TICK };

    /// `speed` times faster than real time (1 is real time).
    pub fn faster(speed: u32) -> Pace {
        Pace {
            tick: TICK / speed.max(1),
        }
    }

    /// The wall-clock time of one tick.
    pub fn tick(self) -> Duration {
        self.tick
    }
}

/// Ticks a loop may run back to back to catch up after the thread was
/// descheduled; beyond that the missed ticks are dropped, as a game drops
/// frames. A burst of ticks advances every member faster than datagrams
/// travel and would count the machine's stall as the protocol's.
const MAX_CATCH_UP_TICKS: u32 = 2;

/// How long the loop waits between polls of GGRS when no tick is due (a
/// game polls once a frame; the tests poll more often than that).
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// Runs members paced at `pace` until `done`; control messages are
/// delivered before each tick. `between` runs after each tick round.
pub fn run(
    members: &mut [Member],
    control: &mut Control,
    pace: Pace,
    deadline: Duration,
    what: &str,
    mut between: impl FnMut(&mut [Member], Instant),
    done: impl Fn(&[Member]) -> bool,
) {
    let start = Instant::now();
    let end = start + deadline;
    let mut next = start;
    while !done(members) {
        let now = Instant::now();
        assert!(
            now < end,
            "deadline passed waiting for {what}; (game frame, settled): {:?}",
            members
                .iter()
                .map(|m| (m.game_frame(), m.settled()))
                .collect::<Vec<_>>()
        );
        if now >= next {
            for (from, to, bytes) in control.due(now) {
                if let Some(m) = members.iter_mut().find(|m| m.handle == usize::from(to)) {
                    m.deliver(now, from, &bytes);
                }
            }
            for m in members.iter_mut() {
                m.tick(now, control);
            }
            between(members, now);
            next += pace.tick;
            if now > next + pace.tick * MAX_CATCH_UP_TICKS {
                next = now + pace.tick;
            }
        } else {
            for m in members.iter_mut() {
                m.poll();
            }
            // Frame pacing between polls, not a wait for anything: the
            // loop ends on `done` or at its deadline.
            std::thread::sleep(POLL_INTERVAL.min(next - now));
        }
    }
}

/// Every live member settled at least game frame `frame`.
pub fn all_settled(frame: i32) -> impl Fn(&[Member]) -> bool {
    move |ms| ms.iter().filter(|m| m.alive).all(|m| m.settled() >= frame)
}
