//! How many wrong passwords one address gets checked per second by a locked
//! LobbyHost on loopback: joins with a wrong password, one after another,
//! for a few seconds (`cargo run --release -p nearplay_matchmaker --example
//! guess_rate -- 5`). Prints checked guesses (answered "wrong password")
//! and refusals ("too many guesses") per second.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig, JoinError};
use nearplay_matchmaker::lobby::host::HostConfig;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut config = HostConfig::new("guess", "h", "g", "1");
    config.password = Some("correct horse battery staple".into());
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..Default::default()
    };
    let host = LobbyHost::open(config, options).expect("host");
    let (mut checked, mut refused, mut other) = (0u64, 0u64, 0u64);
    let t0 = Instant::now();
    let mut i = 0u64;
    while t0.elapsed() < Duration::from_secs(secs) {
        i += 1;
        let mut jc = JoinConfig::new("guesser", "g", "1", 1);
        jc.password = Some(format!("guess {i}"));
        let c = LobbyClient::join(host.local_addr(), jc);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match c.poll() {
                Some(ClientEvent::JoinFailed(JoinError::WrongPassword)) => {
                    checked += 1;
                    break;
                }
                Some(ClientEvent::JoinFailed(e)) if format!("{e}").contains("too many") => {
                    refused += 1;
                    break;
                }
                Some(ClientEvent::JoinFailed(_)) | Some(ClientEvent::Joined { .. }) => {
                    other += 1;
                    break;
                }
                _ if Instant::now() > deadline => {
                    other += 1;
                    break;
                }
                _ => std::thread::sleep(Duration::from_micros(100)),
            }
        }
        while host.poll().is_some() {}
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "one address, {s:.1} s: {checked} guesses checked ({:.1}/s), {refused} refused for backoff, {other} other",
        checked as f64 / s
    );
}
