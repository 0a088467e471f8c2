//! [`diff_reports`]: the first differences between two peers' reports.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::clean_text;
use super::report::{DesyncReport, FrameState};

/// Most state differences listed (the first ones, in path order).
pub const MAX_DIFFERENCES: usize = 32;
/// Deeper values are compared as a whole.
const MAX_DEPTH: usize = 64;
/// Values are printed at most this many characters long.
const MAX_VALUE_CHARS: usize = 160;
/// What a missing value prints as.
const ABSENT: &str = "<absent>";

/// One field whose value differs: where, and both values (as JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDifference {
    /// Resource or entity+component, then the field path:
    /// `ArenaState.discs[1].pos[0]`, `entity#3:Transform.translation.x`.
    pub path: String,
    /// The first report's value (`<absent>` when missing).
    pub left: String,
    /// The second report's value.
    pub right: String,
}

/// The first input both histories hold that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDifference {
    /// The frame.
    pub frame: i32,
    /// The player handle.
    pub handle: usize,
    /// The first report's input.
    pub left: String,
    /// The second report's input.
    pub right: String,
}

/// What differs between two reports of the same desync.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportDiff {
    /// The desync frame of each report.
    pub frames: (i32, i32),
    /// State frames both reports hold.
    pub common_frames: usize,
    /// The first frame held by both whose states differ (the earliest
    /// divergence the reports can show).
    pub first_differing_frame: Option<i32>,
    /// The differences at that frame, at most [`MAX_DIFFERENCES`].
    pub differences: Vec<StateDifference>,
    /// More differences than listed.
    pub truncated: bool,
    /// Input frames compared (both confirmed in both reports).
    pub input_frames_compared: usize,
    /// The first input that differs, if any.
    pub first_input_difference: Option<InputDifference>,
    /// Other facts: seeds or players differ, no frame in common.
    pub notes: Vec<String>,
}

/// Compares two reports: the state of the first frame both hold where
/// they differ, field by field, and the confirmed inputs frame by frame.
pub fn diff_reports(left: &DesyncReport, right: &DesyncReport) -> ReportDiff {
    let mut diff = ReportDiff {
        frames: (left.frame, right.frame),
        ..ReportDiff::default()
    };
    if left.seed != right.seed {
        diff.notes
            .push(format!("seeds differ: {} and {}", left.seed, right.seed));
    }
    if left.plan.match_id != right.plan.match_id {
        diff.notes
            .push("the reports are of different matches".into());
    }
    let rights: BTreeMap<i32, &FrameState> = right.states.iter().map(|s| (s.frame, s)).collect();
    let mut lefts: Vec<&FrameState> = left.states.iter().collect();
    lefts.sort_by_key(|s| s.frame);
    let pairs: Vec<(&FrameState, &FrameState)> = lefts
        .iter()
        .filter_map(|l| rights.get(&l.frame).map(|r| (*l, *r)))
        .collect();
    diff.common_frames = pairs.len();
    let differing = pairs.iter().find(|(l, r)| l != r).copied();
    let differing = differing.or_else(|| {
        if !pairs.is_empty() {
            return None;
        }
        diff.notes
            .push("no state frame in common: comparing each report's desync frame".into());
        left.state(left.frame).zip(right.state(right.frame))
    });
    if let Some((l, r)) = differing {
        diff.first_differing_frame = Some(l.frame);
        let mut out = Vec::new();
        diff.truncated = diff_frame_states(l, r, &mut out);
        diff.differences = out;
    } else if !pairs.is_empty() {
        diff.notes
            .push("the states both reports hold are identical".into());
    }
    diff_inputs(left, right, &mut diff);
    diff
}

/// Field by field, resources then entities; true when truncated.
fn diff_frame_states(l: &FrameState, r: &FrameState, out: &mut Vec<StateDifference>) -> bool {
    let mut truncated = diff_maps("", &l.resources, &r.resources, out);
    let rights: BTreeMap<u64, _> = r.entities.iter().map(|e| (e.entity, e)).collect();
    let lefts: BTreeMap<u64, _> = l.entities.iter().map(|e| (e.entity, e)).collect();
    for id in lefts
        .keys()
        .chain(rights.keys().filter(|k| !lefts.contains_key(k)))
    {
        let prefix = format!("entity#{id}:");
        let empty = BTreeMap::new();
        let lc = lefts.get(id).map(|e| &e.components).unwrap_or(&empty);
        let rc = rights.get(id).map(|e| &e.components).unwrap_or(&empty);
        truncated |= diff_maps(&prefix, lc, rc, out);
    }
    truncated
}

fn diff_maps(
    prefix: &str,
    l: &BTreeMap<String, Value>,
    r: &BTreeMap<String, Value>,
    out: &mut Vec<StateDifference>,
) -> bool {
    let mut truncated = false;
    for name in l.keys().chain(r.keys().filter(|k| !l.contains_key(*k))) {
        let path = format!("{prefix}{}", clean_text(name, 80));
        truncated |= diff_opt(&path, l.get(name), r.get(name), out, 0);
    }
    truncated
}

