//! `cargo bench -p nearplay_netcode --bench lossy_link`: 2 players over the
//! simulated network at 100 ms RTT and 5 % loss, 600 frames at 60 fps:
//! rollbacks (count, mean and max depth) and ticks stalled (ticks that
//! advanced no frame), ours (`NetSessionBuilder`) against bare GGRS over the
//! same simulated link (same seed, same input delay 2, GGRS's default
//! prediction window 8) in the same loop of the same run.
//!
//! Issue 15's goal: 0 stalled ticks, rollbacks no more than the anchor.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{GameCfg, Peer, rollback_figures, run_sim_frames, sim_peers};
use ggrs::{PlayerType, SessionBuilder};
use nearplay_netcode::prelude::*;

const TICK: Duration = Duration::from_micros(16_667);
const SEED: u64 = 0xbe7c;

/// Bare GGRS sessions on `net` (node `i` = handle `i`), counted by a
/// monitor that only tallies what the loop reports.
fn bare_peers(n: usize, net: &SimNetwork) -> Vec<Peer> {
    (0..n)
        .map(|me| {
            let mut b = SessionBuilder::<GameCfg>::new()
                .with_num_players(n)
                .unwrap()
                .with_input_delay(NetSettings::default().input_delay);
            let mut remotes = Vec::new();
            for h in 0..n {
                let t = if h == me {
                    PlayerType::Local
                } else {
                    remotes.push((h, PeerAddr::Sim(h as u32)));
                    PlayerType::Remote(PeerAddr::Sim(h as u32))
                };
                b = b.add_player(t, h).unwrap();
            }
            let node = net.node(me as u32);
            let monitor = NetMonitor::new(node.counters(), remotes);
            Peer::new(me, b.start_p2p_session(node).unwrap(), monitor, SEED)
        })
        .collect()
}

/// Sums over `peers`.
#[derive(Default)]
struct Totals {
    rollbacks: u64,
    resimulated: u64,
    stalled: u64,
    advanced: u64,
}

impl Totals {
    /// Per 1000 frames advanced: the loop stops when the slowest peer of
    /// either pair reaches the goal, so the pairs advance different counts.
    fn per_kframe(&self, n: u64) -> f64 {
        1000.0 * n as f64 / self.advanced.max(1) as f64
    }
}

fn totals(peers: &mut [Peer], label: &str) -> Totals {
    let mut sum = Totals::default();
    for p in peers {
        let r = p.monitor.rollbacks().clone();
        let s = p.monitor.snapshot(&p.session, Instant::now());
        let resimulated = (r.mean_depth() * r.rollbacks as f64).round() as u64;
        println!("  {label} peer {}: {}", p.handle, rollback_figures(&r, &s));
        sum.rollbacks += r.rollbacks;
        sum.resimulated += resimulated;
        sum.stalled += s.frames_stalled;
        sum.advanced += s.frames_advanced;
    }
    sum
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs a smoke pass.
    let frames = if std::env::args().any(|a| a == "--bench") {
        600
    } else {
        60
    };
    let link = LinkProfile::latency(Duration::from_millis(50), Duration::ZERO).with_loss(0.05);
    // Two networks with the same seed: the same losses on both.
    let ours_net = SimNetwork::with_profile(SEED, link);
    let bare_net = SimNetwork::with_profile(SEED, link);
    let mut peers = sim_peers(2, &ours_net, &NetSettings::default(), SEED);
    peers.extend(bare_peers(2, &bare_net));
    run_sim_frames(&mut peers, TICK, frames);
    println!("sim 100 ms RTT + 5 % loss, 2 players, {frames} frames at 60 fps:");
    let (ours_peers, ggrs_peers) = peers.split_at_mut(2);
    let ours = totals(ours_peers, "ours");
    let anchor = totals(ggrs_peers, "ggrs");
    let (ours_r, ggrs_r) = (
        ours.per_kframe(ours.rollbacks),
        anchor.per_kframe(anchor.rollbacks),
    );
    let (ours_f, ggrs_f) = (
        ours.per_kframe(ours.resimulated),
        anchor.per_kframe(anchor.resimulated),
    );
    println!(
        "  ticks stalled: ours {} | ggrs {} (goal: 0 stalled ticks)",
        ours.stalled, anchor.stalled
    );
    println!(
        "  rollbacks per 1000 frames: ours {ours_r:.0} | ggrs {ggrs_r:.0} | ratio {:.2} (goal <= 1.00) ; frames resimulated per 1000: ours {ours_f:.0} | ggrs {ggrs_f:.0} | ratio {:.2}",
        ours_r / ggrs_r.max(1.0),
        ours_f / ggrs_f.max(1.0),
    );
}
