//! The liveness table against a stranger on the LAN, with a fake clock:
//! forged pongs, ping reflection through fake lobbies, back-off of silence.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nearplay_matchmaker::lan::LobbyTxt;
use nearplay_matchmaker::lan::liveness::{
    LivenessConfig, LivenessTable, LobbyRecord, PING_LEN, TableEvent, answer_ping, decode_pong,
};
use nearplay_matchmaker::lan::ping::{ping_wire_bytes, record_wire_cost};

fn txt() -> LobbyTxt {
    LobbyTxt {
        proto: 1,
        game: "arena".into(),
        game_version: "0.3.1".into(),
        players: 1,
        max_players: 4,
        password: false,
        mode: "ffa".into(),
        extras: vec![],
    }
}

fn record(name: &str, addrs: &[&str]) -> LobbyRecord {
    let addrs: Vec<SocketAddr> = addrs.iter().map(|a| a.parse().expect("addr")).collect();
    LobbyRecord {
        fullname: format!("{name}._nearplay._udp.local."),
        name: name.into(),
        port: addrs.first().map_or(0, |a| a.port()),
        addrs,
        txt: Ok(txt()),
        rtt: None,
        alive_addr: None,
    }
}

fn table() -> LivenessTable {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).expect("os rng");
    LivenessTable::new(LivenessConfig::default(), key)
}

fn drain(t: &mut LivenessTable) -> Vec<TableEvent> {
    std::iter::from_fn(|| t.poll_event()).collect()
}

fn pings(t: &mut LivenessTable) -> Vec<(SocketAddr, [u8; PING_LEN])> {
    std::iter::from_fn(|| t.poll_ping()).collect()
}

fn nonce(ping: &[u8; PING_LEN]) -> u64 {
    decode_pong(&answer_ping(ping).expect("a valid ping")).expect("a valid pong")
}

/// Advances the table to its next timer; `None` if it has none before `end`.
fn step(t: &mut LivenessTable, end: Instant) -> Option<Instant> {
    let now = t.poll_timeout().filter(|at| *at < end)?;
    t.handle_timeout(now);
    Some(now)
}

#[test]
fn forged_pongs_from_another_address_change_nothing() {
    let t0 = Instant::now();
    let mut t = table();
    t.set_active(t0, true);
    t.handle_resolved(t0, record("Real", &["192.168.1.7:7000"]));
    drain(&mut t);
    t.handle_timeout(t0);
    let [(to, ping)] = pings(&mut t).try_into().expect("one ping");
    let attacker: SocketAddr = "192.168.1.66:7000".parse().expect("addr");
    // The stranger knows the nonce (it guessed or sniffed it): still not
    // from the address pinged, so nothing changes.
    t.handle_pong(t0 + Duration::from_millis(1), attacker, nonce(&ping));
    assert!(drain(&mut t).is_empty(), "a forged pong counted");
    // The real answer counts, and names the address mDNS resolved.
    t.handle_pong(t0 + Duration::from_millis(2), to, nonce(&ping));
    match drain(&mut t).as_slice() {
        [TableEvent::Up(r)] => assert_eq!(r.alive_addr, Some(to)),
        other => panic!("{other:?}"),
    }
    // The host dies; the stranger answers every ping with its right nonce
    // from its own address: the lobby still goes, and never moves.
    let end = t0 + Duration::from_secs(10);
    let mut gone = None;
    while let Some(now) = step(&mut t, end) {
        for (_, ping) in pings(&mut t) {
            t.handle_pong(now, attacker, nonce(&ping));
        }
        for e in drain(&mut t) {
            match e {
                TableEvent::Up(r) => panic!("forged pong listed the lobby: {r:?}"),
                TableEvent::Down(r) => {
                    assert_eq!(r.alive_addr, Some(to));
                    gone = Some(now);
                }
            }
        }
        if gone.is_some() {
            break;
        }
    }
    let gone = gone.expect("the dead lobby left the list");
    assert!(gone - t0 <= Duration::from_secs(3), "{:?}", gone - t0);
}

