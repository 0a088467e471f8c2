//! A stranger on the LAN attacks browsers and hosts, with real sockets and
//! real mDNS, each test inside a network namespace it creates (only `lo`):
//! forged pongs must not move a lobby, 250 fake lobbies pointing at a victim
//! must not turn a browser into a ping cannon, strings from the network
//! reach the list cleaned, impossible seat counts are incompatible with the
//! reason, a removal names the lobby, and a TXT update during probing keeps
//! the lobby's name.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::isolated::run_body_in_own_namespace;
use common::wait_for;
use mdns_sd::{DaemonEvent, ServiceInfo};
use nearplay_matchmaker::PROTOCOL_VERSION;
use nearplay_matchmaker::lan::liveness::{PING_LEN, answer_ping};
use nearplay_matchmaker::lan::text::is_printable;
use nearplay_matchmaker::lan::{
    BrowseEvent, Discovery, DiscoveryConfig, Interfaces, LobbyInfo, LobbyTxt, SERVICE_TYPE,
};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::HostConfig;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};

const GAME: &str = "nearplay-test";
const VERSION: &str = "1.0.0";
const LIMIT: Duration = Duration::from_secs(120);

/// TXT pairs of a compatible-looking lobby.
fn txt_pairs() -> Vec<(String, String)> {
    let config = HostConfig::new("x", "x", GAME, VERSION);
    LobbyTxt::for_host(&config, 1, &[])
        .to_pairs()
        .expect("valid TXT")
}

/// Registers a lobby record that points at `ips` and `port` (a stranger's
/// record: any addresses it likes).
fn fake_lobby(d: &Discovery, name: &str, host: &str, ips: &str, port: u16) {
    fake_lobby_with(d, name, host, ips, port, &txt_pairs());
}

fn fake_lobby_with(
    d: &Discovery,
    name: &str,
    host: &str,
    ips: &str,
    port: u16,
    pairs: &[(String, String)],
) -> String {
    let mut info =
        ServiceInfo::new(SERVICE_TYPE, name, host, ips, port, pairs).expect("service info");
    info.set_requires_probe(false);
    let fullname = info.get_fullname().to_string();
    // The daemon's command queue is bounded: wait for room (backpressure).
    wait_for("room to register", Duration::from_secs(10), || {
        match d.daemon().register(info.clone()) {
            Err(mdns_sd::Error::Again) => None,
            other => other.map(Some).expect("register fake lobby"),
        }
    });
    fullname
}

/// A UDP socket on 127.0.0.1 that answers pings until `stop`, as a host.
fn ping_responder(stop: Arc<AtomicBool>) -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("responder");
    let port = sock.local_addr().expect("addr").port();
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = sock.recv_from(&mut buf)
                && let Some(pong) = buf.get(..n).and_then(answer_ping)
            {
                let _ = sock.send_to(&pong, from);
            }
        }
    });
    port
}

/// Pings that reach `victim` in each second of `window`, by sending socket.
fn count_pings(victim: &UdpSocket, window: Duration) -> Vec<BTreeMap<SocketAddr, u32>> {
    victim
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let start = Instant::now();
    let seconds = window.as_secs() as usize;
    let mut per_second = vec![BTreeMap::new(); seconds];
    let mut buf = [0u8; 64];
    while start.elapsed() < window {
        if let Ok((n, from)) = victim.recv_from(&mut buf)
            && n == PING_LEN
            && let Some(slot) = per_second.get_mut(start.elapsed().as_secs() as usize)
        {
            *slot.entry(from).or_insert(0) += 1;
        }
    }
    per_second
}

#[test]
fn ping_budget_under_250_fake_lobbies() {
    if !run_body_in_own_namespace("ping_budget_under_250_fake_lobbies", LIMIT) {
        return;
    }
    // The per-address cap alone would list 16 of these fakes: lift it, so
    // the ping budget is what is measured.
    let mut config = DiscoveryConfig {
        interfaces: Interfaces::LoopbackOnly,
        ..DiscoveryConfig::default()
    };
    config.liveness.max_lobbies_per_address = 250;
    let d = Discovery::with_config(config).expect("mDNS on lo");
    // One victim socket; the records name four of its addresses each.
    let victim = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("victim");
    let port = victim.local_addr().expect("addr").port();
    let ips = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4";
    for i in 0..250 {
        fake_lobby(&d, &format!("fake {i}"), "victim.local.", ips, port);
    }
    let mut browser = d.browse(GAME, VERSION).expect("browse");
    wait_for("250 fake lobbies listed", Duration::from_secs(30), || {
        (browser.lobbies().len() >= 250).then_some(())
    });
    // Pings sent while the list filled wait in the victim's buffer: they
    // belong to no second counted below (the hub resolving more slowly must
    // not make them look like a burst).
    victim.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 64];
    let queued = std::iter::from_fn(|| victim.recv_from(&mut buf).ok()).count();
    victim.set_nonblocking(false).expect("blocking");
    let seconds = count_pings(&victim, Duration::from_secs(6));
    let per_second: Vec<u32> = seconds.iter().map(|s| s.values().sum()).collect();
    let browsers: Vec<usize> = seconds.iter().map(|s| s.len()).collect();
    println!(
        "FIGURE pings/s to one victim from one browser, 250 fake lobbies x 4 addrs: {per_second:?} (sending sockets per second {browsers:?}; {queued} sent while the list filled)"
    );
    // The default budget is 16 a second; the first second may spend one
    // saved second more.
    for (second, count) in per_second.iter().enumerate() {
        assert!(*count <= 32, "second {second}: {count} pings to the victim");
    }
}

