//! Fuzzes the datagram decoder: arbitrary bytes through every check
//! (`WireCodec::open`, against a fresh window and one that has seen 70,000
//! datagrams, so the 16-bit sequence extension crosses a wrap), and
//! arbitrary payloads sealed with the right key so the batch decoder of
//! GGRS messages is reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_netcode::wire::{ReplayWindow, Route, WireCodec, decode_payload, is_urgent};
use nearplay_netcode::{MatchId, MatchKey};

const ROUTE: Route = Route {
    sender: 1,
    receiver: 0,
};

fuzz_target!(|data: &[u8]| {
    let codec = WireCodec::new(MatchId(0x6e70), &MatchKey([5; 32]));
    let mut fresh = ReplayWindow::new();
    let mut later = ReplayWindow::new();
    let _ = later.check_and_insert(70_000);
    // Unauthenticated bytes: must be rejected (a forgery would need the key).
    assert!(codec.open(data, ROUTE, &mut fresh).is_err());
    assert!(codec.open(data, ROUTE, &mut later).is_err());
    // An authentic datagram with the fuzzer's bytes as payload.
    let mut sealed = Vec::new();
    if codec.seal(ROUTE, 70_001, data, &mut sealed).is_ok() {
        let (header, payload) = codec.open(&sealed, ROUTE, &mut later).expect("authentic");
        assert_eq!(header.seq, 70_001);
        if let Ok(msgs) = decode_payload(payload) {
            assert!(!msgs.is_empty());
        }
    }
    let _ = decode_payload(data);
    let _ = is_urgent(data);
});