#[test]
fn nonces_are_random_per_ping() {
    let t0 = Instant::now();
    let mut t = table();
    t.set_active(t0, true);
    for (name, addr) in [
        ("A", "10.0.0.1:7000"),
        ("B", "10.0.0.2:7000"),
        ("C", "10.0.0.3:7000"),
    ] {
        t.handle_resolved(t0, record(name, &[addr]));
    }
    t.handle_timeout(t0);
    let nonces: Vec<u64> = pings(&mut t).iter().map(|(_, p)| nonce(p)).collect();
    assert_eq!(nonces.len(), 3);
    for pair in nonces.windows(2) {
        let [a, b] = pair else { continue };
        assert!(
            a.abs_diff(*b) > 1 << 20,
            "nonces follow a counter: {nonces:?}"
        );
    }
    // A pong with a nonce never sent does nothing.
    let to: SocketAddr = "10.0.0.3:7000".parse().expect("addr");
    let unsent = nonces.iter().fold(0u64, |a, n| a ^ n) ^ 1;
    t.handle_pong(t0, to, unsent);
    assert!(
        drain(&mut t)
            .iter()
            .all(|e| !matches!(e, TableEvent::Up(r) if r.rtt.is_some()))
    );
}

#[test]
fn ping_budget_under_250_fake_lobbies() {
    let t0 = Instant::now();
    let config = LivenessConfig::default();
    let mut t = table();
    t.set_active(t0, true);
    // 250 fake lobbies point at one victim machine, four addresses each
    // (one port per lobby, to tell them apart); one real lobby answers,
    // named to sort last (the worst place in a queue).
    let victim = |i: u16, k: u8| format!("10.0.0.{}:{}", 66 + k, 20000 + i);
    let mut cost = BTreeMap::new();
    for i in 0..250u16 {
        let addrs: Vec<String> = (0..4).map(|k| victim(i, k)).collect();
        let refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
        let r = record(&format!("fake {i}"), &refs);
        cost.insert(20000 + i, record_wire_cost(&r));
        t.handle_resolved(t0, r);
    }
    let real = record("zz Real", &["192.168.1.7:7000"]);
    let real_addr = real.addrs[0];
    t.handle_resolved(t0, real);
    drain(&mut t);

    let end = t0 + Duration::from_secs(600);
    let mut per_second: BTreeMap<u64, u32> = BTreeMap::new();
    let mut bytes_by_fake: BTreeMap<u16, usize> = BTreeMap::new();
    let mut hidden_at: BTreeMap<String, Instant> = BTreeMap::new();
    let mut real_listed_with_rtt = None;
    while let Some(now) = step(&mut t, end) {
        for (to, ping) in pings(&mut t) {
            if to == real_addr {
                t.handle_pong(now, to, nonce(&ping));
                continue;
            }
            *per_second.entry((now - t0).as_secs()).or_default() += 1;
            *bytes_by_fake.entry(to.port()).or_default() += ping_wire_bytes(&to);
            let name = format!("fake {}", to.port() - 20000);
            assert!(
                !hidden_at.contains_key(&name),
                "{name} pinged after it was hidden"
            );
        }
        for e in drain(&mut t) {
            match e {
                TableEvent::Down(r) if r.name.starts_with("fake") => {
                    hidden_at.insert(r.name, now);
                }
                TableEvent::Down(r) => panic!("the real lobby was dropped: {r:?}"),
                TableEvent::Up(r) if r.name == "zz Real" && r.rtt.is_some() => {
                    real_listed_with_rtt.get_or_insert(now);
                }
                TableEvent::Up(_) => {}
            }
        }
    }
    let budget = config.pings_per_sec;
    let busiest = per_second.values().max().copied().unwrap_or(0);
    let total: u32 = per_second.values().sum();
    println!(
        "FIGURE pure table, 250 fake lobbies x 4 addrs: busiest second {busiest} pings to the victim, {total} in 600 s, last at second {:?}",
        per_second.keys().last()
    );
    // The first second may spend a saved second of budget too.
    assert!(busiest <= 2 * budget, "{busiest} pings in one second");
    for (s, n) in &per_second {
        assert!(*s == 0 || *n <= budget, "second {s}: {n} pings");
    }
    for (port, bytes) in &bytes_by_fake {
        let paid = cost.get(port).copied().unwrap_or(0);
        assert!(
            *bytes * 100 <= paid * 50,
            "fake on port {port}: {bytes} bytes of pings for a {paid}-byte record"
        );
    }
    assert_eq!(hidden_at.len(), 250, "every silent fake left the list");
    // One ping per lobby in turn: the real one is reached within one pass.
    let seen = real_listed_with_rtt.expect("the real lobby answered among the fakes");
    let pass = Duration::from_secs(251 / u64::from(budget) + 2);
    assert!(seen - t0 <= pass, "{:?}", seen - t0);
    // mDNS resolves a fake anew (its sender pays again): pinged again, once
    // more within the new allowance.
    let later = end;
    t.handle_resolved(later, record("fake 7", &[&victim(7, 0)]));
    t.handle_timeout(later);
    let again: Vec<_> = pings(&mut t)
        .into_iter()
        .filter(|(to, _)| to.port() == 20007)
        .collect();
    assert_eq!(again.len(), 1, "{again:?}");
}

