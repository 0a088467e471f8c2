//! Rejoin and late join through the one lobby handle on the LAN (loopback,
//! mDNS confined to `lo`): the lobby stays open in the match, a member
//! saves its ticket, drops, and a new handle with the ticket takes the same
//! seat back; the others get typed events and a new key epoch the dropped
//! member never sees; the LAN list shows "Bo's seat free". A late-join
//! lobby takes a newcomer with the password, not without.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{discovery, unique, wait_for};
use nearplay_matchmaker::lobby::client::JoinError;
use nearplay_matchmaker::prelude::*;

const GAME: &str = "nearplay-rejoin-test";
const VERSION: &str = "1.0.0";
const LIMIT: Duration = Duration::from_secs(15);

fn matchmaker() -> Matchmaker {
    let mut config = MatchmakerConfig::new(GAME, VERSION);
    config.bind = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    Matchmaker::with_discovery(config, discovery()).expect("matchmaker")
}

fn until<T>(what: &str, lobby: &mut Lobby, mut f: impl FnMut(LobbyEvent) -> Option<T>) -> T {
    wait_for(what, LIMIT, || {
        let e = lobby.poll()?;
        if let LobbyEvent::Failed(err) = &e {
            panic!("{what}: failed: {err}");
        }
        f(e)
    })
}

fn started(lobby: &mut Lobby) -> MatchStart {
    until("the match", lobby, |e| match e {
        LobbyEvent::MatchStarted(s) => Some(s),
        _ => None,
    })
}

fn control(what: &str, lobby: &mut Lobby, want: impl Fn(&MatchControl) -> bool) -> MatchControl {
    until(what, lobby, |e| match e {
        LobbyEvent::Control(c) if want(&c) => Some(c),
        _ => None,
    })
}

/// Polls the joiners (their welcome sends their auto-ready) until the host
/// sees every one of them ready.
fn all_ready(host: &mut Lobby, joiners: &mut [&mut Lobby]) {
    let want = joiners.len() + 1;
    wait_for("everyone ready", LIMIT, || {
        for j in joiners.iter_mut() {
            if let Some(LobbyEvent::Failed(e)) = j.poll() {
                panic!("join failed: {e}");
            }
        }
        match host.poll()? {
            LobbyEvent::RosterChanged(r) if r.len() == want && r.iter().all(|m| m.ready) => {
                Some(())
            }
            _ => None,
        }
    });
}

/// A host and Ann and Bo, in a started match.
fn three_in_match(mm: &Matchmaker, settings: LobbySettings) -> (Lobby, Lobby, Lobby) {
    let mut host = mm.host(settings);
    until("open", &mut host, |e| {
        matches!(e, LobbyEvent::Opened { .. }).then_some(())
    });
    let addr = host.lobby_addr().expect("addr");
    let mut ann = mm.join(addr, PlayerSettings::new("Ann").auto_ready(true));
    let mut bo = mm.join(addr, PlayerSettings::new("Bo").auto_ready(true));
    all_ready(&mut host, &mut [&mut ann, &mut bo]);
    host.start().expect("start");
    for l in [&mut host, &mut ann, &mut bo] {
        started(l);
        assert_eq!(l.phase(), LobbyPhase::InMatch);
    }
    (host, ann, bo)
}

