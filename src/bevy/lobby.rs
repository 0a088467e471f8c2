//! [`LobbyPlugin`]: polls the lobby handle every frame and turns its events
//! into resources and messages.

use std::collections::VecDeque;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use nearplay_matchmaker::{
    Lobby, LobbyEvent, LobbyPhase, MatchStart, MemberId, RoomCode, RosterEntry,
};

use super::browse;
use super::messages::*;
use super::{NearplaySystems, NetState};

/// Lines [`ChatLog`] keeps (oldest dropped first).
pub const CHAT_LOG_LINES: usize = 100;

/// Lobby events turned into messages per frame at most; the rest wait for
/// the next frames, so a flood from the network (chat from a hostile host)
/// costs each frame a bounded amount of work and message memory.
pub const LOBBY_EVENTS_PER_FRAME: usize = 64;

/// Keeps the lobby resources and writes the lobby messages; browses while
/// [`NetState::Browsing`]. Part of [`NearplayPlugin`](super::NearplayPlugin).
pub struct LobbyPlugin;

impl Plugin for LobbyPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Roster>()
            .init_resource::<ChatLog>()
            .init_resource::<PendingMatch>()
            .add_message::<LobbyOpened>()
            .add_message::<LobbyJoined>()
            .add_message::<RosterChanged>()
            .add_message::<MemberJoined>()
            .add_message::<MemberLeft>()
            .add_message::<ChatReceived>()
            .add_message::<LobbyNotice>()
            .add_message::<MatchControlReceived>()
            .add_message::<LobbyFailed>()
            .add_message::<LobbyClosed>()
            .add_plugins(browse::BrowsePlugin)
            .add_systems(
                Update,
                poll_lobby
                    .run_if(resource_exists::<LobbyHandle>)
                    .in_set(NearplaySystems::Lobby),
            );
    }
}

/// The lobby we host or joined, while there is one. Removing it leaves
/// (and closes, when hosting): prefer [`LobbyCommands::leave`](super::LobbyCommands::leave),
/// which also tidies the resources. Reach the handle here for what the
/// plugin does not wrap (fingerprints of members, for instance).
#[derive(Resource, Deref, DerefMut)]
pub struct LobbyHandle(pub Lobby);

/// What the lobby screen shows about the lobby we are in; present while
/// [`LobbyHandle`] is.
#[derive(Resource, Debug, Clone, PartialEq, Eq)]
pub struct CurrentLobby {
    /// The lobby's name (advertised instance name, or "Room CODE").
    pub name: String,
    /// The room code of an online lobby.
    pub code: Option<RoomCode>,
    /// Our member id, once welcomed (the host is 0).
    pub you: Option<MemberId>,
    /// Whether we host it.
    pub is_host: bool,
    /// Opening, joining, in the lobby, in a match, closed.
    pub phase: LobbyPhase,
}

impl CurrentLobby {
    /// The view of `lobby` as it is now.
    pub fn of(lobby: &Lobby) -> Self {
        CurrentLobby {
            name: lobby.name().to_string(),
            code: lobby.code(),
            you: lobby.you(),
            is_host: lobby.is_host(),
            phase: lobby.phase(),
        }
    }
}

/// The lobby's members and their ready flags (empty outside a lobby).
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq, Deref)]
pub struct Roster(pub Vec<RosterEntry>);

impl Roster {
    /// How many members said they are ready.
    pub fn ready_count(&self) -> usize {
        self.0.iter().filter(|m| m.ready).count()
    }
}

/// A line of [`ChatLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// Who said it.
    pub from: MemberId,
    /// Their name.
    pub name: String,
    /// What they said (clean text).
    pub text: String,
}

/// The lobby's chat, oldest first, at most [`CHAT_LOG_LINES`] lines
/// (emptied when a new lobby is opened or joined).
#[derive(Resource, Debug, Clone, Default)]
pub struct ChatLog(pub VecDeque<ChatLine>);

impl ChatLog {
    /// Appends a line, dropping the oldest beyond the bound.
    pub fn push(&mut self, line: ChatLine) {
        if self.0.len() >= CHAT_LOG_LINES {
            self.0.pop_front();
        }
        self.0.push_back(line);
    }
}

/// A match the lobby started, waiting for [`MatchPlugin`](super::MatchPlugin)
/// to build its session (this frame).
#[derive(Resource, Default)]
pub(crate) struct PendingMatch(pub Option<MatchStart>);

