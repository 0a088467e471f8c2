//! Shared test harness: a small deterministic game, peers that drive GGRS
//! sessions, and a loop that runs them until a condition or a deadline.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ggrs::{
    Config, GgrsError, GgrsRequest, InputStatus, P2PSession, PredictRepeatLast, SessionState,
};
use nearplay_netcode::prelude::*;

#[cfg(feature = "webrtc")]
pub mod webrtc_lab;

/// The game's GGRS configuration.
pub struct GameCfg;

impl Config for GameCfg {
    type Input = u8;
    type InputPredictor = PredictRepeatLast;
    type State = GameState;
    type Address = PeerAddr;
}

/// SplitMix64 step, used for inputs and the game's own RNG.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seeded random input of `handle` at `frame`: a 4-bit direction pad
/// plus a fire bit.
pub fn input_for(seed: u64, handle: usize, frame: i32) -> u8 {
    (mix(seed ^ (handle as u64) << 40 ^ frame as u64) & 0x1f) as u8
}

/// A tiny arena game: players move, wrap around, and score when they fire
/// on a cell whose hash hits; integer state only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct GameState {
    pub frame: i32,
    pub pos: [(i32, i32); 4],
    pub score: [u32; 4],
    pub rng: u64,
}

impl GameState {
    pub fn advance(&mut self, inputs: &[(u8, InputStatus)]) {
        for (i, (inp, _status)) in inputs.iter().enumerate().take(4) {
            let (x, y) = self.pos[i];
            let dx = i32::from(inp & 1) - i32::from((inp >> 1) & 1);
            let dy = i32::from((inp >> 2) & 1) - i32::from((inp >> 3) & 1);
            self.pos[i] = ((x + dx).rem_euclid(256), (y + dy).rem_euclid(256));
            self.rng = mix(self.rng ^ u64::from(*inp) ^ (i as u64) << 8);
            if inp & 0x10 != 0 && self.rng % 3 == 0 {
                self.score[i] += 1;
            }
        }
        self.frame += 1;
    }

    /// FNV-1a over every field, widened to GGRS's u128.
    pub fn checksum(&self) -> u128 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |v: u64| {
            for b in v.to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(self.frame as u64);
        for (i, (x, y)) in self.pos.iter().enumerate() {
            eat(*x as u64);
            eat(*y as u64);
            eat(u64::from(self.score[i]));
        }
        eat(self.rng);
        u128::from(h)
    }
}

/// One player's process: session, monitor, game and what it observed.
pub struct Peer {
    pub handle: usize,
    pub session: P2PSession<GameCfg>,
    pub monitor: NetMonitor,
    pub game: GameState,
    /// Checksum of the state at the start of each frame (latest save).
    pub checksums: BTreeMap<i32, u128>,
    pub events: Vec<NetEvent>,
    pub seed: u64,
    pub alive: bool,
}

impl Peer {
    pub fn new(
        handle: usize,
        session: P2PSession<GameCfg>,
        monitor: NetMonitor,
        seed: u64,
    ) -> Self {
        Peer {
            handle,
            session,
            monitor,
            game: GameState::default(),
            checksums: BTreeMap::new(),
            events: Vec::new(),
            seed,
            alive: true,
        }
    }

    /// One iteration of the game loop: poll, events, input, advance.
    pub fn tick(&mut self) {
        if !self.alive {
            return;
        }
        self.session.poll_remote_clients();
        self.events
            .extend(self.monitor.drain_events(&mut self.session));
        if self.session.current_state() != SessionState::Running {
            return;
        }
        let input = input_for(self.seed, self.handle, self.session.current_frame());
        if let Err(e) = self.session.add_local_input(self.handle, input) {
            panic!("add_local_input: {e}");
        }
        match self.session.advance_frame() {
            Ok(requests) => {
                self.monitor.record_advance(&requests);
                self.handle_requests(requests);
            }
            Err(GgrsError::PredictionThreshold) => self.monitor.record_stall(),
            Err(e) => panic!("advance_frame: {e}"),
        }
    }

    fn handle_requests(&mut self, requests: Vec<GgrsRequest<GameCfg>>) {
        for r in requests {
            match r {
                GgrsRequest::SaveGameState { cell, frame } => {
                    assert_eq!(self.game.frame, frame);
                    let sum = self.game.checksum();
                    self.checksums.insert(frame, sum);
                    cell.save(frame, Some(self.game), Some(sum));
                }
                GgrsRequest::LoadGameState { cell, frame } => {
                    self.game = cell.load().unwrap_or_else(|| panic!("no state at {frame}"));
                }
                GgrsRequest::AdvanceFrame { inputs } => self.game.advance(&inputs),
            }
        }
    }

