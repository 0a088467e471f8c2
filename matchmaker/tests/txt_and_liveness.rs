//! TXT schema round trips and limits; the liveness table with a fake clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nearplay_matchmaker::lan::advertise::unique_name;
use nearplay_matchmaker::lan::liveness::{
    LivenessConfig, LivenessTable, LobbyRecord, TableEvent, answer_ping, decode_pong,
};
use nearplay_matchmaker::lan::{LobbyStage, LobbyTxt, TxtError};

fn txt() -> LobbyTxt {
    LobbyTxt {
        proto: 1,
        game: "arena".into(),
        game_version: "0.3.1".into(),
        players: 2,
        max_players: 8,
        password: true,
        mode: "ffa".into(),
        stage: Default::default(),
        vacant: vec![],
        extras: vec![("map".into(), "dunes".into())],
    }
}

#[test]
fn txt_round_trips_and_stays_small() {
    let t = txt();
    let rdata = t.to_rdata().expect("encode");
    assert!(rdata.len() <= 200, "{} bytes", rdata.len());
    assert_eq!(LobbyTxt::from_rdata(&rdata), Ok(t.clone()));
    assert!(String::from_utf8_lossy(&rdata).contains("txtvers=1"));
    let mut big = t.clone();
    big.extras.push(("blob".into(), "x".repeat(190)));
    assert!(matches!(big.to_pairs(), Err(TxtError::TooLong { .. })));
    let mut bad = t;
    bad.extras.push(("n".into(), "9".into()));
    assert_eq!(bad.to_pairs(), Err(TxtError::BadKey("n".into())));
}

#[test]
fn a_match_in_progress_is_advertised_with_its_vacant_seats() {
    let bo = vec!["Bo".to_string()];
    let t = txt().in_match(LobbyStage::InMatch, &bo);
    let rdata = t.to_rdata().expect("encode");
    let back = LobbyTxt::from_rdata(&rdata).expect("parse");
    assert_eq!((back.stage, back.vacant.clone()), (LobbyStage::InMatch, bo));
    // Names too long for the budget are dropped, never the record.
    let many: Vec<String> = (0..6).map(|i| format!("{i}{}", "x".repeat(31))).collect();
    let fitted = txt().in_match(LobbyStage::LateJoin, &many);
    assert!(fitted.to_rdata().is_ok() && fitted.vacant.len() < many.len());
    // An open lobby writes neither key (what older browsers saw).
    let open = txt().to_pairs().expect("pairs");
    assert!(!open.iter().any(|(k, _)| k == "st" || k == "free"));
}

#[test]
fn hostile_match_keys_are_refused_or_cleaned() {
    let parse = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("txtvers", "1"),
            ("proto", "4"),
            ("game", "g"),
            ("ver", "1"),
            ("n", "2"),
            ("max", "4"),
            ("pw", "0"),
        ];
        pairs.extend_from_slice(extra);
        LobbyTxt::from_pairs(
            pairs
                .into_iter()
                .map(|(k, v)| (k.as_bytes(), Some(v.as_bytes()))),
        )
    };
    assert!(matches!(
        parse(&[("st", "pwned")]),
        Err(TxtError::Invalid { key: "st", .. })
    ));
    // More vacant seats than the lobby has room for.
    assert!(matches!(
        parse(&[("st", "match"), ("free", "a,b,c")]),
        Err(TxtError::Vacant { vacant: 3, .. })
    ));
    let long = vec!["z"; 500].join(",");
    assert!(matches!(
        parse(&[("st", "match"), ("free", &long)]),
        Err(TxtError::Vacant { .. })
    ));
    // Names are cleaned of control characters and cut.
    let evil = format!("\u{1b}]0;pwn\u{7}Bo\u{202e},{}", "y".repeat(300));
    let t = parse(&[("st", "match"), ("free", &evil)]).expect("parse");
    assert_eq!(t.vacant.len(), 2);
    assert!(t.vacant.iter().all(|n| !n.chars().any(char::is_control)));
    assert!(!t.vacant[0].contains('\u{202e}'));
    assert_eq!(t.vacant[1].chars().count(), 32);
    // Vacant seats outside a match mean nothing.
    assert!(parse(&[("free", "Bo")]).expect("parse").vacant.is_empty());
}