/// Every lobby message writer, as one parameter.
#[derive(SystemParam)]
struct LobbyWriters<'w> {
    opened: MessageWriter<'w, LobbyOpened>,
    joined: MessageWriter<'w, LobbyJoined>,
    roster: MessageWriter<'w, RosterChanged>,
    member_joined: MessageWriter<'w, MemberJoined>,
    member_left: MessageWriter<'w, MemberLeft>,
    chat: MessageWriter<'w, ChatReceived>,
    notice: MessageWriter<'w, LobbyNotice>,
    control: MessageWriter<'w, MatchControlReceived>,
    failed: MessageWriter<'w, LobbyFailed>,
    closed: MessageWriter<'w, LobbyClosed>,
}

/// What the poll keeps up to date.
#[derive(SystemParam)]
struct LobbyViews<'w> {
    current: Option<ResMut<'w, CurrentLobby>>,
    roster: ResMut<'w, Roster>,
    chat: ResMut<'w, ChatLog>,
    pending: ResMut<'w, PendingMatch>,
    resume: ResMut<'w, super::resume::PendingResume>,
}

/// Drains the lobby's events (at most one match start per frame) into the
/// resources and messages; an ended lobby is removed.
fn poll_lobby(
    mut commands: Commands,
    mut lobby: ResMut<LobbyHandle>,
    mut views: LobbyViews,
    mut out: LobbyWriters,
    state: Res<State<NetState>>,
    mut next: ResMut<NextState<NetState>>,
) {
    let mut ended = false;
    for _ in 0..LOBBY_EVENTS_PER_FRAME {
        let Some(event) = lobby.poll() else { break };
        match event {
            LobbyEvent::Opened { name, code } => {
                match code {
                    Some(code) => info!("nearplay: room {code} open as \"{name}\""),
                    None => info!("nearplay: lobby \"{name}\" open on the LAN"),
                }
                out.opened.write(LobbyOpened { name, code });
            }
            LobbyEvent::Joined {
                you,
                name,
                lobby,
                max_players,
                fingerprint,
            } => {
                info!("nearplay: joined \"{lobby}\" as {name}");
                out.joined.write(LobbyJoined {
                    you,
                    name,
                    lobby,
                    max_players,
                    fingerprint,
                });
            }
            LobbyEvent::RosterChanged(members) => {
                views.roster.0.clone_from(&members);
                out.roster.write(RosterChanged(members));
            }
            LobbyEvent::MemberJoined {
                id,
                name,
                fingerprint,
            } => {
                out.member_joined.write(MemberJoined {
                    id,
                    name,
                    fingerprint,
                });
            }
            LobbyEvent::MemberLeft { id, name, reason } => {
                out.member_left.write(MemberLeft { id, name, reason });
            }
            LobbyEvent::Chat { from, name, text } => {
                views.chat.push(ChatLine {
                    from,
                    name: name.clone(),
                    text: text.clone(),
                });
                out.chat.write(ChatReceived { from, name, text });
            }
            LobbyEvent::Notice(text) => {
                out.notice.write(LobbyNotice(text));
            }
            LobbyEvent::Control(news) => {
                out.control.write(MatchControlReceived(news));
            }
            LobbyEvent::Resume(step) => views.resume.0.push_back(step),
            LobbyEvent::MatchStarted(start) => {
                views.pending.0 = Some(start);
                break;
            }
            LobbyEvent::Failed(error) => {
                warn!("nearplay: lobby failed: {error}");
                let hosting = lobby.is_host();
                out.failed.write(LobbyFailed { error, hosting });
                ended = true;
                break;
            }
            LobbyEvent::Closed(reason) => {
                info!("nearplay: lobby closed: {reason}");
                out.closed.write(LobbyClosed(reason));
                ended = true;
                break;
            }
        }
    }
    if !ended {
        let view = CurrentLobby::of(&lobby);
        match views.current {
            Some(mut current) => {
                current.set_if_neq(view);
            }
            None => commands.insert_resource(view),
        }
    } else {
        commands.remove_resource::<LobbyHandle>();
        commands.remove_resource::<CurrentLobby>();
        views.roster.0.clear();
        // A running match goes on peer to peer without its lobby.
        if *state.get() != NetState::InMatch {
            NextState::set_if_neq(&mut next, NetState::Browsing);
        }
    }
}
