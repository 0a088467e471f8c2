//! The lobby without its screen: opening or finding a lobby, joining, and
//! reacting to lobby events. The windowed lobby screen and headless runs
//! share it.

use std::time::{Duration, Instant};

use bevy::platform::cell::SyncCell;
use bevy::prelude::*;
use nearplay_matchmaker::lan::{LobbyBrowser, LobbyInfo};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::{HostConfig, HostEvent};
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};
use nearplay_matchmaker::rendezvous::client::to_webrtc_plan;
use nearplay_netcode::bevy::NetSyncFailed;
use nearplay_netcode::{MatchPlan, NetSettings};

use crate::match_setup::end_match;
use crate::net::{
    GAME_ID, GAME_VERSION, Lan, LobbyConn, LobbyRole, NetOptions, leave_lobby, start_lan_match,
};
use crate::prefs::Prefs;
use crate::screen::{Notice, Screen};

/// Polls the lobby connection and the lobby search.
pub struct LobbyFlowPlugin;

impl Plugin for LobbyFlowPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Update,
            (
                find_lobby.run_if(resource_exists::<LobbySearch>),
                poll_lobby.run_if(resource_exists::<LobbyConn>.and_then(in_state(Screen::Lobby))),
                end_unreachable_match.run_if(in_state(Screen::Match)),
            ),
        );
    }
}

/// Looking for a lobby to join (CLI `join`): by name, or the first compatible.
#[derive(Resource)]
pub struct LobbySearch {
    browser: SyncCell<LobbyBrowser>,
    wanted: Option<String>,
    password: Option<String>,
    deadline: Instant,
}

impl LobbySearch {
    /// Starts browsing for `wanted` (or any compatible lobby) until `timeout`.
    pub fn start(
        lan: &Lan,
        wanted: Option<String>,
        password: Option<String>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let discovery = lan.discovery.as_ref().map_err(Clone::clone)?;
        let browser = discovery
            .browse(GAME_ID, GAME_VERSION)
            .map_err(|e| format!("cannot browse the LAN: {e}"))?;
        Ok(LobbySearch {
            browser: SyncCell::new(browser),
            wanted,
            password,
            deadline: Instant::now() + timeout,
        })
    }

    fn pick(&mut self) -> Option<LobbyInfo> {
        let browser = self.browser.get();
        while browser.poll().is_some() {}
        browser.lobbies().into_iter().find(|l| match &self.wanted {
            Some(name) => l.name == *name || l.instance == *name,
            None => l.compatibility.is_compatible() && l.players < l.max_players,
        })
    }
}

/// The lobby a player's preferences ask for (LAN or online).
pub fn host_config(prefs: &Prefs) -> HostConfig {
    let lobby_name = prefs
        .lobby_name
        .clone()
        .unwrap_or_else(|| format!("{}'s game", prefs.name));
    let mut config = HostConfig::new(&lobby_name, &prefs.name, GAME_ID, GAME_VERSION);
    config.max_players = u16::from(prefs.players);
    config.password = prefs.password.clone();
    config.mode = "arena".into();
    config.settings = NetSettings {
        input_delay: prefs.input_delay,
        ..NetSettings::default()
    };
    config
}

/// Hosts a lobby with the player's preferences; the game socket is bound first.
pub fn host_lobby(lan: &Lan, prefs: &Prefs) -> Result<LobbyConn, String> {
    let socket =
        LobbyConn::bind_game_socket(0).map_err(|e| format!("cannot open a game socket: {e}"))?;
    let game_port = socket.local_addr().map_err(|e| e.to_string())?.port();
    let mut config = host_config(prefs);
    config.game_port = game_port;
    let lobby_name = config.lobby_name.clone();
    let options = HostOptions {
        discovery: lan.discovery.as_ref().ok().cloned(),
        ..HostOptions::default()
    };
    let host =
        LobbyHost::open(config, options).map_err(|e| format!("cannot open the lobby: {e}"))?;
    let lobby_name = host.instance_name().unwrap_or(lobby_name);
    let mut conn = LobbyConn {
        roster: host.roster(),
        role: SyncCell::new(LobbyRole::Host(host)),
        hosting: true,
        lobby_name,
        socket: Some(socket),
        game_port,
        log: Vec::new(),
        join_started: Instant::now(),
        join_time: Some(Duration::ZERO),
        ready: false,
        fingerprints: Default::default(),
        failed_guesses: 0,
        code: None,
    };
    conn.note(format!("Lobby \"{}\" is open on the LAN.", conn.lobby_name));
    Ok(conn)
}

