//! `cargo bench -p nearplay_netcode --bench spectate`: the spectator stream
//! over loopback UDP, 2 players at 60 fps (real time), fanout k = 4, with 0,
//! 4 and 16 spectators: upload per player (bytes per second, and as a ratio
//! to the anchor: the raw confirmed inputs of one frame stream, 60 frames of
//! every player's input a second, with no framing), and the spectators'
//! delay behind the players: mean time from a frame's confirmation by the
//! players to a spectator holding it (ms, and in frames of 16.7 ms).

#[path = "../tests/spectate_common/mod.rs"]
mod spectate_common;

use std::time::{Duration, Instant};

use nearplay_netcode::MatchKey;
use spectate_common::Swarm;

const PLAYERS: usize = 2;
const FRAMES: u32 = 600;
const PERIOD: Duration = Duration::from_micros(16_667);

fn main() {
    let anchor = (PLAYERS * 2 * 60) as f64;
    println!(
        "anchor: raw confirmed inputs, {anchor:.0} B/s ({PLAYERS} players x 2 bytes x 60 fps)"
    );
    for spectators in [0usize, 4, 16] {
        let mut swarm = Swarm::new(PLAYERS, spectators, 4, &MatchKey([9; 32]));
        let start = Instant::now();
        let (delay, pairs) = swarm.play(FRAMES, PERIOD, |_, _| {});
        let seconds = start.elapsed().as_secs_f64();
        let finished = swarm.finish(Duration::from_secs(5));
        let upload: Vec<f64> = (0..PLAYERS as u16)
            .map(|h| swarm.members.get(&h).map_or(0, |m| m.socket.bytes_sent()) as f64 / seconds)
            .collect();
        let worst = upload.iter().cloned().fold(0.0, f64::max);
        let mean_ms = if pairs == 0 {
            0.0
        } else {
            delay.as_secs_f64() * 1000.0 / pairs as f64
        };
        println!(
            "spectate k=4 spectators={spectators:2}: upload per player max {worst:7.0} B/s \
             ({:5.1}x anchor), per player {:?} B/s; spectator delay mean {mean_ms:.2} ms \
             ({:.2} frames); all finished: {finished}",
            worst / anchor,
            upload.iter().map(|u| u.round() as u64).collect::<Vec<_>>(),
            mean_ms / (PERIOD.as_secs_f64() * 1000.0),
        );
    }
}
