//! [`DesyncReport`]: the file each peer writes on a desync.
//!
//! JSON, so a developer can also read it by eye: a header (format name and
//! version), the frame GGRS compared, both checksums, the seed and the plan
//! without its key, the registered rollback state of the frames held around
//! the desync, and the inputs of those frames. Reading one is reading
//! hostile input (a report may come from anyone's machine): size-limited
//! before parsing, format and version checked, every count bounded, typed
//! refusals, never a panic.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ForensicsError;
use crate::plan::{MatchPlan, NetSettings, PlanPlayer};
use crate::plan_check::MAX_PLAYERS;

/// The `format` field of every report.
pub const REPORT_FORMAT: &str = "nearplay-desync-report";
/// The format version this build writes and reads.
pub const REPORT_VERSION: u32 = 1;
/// Largest report written or read: 16 MiB.
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;
/// Most state frames, and most input frames, in one report.
pub const MAX_REPORT_FRAMES: usize = 512;
/// Most notes in one report.
const MAX_NOTES: usize = 64;

/// What one peer had when GGRS reported a desync.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DesyncReport {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// [`REPORT_VERSION`] when written by this build.
    pub version: u32,
    /// The game and its version, as the game named them (may be empty).
    pub game: String,
    /// The frame whose checksums differed.
    pub frame: i32,
    /// The newest frame this peer had simulated when GGRS reported the
    /// desync: how far past `frame` the ring had to reach.
    pub detected_at: i32,
    /// Our checksum of that frame (hex).
    pub local_checksum: String,
    /// The peer's checksum of that frame (hex).
    pub remote_checksum: String,
    /// The peer that disagreed (its address, as text).
    pub peer: String,
    /// The match's seed.
    pub seed: u64,
    /// The match's plan, without its key.
    pub plan: PlanSummary,
    /// The registered rollback state of the frames held, oldest first.
    pub states: Vec<FrameState>,
    /// The inputs of the frames held, oldest first.
    pub inputs: Vec<FrameInputs>,
    /// What could not be captured (a value that would not serialise, frames
    /// dropped to fit the size limit).
    pub notes: Vec<String>,
}

/// A [`MatchPlan`] without its key (a report is shared; the key is not).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PlanSummary {
    /// The match id.
    pub match_id: u64,
    /// The seed.
    pub seed: u64,
    /// The players by handle.
    pub players: Vec<PlanPlayer>,
    /// The netcode settings.
    pub settings: NetSettings,
    /// The handle of the peer that wrote the report.
    pub local_handle: usize,
}

impl From<&MatchPlan> for PlanSummary {
    fn from(plan: &MatchPlan) -> Self {
        PlanSummary {
            match_id: plan.match_id.0,
            seed: plan.seed,
            players: plan.players.clone(),
            settings: plan.settings.clone(),
            local_handle: plan.local_handle,
        }
    }
}

/// The registered rollback state after `frame` frames (what GGRS
/// checksummed as frame `frame`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct FrameState {
    /// The GGRS frame.
    pub frame: i32,
    /// Registered resources by type name.
    pub resources: BTreeMap<String, Value>,
    /// Rollback entities with their registered components.
    pub entities: Vec<EntityState>,
}

/// One rollback entity's registered components.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct EntityState {
    /// The entity's stable rollback order (the same on every peer, unlike
    /// its `Entity` id).
    pub entity: u64,
    /// Components by type name.
    pub components: BTreeMap<String, Value>,
}

/// The inputs that advanced frame `frame` to `frame + 1`, by handle.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FrameInputs {
    /// The GGRS frame.
    pub frame: i32,
    /// One record per player handle.
    pub players: Vec<PlayerInputRecord>,
}

/// One player's input of one frame.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PlayerInputRecord {
    /// The input, as the game's `Config::Input` serialises.
    pub input: Value,
    /// `confirmed`, `predicted` or `disconnected`.
    pub status: String,
}

/// The header read first, to refuse other files before their shape.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

