//! Any bytes as DNS TXT RDATA: a parsed record must re-encode and parse back
//! to itself when it fits the size budget, and hold possible seat counts;
//! any bytes as a string come out of `printable` with no control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_matchmaker::lan::LobbyTxt;
use nearplay_matchmaker::lan::liveness::{answer_ping, decode_pong};
use nearplay_matchmaker::lan::text::{is_printable, printable};
use nearplay_matchmaker::lan::txt::{MAX_SEATS, MIN_SEATS};

fuzz_target!(|data: &[u8]| {
    if let Ok(txt) = LobbyTxt::from_rdata(data) {
        assert!((MIN_SEATS..=MAX_SEATS).contains(&txt.max_players));
        assert!(txt.players <= txt.max_players);
        assert!(usize::from(txt.players) + txt.vacant.len() <= usize::from(txt.max_players));
        assert!(txt.vacant.iter().all(|n| is_printable(n) && !n.is_empty()));
        if let Ok(rdata) = txt.to_rdata() {
            assert_eq!(LobbyTxt::from_rdata(&rdata).ok(), Some(txt));
        }
    }
    let text = String::from_utf8_lossy(data);
    assert!(is_printable(&printable(&text)));
    let _ = answer_ping(data);
    let _ = decode_pong(data);
});
