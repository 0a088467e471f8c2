//! Rejoin (issue 13): what the players already in the match wait while a
//! restarted player comes back, and how long the newcomer takes to its
//! first confirmed frame. nearplay synchronises the next epoch's session
//! while the old one runs and switches at the agreed frame; the anchor,
//! measured in the same run, builds the new sessions only at that frame
//! (stop the world, then synchronise). Paced at 60 fps in real time (GGRS
//! reads the wall clock), about 20 s a scenario.
//!
//! `cargo bench -p nearplay_netcode --bench rejoin`

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/resume_common/mod.rs"]
mod resume_common;

use std::time::Duration;

use nearplay_netcode::prelude::*;
use resume_common::*;

/// Longest survivor stall in ticks, and the newcomer's time from its start
/// to its first confirmed frame in ms.
fn measure(profile: LinkProfile, control: Duration, seed: u64, late_sync: bool) -> (u32, f64) {
    let what = if late_sync { "anchor" } else { "nearplay" };
    let real = Pace::REAL_TIME;
    let members = rejoin_match(profile, control, seed, late_sync, real, real, what);
    let stall = members[..2]
        .iter()
        .map(|m| m.longest_stall)
        .max()
        .unwrap_or(0);
    let newcomer = &members[2];
    let joined = newcomer.first_confirmed.map_or(f64::NAN, |t| {
        t.duration_since(newcomer.started).as_secs_f64() * 1000.0
    });
    (stall, joined)
}

fn main() {
    let ms = Duration::from_millis;
    let cases = [
        ("LAN (1 ms)", LinkProfile::latency(ms(1), ms(0)), ms(1)),
        (
            "60 ms +-10 ms, 10 % loss",
            LinkProfile::latency(ms(60), ms(10)).with_loss(0.10),
            ms(60),
        ),
    ];
    for (i, (name, profile, control)) in cases.into_iter().enumerate() {
        let seed = 40 + i as u64;
        let (anchor_stall, anchor_join) = measure(profile, control, seed, true);
        let (stall, join) = measure(profile, control, seed, false);
        println!(
            "rejoin, {name}: survivors' longest stall {stall} ticks vs {anchor_stall} when \
             synchronising at the switch (ratio {:.2}); newcomer start -> first confirmed \
             frame {join:.0} ms vs {anchor_join:.0} ms (ratio {:.2})",
            f64::from(stall) / f64::from(anchor_stall.max(1)),
            join / anchor_join
        );
    }
}
