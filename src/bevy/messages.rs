//! Messages: what happened in the lobby and at the match start, written by
//! the plugin's systems (read them with `MessageReader`).

use bevy::ecs::message::Message;
use nearplay_matchmaker::{
    CloseReason, Fingerprint, LeaveReason, LobbyError, MemberId, RoomCode, RosterEntry,
};
use nearplay_netcode::{MatchPlan, SessionError, SyncTimeout};

/// We host: the lobby is open (advertised on the LAN, or its room created).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct LobbyOpened {
    /// The lobby's name as advertised (mDNS may have made it unique).
    pub name: String,
    /// The room code to share, for an online lobby.
    pub code: Option<RoomCode>,
}

/// We joined: the host welcomed us into its lobby.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct LobbyJoined {
    /// Our member id.
    pub you: MemberId,
    /// Our name in the lobby (made unique by the host).
    pub name: String,
    /// The lobby's name.
    pub lobby: String,
    /// Seats in the lobby.
    pub max_players: u16,
    /// The channel's fingerprint: the host's screen shows the same one
    /// unless someone sits in the middle.
    pub fingerprint: Fingerprint,
}

/// The roster changed (someone joined, left or changed their ready flag);
/// [`Roster`](super::Roster) holds the new one.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct RosterChanged(pub Vec<RosterEntry>);

/// Host: a member joined over a channel with this fingerprint.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct MemberJoined {
    /// The member's id.
    pub id: MemberId,
    /// Its name.
    pub name: String,
    /// Its channel's fingerprint (its screen shows the same).
    pub fingerprint: Fingerprint,
}

/// A member left (or was kicked, timed out, was too slow).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct MemberLeft {
    /// The member's id.
    pub id: MemberId,
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: LeaveReason,
}

/// A chat line (also kept in [`ChatLog`](super::ChatLog)); text cleaned of
/// control characters.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct ChatReceived {
    /// Who said it.
    pub from: MemberId,
    /// Their name.
    pub name: String,
    /// What they said.
    pub text: String,
}

/// Something a player should read: wrong password guesses, the rendezvous
/// server closing, ... (clean text).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct LobbyNotice(pub String);

/// News of the running match from its lobby (seats vacated, retaken or
/// taken, a new match key, the control channel's end): what
/// [`LobbyEvent::Control`](nearplay_matchmaker::LobbyEvent::Control) said.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct MatchControlReceived(pub nearplay_matchmaker::MatchControl);

/// The lobby could not be opened or joined; we are back to browsing.
#[derive(Message, Debug)]
pub struct LobbyFailed {
    /// Why.
    pub error: LobbyError,
    /// Whether we were opening it (hosting) rather than joining.
    pub hosting: bool,
}

/// The lobby ended (the host closed it, we were kicked, the connection
/// dropped). A running match goes on; otherwise we are back to browsing.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct LobbyClosed(pub CloseReason);

/// A match started: the session is inserted with `RollbackFrameRate` and
/// [`CurrentMatch`](super::CurrentMatch). Written once per match.
#[derive(Message, Debug, Clone)]
pub struct MatchStarted {
    /// The match's plan (players, seed, settings, our handle).
    pub plan: MatchPlan,
}

/// Why a match the lobby started is not running.
#[derive(Debug, thiserror::Error)]
pub enum MatchFailure {
    /// GGRS refused the session the plan describes.
    #[error("could not build the session: {0}")]
    Session(#[from] SessionError),
    /// Some peers never answered before the synchronisation deadline.
    #[error("{0}")]
    Unreachable(SyncTimeout),
    /// We joined to watch, and the spectator stream could not be opened.
    #[error("cannot watch the match: {0}")]
    Spectate(String),
}

/// The match could not start or never synchronised; the session is gone
/// and we are back in the lobby (if it is still open) or browsing.
#[derive(Message, Debug)]
pub struct MatchFailed(pub MatchFailure);
