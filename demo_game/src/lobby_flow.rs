//! The game's side of a lobby, windowed or headless: finding the lobby the
//! command line names, the lobby log the screen shows, and what the game
//! does when the lobby starts, fails or ends.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use nearplay::bevy::prelude::*;

use crate::match_setup::{MatchInfo, begin_match, end_match};
use crate::net::{NetOptions, lobby_settings, player_settings};
use crate::prefs::Prefs;
use crate::rollback::LocalControl;
use crate::screen::{Notice, Screen};

/// Lines the lobby log keeps.
const LOG_LINES: usize = 50;

/// Reacts to the lobby's messages.
pub struct LobbyFlowPlugin;

impl Plugin for LobbyFlowPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<LobbyLog>().add_systems(
            Update,
            (
                find_lobby.run_if(resource_exists::<LobbySearch>),
                note_lobby_messages,
                start_match,
                leave_ended_lobby,
                end_unreachable_match,
            )
                .chain()
                .after(NearplaySystems::Match),
        );
    }
}

/// The lobby as this player saw it: notes, channel fingerprints, join time.
#[derive(Resource, Debug)]
pub struct LobbyLog {
    /// Chat and lobby notes, oldest first (at most [`LOG_LINES`]).
    pub lines: Vec<String>,
    /// Channel fingerprints by member id, to compare between screens: the
    /// host holds every member's, a member its own.
    pub fingerprints: BTreeMap<u32, String>,
    /// When we started hosting or joining.
    pub started: Instant,
    /// Start -> in the roster (zero for the host).
    pub join_time: Option<Duration>,
}

impl Default for LobbyLog {
    fn default() -> Self {
        LobbyLog {
            lines: Vec::new(),
            fingerprints: BTreeMap::new(),
            started: Instant::now(),
            join_time: None,
        }
    }
}

impl LobbyLog {
    /// Appends a line to the log (bounded).
    pub fn note(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
        if self.lines.len() > LOG_LINES {
            self.lines.remove(0);
        }
    }
}

/// Hosts a lobby with the player's preferences (show [`Screen::Lobby`]).
pub fn host_lobby(lobby: &mut LobbyCommands, prefs: &Prefs) {
    lobby.host(lobby_settings(prefs));
    lobby.commands().insert_resource(LobbyLog::default());
}

/// Joins `entry` as `prefs.name` (show [`Screen::Lobby`]), to play or, with
/// `spectator`, to watch. A password typed for a lobby listed as public is
/// not sent: the lobby would refuse a host that does not ask for the
/// password it holds.
pub fn join_lobby(
    lobby: &mut LobbyCommands,
    entry: &LobbyEntry,
    prefs: &Prefs,
    password: Option<&str>,
    spectator: bool,
) {
    let password = password.filter(|_| entry.password);
    let mut player = player_settings(prefs, password).spectator(spectator);
    // Our seat of this lobby's running match is vacant: take it back.
    let ticket = crate::rejoin::ticket_for(entry, &prefs.name).filter(|_| !spectator);
    let rejoining = ticket.is_some();
    if let Some(ticket) = ticket {
        player = player.rejoin(ticket);
    }
    lobby.join(entry, player.clone());
    lobby.commands().insert_resource(LastJoin {
        entry: entry.clone(),
        player,
        rejoining,
    });
    let mut log = LobbyLog::default();
    log.note(format!("Joining \"{}\"...", entry.name));
    lobby.commands().insert_resource(log);
}

/// Looking for a lobby to join (CLI `join`): by name, or the first compatible.
#[derive(Resource)]
pub struct LobbySearch {
    /// The lobby's name or instance, if the player named one.
    pub wanted: Option<String>,
    /// The password to give.
    pub password: Option<String>,
    /// Join to watch (`spectate`), not to play.
    pub spectator: bool,
    /// When to give up.
    pub deadline: Instant,
}

fn find_lobby(
    search: Res<LobbySearch>,
    list: Res<AvailableLobbies>,
    prefs: Res<Prefs>,
    mut lobby: LobbyCommands,
    mut next: ResMut<NextState<Screen>>,
    mut notice: ResMut<Notice>,
) {
    let found = match &search.wanted {
        Some(name) => list.lobbies.iter().find(|l| {
            l.name == *name
                || matches!(&l.place, LobbyPlace::Lan { instance, .. } if instance == name)
        }),
        None if search.spectator => list
            .lobbies
            .iter()
            .find(|l| l.compatibility.is_compatible()),
        None => list.joinable().next(),
    };
    match found {
        Some(entry) => {
            let password = search.password.as_deref();
            join_lobby(&mut lobby, entry, &prefs, password, search.spectator);
            next.set(Screen::Lobby);
        }
        None if Instant::now() > search.deadline => {
            notice.0 = Some(match &search.wanted {
                Some(name) => format!("no lobby named \"{name}\" found on the LAN"),
                None => "no compatible lobby with a free seat found on the LAN".to_string(),
            });
            next.set(Screen::Menu);
        }
        None => return,
    }
    lobby.commands().remove_resource::<LobbySearch>();
}

