//! nearplay matchmaker (work in progress).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod lan;
pub mod lobby;
