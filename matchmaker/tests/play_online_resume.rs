//! Rejoin and late join by room code (issue 13 online): a rendezvous server
//! on an ephemeral loopback port, peers over WebRTC, inside a network
//! namespace the test creates (ICE never offers the machine's real
//! addresses). The lobby stays open during the match over the reliable
//! channel of the room's one WebRTC link, whose game channel the sessions
//! share between key epochs.
//!
//! - Bo's game goes away at frame 300 (lobby and session dropped: its link
//!   closes), a fresh lobby joins the same code with Bo's ticket and takes
//!   the seat back; all three agree at frame 1200.
//! - A late joiner takes the free seat of a room hosted with `late_join`
//!   (and password-locked: a wrong password is refused, no seat given).
//! - Hostile: a stranger in the room without the member secret (a forged
//!   ticket, or none) gets the typed refusal and the seat stays vacant,
//!   with no new key; Bo's own ticket still opens it.
//!
//! Before this change the room's lobby ended at match start: a join by
//! code during the match met no host (a timeout, never a refusal or a seat).
//!
//! The game loops run four times faster than real time ([`SPEED`]): a
//! tick is still a frame, so the others' stalls (at most 6 ticks) and the
//! switch 60 frames ahead mean the same in frames; on loopback the
//! agreement crosses WebRTC well within those 250 ms. Wall-clock timers
//! are not scaled: GGRS's 2 s disconnect, during which the others stall,
//! reads four times as many ticks as in a game (printed, not asserted).
#![cfg(all(feature = "server", feature = "rendezvous"))]

mod common;

use std::time::{Duration, Instant};

use common::resume_game::Player;
use common::resume_run::{
    END, MAX_STALL_TICKS, agree_at_end, run, seat_newcomer, set_speed, start, until_dropped,
};
use common::wait_for;
use nearplay_matchmaker::lobby::client::JoinError;
use nearplay_matchmaker::prelude::*;
use nearplay_matchmaker::rendezvous::RendezvousClient;
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use nearplay_netcode::{MemberSecret, NetEvent, PeerAddr};

const INSIDE: &str = "NEARPLAY_ONLINE_RESUME_IN_NETNS";
/// WebRTC connections take seconds on a loaded 2-core machine.
const LIMIT: Duration = Duration::from_secs(30);
/// How many times faster than real time the game loops run (`set_speed`).
const SPEED: u32 = 4;

/// Re-runs `test` inside a fresh namespace (see [`common::netns::rerun_inside`]).
fn in_netns(test: &str) -> bool {
    common::netns::rerun_inside(test, INSIDE, "np-oresume")
}

/// A rendezvous server on loopback, and its URL; the game loops run
/// [`SPEED`] times faster than real time from now on.
fn server() -> (RendezvousServer, String) {
    set_speed(SPEED);
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), Limits::default(), 1)
            .expect("server");
    let url = format!("http://{}", server.local_addr());
    (server, url)
}

/// A game's matchmaker with the server and no LAN (each process, or a
/// restarted game, has its own).
fn matchmaker(url: &str) -> Matchmaker {
    let mut config = MatchmakerConfig::new("nearplay-online-resume-test", "1.0.0");
    config.lan = None;
    config.rendezvous = Some(url.to_string());
    Matchmaker::new(config).expect("matchmaker")
}

/// A private room hosted by Hana, and its code.
fn open_room(mm: &Matchmaker, settings: LobbySettings) -> (Lobby, String) {
    let mut host = mm.host(settings.online(false));
    let code = wait_for("the room open", LIMIT, || match host.poll()? {
        LobbyEvent::Opened { code, .. } => Some(code.expect("a room code")),
        LobbyEvent::Failed(e) => panic!("host failed: {e}"),
        _ => None,
    });
    (host, code.to_string())
}

fn join(mm: &Matchmaker, code: &str, player: PlayerSettings) -> Lobby {
    mm.join(JoinTarget::code(code), player)
}

/// Hana hosts, Ann and Bo join by code; the three play to Bo's frame 300.
struct ThreeAtFrame300 {
    hana: Player,
    ann: Player,
    bo: Player,
    code: String,
}

fn three_at_frame_300(url: &str) -> ThreeAtFrame300 {
    let mm = matchmaker(url);
    let (mut host, code) = open_room(&mm, LobbySettings::new("Den", "Hana"));
    let mut ann = join(&mm, &code, PlayerSettings::new("Ann").auto_ready(true));
    let mut bo = join(&mm, &code, PlayerSettings::new("Bo").auto_ready(true));
    let t0 = Instant::now();
    let mut starts = start(&mut host, &mut [&mut ann, &mut bo], LIMIT).into_iter();
    let mut hana = Player::new("Hana", host, starts.next().expect("start"), t0);
    let mut ann = Player::new("Ann", ann, starts.next().expect("start"), t0);
    let mut bo = Player::new("Bo", bo, starts.next().expect("start"), t0);
    run(
        &mut [&mut hana, &mut ann, &mut bo],
        "frame 300",
        Duration::from_secs(60),
        |p| p[2].frame() >= Some(300),
    );
    assert_server_names_the_host(url, &code, &hana);
    ThreeAtFrame300 {
        hana,
        ann,
        bo,
        code,
    }
}

