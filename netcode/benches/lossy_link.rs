//! `cargo bench -p nearplay_netcode --bench lossy_link`: 2 players over the
//! simulated network at 100 ms RTT and 5 % loss, 600 frames at 60 fps:
//! rollbacks (count, mean and max depth) and ticks stalled (ticks that
//! advanced no frame), ours (`NetSessionBuilder`) against bare GGRS over the
//! same simulated link (same seed, same input delay 2, GGRS's default
//! prediction window 8) in the same loop of the same run.
//!
//! Issue 15's goal: 0 stalled ticks, rollbacks no more than the anchor.
//! Eight seeds play side by side (one seed's count mostly measures which
//! peer started ahead: see [`SEEDS`]), ours plays a third time with
//! GGRS's window of 8, which shows what the wider default window costs in
//! rollbacks and saves in stalls, and bare GGRS a second time with our
//! window of 12: on the seeds where it starts without a stall (both peers
//! level, as ours always are), the two differ only by the wire.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{GameCfg, Peer, rollback_figures, run_sim_frames, sim_peers};
use ggrs::{PlayerType, SessionBuilder};
use nearplay_netcode::prelude::*;

const TICK: Duration = Duration::from_micros(16_667);
/// GGRS's default prediction window (the anchor's).
const GGRS_WINDOW: usize = 8;
const SEED: u64 = 0xbe7c;