/// Appends to `out` the leaves where `left` and `right` differ, under
/// `path`: object fields by name (`.field`, or `["key"]` for map keys that
/// are not identifiers), array items by index (`[i]`, and `.len()` when the
/// lengths differ), an enum whose variant changed as a whole. Returns true
/// when [`MAX_DIFFERENCES`] cut the list short.
pub fn diff_values(
    path: &str,
    left: &Value,
    right: &Value,
    out: &mut Vec<StateDifference>,
) -> bool {
    diff_opt(path, Some(left), Some(right), out, 0)
}

fn diff_opt(
    path: &str,
    left: Option<&Value>,
    right: Option<&Value>,
    out: &mut Vec<StateDifference>,
    depth: usize,
) -> bool {
    if left == right {
        return false;
    }
    if out.len() >= MAX_DIFFERENCES {
        return true;
    }
    let (Some(l), Some(r)) = (left, right) else {
        return push(out, path, left, right);
    };
    if depth >= MAX_DEPTH {
        return push(out, path, left, right);
    }
    match (l, r) {
        (Value::Object(lo), Value::Object(ro)) => {
            // An enum whose variant changed: one key each, not the same.
            let variant_changed = lo.len() == 1 && ro.len() == 1 && lo.keys().ne(ro.keys());
            if variant_changed {
                return push(out, path, left, right);
            }
            let mut truncated = false;
            for key in lo.keys().chain(ro.keys().filter(|k| !lo.contains_key(*k))) {
                let child = format!("{path}{}", key_segment(key));
                truncated |= diff_opt(&child, lo.get(key), ro.get(key), out, depth + 1);
            }
            truncated
        }
        (Value::Array(la), Value::Array(ra)) => {
            let mut truncated = false;
            if la.len() != ra.len() {
                let (ll, rl) = (Value::from(la.len()), Value::from(ra.len()));
                truncated |= push(out, &format!("{path}.len()"), Some(&ll), Some(&rl));
            }
            for i in 0..la.len().max(ra.len()) {
                let child = format!("{path}[{i}]");
                truncated |= diff_opt(&child, la.get(i), ra.get(i), out, depth + 1);
            }
            truncated
        }
        _ => push(out, path, left, right),
    }
}

fn push(
    out: &mut Vec<StateDifference>,
    path: &str,
    left: Option<&Value>,
    right: Option<&Value>,
) -> bool {
    if out.len() >= MAX_DIFFERENCES {
        return true;
    }
    out.push(StateDifference {
        path: path.to_string(),
        left: show(left),
        right: show(right),
    });
    false
}

/// `.name` for identifiers, `["key"]` otherwise (cleaned, bounded).
fn key_segment(key: &str) -> String {
    let identifier = !key.is_empty()
        && key.len() <= 64
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if identifier {
        format!(".{key}")
    } else {
        let quoted = serde_json::to_string(key).unwrap_or_default();
        format!("[{}]", clean_text(&quoted, 66))
    }
}

fn show(value: Option<&Value>) -> String {
    match value {
        Some(v) => clean_text(&v.to_string(), MAX_VALUE_CHARS),
        None => ABSENT.to_string(),
    }
}

/// The first frame, then handle, whose input both reports hold as final
/// and that differs.
fn diff_inputs(left: &DesyncReport, right: &DesyncReport, diff: &mut ReportDiff) {
    let rights: BTreeMap<i32, _> = right.inputs.iter().map(|f| (f.frame, f)).collect();
    let mut lefts: Vec<_> = left.inputs.iter().collect();
    lefts.sort_by_key(|f| f.frame);
    for l in lefts {
        let Some(r) = rights.get(&l.frame) else {
            continue;
        };
        let final_in_both = l
            .players
            .iter()
            .chain(&r.players)
            .all(|p| p.status != "predicted");
        if !final_in_both {
            continue;
        }
        diff.input_frames_compared += 1;
        for handle in 0..l.players.len().max(r.players.len()) {
            let (li, ri) = (l.players.get(handle), r.players.get(handle));
            if li.map(|p| &p.input) != ri.map(|p| &p.input) {
                diff.first_input_difference = Some(InputDifference {
                    frame: l.frame,
                    handle,
                    left: show(li.map(|p| &p.input)),
                    right: show(ri.map(|p| &p.input)),
                });
                return;
            }
        }
    }
}

impl fmt::Display for ReportDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "desync reported at frame {} and frame {}; {} state frames in common",
            self.frames.0, self.frames.1, self.common_frames
        )?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        if let Some(frame) = self.first_differing_frame {
            writeln!(f, "first differing state: frame {frame}")?;
            for d in &self.differences {
                writeln!(f, "  {}: {} != {}", d.path, d.left, d.right)?;
            }
            if self.truncated {
                writeln!(f, "  ... (first {MAX_DIFFERENCES} differences shown)")?;
            }
        }
        match &self.first_input_difference {
            Some(d) => writeln!(
                f,
                "inputs first differ at frame {}, handle {}: {} != {}",
                d.frame, d.handle, d.left, d.right
            ),
            None => writeln!(
                f,
                "inputs agree on the {} confirmed frames both hold",
                self.input_frames_compared
            ),
        }
    }
}