/// Real pings the live lobby answers while the attacker sprays: what an
/// 8 s window at the default 1 s ping interval saw.
const ANSWERED_UNDER_ATTACK: u32 = 8;

/// The forged pongs' test: the browser pings four times as often as by
/// default (the check of a pong does not depend on the interval), so the
/// same number of real pings is answered under attack in a quarter of the
/// time.
const ATTACKED_PING_INTERVAL: Duration = Duration::from_millis(250);

#[test]
fn forged_pongs_do_not_move_a_lobby() {
    if !run_body_in_own_namespace("forged_pongs_do_not_move_a_lobby", LIMIT) {
        return;
    }
    let mut config = DiscoveryConfig {
        interfaces: Interfaces::LoopbackOnly,
        ..DiscoveryConfig::default()
    };
    config.liveness.interval = ATTACKED_PING_INTERVAL;
    let d = Discovery::with_config(config).expect("mDNS on lo");
    let mut config = HostConfig::new("Real", "Hosty", GAME, VERSION);
    config.game_port = 9;
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        discovery: Some(d.clone()),
        txt_extras: vec![],
    };
    let host = LobbyHost::open(config, options).expect("open lobby");
    let real = host.local_addr();
    // The stranger: a bait lobby at its own address learns the browser's
    // pong socket and nonces from the pings it gets, and sprays pongs with
    // nearby nonces from its address.
    let attacker = UdpSocket::bind("127.0.0.2:0").expect("attacker");
    let attacker_addr = attacker.local_addr().expect("addr");
    fake_lobby(&d, "Bait", "bait.local.", "127.0.0.2", attacker_addr.port());
    let stop = Arc::new(AtomicBool::new(false));
    let sprayer = {
        let stop = stop.clone();
        std::thread::spawn(move || spray_forged_pongs(&attacker, &stop))
    };
    let mut browser = d.browse(GAME, VERSION).expect("browse");
    let mut updates = 0u32;
    let mut moved = 0u32;
    let mut rtts = 0u32;
    let deadline = Instant::now() + Duration::from_secs(30);
    while rtts < ANSWERED_UNDER_ATTACK {
        assert!(
            Instant::now() < deadline,
            "the real lobby answered {rtts} pings in 30 s ({updates} list updates)"
        );
        match browser.poll() {
            Some(BrowseEvent::Added(i) | BrowseEvent::Updated(i)) if i.name == "Real" => {
                updates += 1;
                moved += u32::from(i.addr != real);
                rtts += u32::from(i.rtt.is_some());
            }
            Some(BrowseEvent::Removed { name, .. }) if name == "Real" => {
                panic!("the live lobby was dropped")
            }
            Some(_) => {}
            // Poll interval of a wait that has a deadline (above).
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let forged = sprayer.join().expect("sprayer");
    println!(
        "FIGURE forged pongs: {forged} sent; the live lobby showed the attacker's address in {moved} of {updates} list updates ({rtts} with an RTT)"
    );
    assert!(forged > 0, "the attacker never saw a ping");
    assert!(rtts > 0, "the real lobby never answered");
    assert_eq!(moved, 0, "a forged pong moved the lobby");
}

/// Floods the browser that pinged the bait with pongs for the nonces that
/// follow the last one seen (a counter's next values), 8 every millisecond,
/// so one is always queued when the real lobby's ping goes out; returns how
/// many it sent.
fn spray_forged_pongs(sock: &UdpSocket, stop: &AtomicBool) -> u32 {
    sock.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 64];
    let mut sent = 0;
    let mut target: Option<(SocketAddr, u64)> = None;
    while !stop.load(Ordering::Relaxed) {
        while let Ok((n, browser)) = sock.recv_from(&mut buf) {
            if let Some(ping) = buf.get(..n).filter(|p| p.len() == PING_LEN) {
                let mut nonce = [0u8; 8];
                nonce.copy_from_slice(&ping[5..13]);
                target = Some((browser, u64::from_be_bytes(nonce)));
            }
        }
        if let Some((browser, seen)) = target {
            for k in 1..=8u64 {
                let mut pong = [0u8; PING_LEN];
                pong[..5].copy_from_slice(b"NPPO\x01");
                pong[5..].copy_from_slice(&seen.wrapping_add(k).to_be_bytes());
                if sock.send_to(&pong, browser).is_ok() {
                    sent += 1;
                }
            }
        }
        // Pacing of the attack, not synchronisation.
        std::thread::sleep(Duration::from_millis(1));
    }
    sent
}

