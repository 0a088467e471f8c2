//! The lobby host's shell against hostile peers on loopback: one address's
//! silent connections, a member that stops reading, and `start()` while a
//! member stalls. Attackers connect from 127.0.0.2.. (loopback on Linux),
//! real joiners from 127.0.0.1.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::hostile::{ChurningAttacker, RawMember, attacker_ip, connect_from};
use common::wait_for;
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::{HostConfig, HostEvent, LeaveReason, MAX_PENDING_HELLOS};
use nearplay_matchmaker::lobby::secure::limits::Rate;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};

const GAME: &str = "hostile-test";
const LIMIT: Duration = Duration::from_secs(10);

fn open(config: HostConfig) -> LobbyHost {
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..HostOptions::default()
    };
    LobbyHost::open(config, options).expect("open lobby")
}

fn joined(addr: SocketAddr, name: &str) -> LobbyClient {
    let c = LobbyClient::join(addr, JoinConfig::new(name, GAME, "1", 1));
    wait_for("a welcome", LIMIT, || match c.poll() {
        Some(ClientEvent::Joined { .. }) => Some(()),
        Some(ClientEvent::JoinFailed(e)) => panic!("{name} could not join: {e}"),
        _ => None,
    });
    c
}

#[test]
fn silent_connections_from_one_address_do_not_lock_out_another() {
    let mut config = HostConfig::new("silent", "Hosty", GAME, "1");
    // Long enough that no silent connection times out during the test.
    config.timeouts.hello = Duration::from_secs(60);
    let host = open(config);
    let silent: Vec<_> = (0..40)
        .map(|_| connect_from(attacker_ip(0), host.local_addr()).expect("connect"))
        .collect();
    let t = Instant::now();
    let _real = joined(host.local_addr(), "Real");
    println!(
        "joined in {:?} beside {} silent connections from one address",
        t.elapsed(),
        silent.len()
    );
}

/// Opens a lobby (locked with `password`, if any), lets 40 attacker
/// addresses keep its pending table full, and joins once from 127.0.0.1.
fn join_through_churn(password: Option<&str>) -> LobbyHost {
    use std::sync::atomic::Ordering::Relaxed;
    let mut config = HostConfig::new("churn", "Hosty", GAME, "1");
    config.password = password.map(String::from);
    // No silent connection times out: only admission frees a slot.
    config.timeouts.hello = Duration::from_secs(60);
    let host = open(config);
    // One connection per address (so no address is heavier than another),
    // more than the pending table holds, each reopened as soon as closed.
    let attacker = ChurningAttacker::start(host.local_addr(), 40);
    wait_for("the attacker to fill the pending table", LIMIT, || {
        (attacker.greeted.load(Relaxed) >= MAX_PENDING_HELLOS).then_some(())
    });
    // One attempt, as a player's game makes: before the fix its
    // connection was evicted before its offer was read (about 1 attempt
    // in 50 got in).
    let t = Instant::now();
    let mut join = JoinConfig::new("Real", GAME, "1", 1);
    join.password = password.map(String::from);
    let c = LobbyClient::join(host.local_addr(), join);
    wait_for("the real joiner's welcome", LIMIT, || match c.poll() {
        Some(ClientEvent::Joined { .. }) => Some(()),
        Some(ClientEvent::JoinFailed(e)) => panic!("the real joiner was shut out: {e}"),
        _ => None,
    });
    println!(
        "joined in {:?} while 40 attacker addresses churned ({} connections reopened)",
        t.elapsed(),
        attacker.reopened.load(Relaxed),
    );
    host
}

#[test]
fn a_joiner_gets_in_while_forty_addresses_keep_the_pending_table_full() {
    join_through_churn(None);
}

#[test]
fn in_a_locked_lobby_the_churn_costs_the_joiner_no_failed_guess() {
    let host = join_through_churn(Some("hunter2"));
    while let Some(ev) = host.poll() {
        assert!(
            !matches!(ev, HostEvent::GuessFailed { .. }),
            "an eviction was charged as a failed guess: {ev:?}"
        );
    }
}

