//! Shared test helpers: polling with a deadline, the one Discovery per test
//! process, unique names.
#![allow(dead_code)]

pub mod game;
pub mod hostile;
pub mod isolated;
pub mod netns;
pub mod resume_game;
pub mod resume_run;
pub mod sim;
pub mod ws;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nearplay_matchmaker::lan::{Discovery, Interfaces};

/// Polls `f` until it returns `Some`, failing with `what` after `limit`.
/// The short pause between polls is a poll interval, not synchronisation.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        // Poll interval of a wait that has a deadline (above).
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The process's one mDNS daemon, confined to loopback (tests never
/// advertise on real interfaces).
pub fn discovery() -> Discovery {
    static D: OnceLock<Discovery> = OnceLock::new();
    D.get_or_init(|| Discovery::new(Interfaces::LoopbackOnly).expect("mDNS daemon on loopback"))
        .clone()
}

/// A name no other test run on this machine uses.
pub fn unique(prefix: &str) -> String {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b).expect("os rng");
    format!(
        "{prefix} {}-{:08x}",
        std::process::id(),
        u32::from_le_bytes(b)
    )
}

/// A bound game socket on loopback, as a game binds before joining.
pub fn game_socket() -> std::net::UdpSocket {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("bind game socket")
}