#[test]
fn txt_errors_are_typed() {
    let parse = |pairs: &[(&str, &str)]| {
        LobbyTxt::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.as_bytes(), Some(v.as_bytes()))),
        )
    };
    assert_eq!(parse(&[]), Err(TxtError::Missing("txtvers")));
    assert_eq!(
        parse(&[("txtvers", "2")]),
        Err(TxtError::UnsupportedVersion("2".into()))
    );
    let base = [
        ("txtvers", "1"),
        ("proto", "1"),
        ("game", "g"),
        ("ver", "1"),
        ("n", "1"),
    ];
    let mut v = base.to_vec();
    v.extend([("max", "x"), ("pw", "0")]);
    assert!(matches!(
        parse(&v),
        Err(TxtError::Invalid { key: "max", .. })
    ));
    let mut v = base.to_vec();
    v.extend([("max", "4"), ("pw", "yes")]);
    assert!(matches!(
        parse(&v),
        Err(TxtError::Invalid { key: "pw", .. })
    ));
    let mut v = base.to_vec();
    v.extend([("max", "4"), ("pw", "0"), ("N", "7")]);
    assert_eq!(
        parse(&v).map(|t| t.players),
        Ok(1),
        "first value of a key wins"
    );
    assert_eq!(LobbyTxt::from_rdata(&[5, b'a']), Err(TxtError::Truncated));
}

#[test]
fn unique_names_get_a_suffix_and_fit_63_bytes() {
    let taken = ["Room", "Room (2)"];
    assert_eq!(unique_name("Room", |n| taken.contains(&n)), "Room (3)");
    assert_eq!(unique_name("Free", |_| false), "Free");
    let long = "é".repeat(40);
    let n = unique_name(&long, |n| n == long.get(..62).unwrap_or_default());
    assert!(n.len() <= 63 && n.ends_with(" (2)"), "{n}");
}

fn record(name: &str, port: u16) -> LobbyRecord {
    LobbyRecord {
        fullname: format!("{name}._nearplay._udp.local."),
        name: name.into(),
        port,
        addrs: vec![SocketAddr::from(([127, 0, 0, 1], port))],
        txt: Ok(txt()),
        rtt: None,
        alive_addr: None,
    }
}

fn drain(t: &mut LivenessTable) -> Vec<TableEvent> {
    std::iter::from_fn(|| t.poll_event()).collect()
}

#[test]
fn silent_lobby_disappears_and_comes_back() {
    let t0 = Instant::now();
    let mut t = LivenessTable::new(LivenessConfig::default(), [100; 32]);
    t.set_active(t0, true);
    t.handle_resolved(t0, record("A", 7000));
    assert!(matches!(drain(&mut t).as_slice(), [TableEvent::Up(_)]));
    t.handle_timeout(t0);
    let (to, ping) = t.poll_ping().expect("first ping at once");
    assert_eq!(to.port(), 7000);
    let pong = answer_ping(&ping).expect("pong");
    let nonce = decode_pong(&pong).expect("nonce");
    t.handle_pong(t0 + Duration::from_millis(3), to, nonce);
    match drain(&mut t).as_slice() {
        [TableEvent::Up(r)] => assert_eq!(r.rtt, Some(Duration::from_millis(3))),
        other => panic!("{other:?}"),
    }
    // The host dies: nothing answers; the lobby goes within 3 s of the last pong.
    let gone_at = loop {
        let now = t.poll_timeout().expect("timer");
        t.handle_timeout(now);
        while t.poll_ping().is_some() {}
        if drain(&mut t)
            .iter()
            .any(|e| matches!(e, TableEvent::Down { .. }))
        {
            break now;
        }
    };
    let silent = gone_at - (t0 + Duration::from_millis(3));
    assert!(silent <= Duration::from_secs(3), "{silent:?}");
    assert_eq!(t.visible().count(), 0);
    // It answered before, so it is still pinged (backing off); it answers
    // again: listed again.
    let now = t.poll_timeout().expect("still pinged later");
    t.handle_timeout(now);
    let (to, ping) = t.poll_ping().expect("still pinged");
    let nonce = decode_pong(&answer_ping(&ping).expect("p")).expect("n");
    t.handle_pong(now + Duration::from_millis(1), to, nonce);
    assert!(matches!(drain(&mut t).as_slice(), [TableEvent::Up(_)]));
    // A goodbye removes it at once.
    t.handle_removed("A._nearplay._udp.local.");
    assert!(matches!(
        drain(&mut t).as_slice(),
        [TableEvent::Down { .. }]
    ));
}

#[test]
fn inactive_table_follows_mdns_alone() {
    let t0 = Instant::now();
    let mut t = LivenessTable::new(LivenessConfig::default(), [1; 32]);
    t.handle_resolved(t0, record("B", 1));
    t.handle_timeout(t0 + Duration::from_secs(60));
    assert!(t.poll_ping().is_none());
    assert_eq!(t.visible().count(), 1);
    assert_eq!(t.poll_timeout(), None);
}