impl DesyncReport {
    /// The report's JSON, within [`MAX_REPORT_BYTES`]: when too large, the
    /// state frames farthest from [`DesyncReport::frame`] are dropped (and
    /// a note says so) until it fits, down to the desync frame alone.
    pub fn to_bytes(&mut self) -> Result<Vec<u8>, ForensicsError> {
        loop {
            let bytes = serde_json::to_vec_pretty(self)
                .map_err(|e| ForensicsError::Malformed(e.to_string()))?;
            let size = bytes.len() as u64;
            if size <= MAX_REPORT_BYTES {
                return Ok(bytes);
            }
            if self.states.len() <= 1 {
                return Err(ForensicsError::TooLarge {
                    size,
                    limit: MAX_REPORT_BYTES,
                });
            }
            let frame = self.frame;
            let farthest = self
                .states
                .iter()
                .enumerate()
                .max_by_key(|(_, s)| s.frame.abs_diff(frame))
                .map(|(i, _)| i)
                .unwrap_or(0);
            let dropped = self.states.remove(farthest);
            self.notes.truncate(MAX_NOTES - 1);
            self.notes.push(format!(
                "state of frame {} dropped to fit the size limit",
                dropped.frame
            ));
        }
    }

    /// Writes the report as `dir/file_name` atomically (a temporary file
    /// in `dir`, flushed, then renamed), creating `dir`. Returns the path.
    pub fn write_atomic(&mut self, dir: &Path, file_name: &str) -> Result<PathBuf, ForensicsError> {
        let bytes = self.to_bytes()?;
        let io = |path: &Path, e: std::io::Error| ForensicsError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = dir.join(file_name);
        crate::atomic_file::write_atomically(&path, &bytes, file_name).map_err(|e| io(&path, e))?;
        Ok(path)
    }

    /// Reads and checks the report at `path` (at most [`MAX_REPORT_BYTES`]
    /// are read, whatever the file's size).
    pub fn read(path: &Path) -> Result<DesyncReport, ForensicsError> {
        let io = |e: std::io::Error| ForensicsError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_REPORT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::from_bytes(&bytes)
    }

    /// Parses and checks a report: size, format, version, then shape and
    /// bounds. JSON nesting is limited by serde_json (128 levels).
    pub fn from_bytes(bytes: &[u8]) -> Result<DesyncReport, ForensicsError> {
        let size = bytes.len() as u64;
        if size > MAX_REPORT_BYTES {
            return Err(ForensicsError::TooLarge {
                size,
                limit: MAX_REPORT_BYTES,
            });
        }
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| ForensicsError::Malformed(e.to_string()))?;
        if header.format != REPORT_FORMAT {
            return Err(ForensicsError::WrongFormat(super::clean_text(
                &header.format,
                64,
            )));
        }
        if header.version != REPORT_VERSION {
            return Err(ForensicsError::Version {
                found: header.version,
            });
        }
        let report: DesyncReport =
            serde_json::from_slice(bytes).map_err(|e| ForensicsError::Malformed(e.to_string()))?;
        report.validate()?;
        Ok(report)
    }

    /// Every count within its bound.
    fn validate(&self) -> Result<(), ForensicsError> {
        let invalid = |what: String| Err(ForensicsError::Invalid(what));
        if self.states.len() > MAX_REPORT_FRAMES || self.inputs.len() > MAX_REPORT_FRAMES {
            return invalid(format!("more than {MAX_REPORT_FRAMES} frames"));
        }
        let increasing = |frames: &mut dyn Iterator<Item = i32>| {
            let frames: Vec<i32> = frames.collect();
            frames.windows(2).all(|w| w[0] < w[1])
        };
        if !increasing(&mut self.states.iter().map(|s| s.frame))
            || !increasing(&mut self.inputs.iter().map(|f| f.frame))
        {
            return invalid("frames not in increasing order".into());
        }
        if self.plan.players.len() > MAX_PLAYERS {
            return invalid(format!("more than {MAX_PLAYERS} players"));
        }
        if let Some(f) = self.inputs.iter().find(|f| f.players.len() > MAX_PLAYERS) {
            return invalid(format!(
                "frame {} has more than {MAX_PLAYERS} inputs",
                f.frame
            ));
        }
        if self.notes.len() > MAX_NOTES {
            return invalid(format!("more than {MAX_NOTES} notes"));
        }
        Ok(())
    }

    /// The state of `frame`, if the report holds it.
    pub fn state(&self, frame: i32) -> Option<&FrameState> {
        self.states.iter().find(|s| s.frame == frame)
    }
}
