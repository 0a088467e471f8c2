//! Lobby names claimed ahead (`Discovery::claim_name`, issue 15): the claim
//! is probed and announced like a lobby but never listed (its TXT holds only
//! `lan::claim_ahead::CLAIM_KEY`); a lobby opened under the claimed name
//! takes it over without a second probe (it is the first thing a browser
//! lists under that name, with the lobby's own port and TXT); names stay
//! unique and come back when a claim is dropped; and a claim record a
//! stranger sends for a listed lobby's name does not hide that lobby. Real
//! mDNS, each test inside a network namespace it creates (only `lo`).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::isolated::run_body_in_own_namespace;
use common::wait_for;
use mdns_sd::{DaemonEvent, ServiceInfo};
use nearplay_matchmaker::lan::claim_ahead::CLAIM_KEY;
use nearplay_matchmaker::lan::{BrowseEvent, Discovery, Interfaces, LobbyTxt, SERVICE_TYPE};
use nearplay_matchmaker::lobby::host::HostConfig;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyHost};

const GAME: &str = "nearplay-test";
const VERSION: &str = "1.0.0";
const LIMIT: Duration = Duration::from_secs(120);
const STEP: Duration = Duration::from_secs(10);

#[test]
fn a_lobby_on_a_claimed_name_takes_the_claim_over_and_the_claim_is_never_listed() {
    if !run_body_in_own_namespace(
        "a_lobby_on_a_claimed_name_takes_the_claim_over_and_the_claim_is_never_listed",
        LIMIT,
    ) {
        return;
    }
    let d = Discovery::new(Interfaces::LoopbackOnly).expect("mDNS on lo");
    let monitor = d.daemon().monitor().expect("monitor");
    let mut browser = d.browse(GAME, VERSION).expect("browse");

    let claim = d.claim_name("Claimed Den").expect("claim");
    assert_eq!(claim.instance_name(), "Claimed Den");
    wait_for("the claim probed", STEP, || {
        claim.is_claimed().then_some(())
    });
    // The claim is on the wire (announced after its probe)...
    let mut seen = Vec::new();
    wait_for("the claim announced", STEP, || {
        let e = monitor.try_recv().ok()?;
        let done = matches!(&e, DaemonEvent::Announce(n, _) if n.starts_with("Claimed Den"));
        seen.push(e);
        done.then_some(())
    });
    // ... and the lobby opened under that name takes it over.
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        discovery: Some(d.clone()),
        txt_extras: vec![],
    };
    let host = LobbyHost::open(
        HostConfig::new("Claimed Den", "Hosty", GAME, VERSION),
        options,
    )
    .expect("open lobby");
    assert_eq!(host.instance_name().as_deref(), Some("Claimed Den"));
    // Dropping the claim now gives nothing back: the lobby holds the name.
    drop(claim);
    // The first thing listed under the name is the lobby itself: its port,
    // its TXT (the claim, port 9 and no lobby keys, never was).
    let first = wait_for("the lobby listed", STEP, || match browser.poll()? {
        BrowseEvent::Added(l) if l.name == "Claimed Den" => Some(l),
        BrowseEvent::Updated(l) if l.name == "Claimed Den" => {
            panic!("the claim was listed: {l:?}")
        }
        BrowseEvent::Removed { name, .. } if name == "Claimed Den" => {
            panic!("the claim was listed, then removed")
        }
        _ => None,
    });
    assert_eq!(first.addr.port(), host.local_addr().port(), "{first:?}");
    assert!(first.compatibility.is_compatible(), "{first:?}");
    assert_eq!(first.players, 1);
    // No second probe, no rename: the claim's probe was the name's only one.
    let events: Vec<DaemonEvent> = seen.into_iter().chain(monitor.try_iter()).collect();
    assert!(
        !events.iter().any(
            |e| matches!(e, DaemonEvent::NameChange(c) if c.original.starts_with("Claimed Den"))
        ),
        "{events:?}"
    );
}

#[test]
fn claimed_names_stay_unique_and_come_back_when_dropped() {
    if !run_body_in_own_namespace(
        "claimed_names_stay_unique_and_come_back_when_dropped",
        LIMIT,
    ) {
        return;
    }
    let d = Discovery::new(Interfaces::LoopbackOnly).expect("mDNS on lo");
    let txt = LobbyTxt::for_host(&HostConfig::new("Den", "h", GAME, VERSION), 1, &[]);
    let lobby = d.advertise("Den", 40_000, &txt).expect("advertise");
    assert_eq!(lobby.instance_name(), "Den");
    // A lobby of ours holds "Den": a claim of it gets the next free name.
    let second = d.claim_name("Den").expect("claim");
    assert_eq!(second.instance_name(), "Den (2)");
    // Two claims of one name hold two names.
    let other = d.claim_name("Other").expect("claim");
    let other_again = d.claim_name("other").expect("claim");
    assert_eq!(other.instance_name(), "Other");
    assert_eq!(other_again.instance_name(), "other (2)");
    // Dropped unused, a claim gives its name back.
    drop(other);
    drop(other_again);
    assert_eq!(
        d.claim_name("Other").expect("claim").instance_name(),
        "Other"
    );
    // A lobby asking for "Den" takes the claim of "Den" ("Den (2)"); the
    // claim's handle then gives nothing back: the lobby holds the name.
    let taken = d.advertise("Den", 40_001, &txt).expect("advertise");
    assert_eq!(taken.instance_name(), "Den (2)");
    drop(second);
    assert_eq!(
        d.claim_name("Den").expect("claim").instance_name(),
        "Den (3)"
    );
    drop(taken);
    drop(lobby);
}

#[test]
fn a_claim_record_for_a_listed_lobby_does_not_hide_it() {
    if !run_body_in_own_namespace("a_claim_record_for_a_listed_lobby_does_not_hide_it", LIMIT) {
        return;
    }
    let d = Discovery::new(Interfaces::LoopbackOnly).expect("mDNS on lo");
    let mut browser = d.browse(GAME, VERSION).expect("browse");
    let options = || HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        discovery: Some(d.clone()),
        txt_extras: vec![],
    };
    let den = LobbyHost::open(HostConfig::new("Den", "Hosty", GAME, VERSION), options())
        .expect("open lobby");
    wait_for("Den listed", STEP, || match browser.poll()? {
        BrowseEvent::Added(l) if l.name == "Den" => Some(()),
        _ => None,
    });
    // A stranger's record under the same name, shaped like a claim (cache
    // flush: it replaces the lobby's SRV and TXT in every cache).
    let mut spoof = ServiceInfo::new(
        SERVICE_TYPE,
        "Den",
        "stranger.local.",
        "127.0.0.1",
        9,
        &[(CLAIM_KEY, "1")][..],
    )
    .expect("info");
    spoof.set_requires_probe(false);
    d.daemon().register(spoof).expect("spoof");
    // A lobby opened after the spoof is listed after it was handled.
    let _other = LobbyHost::open(HostConfig::new("Other", "Hosty", GAME, VERSION), options())
        .expect("open lobby");
    wait_for("Other listed", STEP, || match browser.poll()? {
        BrowseEvent::Added(l) if l.name == "Other" => Some(()),
        BrowseEvent::Removed { name, .. } if name == "Den" => {
            panic!("a claim record hid the listed lobby")
        }
        _ => None,
    });
    assert!(browser.lobbies().iter().any(|l| l.name == "Den"));
    drop(den);
}