/// Turns the lobby's messages into log lines (and terminal lines).
#[allow(clippy::too_many_arguments)]
fn note_lobby_messages(
    log: Option<ResMut<LobbyLog>>,
    mut opened: MessageReader<LobbyOpened>,
    mut joined: MessageReader<LobbyJoined>,
    mut arrived: MessageReader<MemberJoined>,
    mut left: MessageReader<MemberLeft>,
    mut chat: MessageReader<ChatReceived>,
    mut notices: MessageReader<LobbyNotice>,
    matchmaker: Res<MatchmakerRes>,
) {
    let Some(mut log) = log else { return };
    for m in opened.read() {
        log.join_time = Some(Duration::ZERO);
        log.note(match (m.code, &matchmaker.config().rendezvous) {
            (Some(code), Some(server)) => {
                println!("online: room code {code} on {server}");
                format!("Room {code} is open on {server}: share the code.")
            }
            _ => format!("Lobby \"{}\" is open on the LAN.", m.name),
        });
    }
    for m in joined.read() {
        log.join_time = Some(log.started.elapsed());
        log.fingerprints.insert(m.you, m.fingerprint.to_string());
        log.note(format!(
            "Joined \"{}\" as {}. Channel fingerprint {}: the host's screen should show the same.",
            m.lobby, m.name, m.fingerprint
        ));
    }
    for m in arrived.read() {
        log.fingerprints.insert(m.id, m.fingerprint.to_string());
        log.note(format!(
            "{} joined, channel fingerprint {}.",
            m.name, m.fingerprint
        ));
    }
    for m in left.read() {
        log.note(format!("{} left ({:?}).", m.name, m.reason));
    }
    for m in chat.read() {
        log.note(format!("{}: {}", m.name, m.text));
    }
    for LobbyNotice(text) in notices.read() {
        println!("lobby: {text}");
        log.note(text.clone());
    }
}

/// The lobby started a match (the plugin inserted its session): the arena.
fn start_match(
    mut started: MessageReader<MatchStarted>,
    options: Res<NetOptions>,
    handle: Option<Res<LobbyHandle>>,
    prefs: Res<Prefs>,
    mut log: ResMut<LobbyLog>,
    mut commands: Commands,
    mut next: ResMut<NextState<Screen>>,
) {
    let Some(MatchStarted { plan }) = started.read().last() else {
        return;
    };
    if let Some(note) = handle.and_then(|h| crate::rejoin::save_ticket(&h, &prefs.name)) {
        log.note(note);
    }
    let control = LocalControl {
        bots: if options.bot && plan.local_player().is_some() {
            vec![plan.local_handle]
        } else {
            Vec::new()
        },
    };
    begin_match(
        &mut commands,
        &mut next,
        MatchInfo::from_plan(plan),
        control,
    );
}

/// The lobby failed or closed outside a match: say why, back to the menu.
/// The last lobby joined (a refused join may be retried with our ticket).
#[derive(Resource)]
pub struct LastJoin {
    entry: LobbyEntry,
    player: PlayerSettings,
    rejoining: bool,
}

fn leave_ended_lobby(
    mut failed: MessageReader<LobbyFailed>,
    mut closed: MessageReader<LobbyClosed>,
    screen: Res<State<Screen>>,
    (mut next, mut notice): (ResMut<NextState<Screen>>, ResMut<Notice>),
    (mut lobby, last, prefs): (LobbyCommands, Option<ResMut<LastJoin>>, Res<Prefs>),
    room_rejoin: Option<Res<crate::online::RoomRejoin>>,
) {
    let failure = failed.read().last();
    if let Some(f) = failure
        && !f.hosting
        && crate::online::retry_without_ticket(&f.error, &mut lobby, room_rejoin.as_deref())
    {
        return;
    }
    let started = failure.map(|f| (f.hosting, f.error.to_string()));
    if let (Some((false, error)), Some(mut last)) = (&started, last)
        && error.contains("already started")
        && !last.rejoining
        && let Some(ticket) = crate::rejoin::saved_ticket(&last.entry.name, &prefs.name)
    {
        // The listing we joined from predates the match: we hold a ticket.
        last.rejoining = true;
        let player = last.player.clone().rejoin(ticket);
        lobby.join(&last.entry, player);
        return;
    }
    let failure = started.map(|(hosting, error)| match hosting {
        true => format!("Could not open the lobby: {error}."),
        false => format!("Could not join: {error}."),
    });
    let closure = closed
        .read()
        .last()
        .map(|c| format!("Left the lobby: {}.", c.0));
    let Some(reason) = failure.or(closure) else {
        return;
    };
    if matches!(screen.get(), Screen::Match | Screen::Results) {
        return;
    }
    notice.0 = Some(reason);
    next.set(Screen::Menu);
}

/// The match never reached every player before the sync deadline (the
/// plugin already ended the session): say who, in words, and go back to
/// the menu (a headless run then exits non-zero).
fn end_unreachable_match(
    mut failures: MessageReader<MatchFailed>,
    mut lobby: LobbyCommands,
    mut next: ResMut<NextState<Screen>>,
    mut notice: ResMut<Notice>,
) {
    let Some(MatchFailed(why)) = failures.read().last() else {
        return;
    };
    notice.0 = Some(format!("The match could not start: {why}."));
    end_match(&mut lobby);
    lobby.leave();
    next.set(Screen::Menu);
}
