//! `cargo bench -p nearplay_netcode --bench spectate_behind`: how far
//! spectators are behind the *players*, end to end. 2 players play GGRS
//! (default settings: input delay 2) over authenticated UDP on loopback, each
//! a 60 fps game loop that polls its session once per frame, as a game
//! does; their game sockets carry the spectator stream (k = 4) to 0, 4 and
//! 16 spectators of the plan; then again with the players' game link
//! 50 ms each way (the link conditioner on GGRS's datagrams; the stream
//! itself stays on the bare loopback). For every frame: when a player first
//! simulated it (predicted or not), when each player had confirmed it,
//! when each spectator held it. Printed: the spectators' mean delay behind
//! the players' first simulation (ms and frames), and the part of it that
//! is the players' own GGRS confirmation wait (mean over both players; the
//! rest is the stream's); upload per player on the
//! stream, as a ratio to the anchor measured in the same run: the player's
//! own GGRS traffic (bytes sent, UDP payload).

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{GameCfg, GameState, input_for, loopback_socket, udp_plan};
use ggrs::{GgrsRequest, P2PSession, SessionState};
use nearplay_netcode::prelude::*;
use nearplay_netcode::spectate::{
    FrameShape, InputFeed, RelayTree, SpectateConfig, SpectateNode, SpectateSocket,
};
use nearplay_netcode::stats::TrafficCounters;
use nearplay_netcode::transport::LinkProfile;

const FRAMES: u32 = 600;
const FANOUT: usize = 4;
const PERIOD: Duration = Duration::from_micros(16_667);
const SEED: u64 = 1414;

struct Player {
    handle: usize,
    session: P2PSession<GameCfg>,
    counters: TrafficCounters,
    game: GameState,
    feed: InputFeed,
    node: SpectateNode,
    socket: SpectateSocket,
}

impl Player {
    /// One frame of the game loop; notes when frames are first simulated.
    fn tick(&mut self, simulated: &mut Vec<Instant>) {
        self.session.poll_remote_clients();
        if self.session.current_state() == SessionState::Running {
            let input = input_for(SEED, self.handle, self.session.current_frame());
            let _ = self.session.add_local_input(self.handle, input);
            for r in self.session.advance_frame().unwrap_or_default() {
                match r {
                    GgrsRequest::SaveGameState { cell, frame } => {
                        cell.save(frame, Some(self.game), Some(self.game.checksum()));
                    }
                    GgrsRequest::LoadGameState { cell, .. } => {
                        self.game = cell.load().unwrap_or_default();
                    }
                    GgrsRequest::AdvanceFrame { inputs } => {
                        let frame = self.game.frame as u32;
                        let bytes: Vec<u8> = inputs.iter().map(|(i, _)| *i).collect();
                        let _ = self.feed.record(frame, &bytes);
                        if simulated.len() == frame as usize {
                            simulated.push(Instant::now());
                        }
                        self.game.advance(&inputs);
                    }
                }
            }
        }
        let confirmed = self.session.confirmed_frame();
        if confirmed >= 0 {
            let _ = self.feed.confirm(confirmed as u32, &mut self.node);
        }
        self.socket.pump(&mut self.node, Instant::now());
    }
}

