//! Desync forensics in the demo: where reports go, how a desync is told,
//! `nearplay-demo desync-diff A B`, and the test-only `--inject-desync`.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use nearplay::bevy::DesyncReported;
use nearplay_netcode::forensics::{DesyncReport, diff_reports};

use crate::rollback::ArenaStep;
use crate::sim::{ArenaState, UNIT};

/// Reports go to `$XDG_DATA_HOME/nearplay/desyncs`, else
/// `~/.local/share/nearplay/desyncs`, else the temporary directory's
/// `nearplay-desyncs` (`--desync-dir` overrides).
pub fn default_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")));
    match data {
        Some(dir) => dir.join("nearplay").join("desyncs"),
        None => std::env::temp_dir().join("nearplay-desyncs"),
    }
}

/// "desync at frame F: report in PATH" (or why there is none).
pub fn describe(reported: &DesyncReported) -> String {
    match &reported.result {
        Ok(path) => format!(
            "desync at frame {}: report in {}",
            reported.frame,
            path.display()
        ),
        Err(e) => format!("desync at frame {}: no report ({e})", reported.frame),
    }
}

/// `nearplay-demo desync-diff A B`: the differences, or why a report was
/// refused.
pub fn run_diff(a: &Path, b: &Path) -> Result<String, String> {
    let read = |p: &Path| DesyncReport::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let (left, right) = (read(a)?, read(b)?);
    Ok(diff_reports(&left, &right).to_string())
}

/// Test only: perturb this peer's state after frame `FRAME`
/// (`--inject-desync`), so the desync path runs end to end.
#[derive(Resource, Clone, Copy, Debug)]
pub struct InjectDesync(pub u32);

/// Registers the arena state for reports, prints them when headless,
/// and perturbs the state when asked.
pub struct DesyncPlugin {
    /// Print "desync: ..." to the terminal (headless runs).
    pub print: bool,
}

impl Plugin for DesyncPlugin {
    fn build(&self, app: &mut App) {
        use nearplay::bevy::ForensicsAppExt;
        app.forensic_resource::<ArenaState>().add_systems(
            bevy_ggrs::GgrsSchedule,
            inject_desync
                .after(ArenaStep)
                .run_if(resource_exists::<InjectDesync>),
        );
        if self.print {
            app.add_systems(Update, print_reports);
        }
    }
}

/// Moves disc 0 by one pixel after frame N, on this peer only. In the
/// rollback schedule, so a resimulation of frame N does it again.
fn inject_desync(inject: Res<InjectDesync>, state: Option<ResMut<ArenaState>>) {
    if let Some(mut state) = state {
        if state.frame == inject.0 {
            if let Some(disc) = state.discs.first_mut() {
                disc.pos.0 = disc.pos.0.saturating_add(UNIT);
            }
        }
    }
}

fn print_reports(mut reports: MessageReader<DesyncReported>) {
    for r in reports.read() {
        println!("desync: {}", describe(r));
    }
}
