//! Any bytes as a peer's websocket message to the rendezvous server (as text
//! when UTF-8, and always as binary): errors are fine, panics are bugs; a
//! binary message is never accepted, an accepted text is within the limit,
//! and a smaller limit refuses it as too large.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_matchmaker::rendezvous::Refusal;
use nearplay_matchmaker::rendezvous::wire::{MAX_SIGNAL_BYTES, PeerMessage, decode_signal};

fuzz_target!(|data: &[u8]| {
    assert!(decode_signal(PeerMessage::Binary(data), MAX_SIGNAL_BYTES).is_err());
    if let Ok(text) = std::str::from_utf8(data)
        && decode_signal(PeerMessage::Text(text), MAX_SIGNAL_BYTES).is_ok()
    {
        assert!(text.len() <= MAX_SIGNAL_BYTES);
        if let Some(smaller) = text.len().checked_sub(1) {
            assert_eq!(
                decode_signal(PeerMessage::Text(text), smaller),
                Err(Refusal::MessageTooLarge)
            );
        }
    }
});