/// Joins the lobby `info` as `prefs.name`; the game socket is bound first.
pub fn join_lobby(
    info: &LobbyInfo,
    prefs: &Prefs,
    password: Option<String>,
) -> Result<LobbyConn, String> {
    let socket =
        LobbyConn::bind_game_socket(0).map_err(|e| format!("cannot open a game socket: {e}"))?;
    let game_port = socket.local_addr().map_err(|e| e.to_string())?.port();
    let mut config = JoinConfig::new(&prefs.name, GAME_ID, GAME_VERSION, game_port);
    // A password typed for a lobby advertised as public is not sent: the
    // machine would refuse a host that does not ask for the password it
    // holds (that refusal is meant for a lock stripped in flight).
    config.password = password.filter(|_| info.password);
    let client = LobbyClient::join(info.addr, config);
    let mut conn = LobbyConn {
        role: SyncCell::new(LobbyRole::Member(client)),
        hosting: false,
        lobby_name: info.name.clone(),
        socket: Some(socket),
        game_port,
        roster: Vec::new(),
        log: Vec::new(),
        join_started: Instant::now(),
        join_time: None,
        ready: false,
        fingerprints: Default::default(),
        failed_guesses: 0,
        code: None,
    };
    conn.note(format!("Joining \"{}\" at {}...", info.name, info.addr));
    Ok(conn)
}

/// Shows the lobby just opened or joined, or says why not on `fallback`.
pub fn enter_lobby(
    commands: &mut Commands,
    next: &mut NextState<Screen>,
    notice: &mut Notice,
    outcome: Result<LobbyConn, String>,
    fallback: Screen,
) {
    match outcome {
        Ok(conn) => {
            commands.insert_resource(conn);
            next.set(Screen::Lobby);
        }
        Err(message) => {
            notice.0 = Some(message);
            next.set(fallback);
        }
    }
}

fn find_lobby(
    mut commands: Commands,
    search: Option<ResMut<LobbySearch>>,
    prefs: Res<Prefs>,
    mut next: ResMut<NextState<Screen>>,
    mut notice: ResMut<Notice>,
) {
    let Some(mut search) = search else { return };
    let outcome = match search.pick() {
        Some(info) => join_lobby(&info, &prefs, search.password.clone()),
        None if Instant::now() > search.deadline => Err(match &search.wanted {
            Some(name) => format!("no lobby named \"{name}\" found on the LAN"),
            None => "no compatible lobby with a free seat found on the LAN".to_string(),
        }),
        None => return,
    };
    commands.remove_resource::<LobbySearch>();
    enter_lobby(&mut commands, &mut next, &mut notice, outcome, Screen::Menu);
}

/// What a lobby event asks of the game.
enum Outcome {
    Nothing,
    Start(Box<MatchPlan>),
    Leave(String),
}

fn poll_lobby(
    mut commands: Commands,
    mut conn: ResMut<LobbyConn>,
    options: Res<NetOptions>,
    mut next: ResMut<NextState<Screen>>,
    mut notice: ResMut<Notice>,
) {
    let mut outcome = Outcome::Nothing;
    loop {
        let step = match conn.role.get() {
            LobbyRole::Host(host) => host.poll().map(on_host_event),
            LobbyRole::Member(client) => client.poll().map(on_client_event),
            LobbyRole::OnlineHost(host) => host.poll().map(|event| match event {
                // The host machine's plan names players by address; the
                // room's plan names them by WebRTC peer id.
                HostEvent::Started(plan) => on_host_event(HostEvent::Started(to_webrtc_plan(plan))),
                event => on_host_event(event),
            }),
            LobbyRole::OnlineMember(client) => client.poll().map(|event| {
                let explained = client.explain(&event);
                match (on_client_event(event), explained) {
                    ((notes, Outcome::Leave(_)), Some(why)) => {
                        (notes, Outcome::Leave(format!("{why}.")))
                    }
                    (step, _) => step,
                }
            }),
            LobbyRole::Gone => None,
        };
        let Some((notes, result)) = step else { break };
        for line in notes.lines {
            conn.note(line);
        }
        if let Some(roster) = notes.roster {
            conn.roster = roster;
        }
        if let Some((id, fingerprint)) = notes.fingerprint {
            conn.fingerprints.insert(id, fingerprint);
        }
        if notes.guess_failed {
            conn.failed_guesses += 1;
        }
        if notes.joined && conn.join_time.is_none() {
            conn.join_time = Some(conn.join_started.elapsed());
            if options.auto {
                conn.set_ready(true);
            }
        }
        if !matches!(result, Outcome::Nothing) {
            outcome = result;
            break;
        }
    }
    note_server_gone(&mut conn);
    if options.auto && conn.is_host() {
        auto_start(&mut conn, &options);
    }
    match outcome {
        Outcome::Nothing => {}
        Outcome::Start(plan) => {
            if let Err(e) = start_lan_match(&mut commands, &mut next, &mut conn, &plan, &options) {
                notice.0 = Some(format!("The match could not start: {e}"));
                leave_lobby(&mut commands, Some(&mut conn));
                next.set(Screen::Menu);
            }
        }
        Outcome::Leave(reason) => {
            notice.0 = Some(reason);
            leave_lobby(&mut commands, Some(&mut conn));
            next.set(Screen::Menu);
        }
    }
}