/// The server names Hana's peer as the room's host (what a member joining
/// by code pins), whoever came and went.
fn assert_server_names_the_host(url: &str, code: &str, hana: &Player) {
    let info = RendezvousClient::new(url)
        .and_then(|c| c.room(code))
        .expect("room info");
    let plan = hana.lobby.current_plan().expect("Hana's plan");
    let PeerAddr::WebRtc(id) = plan.players[0].addr else {
        panic!("not a WebRTC plan: {plan:?}");
    };
    assert_eq!(
        info.host_peer,
        Some(format!("{id:032x}")),
        "the room's host"
    );
}

/// Bo's game goes away (lobby and session: its link closes); the others
/// play on until GGRS dropped Bo. Returns Bo's ticket and handle.
fn bo_crashes(m: ThreeAtFrame300) -> (Player, Player, RejoinTicket, usize, String) {
    let ThreeAtFrame300 {
        mut hana,
        mut ann,
        bo,
        code,
    } = m;
    let ticket = bo.lobby.rejoin_ticket().expect("Bo's ticket");
    let plan = bo.lobby.current_plan().expect("Bo's plan");
    let bo_peer = plan.players[bo.handle].addr;
    assert!(matches!(bo_peer, PeerAddr::WebRtc(_)), "{bo_peer:?}");
    let handle = bo.handle;
    drop(bo);
    let gone = NetEvent::PeerDisconnected { peer: bo_peer };
    let vanish = until_dropped(&mut [&mut hana, &mut ann], &gone, LIMIT);
    println!(
        "online rejoin: while GGRS timed Bo out, the others stalled {vanish:?} ticks at {SPEED}x \
         real time"
    );
    (hana, ann, ticket, handle, code)
}

#[test]
fn a_player_back_by_room_code_takes_its_seat_and_all_three_agree_at_frame_1200() {
    if !in_netns("a_player_back_by_room_code_takes_its_seat_and_all_three_agree_at_frame_1200") {
        return;
    }
    let (_server, url) = server();
    let (mut hana, mut ann, ticket, handle, code) = bo_crashes(three_at_frame_300(&url));

    // A restarted game: its own matchmaker, a new lobby with the ticket.
    let restarted = Instant::now();
    let back = join(
        &matchmaker(&url),
        &code,
        PlayerSettings::new("Bo").rejoin(ticket),
    );
    let mut bo = seat_newcomer(&mut [&mut hana, &mut ann], back, "Bo", restarted, LIMIT);
    assert!(bo.newcomer, "a rejoin is a resume");
    assert_eq!(bo.handle, handle, "the same seat");
    run(
        &mut [&mut hana, &mut ann, &mut bo],
        "frame 1200",
        Duration::from_secs(90),
        |p| p.iter().all(|p| p.settled() >= END),
    );
    agree_at_end(&[&mut hana, &mut ann, &mut bo]);
    let switch = hana.switched_at.expect("Hana switched");
    assert_eq!(ann.switched_at, Some(switch));
    assert_eq!(bo.switched_at, Some(switch));
    assert_eq!(hana.lobby.current_plan().map(|p| p.key_epoch), Some(1));
    assert_server_names_the_host(&url, &code, &hana);
    let stalls = [hana.longest_stall, ann.longest_stall];
    let after = [
        hana.longest_stall_after_switch,
        ann.longest_stall_after_switch,
    ];
    let rejoin = bo.first_confirmed.expect("Bo confirmed a frame") - restarted;
    println!(
        "online rejoin by code: switch at frame {switch}; from the new Lobby to Bo's first \
         confirmed frame {rejoin:?}; longest stall of the others while Bo rejoined: {stalls:?} \
         ticks ({after:?} after the switch)"
    );
    assert!(
        stalls.iter().all(|s| *s <= MAX_STALL_TICKS),
        "the others stalled {stalls:?} ticks (goal <= {MAX_STALL_TICKS})"
    );
}