    pub fn desyncs(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, NetEvent::DesyncDetected { .. }))
            .count()
    }
}

/// Runs every live peer's loop as fast as it goes until `done` holds; panics
/// at `deadline`. `between` runs after each round (attackers, relays).
pub fn run_until(
    peers: &mut [Peer],
    deadline: Duration,
    what: &str,
    between: impl FnMut(&mut [Peer]),
    done: impl Fn(&[Peer]) -> bool,
) {
    run_paced(peers, None, deadline, what, between, done)
}

/// How long an unpaced loop waits before its next round when no peer could
/// advance (all wait for input in flight): a core stays free for the other
/// tests, and a datagram waits at most this long to be read.
const IDLE_POLL: Duration = Duration::from_millis(1);

/// Like [`run_until`], with one game tick every `tick` (a real game's frame
/// pacing; between ticks the loop polls GGRS every [`IDLE_POLL`] at most,
/// so a paced match keeps no core busy). Unpaced, a round in which no peer
/// advanced is followed by a wait of [`IDLE_POLL`] instead of spinning.
pub fn run_paced(
    peers: &mut [Peer],
    tick: Option<Duration>,
    deadline: Duration,
    what: &str,
    mut between: impl FnMut(&mut [Peer]),
    done: impl Fn(&[Peer]) -> bool,
) {
    let start = Instant::now();
    let end = start + deadline;
    let mut next = start;
    let frames =
        |peers: &[Peer]| -> Vec<i32> { peers.iter().map(|p| p.session.current_frame()).collect() };
    while !done(peers) {
        let now = Instant::now();
        assert!(
            now < end,
            "deadline passed waiting for {what}; (current, confirmed) frames: {:?}",
            peers
                .iter()
                .map(|p| (p.session.current_frame(), p.session.confirmed_frame()))
                .collect::<Vec<_>>()
        );
        let idle = if now >= next {
            let before = frames(peers);
            for p in peers.iter_mut() {
                p.tick();
            }
            match tick {
                Some(t) => {
                    next += t;
                    false
                }
                None => frames(peers) == before,
            }
        } else {
            // Between ticks GGRS still needs its messages handled.
            for p in peers.iter_mut().filter(|p| p.alive) {
                p.session.poll_remote_clients();
            }
            true
        };
        between(peers);
        if idle {
            // Pacing of the loop, not a wait for anything: it ends on
            // `done` or at its deadline. Paced, never past the next tick.
            let wait = match tick {
                Some(_) => next.saturating_duration_since(Instant::now()),
                None => IDLE_POLL,
            };
            std::thread::sleep(wait.min(IDLE_POLL));
        } else {
            std::thread::yield_now();
        }
    }
}

/// The newest frame a peer has confirmed and saved a state for. (GGRS's
/// confirmed frame counts local input queued ahead by the input delay, and
/// the state of the current frame is saved on the next advance.)
pub fn settled(p: &Peer) -> i32 {
    p.session
        .confirmed_frame()
        .min(p.session.current_frame() - 1)
}

/// Every live peer settled at least `frame`.
pub fn all_confirmed(frame: i32) -> impl Fn(&[Peer]) -> bool {
    move |peers| {
        peers
            .iter()
            .filter(|p| p.alive)
            .all(|p| settled(p) >= frame)
    }
}

/// Asserts that live peers hold the same checksum for every frame up to the
/// lowest confirmed frame; returns that frame and its checksum.
pub fn assert_agree(peers: &[Peer]) -> (i32, u128) {
    let live: Vec<&Peer> = peers.iter().filter(|p| p.alive).collect();
    let frame = live
        .iter()
        .map(|p| settled(p))
        .min()
        .expect("some live peer");
    let first = live[0];
    for p in &live[1..] {
        for f in 0..=frame {
            assert_eq!(
                first.checksums.get(&f),
                p.checksums.get(&f),
                "peers {} and {} differ at confirmed frame {f}",
                first.handle,
                p.handle
            );
        }
    }
    for p in &live {
        assert_eq!(p.desyncs(), 0, "peer {} saw a desync", p.handle);
    }
    let sum = *first.checksums.get(&frame).expect("checksum at frame");
    (frame, sum)
}

/// The checksum at the start of `frame` computed offline from the seeded
/// inputs: input added at frame `f` applies at `f + delay`.
pub fn reference_checksum(players: usize, seed: u64, delay: usize, frame: i32) -> u128 {
    let mut g = GameState::default();
    for f in 0..frame {
        let inputs: Vec<(u8, InputStatus)> = (0..players)
            .map(|h| {
                let src = f - delay as i32;
                let i = if src < 0 { 0 } else { input_for(seed, h, src) };
                (i, InputStatus::Confirmed)
            })
            .collect();
        g.advance(&inputs);
    }
    g.checksum()
}

