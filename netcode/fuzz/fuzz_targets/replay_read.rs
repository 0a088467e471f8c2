//! Fuzzes the replay reader: arbitrary bytes (a file a user downloaded, or
//! one edited on purpose) decoded as a `ReplayFile`. Any outcome but a
//! panic; a file that is accepted re-encodes to the same bytes, and every
//! frame it claims has its inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_netcode::replay::{ReplayFile, ReplayGame};

fuzz_target!(|data: &[u8]| {
    let game = ReplayGame::new("fuzz-game", "1.0");
    if let Ok(file) = ReplayFile::<u8>::decode(data, &game) {
        assert_eq!(file.encode().ok().as_deref(), Some(data));
        for frame in 1..=file.frames {
            assert!(file.frame_inputs(frame).is_some());
        }
    }
});
