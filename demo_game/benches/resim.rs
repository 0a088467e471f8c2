//! Resimulation cost: a 4-player match under bevy_ggrs with every frame
//! rolled back 8 frames (SyncTest, check distance 8), against the same app
//! with no rollback (check distance 0 does not exist; 1 is the anchor) and
//! the 16.7 ms frame budget at 60 fps. Run with `make bench` (dev profile:
//! the profile `make run` plays with).
//!
//! Also printed, from the same run: the 8-frame rollback with the rollback
//! schedules back on Bevy's default multi-threaded executor (what
//! `RollbackPlugin` replaces, see its doc), so the saving is visible.

use std::time::{Duration, Instant};

use bevy::ecs::schedule::{MultiThreadedExecutor, Schedule};
use bevy::prelude::App;
use bevy_ggrs::{GgrsSchedule, LoadWorld, SaveWorld};
use nearplay_demo::bots::bot_input;
use nearplay_demo::harness::synctest_app;
use nearplay_demo::sim::{ArenaState, step};

const PLAYERS: usize = 4;
const WARMUP: usize = 120;
const FRAMES: usize = 1200;
const BUDGET: Duration = Duration::from_nanos(16_666_667);
/// Issue 15's goal for the 8-frame rollback frame.
const GOAL: Duration = Duration::from_millis(1);

/// Which executor the rollback schedules run on.
#[derive(Clone, Copy, PartialEq)]
enum Executors {
    /// As `RollbackPlugin` sets them (single-threaded).
    Demo,
    /// Bevy's default multi-threaded executor (bevy_ggrs's own default).
    Stock,
}

fn per_update(check_distance: usize, executors: Executors) -> Duration {
    let mut app = synctest_app(PLAYERS, check_distance, 42).expect("synctest app");
    if executors == Executors::Stock {
        stock_executors(&mut app);
    }
    for _ in 0..WARMUP {
        app.update();
    }
    let start = Instant::now();
    for _ in 0..FRAMES {
        app.update();
    }
    start.elapsed() / FRAMES as u32
}

fn stock_executors(app: &mut App) {
    let multi = |schedule: &mut Schedule| {
        schedule.set_executor(MultiThreadedExecutor::new());
    };
    app.edit_schedule(GgrsSchedule, multi)
        .edit_schedule(LoadWorld, multi)
        .edit_schedule(SaveWorld, multi);
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
    let anchor = per_update(1, Executors::Demo);
    let resim8 = per_update(8, Executors::Demo);
    let stock8 = per_update(8, Executors::Stock);
    let step_only = pure_step();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("resim bench: 4 players, {FRAMES} frames, bots on every seat");
    println!(
        "  frame with 1-frame rollback (anchor):  {:.3} ms",
        ms(anchor)
    );
    println!(
        "  frame with 8-frame rollback:           {:.3} ms  = {:.2}x anchor  (goal < {:.0} ms: {})",
        ms(resim8),
        ms(resim8) / ms(anchor),
        ms(GOAL),
        if resim8 < GOAL { "met" } else { "NOT met" }
    );
    println!(
        "  same, stock multi-threaded executors:  {:.3} ms  = {:.2}x anchor",
        ms(stock8),
        ms(stock8) / ms(anchor)
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
