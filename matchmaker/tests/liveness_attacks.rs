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
        stage: Default::default(),
        vacant: vec![],
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
    table_with(LivenessConfig::default())
}

fn table_with(config: LivenessConfig) -> LivenessTable {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).expect("os rng");
    LivenessTable::new(config, key)
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
    // The per-address cap alone would hold 16 of these fakes: lift it, so
    // the ping budget and allowances are what is measured.
    let config = LivenessConfig {
        max_lobbies_per_address: 250,
        ..LivenessConfig::default()
    };
    let mut t = table_with(config);
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

/// Runs the table to `end`, answering every ping to an address in `answers`
/// at once; applies the events to `list`. The fake clock never goes back
/// (`poll_timeout` may name a time already past: "now").
fn run_answering(
    t: &mut LivenessTable,
    start: Instant,
    end: Instant,
    answers: &dyn Fn(SocketAddr) -> bool,
    list: &mut BTreeMap<String, LobbyRecord>,
) {
    let mut now = start;
    for _ in 0..1_000_000 {
        let Some(at) = t.poll_timeout().filter(|at| *at < end) else {
            return;
        };
        now = now.max(at);
        t.handle_timeout(now);
        for (to, ping) in pings(t) {
            if answers(to) {
                t.handle_pong(now, to, nonce(&ping));
            }
        }
        mirror(t, list);
    }
    panic!("the table's timers never reached {end:?}");
}

/// Applies the table's events to a list, as `LobbyBrowser` does.
fn mirror(t: &mut LivenessTable, list: &mut BTreeMap<String, LobbyRecord>) {
    for e in drain(t) {
        match e {
            TableEvent::Up(r) => list.insert(r.name.clone(), r),
            TableEvent::Down(r) => list.remove(&r.name),
        };
    }
}

#[test]
fn answered_fakes_at_one_address_do_not_hide_a_real_lobby() {
    let t0 = Instant::now();
    let mut t = table();
    t.set_active(t0, true);
    // A stranger announces 600 lobbies at one UDP port it owns and echoes
    // every ping.
    let fake: SocketAddr = "192.168.1.66:7777".parse().expect("addr");
    for i in 0..600 {
        t.handle_resolved(t0, record(&format!("fake {i}"), &["192.168.1.66:7777"]));
    }
    let mut list = BTreeMap::new();
    let t1 = t0 + Duration::from_secs(60);
    run_answering(&mut t, t0, t1, &|to| to == fake, &mut list);
    // A real lobby appears at another address: listed, and stays.
    let real: SocketAddr = "192.168.1.7:7000".parse().expect("addr");
    t.handle_resolved(t1, record("Real", &["192.168.1.7:7000"]));
    let end = t1 + Duration::from_secs(60);
    run_answering(&mut t, t1, end, &|to| to == fake || to == real, &mut list);
    assert!(
        t.visible().any(|r| r.name == "Real"),
        "the real lobby is hidden"
    );
    assert!(
        list.get("Real").is_some_and(|r| r.rtt.is_some()),
        "{list:?}"
    );
    let fakes = t.visible().filter(|r| r.name.starts_with("fake")).count();
    println!(
        "FIGURE 600 answered fakes at one address: {fakes} listed, {} refused; the real lobby listed",
        t.dropped_records()
    );
    assert_eq!(fakes, LivenessConfig::default().max_lobbies_per_address);
}

#[test]
fn a_full_table_evicts_from_the_most_crowded_address() {
    let t0 = Instant::now();
    let config = LivenessConfig::default();
    let mut t = table();
    t.set_active(t0, true);
    // 40 addresses the stranger owns, 16 answered lobbies each: 640 records
    // for a table of 512.
    let owned = |i: usize| format!("10.9.0.{}:7777", 1 + i % 40);
    let is_owned = |to: SocketAddr| to.ip().to_string().starts_with("10.9.0.");
    let announce = |t: &mut LivenessTable, now| {
        for i in 0..640 {
            t.handle_resolved(now, record(&format!("fake {i}"), &[&owned(i)]));
        }
    };
    announce(&mut t, t0);
    let mut list = BTreeMap::new();
    let t1 = t0 + Duration::from_secs(30);
    run_answering(&mut t, t0, t1, &is_owned, &mut list);
    assert_eq!(t.visible().count(), config.max_lobbies);
    // A real lobby appears: a fake at a crowded address makes room.
    let real: SocketAddr = "192.168.1.7:7000".parse().expect("addr");
    t.handle_resolved(t1, record("Real", &["192.168.1.7:7000"]));
    mirror(&mut t, &mut list);
    assert!(list.contains_key("Real"), "the real lobby was dropped");
    // The stranger announces everything again, twice: the real lobby stays.
    let answers = |to| is_owned(to) || to == real;
    let mut now = t1;
    for _ in 0..2 {
        announce(&mut t, now);
        run_answering(
            &mut t,
            now,
            now + Duration::from_secs(30),
            &answers,
            &mut list,
        );
        now += Duration::from_secs(30);
        assert!(t.visible().any(|r| r.name == "Real"), "the real lobby left");
    }
    // The browser's list follows the table: nothing evicted stays listed.
    let visible: Vec<&String> = t.visible().map(|r| &r.name).collect();
    assert_eq!(list.keys().collect::<Vec<_>>(), visible);
    assert!(list.len() <= config.max_lobbies);
    assert!(list.get("Real").is_some_and(|r| r.rtt.is_some()));
}

#[test]
fn each_address_holds_at_most_the_cap() {
    let t0 = Instant::now();
    let cap = LivenessConfig::default().max_lobbies_per_address;
    let mut t = table();
    t.set_active(t0, true);
    // Each fake lists a decoy address of its own next to the stranger's:
    // it counts against both.
    for i in 0..600u32 {
        let decoy = format!("172.16.{}.{}:7777", i / 250, 1 + i % 250);
        let r = record(&format!("fake {i}"), &[&decoy, "192.168.1.66:7777"]);
        t.handle_resolved(t0, r);
    }
    // IPv6 counts the whole address: two hosts of one /64 hold 16 each.
    for i in 0..40 {
        t.handle_resolved(t0, record(&format!("six a {i}"), &["[fd00::a]:7000"]));
        t.handle_resolved(t0, record(&format!("six b {i}"), &["[fd00::b]:7000"]));
    }
    let count = |t: &LivenessTable, prefix: &str| {
        t.visible().filter(|r| r.name.starts_with(prefix)).count()
    };
    assert_eq!(count(&t, "fake"), cap);
    assert_eq!(count(&t, "six a"), cap);
    assert_eq!(count(&t, "six b"), cap);
    assert_eq!(t.dropped_records(), 600 + 80 - 3 * cap as u64);
    // An update cannot move a lobby onto a full address.
    t.handle_resolved(t0, record("Mover", &["192.168.1.9:7000"]));
    drain(&mut t);
    t.handle_resolved(t0, record("Mover", &["[fd00::a]:7000"]));
    assert!(matches!(drain(&mut t).as_slice(), [TableEvent::Down(r)] if r.name == "Mover"));
    // The fakes fall silent and are hidden: new records there fit again.
    let mut list = BTreeMap::new();
    run_answering(
        &mut t,
        t0,
        t0 + Duration::from_secs(600),
        &|_| false,
        &mut list,
    );
    assert_eq!(t.visible().count(), 0);
    let end = t0 + Duration::from_secs(600);
    t.handle_resolved(end, record("Back", &["192.168.1.66:7777"]));
    assert_eq!(count(&t, "Back"), 1);
}
