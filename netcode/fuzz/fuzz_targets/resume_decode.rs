//! Fuzzes the resume messages: arbitrary bytes as a `ResumeMessage`; what
//! decodes must re-encode, and is handed to a coordinator, a survivor and a
//! newcomer, which must never panic.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use nearplay_netcode::resume::{ResumeConfig, ResumeMachine, ResumeMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = ResumeMessage::decode(data) else {
        return;
    };
    let again = message.encode().expect("a decoded message re-encodes");
    assert_eq!(ResumeMessage::decode(&again).as_ref(), Ok(&message));
    let now = Instant::now();
    for me in [0u16, 1, 2] {
        let Ok(mut m) = ResumeMachine::new(message.epoch(), me, [0, 1], [2], ResumeConfig::default(), now) else {
            return;
        };
        m.new_session_synced(now);
        for from in [0u16, 1, 2, 7] {
            let _ = m.handle(now, from, message.clone());
            m.old_session_at(now, 10, 9);
        }
        while m.poll().is_some() {}
    }
});