/// `n` peers on `net`, node `i` = handle `i`.
pub fn sim_peers(n: usize, net: &SimNetwork, settings: &NetSettings, seed: u64) -> Vec<Peer> {
    sim_peers_with(n, net, |_| settings.clone(), seed)
}

/// `n` peers on `net` as [`sim_peers`], each with its own settings.
pub fn sim_peers_with(
    n: usize,
    net: &SimNetwork,
    settings: impl Fn(usize) -> NetSettings,
    seed: u64,
) -> Vec<Peer> {
    (0..n)
        .map(|me| {
            let mut b = NetSessionBuilder::<GameCfg>::new().settings(settings(me));
            for h in 0..n {
                b = if h == me {
                    b.local_player(h)
                } else {
                    b.remote_player(h, PeerAddr::Sim(h as u32))
                };
            }
            let (session, monitor) = b
                .build_monitored(net.node(me as u32))
                .expect("session builds");
            Peer::new(me, session, monitor, seed)
        })
        .collect()
}

/// A UDP socket on loopback, port chosen by the OS.
pub fn loopback_socket() -> std::net::UdpSocket {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
}

/// A plan for players at `addrs` (handle = index), seen by `local`.
pub fn udp_plan(addrs: &[std::net::SocketAddr], seed: u64, local: usize) -> MatchPlan {
    let addrs = addrs.iter().map(|a| PeerAddr::Udp(*a));
    plan_at(addrs, MatchId(0x6e65_6172_706c_6179 ^ seed), seed, local)
}

/// A plan of match `match_id` for players at `addrs` (handle = index),
/// seen by `local`; its key follows from `seed`.
pub fn plan_at(
    addrs: impl IntoIterator<Item = PeerAddr>,
    match_id: MatchId,
    seed: u64,
    local: usize,
) -> MatchPlan {
    MatchPlan {
        match_id,
        seed,
        players: addrs
            .into_iter()
            .enumerate()
            .map(|(handle, addr)| PlanPlayer {
                handle,
                name: format!("p{handle}"),
                addr,
            })
            .collect(),
        spectators: Vec::new(),
        key: MatchKey([seed as u8; 32]),
        key_epoch: 0,
        member_secrets: Default::default(),
        settings: NetSettings::default(),
        local_handle: local,
    }
}

/// A peer over UDP built from its plan.
pub fn udp_peer(socket: std::net::UdpSocket, plan: &MatchPlan) -> Peer {
    let transport = UdpTransport::from_plan(socket, plan).expect("transport");
    let (session, monitor) = NetSessionBuilder::<GameCfg>::from_plan(plan)
        .build_monitored(transport)
        .expect("session builds");
    Peer::new(plan.local_handle, session, monitor, plan.seed)
}

/// A plan for `n` players on nodes `0..n` of a simulated network, seen by 0.
pub fn sim_plan(n: usize, seed: u64) -> MatchPlan {
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
        key_epoch: 0,
        member_secrets: Default::default(),
        settings: NetSettings::default(),
        local_handle: 0,
    }
}

/// `n` peers on `net` through the authenticated layer
/// (`AuthTransport<SimLink>`), node `i` = handle `i`.
pub fn authed_sim_peers(n: usize, net: &SimNetwork, seed: u64) -> Vec<Peer> {
    use nearplay_netcode::transport::{AuthTransport, SimLink};
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

/// Runs `peers` paced at `tick` until every one reaches `frames` (within
/// 40 s): the benches' "sim frames" run.
pub fn run_sim_frames(peers: &mut [Peer], tick: Duration, frames: i32) {
    run_paced(
        peers,
        Some(tick),
        Duration::from_secs(40),
        "sim frames",
        |_| {},
        |ps| ps.iter().all(|p| p.session.current_frame() >= frames),
    );
}

/// A peer's rollback figures as the benches print them: rollbacks, mean
/// and max depth, frames advanced, and ticks stalled (count and share).
pub fn rollback_figures(r: &nearplay_netcode::stats::RollbackHistogram, s: &NetStats) -> String {
    let ticks = s.frames_advanced + s.frames_stalled;
    format!(
        "rollbacks {} | mean depth {:.2} frames | max depth {} | frames advanced {} | ticks stalled {} ({:.1} % of ticks)",
        r.rollbacks,
        r.mean_depth(),
        r.max_depth,
        s.frames_advanced,
        s.frames_stalled,
        100.0 * s.frames_stalled as f64 / ticks.max(1) as f64
    )
}
