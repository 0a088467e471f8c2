//! Desync forensics: what each peer had when GGRS found a checksum mismatch.
//!
//! bevy_ggrs drops its snapshots long before a desync is detected (bevy_ggrs
//! issue 117): GGRS compares the checksum of frame F only once the peer's
//! checksum for F arrives, by which time F has left the snapshot window. So
//! the game registers which rollback state is serde-serialisable, a
//! [`FrameRing`] keeps the last frames of it (and the inputs of each frame),
//! and on a desync every peer writes a [`DesyncReport`]. [`diff_reports`]
//! compares two reports (one per peer) and names the first differences.
//!
//! The pure parts live here (no Bevy): the ring, the report format (JSON,
//! versioned, size-bounded, written atomically, read as hostile input) and
//! the diff. `nearplay::bevy`'s `ForensicsPlugin` feeds them from a match.

mod diff;
mod report;
mod ring;

pub use diff::{
    InputDifference, MAX_DIFFERENCES, ReportDiff, StateDifference, diff_reports, diff_values,
};
pub use report::{
    DesyncReport, EntityState, FrameInputs, FrameState, MAX_REPORT_BYTES, MAX_REPORT_FRAMES,
    PlanSummary, PlayerInputRecord, REPORT_FORMAT, REPORT_VERSION,
};
pub use ring::{DETECTION_SLACK_FRAMES, FrameRing, ring_frames};

/// Why a report could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ForensicsError {
    /// The file system refused (path and reason).
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// The report is larger than [`MAX_REPORT_BYTES`].
    #[error("report is {size} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Its size (at least).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not JSON, or not the report's shape (truncated files end here).
    #[error("not a desync report: {0}")]
    Malformed(String),
    /// JSON, but not a nearplay desync report.
    #[error("not a nearplay desync report (format {0:?})")]
    WrongFormat(String),
    /// A report of another format version.
    #[error("desync report format version {found}, this build reads version {REPORT_VERSION}")]
    Version {
        /// The file's version.
        found: u32,
    },
    /// A field out of its bounds (which, and why).
    #[error("invalid report: {0}")]
    Invalid(String),
}

/// `text` with every control character replaced by `?` (report contents
/// are printed to terminals), at most `max` characters.
pub fn clean_text(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