#[test]
fn a_late_joiner_by_room_code_takes_a_free_seat_with_the_password() {
    if !in_netns("a_late_joiner_by_room_code_takes_a_free_seat_with_the_password") {
        return;
    }
    let (_server, url) = server();
    let mm = matchmaker(&url);
    let settings = LobbySettings::new("Den", "Hana")
        .max_players(3)
        .late_join(true)
        .password("kettle");
    let (mut host, code) = open_room(&mm, settings);
    let ann_settings = PlayerSettings::new("Ann").password("kettle");
    let mut ann = join(&mm, &code, ann_settings.auto_ready(true));
    let t0 = Instant::now();
    let mut starts = start(&mut host, &mut [&mut ann], LIMIT).into_iter();
    let mut hana = Player::new("Hana", host, starts.next().expect("start"), t0);
    let mut ann = Player::new("Ann", ann, starts.next().expect("start"), t0);
    run(
        &mut [&mut hana, &mut ann],
        "frame 300",
        Duration::from_secs(60),
        |p| p.iter().all(|p| p.frame() >= Some(300)),
    );
    // A wrong password cannot take the free seat (the lobby's admission).
    let mut eve = join(
        &matchmaker(&url),
        &code,
        PlayerSettings::new("Eve").password("teapot"),
    );
    let why = refused(&mut [&mut hana, &mut ann], &mut eve, "a wrong password");
    assert!(
        matches!(why, LobbyError::Join(JoinError::WrongPassword)),
        "a wrong password: {why}"
    );
    assert_eq!(hana.lobby.current_plan().map(|p| p.players.len()), Some(2));
    assert_eq!(hana.lobby.current_plan().map(|p| p.key_epoch), Some(0));
    let asked = Instant::now();
    let cy_settings = PlayerSettings::new("Cy").password("kettle");
    let lobby = join(&matchmaker(&url), &code, cy_settings);
    let mut cy = seat_newcomer(&mut [&mut hana, &mut ann], lobby, "Cy", asked, LIMIT);
    assert!(cy.newcomer);
    assert_eq!(cy.handle, 2, "a new seat after the others");
    run(
        &mut [&mut hana, &mut ann, &mut cy],
        "frame 1200",
        Duration::from_secs(90),
        |p| p.iter().all(|p| p.settled() >= END),
    );
    agree_at_end(&[&mut hana, &mut ann, &mut cy]);
    let joined = cy.first_confirmed.expect("Cy confirmed a frame") - asked;
    let stalls = [hana.longest_stall, ann.longest_stall];
    let after = [
        hana.longest_stall_after_switch,
        ann.longest_stall_after_switch,
    ];
    println!(
        "online late join by code: Cy's first confirmed frame {joined:?} after its Lobby was \
         made; others' longest stall {stalls:?} ticks ({after:?} after the switch)"
    );
    assert!(stalls.iter().all(|s| *s <= MAX_STALL_TICKS), "{stalls:?}");
    drop(eve);
}

/// Plays `players` on while `lobby` tries to join, until it fails: why.
/// The refused lobby is kept by the caller (its link open): a peer that
/// leaves the room while the others' matchbox still completes its
/// handshake with it can panic their message loop (docs/pitfalls.md).
fn refused(players: &mut [&mut Player], lobby: &mut Lobby, who: &str) -> LobbyError {
    let mut why = None;
    run(players, &format!("{who} refused"), LIMIT, |_| {
        while let Some(e) = lobby.poll() {
            match e {
                LobbyEvent::Failed(e) => {
                    why = Some(e);
                    return true;
                }
                LobbyEvent::MatchStarted(s) => {
                    panic!("{who} was seated at handle {}", s.plan.local_handle)
                }
                _ => {}
            }
        }
        false
    });
    why.expect("refused")
}

#[test]
fn a_stranger_in_the_room_cannot_take_the_vacant_seat() {
    if !in_netns("a_stranger_in_the_room_cannot_take_the_vacant_seat") {
        return;
    }
    let (_server, url) = server();
    let (mut hana, mut ann, ticket, handle, code) = bo_crashes(three_at_frame_300(&url));
    let vacant = |p: &Player| p.lobby.roster().iter().any(|m| m.name == "Bo" && m.vacant);
    run(&mut [&mut hana, &mut ann], "Bo's seat vacant", LIMIT, |p| {
        vacant(p[0])
    });

    // Bo's seat and name, without its secret.
    let forged = RejoinTicket {
        secret: MemberSecret([0x42; 32]),
        ..ticket.clone()
    };
    let mut forger = join(
        &matchmaker(&url),
        &code,
        PlayerSettings::new("Bo").rejoin(forged),
    );
    let why = refused(&mut [&mut hana, &mut ann], &mut forger, "a forged ticket");
    assert!(
        matches!(why, LobbyError::Join(JoinError::BadRejoin)),
        "a forged ticket: {why}"
    );
    // No ticket at all: the room keeps no seat open for newcomers.
    let mut stranger = join(&matchmaker(&url), &code, PlayerSettings::new("Bo"));
    let why = refused(&mut [&mut hana, &mut ann], &mut stranger, "no ticket");
    assert!(
        matches!(why, LobbyError::Join(JoinError::AlreadyStarted)),
        "no ticket: {why}"
    );
    assert!(vacant(&hana), "the seat stays vacant");
    for p in [&hana, &ann] {
        assert_eq!(
            p.lobby.current_plan().map(|p| p.key_epoch),
            Some(0),
            "{}: no new key for a stranger",
            p.name
        );
    }
    // The seat was kept for its owner: Bo's own ticket opens it.
    let back = join(
        &matchmaker(&url),
        &code,
        PlayerSettings::new("Bo").rejoin(ticket),
    );
    let bo = seat_newcomer(
        &mut [&mut hana, &mut ann],
        back,
        "Bo",
        Instant::now(),
        LIMIT,
    );
    assert_eq!(bo.handle, handle);
    drop((forger, stranger));
}
