//! Fuzzes the replay reader: arbitrary bytes (a file a user downloaded, or
//! one edited on purpose) decoded as a `ReplayFile`, both as they are and
//! sealed with a good header and digest (a crafted file, so the body
//! decoder and the consistency checks are reached). Any outcome but a
//! panic; a file that is accepted re-encodes to the same bytes, and every
//! frame it claims has its inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_netcode::replay::{ReplayFile, ReplayGame, seal};

fuzz_target!(|data: &[u8]| {
    let game = ReplayGame::new("fuzz-game", "1.0");
    let sealed = seal(u32::try_from(data.len()).unwrap_or(u32::MAX), data);
    for bytes in [data, &sealed[..]] {
        if let Ok(file) = ReplayFile::<u8>::decode(bytes, &game) {
            assert_eq!(file.encode().ok().as_deref(), Some(bytes));
            for frame in 1..=file.frames {
                assert!(file.frame_inputs(frame).is_some());
            }
        }
    }
});