/// The latency of each marker line from `a` to `b` while `host` chats
/// `per_marker` long lines before each, until `until` says stop.
fn chat_latencies(
    host: &LobbyHost,
    a: &LobbyClient,
    b: &LobbyClient,
    per_marker: usize,
    mut until: impl FnMut(&HostEvent) -> bool,
) -> Vec<Duration> {
    let long = "x".repeat(200);
    let mut latencies = Vec::new();
    let mut stop = false;
    for i in 0.. {
        if stop && i >= 20 {
            break;
        }
        for _ in 0..per_marker {
            host.chat(&long);
        }
        let marker = format!("marker {i}");
        let sent = Instant::now();
        a.chat(&marker);
        wait_for("a marker line at B", Duration::from_secs(2), || {
            while let Some(ev) = host.poll() {
                stop |= until(&ev);
            }
            while a.poll().is_some() {}
            loop {
                match b.poll()? {
                    ClientEvent::Chat { text, .. } if text == marker => return Some(()),
                    ClientEvent::LobbyClosed(r) => panic!("B was dropped: {r:?}"),
                    _ => {}
                }
            }
        });
        latencies.push(sent.elapsed());
        assert!(i < 2000, "the stalled member was never dropped");
    }
    latencies
}

#[test]
fn a_member_that_stops_reading_is_dropped_and_chat_still_flows() {
    let mut config = HostConfig::new("stall", "Hosty", GAME, "1");
    // This test loads the shell's write queues, not the per-member chat limit
    // (tested in channel.rs): A's markers must all pass it.
    config.chat_rate = Rate {
        burst: 1_000,
        per: Duration::from_millis(1),
    };
    let host = open(config);
    let a = joined(host.local_addr(), "A");
    let b = joined(host.local_addr(), "B");
    let quiet = chat_latencies(&host, &a, &b, 0, |_| true);

    let mut s = RawMember::join(
        attacker_ip(0),
        host.local_addr(),
        JoinConfig::new("S", GAME, "1", 1),
        LIMIT,
    )
    .expect("S joins");
    let s_id = s.id;
    // S keeps talking (so it is not idle) and never reads.
    let talker = std::thread::spawn(move || {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) && s.chat("still here").is_ok() {
            // The talker's pace (4 lines a second), not synchronisation.
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    let t = Instant::now();
    let mut dropped = None;
    let loaded = chat_latencies(&host, &a, &b, 10, |ev| match ev {
        HostEvent::MemberLeft { id, reason, .. } if *id == s_id => {
            dropped = Some((t.elapsed(), reason.clone()));
            true
        }
        _ => false,
    });
    let (after, reason) = dropped.expect("S left");
    let max = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    println!(
        "chat A -> B: quiet median {:?} max {:?}; while S stalls ({} markers) median {:?} max {:?}; S dropped after {after:?}: {reason:?}",
        median(&quiet),
        max(&quiet),
        loaded.len(),
        median(&loaded),
        max(&loaded)
    );
    assert_eq!(reason, LeaveReason::TooSlow);
    assert!(after < LIMIT, "S was dropped only after {after:?}");
    talker.join().expect("S's thread");
}

#[test]
fn start_answers_at_once_and_matches_what_happens_while_a_member_stalls() {
    let host = open(HostConfig::new("start", "Hosty", GAME, "1"));
    let mut s = RawMember::join(
        attacker_ip(1),
        host.local_addr(),
        JoinConfig::new("S", GAME, "1", 1),
        LIMIT,
    )
    .expect("S joins");
    s.set_ready(true).expect("ready");
    wait_for("S ready", LIMIT, || {
        host.roster().iter().all(|m| m.ready).then_some(())
    });
    // About 10 MB for S, which never reads: more than the largest socket
    // buffers Linux grants by default (4 MiB to send, 6 MiB to receive).
    let long = "x".repeat(250);
    for _ in 0..40_000 {
        host.chat(&long);
    }
    let plan = host
        .start()
        .expect("everyone left is ready: the match starts");
    let started = wait_for("the Started event", LIMIT, || {
        loop {
            if let HostEvent::Started(p) = host.poll()? {
                return Some(p);
            }
        }
    });
    assert_eq!(started, plan);
    assert!(host.start().is_err(), "a second start must not start again");
    drop(s);
}

#[test]
fn the_lobby_port_answers_pings_while_silent_connections_are_held() {
    use nearplay_matchmaker::lan::liveness::{decode_pong, encode_ping};
    let host = open(HostConfig::new("ping", "Hosty", GAME, "1"));
    let _silent: Vec<_> = (0..8)
        .map(|_| connect_from(attacker_ip(0), host.local_addr()).expect("connect"))
        .collect();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    udp.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    // UDP may drop a datagram: ask again until a pong, within the deadline.
    let nonce = wait_for("a pong", LIMIT, || {
        udp.send_to(&encode_ping(7), host.local_addr()).ok()?;
        let (n, _) = udp.recv_from(&mut buf).ok()?;
        decode_pong(buf.get(..n)?)
    });
    assert_eq!(nonce, 7);
}
