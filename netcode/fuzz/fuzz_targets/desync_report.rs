//! Fuzzes reading a desync report (a file that may come from anyone's
//! machine): arbitrary bytes parsed as a report must be refused with a
//! typed error or accepted, never panic; an accepted report is diffed with
//! itself (nothing may differ) and printed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_netcode::forensics::{DesyncReport, diff_reports};

fuzz_target!(|data: &[u8]| {
    let Ok(report) = DesyncReport::from_bytes(data) else {
        return;
    };
    let diff = diff_reports(&report, &report);
    assert!(diff.differences.is_empty());
    assert!(diff.first_input_difference.is_none());
    let _ = diff.to_string();
});