/// An online lobby whose rendezvous server let go of it (shutting down)
/// says so, in the lobby log and on the terminal; the lobby and the match
/// go on peer to peer, only newcomers cannot join.
fn note_server_gone(conn: &mut LobbyConn) {
    let gone = match conn.role.get() {
        LobbyRole::OnlineHost(host) => host.take_server_gone(),
        LobbyRole::OnlineMember(member) => member.take_server_gone(),
        _ => false,
    };
    if gone {
        let line = "The rendezvous server is closing: nobody new can join this room; \
                    players already here stay connected.";
        println!("lobby: {line}");
        conn.note(line);
    }
}

/// The match never reached every player before the sync deadline (the
/// netcode plugin already ended the session): say who, in words, and go
/// back to the menu (a headless run then exits non-zero).
fn end_unreachable_match(
    mut commands: Commands,
    mut failures: MessageReader<NetSyncFailed>,
    conn: Option<ResMut<LobbyConn>>,
    mut next: ResMut<NextState<Screen>>,
    mut notice: ResMut<Notice>,
) {
    let Some(NetSyncFailed(timeout)) = failures.read().last() else {
        return;
    };
    notice.0 = Some(format!("The match could not start: {timeout}."));
    end_match(&mut commands);
    leave_lobby(&mut commands, conn.map(ResMut::into_inner));
    next.set(Screen::Menu);
}

/// Host in auto mode: ready up, and start once enough players are ready.
fn auto_start(conn: &mut LobbyConn, options: &NetOptions) {
    if !conn.ready {
        conn.set_ready(true);
    }
    let wanted = options.start_at.unwrap_or(2);
    if conn.roster.len() >= wanted && conn.roster.iter().all(|m| m.ready) {
        if let Some(e) = start_now(conn) {
            conn.note(e);
        }
    }
}

/// Asks the lobby to start (host only); the match begins on the `Started`
/// event. Returns why it cannot start, in words.
pub fn start_now(conn: &mut LobbyConn) -> Option<String> {
    match conn.role.get() {
        LobbyRole::Host(host) => host.start().err().map(|e| format!("Cannot start yet: {e}")),
        LobbyRole::OnlineHost(host) => host.start().err().map(|e| format!("Cannot start yet: {e}")),
        LobbyRole::Member(_) | LobbyRole::OnlineMember(_) => {
            Some("Only the host can start the match.".into())
        }
        LobbyRole::Gone => None,
    }
}

/// What one event changed in the lobby view.
#[derive(Default)]
struct Notes {
    lines: Vec<String>,
    roster: Option<Vec<nearplay_matchmaker::lobby::message::RosterEntry>>,
    joined: bool,
    fingerprint: Option<(u32, String)>,
    guess_failed: bool,
}

fn on_host_event(event: HostEvent) -> (Notes, Outcome) {
    let mut n = Notes::default();
    let outcome = match event {
        HostEvent::MemberJoined {
            id,
            name,
            fingerprint,
        } => {
            n.lines
                .push(format!("{name} joined, channel fingerprint {fingerprint}."));
            n.fingerprint = Some((id, fingerprint.to_string()));
            Outcome::Nothing
        }
        HostEvent::GuessFailed {
            peer,
            failures,
            retry_after,
        } => {
            n.lines.push(format!(
                "Wrong password from {peer} ({failures} so far; next try in {} s).",
                retry_after.as_secs()
            ));
            n.guess_failed = true;
            Outcome::Nothing
        }
        HostEvent::MemberLeft { name, reason, .. } => {
            n.lines.push(format!("{name} left ({reason:?})."));
            Outcome::Nothing
        }
        HostEvent::Rejected { peer, reason } => {
            n.lines.push(format!("Turned away {peer}: {reason:?}."));
            Outcome::Nothing
        }
        HostEvent::RosterChanged(roster) => {
            n.roster = Some(roster);
            Outcome::Nothing
        }
        HostEvent::Chat { name, text, .. } => {
            n.lines.push(format!("{name}: {text}"));
            Outcome::Nothing
        }
        HostEvent::Started(plan) => Outcome::Start(Box::new(plan)),
        HostEvent::Closed => Outcome::Leave("The lobby closed.".into()),
    };
    (n, outcome)
}

fn on_client_event(event: ClientEvent) -> (Notes, Outcome) {
    let mut n = Notes::default();
    let outcome = match event {
        ClientEvent::Joined {
            you,
            name,
            lobby,
            roster,
            fingerprint,
            ..
        } => {
            n.lines.push(format!(
                "Joined \"{lobby}\" as {name}. Channel fingerprint {fingerprint}: the host's screen should show the same."
            ));
            n.fingerprint = Some((you, fingerprint.to_string()));
            n.roster = Some(roster);
            n.joined = true;
            Outcome::Nothing
        }
        ClientEvent::JoinFailed(e) => Outcome::Leave(format!("Could not join: {e}.")),
        ClientEvent::RosterChanged(roster) => {
            n.roster = Some(roster);
            Outcome::Nothing
        }
        ClientEvent::Chat { name, text, .. } => {
            n.lines.push(format!("{name}: {text}"));
            Outcome::Nothing
        }
        ClientEvent::Started(plan) => Outcome::Start(Box::new(plan)),
        ClientEvent::LobbyClosed(reason) => Outcome::Leave(format!("Left the lobby: {reason}.")),
    };
    (n, outcome)
}