#[test]
fn silence_backs_off_exponentially() {
    let t0 = Instant::now();
    let config = LivenessConfig::default();
    let mut t = table();
    t.set_active(t0, true);
    t.handle_resolved(t0, record("Host", &["192.168.1.7:7000"]));
    t.handle_timeout(t0);
    let [(to, ping)] = pings(&mut t).try_into().expect("one ping");
    t.handle_pong(t0, to, nonce(&ping));
    // The host falls silent for ten minutes.
    let end = t0 + Duration::from_secs(600);
    let mut sent_at = vec![t0];
    while let Some(now) = step(&mut t, end) {
        sent_at.extend(pings(&mut t).iter().map(|_| now));
    }
    let gaps: Vec<u64> = sent_at
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs())
        .collect();
    println!("FIGURE gaps between pings to a silent host (s): {gaps:?}");
    assert_eq!(
        gaps.get(..8),
        Some(&[1, 1, 2, 4, 8, 16, 32, 64][..]),
        "{gaps:?}"
    );
    let cap = config.max_backoff.as_secs();
    assert!(gaps.iter().all(|g| *g <= cap), "{gaps:?}");
    // It answers again: back to one ping a second.
    let now = t.poll_timeout().expect("still pinged");
    t.handle_timeout(now);
    let [(to, ping)] = pings(&mut t).try_into().expect("one ping");
    t.handle_pong(now, to, nonce(&ping));
    assert_eq!(t.poll_timeout(), Some(now + config.interval));
}

#[test]
fn an_ipv6_pong_counts_whatever_its_flow_label_but_not_from_another_link() {
    use std::net::SocketAddrV6;
    let t0 = Instant::now();
    let mut t = table();
    t.set_active(t0, true);
    let pinged = SocketAddrV6::new("fe80::7".parse().expect("ip"), 7000, 0, 2);
    let mut r = record("Six", &[]);
    r.addrs = vec![SocketAddr::V6(pinged)];
    t.handle_resolved(t0, r);
    drain(&mut t);
    t.handle_timeout(t0);
    let [(to, ping)] = pings(&mut t).try_into().expect("one ping");
    assert_eq!(to, SocketAddr::V6(pinged));
    let other_link = SocketAddrV6::new(*pinged.ip(), 7000, 0, 3);
    t.handle_pong(t0, SocketAddr::V6(other_link), nonce(&ping));
    assert!(drain(&mut t).is_empty(), "a pong from another link counted");
    // Linux sets IPv6 flow labels by default: the source carries one.
    let labelled = SocketAddrV6::new(*pinged.ip(), 7000, 0x5_1234, 2);
    t.handle_pong(t0, SocketAddr::V6(labelled), nonce(&ping));
    match drain(&mut t).as_slice() {
        [TableEvent::Up(r)] => assert_eq!(r.alive_addr, Some(SocketAddr::V6(pinged))),
        other => panic!("{other:?}"),
    }
}
