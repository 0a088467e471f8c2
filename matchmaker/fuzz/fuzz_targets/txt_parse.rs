//! Any bytes as DNS TXT RDATA: a parsed record must re-encode and parse back
//! to itself when it fits the size budget.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_matchmaker::lan::LobbyTxt;
use nearplay_matchmaker::lan::liveness::{answer_ping, decode_pong};

fuzz_target!(|data: &[u8]| {
    if let Ok(txt) = LobbyTxt::from_rdata(data)
        && let Ok(rdata) = txt.to_rdata()
    {
        assert_eq!(LobbyTxt::from_rdata(&rdata).ok(), Some(txt));
    }
    let _ = answer_ping(data);
    let _ = decode_pong(data);
});
