//! 500 connections held open against one lobby host cost no thread each and
//! a bounded number of file descriptors, and a real joiner still gets in.
//! Alone in its file: it counts the threads and descriptors of the whole
//! test process.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::hostile::{ProcStats, attacker_ip, connect_from};
use common::wait_for;
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::{HostConfig, MAX_PENDING_HELLOS};
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost, OPEN_CONNECTION_SLACK};

const GAME: &str = "held-test";
const HELD: usize = 500;
const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn five_hundred_held_connections_cost_no_thread_each_and_a_joiner_gets_in() {
    let mut config = HostConfig::new("held", "Hosty", GAME, "1");
    // The silent connections are held for the whole test.
    config.timeouts.hello = Duration::from_secs(60);
    let max_players = config.max_players;
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..HostOptions::default()
    };
    let host = LobbyHost::open(config, options).expect("open lobby");
    let before = ProcStats::now();

    // 4 per address from 125 addresses, so the per-address cap alone does
    // not turn them away.
    let _conns: Vec<_> = (0..HELD)
        .map(|i| connect_from(attacker_ip(i / 4), host.local_addr()).expect("connect"))
        .collect();
    // The host accepts in order, so once this joiner (connected after the
    // 500) has its answer, every one of the 500 has been dealt with.
    let client = LobbyClient::join(host.local_addr(), JoinConfig::new("Real", GAME, "1", 1));
    wait_for("the real joiner's welcome", LIMIT, || match client.poll() {
        Some(ClientEvent::Joined { .. }) => Some(()),
        Some(ClientEvent::JoinFailed(e)) => panic!("the real joiner was refused: {e}"),
        _ => None,
    });
    let after = ProcStats::now();
    // Less the joiner's own thread and descriptors (socket, poll, waker).
    let threads = after.threads as i64 - before.threads as i64 - 1;
    let host_fds = after.fds as i64 - before.fds as i64 - HELD as i64 - 3;
    println!(
        "{HELD} held connections: threads {} -> {} (host {threads:+}), fds {} -> {} (host side {host_fds:+}), RSS {} -> {} KiB",
        before.threads, after.threads, before.fds, after.fds, before.rss_kib, after.rss_kib
    );
    assert_eq!(
        after.threads,
        before.threads + 1,
        "{HELD} held connections and one joiner must cost one thread (the joiner's)"
    );
    let cap = (MAX_PENDING_HELLOS + usize::from(max_players) + OPEN_CONNECTION_SLACK) as i64;
    assert!(
        host_fds <= cap,
        "the host holds {host_fds} descriptors, more than its cap of {cap}"
    );
}
