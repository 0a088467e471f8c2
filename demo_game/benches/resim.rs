//! Resimulation cost: a 4-player match under bevy_ggrs with every frame
//! rolled back 8 frames (SyncTest, check distance 8), against the same app
//! with no rollback (check distance 0 does not exist; 1 is the anchor) and
//! the 16.7 ms frame budget at 60 fps. Run with `make bench` (dev profile:
//! the profile `make run` plays with).

use std::time::{Duration, Instant};

use nearplay_demo::bots::bot_input;
use nearplay_demo::harness::synctest_app;
use nearplay_demo::sim::{ArenaState, step};

const PLAYERS: usize = 4;
const WARMUP: usize = 120;
const FRAMES: usize = 1200;
const BUDGET: Duration = Duration::from_nanos(16_666_667);

fn per_update(check_distance: usize) -> Duration {
    let mut app = synctest_app(PLAYERS, check_distance, 42).expect("synctest app");
    for _ in 0..WARMUP {
        app.update();
    }
    let start = Instant::now();
    for _ in 0..FRAMES {
        app.update();
    }
    start.elapsed() / FRAMES as u32
}

fn pure_step() -> Duration {
    let mut state = ArenaState::new(PLAYERS, 42);
    let start = Instant::now();
    for _ in 0..FRAMES * 9 {
        let inputs: Vec<_> = (0..PLAYERS).map(|h| bot_input(&state, h)).collect();
        step(&mut state, &inputs);
    }
    start.elapsed() / (FRAMES * 9) as u32
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let anchor = per_update(1);
    let resim8 = per_update(8);
    let step_only = pure_step();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("resim bench: 4 players, {FRAMES} frames, bots on every seat");
    println!(
        "  frame with 1-frame rollback (anchor):  {:.3} ms",
        ms(anchor)
    );
    println!(
        "  frame with 8-frame rollback:           {:.3} ms  = {:.2}x anchor",
        ms(resim8),
        ms(resim8) / ms(anchor)
    );
    println!(
        "  share of the 16.7 ms budget:           {:.1} %",
        100.0 * ms(resim8) / ms(BUDGET)
    );
    println!(
        "  sim::step alone, per frame:            {:.4} ms ({:.2} % of budget)",
        ms(step_only),
        100.0 * ms(step_only) / ms(BUDGET)
    );
}