#[test]
fn a_dropped_member_rejoins_its_seat_with_its_ticket() {
    let mm = matchmaker();
    let mut list = mm.browse();
    let name = unique("Rejoin");
    let (mut host, mut ann, bo) = three_in_match(&mm, LobbySettings::new(&name, "Hana"));
    assert!(
        host.rejoin_ticket().is_none(),
        "the host holds no seat secret"
    );
    let ticket = bo.rejoin_ticket().expect("Bo's ticket");
    assert_eq!(ticket.player, "Bo");
    assert!(!format!("{ticket:?}").contains(&format!("{:?}", ticket.secret.0)));
    let dir = std::env::temp_dir().join(unique("tickets"));
    let path = dir.join("bo.ticket");
    ticket.save(&path).expect("save");

    // Bo's game goes away (its handle dropped, its connection ends): its
    // seat is vacant, and the others are told.
    drop(bo);
    let vacated = control(
        "Bo's seat vacated at the host",
        &mut host,
        |c| matches!(c, MatchControl::SeatVacated { name, .. } if name == "Bo"),
    );
    let MatchControl::SeatVacated { handle, .. } = vacated else {
        unreachable!()
    };
    control(
        "Bo's seat vacated at Ann",
        &mut ann,
        |c| matches!(c, MatchControl::SeatVacated { name, .. } if name == "Bo"),
    );
    let entry = wait_for("the list shows Bo's seat free", LIMIT, || {
        match list.poll() {
            Some(ListEvent::Added(e) | ListEvent::Updated(e))
                if e.name == name && e.vacant_seats == ["Bo"] =>
            {
                Some(e)
            }
            _ => None,
        }
    });
    assert_eq!(entry.stage, LobbyStage::InMatch);

    // A restarted game finds its ticket and takes the seat back.
    let loaded = RejoinTicket::load(&path).expect("load");
    let asked = std::time::Instant::now();
    let mut back = mm.join(&entry, PlayerSettings::new("Bo").rejoin(loaded));
    let plan = started(&mut back).plan;
    // A figure, not a check: the lobby's part of a rejoin on loopback.
    println!("rejoin: join with ticket to plan in {:?}", asked.elapsed());
    assert_eq!((plan.local_handle, plan.key_epoch), (handle, 1));
    let rekey = control("the new key at Ann", &mut ann, |c| {
        matches!(c, MatchControl::MatchRekeyed { .. })
    });
    assert_eq!(
        rekey,
        MatchControl::MatchRekeyed {
            epoch: 1,
            key: plan.key.clone()
        }
    );
    // Ann's view of the match follows: a rematch would use the new key.
    let ann_plan = ann.current_plan().expect("plan");
    assert_eq!((ann_plan.key_epoch, &ann_plan.key), (1, &plan.key));
    assert_eq!(ann_plan.players[handle].addr, plan.players[handle].addr);
    control(
        "Bo's seat retaken at the host",
        &mut host,
        |c| matches!(c, MatchControl::SeatRetaken { handle: h, .. } if *h == handle),
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_late_join_seat_takes_the_password_not_a_guess() {
    let mm = matchmaker();
    let settings = LobbySettings::new(&unique("Late"), "Hana")
        .max_players(4)
        .password("open-sesame")
        .late_join(true);
    let mut host = mm.host(settings);
    until("open", &mut host, |e| {
        matches!(e, LobbyEvent::Opened { .. }).then_some(())
    });
    let addr = host.lobby_addr().expect("addr");
    let mut ann = mm.join(
        addr,
        PlayerSettings::new("Ann")
            .password("open-sesame")
            .auto_ready(true),
    );
    all_ready(&mut host, &mut [&mut ann]);
    host.start().expect("start");
    started(&mut host);
    started(&mut ann);
    let mut cy = mm.join(addr, PlayerSettings::new("Cy").password("open-sesame"));
    let plan = started(&mut cy).plan;
    assert_eq!((plan.players.len(), plan.local_handle), (3, 2));
    control(
        "Cy's seat at Ann",
        &mut ann,
        |c| matches!(c, MatchControl::SeatTaken { name, spectator: false, .. } if name == "Cy"),
    );
    // A wrong password from a stranger takes no seat (a seat is still free).
    let mut eve = mm.join(addr, PlayerSettings::new("Eve").password("guess"));
    let refused = wait_for("Eve refused", LIMIT, || match eve.poll()? {
        LobbyEvent::Failed(LobbyError::Join(e)) => Some(e),
        LobbyEvent::MatchStarted(_) => panic!("a wrong password took a seat"),
        _ => None,
    });
    assert_eq!(refused, JoinError::WrongPassword);
}
