//! [`LobbyCommands`]: what a game does with lobbies, from any system.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use nearplay_matchmaker::{
    JoinTarget, Lobby, LobbyActionError, LobbySettings, Matchmaker, MemberId, PlayerSettings,
};

use super::lobby::{ChatLog, CurrentLobby, LobbyHandle, Roster};
use super::matches::MatchTeardown;
use super::{MatchOptions, NetState};

/// The process's [`Matchmaker`], inserted by the plugin.
#[derive(Resource, Clone, Deref)]
pub struct MatchmakerRes(pub Matchmaker);

/// Hosts, joins and acts in a lobby. Opening or joining never blocks: the
/// outcome arrives as [`LobbyOpened`](super::LobbyOpened) /
/// [`LobbyJoined`](super::LobbyJoined) or [`LobbyFailed`](super::LobbyFailed).
///
/// ```
/// use nearplay::bevy::prelude::*;
///
/// fn host_button(mut lobby: LobbyCommands) {
///     lobby.host(LobbySettings::new("Ann's game", "Ann"));
/// }
/// # bevy::ecs::system::assert_is_system(host_button);
/// ```
#[derive(SystemParam)]
pub struct LobbyCommands<'w, 's> {
    commands: Commands<'w, 's>,
    matchmaker: ResMut<'w, MatchmakerRes>,
    options: Res<'w, MatchOptions>,
    lobby: Option<ResMut<'w, LobbyHandle>>,
    teardown: Res<'w, MatchTeardown>,
    next: ResMut<'w, NextState<NetState>>,
}

impl<'w, 's> LobbyCommands<'w, 's> {
    /// The process's matchmaker (game id, LAN daemon, rendezvous server).
    pub fn matchmaker(&self) -> &Matchmaker {
        &self.matchmaker.0
    }

    /// Uses `matchmaker` from now on (another rendezvous server the player
    /// typed, say; share the LAN daemon with `Matchmaker::with_discovery`).
    /// The lobby list follows the next time browsing starts.
    pub fn set_matchmaker(&mut self, matchmaker: Matchmaker) {
        self.matchmaker.0 = matchmaker;
    }

    /// The system's `Commands`, for what else the game does alongside.
    pub fn commands(&mut self) -> &mut Commands<'w, 's> {
        &mut self.commands
    }

    /// Hosts a lobby (`settings.venue` says LAN or online). The plugin's
    /// [`MatchOptions`] fill in auto-ready and start-when-ready where the
    /// settings leave them off. Leaves the current lobby, if any.
    pub fn host(&mut self, mut settings: LobbySettings) {
        settings.auto_ready |= self.options.auto_ready;
        settings.start_when_ready = settings.start_when_ready.or(self.options.start_when_ready);
        let lobby = self.matchmaker.0.host(settings);
        self.enter(lobby);
    }

    /// Joins the lobby `target` (a [`LobbyEntry`](nearplay_matchmaker::LobbyEntry)
    /// from [`AvailableLobbies`](super::AvailableLobbies), a LAN address or a
    /// room code). Leaves the current lobby, if any.
    pub fn join(&mut self, target: impl Into<JoinTarget>, mut player: PlayerSettings) {
        player.auto_ready |= self.options.auto_ready;
        let lobby = self.matchmaker.0.join(target, player);
        self.enter(lobby);
    }

    /// Joins the online room `code` (on the matchmaker's rendezvous server).
    pub fn join_code(&mut self, code: &str, player: PlayerSettings) {
        self.join(JoinTarget::code(code), player);
    }

    fn enter(&mut self, lobby: Lobby) {
        self.teardown_match();
        self.commands.insert_resource(CurrentLobby::of(&lobby));
        self.commands.insert_resource(LobbyHandle(lobby));
        self.commands.insert_resource(Roster::default());
        self.commands.insert_resource(ChatLog::default());
        NextState::set_if_neq(&mut self.next, NetState::InLobby);
    }

    fn lobby(&mut self) -> Result<&mut LobbyHandle, LobbyActionError> {
        self.lobby
            .as_deref_mut()
            .ok_or(LobbyActionError::NotInLobby)
    }

    /// Says whether we are ready (queued until the host welcomed us).
    pub fn set_ready(&mut self, ready: bool) -> Result<(), LobbyActionError> {
        self.lobby()?.set_ready(ready)
    }

    /// Sends a chat line to the lobby.
    pub fn chat(&mut self, text: &str) -> Result<(), LobbyActionError> {
        self.lobby()?.chat(text)
    }

    /// Host: removes `member` from the lobby.
    pub fn kick(&mut self, member: MemberId) -> Result<(), LobbyActionError> {
        self.lobby()?.kick(member)
    }

    /// Host: starts the match; [`MatchStarted`](super::MatchStarted)
    /// follows on every member.
    pub fn start(&mut self) -> Result<(), LobbyActionError> {
        self.lobby()?.start()
    }

    /// After a match: the same players again (`MatchPlan::rematch`, the
    /// same on every member, so each member calls this when the game
    /// agrees), over the same socket or link. A session still running is
    /// dropped when the new one starts, this frame or the next.
    pub fn rematch(&mut self) -> Result<(), LobbyActionError> {
        self.lobby()?.rematch()
    }

    /// Ends the match here (drops the session and [`CurrentMatch`](super::CurrentMatch));
    /// back to the lobby if it is still open, else to browsing. The lobby
    /// keeps the game socket for a rematch.
    pub fn end_match(&mut self) {
        self.teardown_match();
        let state = if self.lobby.is_some() {
            NetState::InLobby
        } else {
            NetState::Browsing
        };
        NextState::set_if_neq(&mut self.next, state);
    }

    /// Drops the session and its resources (the game's config type is
    /// known to [`MatchPlugin`](super::MatchPlugin) only).
    fn teardown_match(&mut self) {
        let teardown = self.teardown.0;
        self.commands
            .queue(move |world: &mut World| teardown(world));
    }

    /// Leaves the lobby (closes it when hosting) and any match; back to
    /// browsing.
    pub fn leave(&mut self) {
        if let Some(lobby) = self.lobby.as_deref_mut() {
            lobby.leave();
        }
        self.teardown_match();
        self.commands.remove_resource::<LobbyHandle>();
        self.commands.remove_resource::<CurrentLobby>();
        self.commands.insert_resource(Roster::default());
        NextState::set_if_neq(&mut self.next, NetState::Browsing);
    }
}
