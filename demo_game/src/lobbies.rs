//! `nearplay-demo lobbies`: the LAN browser in the terminal.
//!
//! Everything printed that came from the network is cleaned of control
//! characters: the matchmaker cleans [`LobbyInfo`]; rooms from a rendezvous
//! server are cleaned here. A removal names the lobby with the same fields
//! as the line that added it.

use std::time::{Duration, Instant};

use nearplay_matchmaker::lan::{BrowseEvent, Discovery, LobbyInfo, LobbyStage, printable};
use nearplay_matchmaker::lobby::message::PROTOCOL_VERSION;
use nearplay_matchmaker::rendezvous::RendezvousClient;

use crate::cli::LobbiesArgs;
use crate::net::{GAME_ID, GAME_VERSION};

/// Lists the lobbies on the LAN; with `--watch`, follows changes.
pub fn run(discovery: &Discovery, args: &LobbiesArgs) -> Result<(), String> {
    let mut browser = discovery
        .browse(GAME_ID, GAME_VERSION)
        .map_err(|e| format!("cannot browse the LAN: {e}"))?;
    let until = Instant::now() + Duration::from_millis(args.wait_ms);
    while Instant::now() < until {
        while browser.poll().is_some() {}
        std::thread::park_timeout(Duration::from_millis(20));
    }
    let lobbies = browser.lobbies();
    if args.json {
        for lobby in &lobbies {
            println!("{}", json(lobby));
        }
    } else {
        print_table(&lobbies);
    }
    if !args.watch {
        return Ok(());
    }
    loop {
        while let Some(event) = browser.poll() {
            match event {
                BrowseEvent::Added(l) => emit(args.json, "added", &l),
                BrowseEvent::Updated(l) => emit(args.json, "updated", &l),
                BrowseEvent::Removed { lobby, .. } => emit(args.json, "removed", &lobby),
            }
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// Lists the public rooms of a rendezvous server.
pub fn run_online(server: &str, args: &LobbiesArgs) -> Result<(), String> {
    let client = RendezvousClient::new(server).map_err(|e| e.to_string())?;
    let rooms = client
        .lobbies(GAME_ID, Some(PROTOCOL_VERSION))
        .map_err(|e| e.to_string())?;
    if rooms.is_empty() && !args.json {
        println!("No public rooms on {server}.");
    }
    for room in rooms {
        let r = &room.request;
        let (name, version, mode) = (
            printable(&r.name),
            printable(&r.version),
            printable(&r.mode),
        );
        if args.json {
            let value = serde_json::json!({
                "code": room.code.to_string(), "name": name, "players": room.players,
                "max_players": r.max_players, "version": version, "password": r.password, "mode": mode,
            });
            println!("{value}");
        } else {
            println!(
                "{}  {:<28} {:>2}/{:<2}  v{}",
                room.code, name, room.players, r.max_players, version
            );
        }
    }
    Ok(())
}

fn emit(as_json: bool, what: &str, lobby: &LobbyInfo) {
    if as_json {
        println!("{{\"event\":\"{what}\",\"lobby\":{}}}", json(lobby));
    } else {
        println!("{what}: {}", line(lobby));
    }
}

fn json(lobby: &LobbyInfo) -> serde_json::Value {
    serde_json::json!({
        "name": lobby.name,
        "addr": lobby.addr.to_string(),
        "players": lobby.players,
        "max_players": lobby.max_players,
        "version": lobby.game_version,
        "password": lobby.password,
        "mode": lobby.mode,
        "compatible": lobby.compatibility.is_compatible(),
        "why_not": (!lobby.compatibility.is_compatible()).then(|| lobby.compatibility.to_string()),
        "rtt_ms": lobby.rtt.map(|d| d.as_secs_f64() * 1000.0),
        "in_match": stage(lobby).in_match(),
        "late_join": stage(lobby) == LobbyStage::LateJoin,
        "vacant_seats": vacant(lobby),
    })
}

/// Where the lobby is, as its record says (an unparsed record: open).
fn stage(lobby: &LobbyInfo) -> LobbyStage {
    lobby.txt.as_ref().map(|t| t.stage).unwrap_or_default()
}

/// The running match's vacant seats (names already cleaned).
fn vacant(lobby: &LobbyInfo) -> &[String] {
    lobby.txt.as_ref().map_or(&[], |t| t.vacant.as_slice())
}

fn line(lobby: &LobbyInfo) -> String {
    let rtt = lobby
        .rtt
        .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "-".into());
    let lock = if lobby.password { "locked" } else { "open" };
    let compat = if lobby.compatibility.is_compatible() {
        String::new()
    } else {
        format!("  (incompatible: {})", lobby.compatibility)
    };
    let compat = match (stage(lobby).in_match(), vacant(lobby)) {
        (false, _) => compat,
        (true, []) => format!("{compat}  in match"),
        (true, seats) => format!("{compat}  in match - {}'s seat free", seats.join(", ")),
    };
    format!(
        "{:<28} {:>2}/{:<2} {:>9}  v{:<8} {:<6} {}{}",
        lobby.name,
        lobby.players,
        lobby.max_players,
        rtt,
        lobby.game_version,
        lock,
        lobby.addr,
        compat
    )
}

fn print_table(lobbies: &[LobbyInfo]) {
    if lobbies.is_empty() {
        println!("No lobbies found on the LAN.");
        return;
    }
    println!(
        "{:<28} {:>5} {:>9}  {:<9} {:<6} address",
        "lobby", "seats", "ping", "version", "lock"
    );
    for lobby in lobbies {
        println!("{}", line(lobby));
    }
}