fn pairs(entries: &[(&str, &str)]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn shown_strings(l: &LobbyInfo) -> Vec<String> {
    let mut v = vec![
        l.name.clone(),
        l.game_version.clone(),
        l.mode.clone(),
        l.compatibility.to_string(),
    ];
    if let Some(t) = &l.txt {
        v.extend([t.game.clone(), t.game_version.clone(), t.mode.clone()]);
        v.extend(t.extras.iter().flat_map(|(k, x)| [k.clone(), x.clone()]));
    }
    v
}

#[test]
fn network_strings_are_cleaned_bad_seats_are_incompatible_and_removals_name_the_lobby() {
    if !run_body_in_own_namespace(
        "network_strings_are_cleaned_bad_seats_are_incompatible_and_removals_name_the_lobby",
        LIMIT,
    ) {
        return;
    }
    let d = Discovery::new(Interfaces::LoopbackOnly).expect("mDNS on lo");
    let mut browser = d.browse(GAME, VERSION).expect("browse");
    let stop = Arc::new(AtomicBool::new(false));
    let port = ping_responder(stop.clone());
    let proto = PROTOCOL_VERSION.to_string();
    let base = |n: &'static str, max: &'static str| {
        vec![
            ("txtvers", "1"),
            ("proto", proto.as_str()),
            ("game", GAME),
            ("ver", VERSION),
            ("n", n),
            ("max", max),
            ("pw", "0"),
        ]
    };
    let mut dirty = base("1", "4");
    dirty.extend([
        ("mode", "\u{1b}]0;owned\u{7}ffa"),
        ("map", "\u{1b}[31mdunes\r\n"),
    ]);
    let evil = "Evil\u{1b}[2J\u{7}Den";
    let evil_fullname = fake_lobby_with(&d, evil, "evil.local.", "127.0.0.1", port, &pairs(&dirty));
    for (name, n, max) in [
        ("Zero seats", "0", "0"),
        ("Overfull", "9", "4"),
        ("Huge", "2", "17"),
    ] {
        fake_lobby_with(
            &d,
            name,
            "bad.local.",
            "127.0.0.1",
            port,
            &pairs(&base(n, max)),
        );
    }
    let mut seen: BTreeMap<String, LobbyInfo> = BTreeMap::new();
    wait_for("the four lobbies listed", Duration::from_secs(20), || {
        while let Some(BrowseEvent::Added(l) | BrowseEvent::Updated(l)) = browser.poll() {
            seen.insert(l.name.clone(), l);
        }
        (seen.len() >= 4).then_some(())
    });
    for l in seen.values() {
        for s in shown_strings(l) {
            assert!(is_printable(&s), "{:?} reached the list raw in {l:?}", s);
        }
    }
    let clean = seen.get("Evil[2JDen").expect("the dirty lobby, cleaned");
    println!(
        "FIGURE dirty lobby as listed: name {:?} mode {:?} extras {:?}",
        clean.name,
        clean.mode,
        clean.txt.as_ref().map(|t| &t.extras)
    );
    assert_eq!(clean.mode, "]0;ownedffa");
    assert!(
        clean.compatibility.is_compatible(),
        "{}",
        clean.compatibility
    );
    for name in ["Zero seats", "Overfull", "Huge"] {
        let l = seen.get(name).expect("listed");
        assert!(
            !l.compatibility.is_compatible(),
            "{name} listed as compatible"
        );
        let why = l.compatibility.to_string();
        assert!(why.contains("seats"), "{name}: {why}");
        println!("FIGURE {name}: incompatible: {why}");
    }
    // The dirty lobby says goodbye: the removal names it, with the same
    // fields as when it was added.
    let _ = d.daemon().unregister(&evil_fullname);
    let removed = wait_for("the removal", Duration::from_secs(20), || {
        match browser.poll() {
            Some(BrowseEvent::Removed { lobby, .. }) if lobby.name == "Evil[2JDen" => Some(lobby),
            _ => None,
        }
    });
    assert_eq!(removed.addr, SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!((removed.players, removed.max_players), (1, 4));
    assert_eq!(removed.game_version, VERSION);
    stop.store(true, Ordering::Relaxed);
}

#[test]
fn a_txt_update_while_probing_keeps_the_lobby_name() {
    if !run_body_in_own_namespace("a_txt_update_while_probing_keeps_the_lobby_name", LIMIT) {
        return;
    }
    let config = DiscoveryConfig {
        interfaces: Interfaces::LoopbackOnly,
        ..DiscoveryConfig::default()
    };
    assert!(config.probe, "probing is the default");
    let d = Discovery::with_config(config).expect("mDNS on lo");
    let monitor = d.daemon().monitor().expect("monitor");
    let mut browser = d.browse(GAME, VERSION).expect("browse");
    let stop = Arc::new(AtomicBool::new(false));
    let port = ping_responder(stop.clone());
    let host = HostConfig::new("Early", "Hosty", GAME, VERSION);
    let mut ad = d
        .advertise("Early", port, &LobbyTxt::for_host(&host, 1, &[]))
        .expect("advertise");
    // A member joins in the lobby's first second: the TXT changes while
    // mDNS still probes the name.
    assert!(!ad.name_claimed(), "probing takes most of a second");
    ad.update(&LobbyTxt::for_host(&host, 2, &[]))
        .expect("update");
    wait_for("the name claimed", Duration::from_secs(10), || {
        ad.name_claimed().then_some(())
    });
    let listed = wait_for(
        "the lobby with 2 players",
        Duration::from_secs(10),
        || match browser.poll() {
            Some(BrowseEvent::Added(l) | BrowseEvent::Updated(l)) if l.players == 2 => Some(l),
            _ => None,
        },
    );
    let renames: Vec<String> = monitor
        .try_iter()
        .filter_map(|e| match e {
            DaemonEvent::NameChange(c) => Some(format!("{} -> {}", c.original, c.new_name)),
            _ => None,
        })
        .collect();
    println!(
        "FIGURE early update: listed as {:?}, renames {renames:?}",
        listed.name
    );
    assert_eq!(listed.name, "Early");
    assert_eq!(ad.instance_name(), "Early");
    assert!(renames.is_empty(), "renamed: {renames:?}");
    assert!(browser.lobbies().iter().all(|l| l.name == "Early"));
    stop.store(true, Ordering::Relaxed);
}

#[test]
fn a_member_joining_in_the_lobbys_first_second_keeps_its_name() {
    if !run_body_in_own_namespace(
        "a_member_joining_in_the_lobbys_first_second_keeps_its_name",
        LIMIT,
    ) {
        return;
    }
    let d = Discovery::new(Interfaces::LoopbackOnly).expect("mDNS on lo");
    let monitor = d.daemon().monitor().expect("monitor");
    let mut browser = d.browse(GAME, VERSION).expect("browse");
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        discovery: Some(d.clone()),
        txt_extras: vec![],
    };
    let host = LobbyHost::open(
        HostConfig::new("First Second", "Hosty", GAME, VERSION),
        options,
    )
    .expect("open lobby");
    let member = LobbyClient::join(host.local_addr(), JoinConfig::new("Ann", GAME, VERSION, 9));
    wait_for("joined", Duration::from_secs(10), || match member.poll() {
        Some(ClientEvent::Joined { .. }) => Some(()),
        Some(ClientEvent::JoinFailed(e)) => panic!("join failed: {e}"),
        _ => None,
    });
    // The probe of the name ends: mdns-sd reports a rename (the bug), or
    // announces the name for the host ("<host>.local.:<interface>").
    let outcome = wait_for(
        "the end of probing",
        Duration::from_secs(10),
        || match monitor.try_recv().ok()? {
            DaemonEvent::NameChange(c) if c.original.starts_with("First Second") => {
                Some(format!("renamed {} -> {}", c.original, c.new_name))
            }
            DaemonEvent::Announce(name, via)
                if name.starts_with("First Second") && via.contains(".local.:") =>
            {
                Some(format!("announced {name}"))
            }
            _ => None,
        },
    );
    println!("FIGURE member joined during probing: {outcome}");
    assert!(outcome.starts_with("announced First Second._"), "{outcome}");
    // The lobby is found by its name, with both players.
    let listed = wait_for(
        "listed with 2 players",
        Duration::from_secs(10),
        || match browser.poll() {
            Some(BrowseEvent::Added(l) | BrowseEvent::Updated(l)) if l.players == 2 => Some(l),
            _ => None,
        },
    );
    println!(
        "FIGURE member joined during probing: listed as {:?}",
        listed.name
    );
    assert_eq!(listed.name, "First Second");
    assert_eq!(host.instance_name().as_deref(), Some("First Second"));
    assert!(browser.lobbies().iter().all(|l| l.name == "First Second"));
}
