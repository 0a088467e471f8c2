//! Fuzzes the datagram decoder: arbitrary bytes through every check
//! (`WireCodec::open_checked`), and arbitrary payloads sealed with the right
//! key so the postcard decoder of GGRS messages is reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_netcode::wire::{ReplayGuard, WireCodec, decode_payload};
use nearplay_netcode::{MatchId, MatchKey};

fuzz_target!(|data: &[u8]| {
    let codec = WireCodec::new(MatchId(0x6e70), &MatchKey([5; 32]));
    let mut guard = ReplayGuard::new();
    // Unauthenticated bytes: must be rejected (a forgery would need the key).
    assert!(codec.open_checked(data, &mut guard, None).is_err());
    // Authentic datagram with the fuzzer's bytes as payload.
    let mut sealed = Vec::new();
    if codec.seal_raw(1, 0, data, &mut sealed).is_ok() {
        let _ = codec.open_checked(&sealed, &mut guard, Some(1));
    }
    let _ = decode_payload(data);
});
