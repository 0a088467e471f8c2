//! Any bytes as a rendezvous server's HTTP answer: errors are fine, panics
//! are bugs, and a parsed body is never longer than the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_matchmaker::rendezvous::wire::parse_response;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse_response(data) {
        assert!(r.body.len() <= data.len());
    }
});