/// One match: mean ms behind the players' first simulation, of which
/// confirmation; stream and GGRS upload of each player (B/s); finished.
fn run(spectators: usize, latency: Duration) -> (f64, f64, [f64; 2], [f64; 2], bool) {
    let shape = FrameShape::new(2, 1).expect("shape");
    let player_sockets: Vec<UdpSocket> = (0..2).map(|_| loopback_socket()).collect();
    let watcher_sockets: Vec<UdpSocket> = (0..spectators).map(|_| loopback_socket()).collect();
    let addrs: Vec<_> = player_sockets
        .iter()
        .filter_map(|s| s.local_addr().ok())
        .collect();
    let mut plan = udp_plan(&addrs, SEED, 0);
    plan.settings.spectate_fanout = FANOUT as u16;
    plan.spectators = watcher_sockets
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.local_addr().ok()?)))
        .map(|(i, a)| PlanSpectator::relayed(2 + i, format!("s{i}"), PeerAddr::Udp(a)))
        .collect();
    let tree = RelayTree::from_plan(&plan, FANOUT).expect("tree");
    let config = SpectateConfig::with_fanout(FANOUT);
    let start = Instant::now();
    let node = |h: usize| {
        SpectateNode::new(h as u16, tree.clone(), shape, config.clone(), start).expect("node")
    };
    let socket = |port: UdpSocket, h: usize| {
        SpectateSocket::from_plan(port, &plan.for_member(h), shape, config.max_frames)
            .expect("socket")
    };
    let mut players: Vec<Player> = player_sockets
        .into_iter()
        .enumerate()
        .map(|(h, s)| {
            let mine = plan.for_member(h);
            let mut transport = UdpTransport::from_plan(s, &mine).expect("transport");
            let counters = transport.counters();
            let port = transport.spectate_port().expect("port");
            let link = (!latency.is_zero()).then(|| LinkProfile {
                latency,
                ..LinkProfile::default()
            });
            let (session, _) = NetSessionBuilder::<GameCfg>::from_plan(&mine)
                .build_impaired(transport, link, SEED ^ h as u64)
                .expect("session");
            Player {
                handle: h,
                session,
                counters,
                game: GameState::default(),
                feed: InputFeed::new(shape),
                node: node(h),
                socket: SpectateSocket::from_plan(port, &mine, shape, config.max_frames)
                    .expect("socket"),
            }
        })
        .collect();
    let mut watchers: Vec<(SpectateNode, SpectateSocket)> = watcher_sockets
        .into_iter()
        .enumerate()
        .map(|(i, s)| (node(2 + i), socket(s, 2 + i)))
        .collect();

    let mut simulated: Vec<Instant> = Vec::new();
    // When each player confirmed each frame; `confirmed`: both had.
    let mut by_player: [Vec<Instant>; 2] = [Vec::new(), Vec::new()];
    let mut confirmed: Vec<Instant> = Vec::new();
    let mut held = vec![0u32; spectators];
    let (mut behind, mut pairs) = (Duration::ZERO, 0u64);
    let mut next_tick = Instant::now();
    let deadline = next_tick + Duration::from_secs(60);
    let mut streaming_since = None;
    let done = |confirmed: &Vec<Instant>, held: &Vec<u32>| {
        confirmed.len() >= FRAMES as usize && held.iter().all(|h| *h >= FRAMES)
    };
    while !done(&confirmed, &held) && Instant::now() < deadline {
        if Instant::now() >= next_tick {
            for p in &mut players {
                p.tick(&mut simulated);
            }
            next_tick += PERIOD;
            for (p, times) in players.iter().zip(&mut by_player) {
                while times.len() < p.feed.next_frame() as usize {
                    times.push(Instant::now());
                }
            }
            let both = by_player.iter().map(Vec::len).min().unwrap_or(0);
            while confirmed.len() < both {
                confirmed.push(Instant::now());
                streaming_since.get_or_insert(Instant::now());
            }
        }
        for ((node, socket), seen) in watchers.iter_mut().zip(&mut held) {
            socket.pump(node, Instant::now());
            let now = Instant::now();
            for f in *seen..node.history().len().min(FRAMES) {
                if let Some(at) = simulated.get(f as usize) {
                    behind += now.saturating_duration_since(*at);
                    pairs += 1;
                }
            }
            *seen = node.history().len().min(FRAMES);
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let seconds = streaming_since.map_or(1.0, |t| t.elapsed().as_secs_f64());
    let wait: Duration = by_player
        .iter()
        .flat_map(|times| times.iter().zip(&simulated))
        .map(|(c, s)| c.saturating_duration_since(*s))
        .sum();
    let waits = by_player.iter().map(|t| t.len().min(simulated.len())).sum();
    let ms = |d: Duration, n: usize| d.as_secs_f64() * 1000.0 / n.max(1) as f64;
    let stream = [0, 1].map(|h| players[h].socket.bytes_sent() as f64 / seconds);
    let game = [0, 1].map(|h| {
        let sent: u64 = players[h]
            .counters
            .peers()
            .values()
            .map(|t| t.bytes_sent)
            .sum();
        sent as f64 / seconds
    });
    let finished = done(&confirmed, &held);
    (
        ms(behind, pairs as usize),
        ms(wait, waits),
        stream,
        game,
        finished,
    )
}

fn main() {
    let frame_ms = PERIOD.as_secs_f64() * 1000.0;
    for (latency, spectators) in [(0u64, 0usize), (0, 4), (0, 16), (50, 4), (50, 16)] {
        let (behind, wait, stream, game, finished) =
            run(spectators, Duration::from_millis(latency));
        let worst = stream.iter().copied().fold(0.0, f64::max);
        let anchor = game.iter().copied().fold(0.0, f64::max);
        let behind = match spectators {
            0 => "no spectator".to_string(),
            _ => format!(
                "{behind:.1} ms ({:.2} frames) behind the players' first simulation \
                 (their own confirmation wait: {wait:.1} ms)",
                behind / frame_ms,
            ),
        };
        println!(
            "game link +{latency:2} ms, k={FANOUT} spectators={spectators:2}: {behind}; stream upload per player max \
             {worst:.0} B/s = {:.2}x its GGRS upload ({anchor:.0} B/s); finished: {finished}",
            worst / anchor.max(1.0)
        );
    }
}