/// Bare GGRS sessions on `net` (node `i` = handle `i`) with prediction
/// window `window`, counted by a monitor that only tallies what the loop
/// reports.
fn bare_peers(n: usize, net: &SimNetwork, seed: u64, window: usize) -> Vec<Peer> {
    (0..n)
        .map(|me| {
            let mut b = SessionBuilder::<GameCfg>::new()
                .with_num_players(n)
                .unwrap()
                .with_max_prediction_window(window)
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
            Peer::new(me, b.start_p2p_session(node).unwrap(), monitor, seed)
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

    fn add(&mut self, other: &Totals) {
        self.rollbacks += other.rollbacks;
        self.resimulated += other.resimulated;
        self.stalled += other.stalled;
        self.advanced += other.advanced;
    }
}

/// Sums over `peers`; prints each peer's figures when `verbose`.
fn totals(peers: &mut [Peer], label: &str, verbose: bool) -> Totals {
    let mut sum = Totals::default();
    for p in peers {
        let r = p.monitor.rollbacks().clone();
        let s = p.monitor.snapshot(&p.session, Instant::now());
        let resimulated = (r.mean_depth() * r.rollbacks as f64).round() as u64;
        if verbose {
            println!("  {label} peer {}: {}", p.handle, rollback_figures(&r, &s));
        }
        sum.rollbacks += r.rollbacks;
        sum.resimulated += resimulated;
        sum.stalled += s.frames_stalled;
        sum.advanced += s.frames_advanced;
    }
    sum
}

/// Seeds of the impairments (which datagrams are lost, and so when each
/// pair finishes synchronising): which peer of a pair starts ahead, and by
/// how much of a frame, differs between seeds. A peer that runs behind by
/// the link's delay never predicts, so one seed's rollback count says more
/// about that start phase than about the netcode; the ratio is taken over
/// all seeds, played side by side in the same loop.
const SEEDS: [u64; 8] = [SEED, 1, 2, 3, 4, 5, 6, 7];

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs a smoke pass.
    let (frames, seeds) = if std::env::args().any(|a| a == "--bench") {
        (600, &SEEDS[..])
    } else {
        (60, &SEEDS[..1])
    };
    let link = LinkProfile::latency(Duration::from_millis(50), Duration::ZERO).with_loss(0.05);
    let mut peers = Vec::new();
    // Per seed, two networks with that seed: the same losses on both.
    for &seed in seeds {
        let ours_net = SimNetwork::with_profile(seed, link);
        let bare_net = SimNetwork::with_profile(seed, link);
        peers.extend(sim_peers(2, &ours_net, &NetSettings::default(), seed));
        peers.extend(bare_peers(2, &bare_net, seed, GGRS_WINDOW));
        // Ours again with GGRS's own prediction window: the same wire, and
        // the window the anchor stalls at.
        let narrow = NetSettings {
            max_prediction: 8,
            ..NetSettings::default()
        };
        let narrow_net = SimNetwork::with_profile(seed, link);
        peers.extend(sim_peers(2, &narrow_net, &narrow, seed));
        // Bare GGRS again with our window: where it starts without a stall
        // (no peer behind), what remains between it and ours is the wire.
        let wide_net = SimNetwork::with_profile(seed, link);
        let wide = NetSettings::default().max_prediction;
        peers.extend(bare_peers(2, &wide_net, seed, wide));
    }
    run_sim_frames(&mut peers, TICK, frames);
    println!(
        "sim 100 ms RTT + 5 % loss, 2 players, {frames} frames at 60 fps, {} seeds side by side:",
        seeds.len()
    );
    let (mut ours, mut anchor, mut narrow, mut wide) = (
        Totals::default(),
        Totals::default(),
        Totals::default(),
        Totals::default(),
    );
    // Seeds where bare GGRS with our window started without a stall: both
    // of its peers at the same frame, as ours always are.
    let (mut level_ours, mut level_wide) = (Totals::default(), Totals::default());
    let mut level_seeds = 0;
    for (i, group) in peers.chunks_mut(8).enumerate() {
        let verbose = i == 0;
        if verbose {
            println!(" seed {:#x}:", seeds[i]);
        }
        let (ours_peers, rest) = group.split_at_mut(2);
        let (ggrs_peers, rest) = rest.split_at_mut(2);
        let (narrow_peers, wide_peers) = rest.split_at_mut(2);
        let (o, g, n, w) = (
            totals(ours_peers, "ours", verbose),
            totals(ggrs_peers, "ggrs", verbose),
            totals(narrow_peers, "ours, window 8", verbose),
            totals(wide_peers, "ggrs, window 12", verbose),
        );
        println!(
            "  seed {:#x}: rollbacks per 1000 frames (ticks stalled) ours {:.0} ({}) | ggrs {:.0} ({}) | ours, window 8 {:.0} ({}) | ggrs, window 12 {:.0} ({})",
            seeds[i],
            o.per_kframe(o.rollbacks),
            o.stalled,
            g.per_kframe(g.rollbacks),
            g.stalled,
            n.per_kframe(n.rollbacks),
            n.stalled,
            w.per_kframe(w.rollbacks),
            w.stalled,
        );
        ours.add(&o);
        anchor.add(&g);
        narrow.add(&n);
        wide.add(&w);
        if w.stalled == 0 {
            level_seeds += 1;
            level_ours.add(&o);
            level_wide.add(&w);
        }
    }
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
        "  rollbacks per 1000 frames, all seeds: ours {ours_r:.0} | ggrs {ggrs_r:.0} | ratio {:.2} (goal <= 1.00) ; frames resimulated per 1000: ours {ours_f:.0} | ggrs {ggrs_f:.0} | ratio {:.2}",
        ours_r / ggrs_r.max(1.0),
        ours_f / ggrs_f.max(1.0),
    );
    let narrow_r = narrow.per_kframe(narrow.rollbacks);
    println!(
        "  ours with GGRS's window of 8 (same wire, stalls allowed): rollbacks per 1000 frames {narrow_r:.0} | ratio to ggrs {:.2} ; ticks stalled {}",
        narrow_r / ggrs_r.max(1.0),
        narrow.stalled
    );
    let wide_r = wide.per_kframe(wide.rollbacks);
    println!(
        "  bare GGRS with our window of {}: rollbacks per 1000 frames {wide_r:.0} ; ours to it {:.2} ; ticks stalled {}",
        NetSettings::default().max_prediction,
        ours_r / wide_r.max(1.0),
        wide.stalled
    );
    let (lo, lw) = (
        level_ours.per_kframe(level_ours.rollbacks),
        level_wide.per_kframe(level_wide.rollbacks),
    );
    println!(
        "  where that GGRS started without a stall (both peers level, {level_seeds} of {} seeds): rollbacks per 1000 frames ours {lo:.0} | ggrs {lw:.0} | ratio {:.2} (where a peer started behind, it rarely predicts: the count halves and the frames resimulated do not)",
        seeds.len(),
        lo / lw.max(1.0),
    );
}
