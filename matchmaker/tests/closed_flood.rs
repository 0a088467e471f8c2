//! Bytes sent into a connection the host has already closed are neither
//! parsed nor kept: the host's memory stays flat and the socket is dropped.
//! Alone in its file: it measures the resident memory of the test process.

mod common;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::hostile::{ProcStats, attacker_ip, connect_from};
use nearplay_matchmaker::lobby::host::HostConfig;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyHost};

const FLOOD: usize = 256 << 20;
const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_flood_into_a_closed_connection_keeps_host_memory_flat() {
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..HostOptions::default()
    };
    let host = LobbyHost::open(
        HostConfig::new("flood", "Hosty", "flood-test", "1"),
        options,
    )
    .expect("open lobby");
    let chunk = vec![0xA5u8; 1 << 20];
    let before = ProcStats::now();

    let mut s = connect_from(attacker_ip(0), host.local_addr()).expect("connect");
    s.set_write_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    // A length prefix past the frame limit: a protocol error, so the host
    // closes the connection at once. Then the flood.
    s.write_all(&[0xFF; 4]).expect("bad header");
    let started = Instant::now();
    let mut sent = 0usize;
    let mut refused = None;
    while sent < FLOOD && started.elapsed() < LIMIT {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let after = ProcStats::now();
    let grown = after.rss_kib as i64 - before.rss_kib as i64;
    println!(
        "sent {} KiB in {:?} before the host dropped the connection ({refused:?}); host RSS {} -> {} KiB ({grown:+} KiB)",
        sent >> 10,
        started.elapsed(),
        before.rss_kib,
        after.rss_kib
    );
    assert!(
        grown < 32 << 10,
        "host memory grew by {grown} KiB for a closed connection"
    );
    assert!(
        refused.is_some(),
        "the host kept taking bytes on a connection it had closed ({sent} bytes)"
    );
}
