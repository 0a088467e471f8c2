//! What a [`Lobby`](super::Lobby) reports ([`LobbyEvent`], [`LobbyPhase`]),
//! what it refuses ([`LobbyActionError`]), why it fails ([`LobbyError`]),
//! and what it hands the game at start ([`MatchStart`]).

use ggrs::P2PSession;
use std::net::SocketAddr;
use std::time::Duration;

use nearplay_netcode::{
    DEFAULT_SYNC_TIMEOUT, GameTransport, LinkProfile, MatchKey, MatchPlan, NetMonitor,
    NetSessionBuilder, PeerAddr, SessionError, TransportError,
};

use crate::lobby::client::{CloseReason, JoinError};
use crate::lobby::host::LeaveReason;
use crate::lobby::message::{MemberId, RosterEntry};
use crate::lobby::secure::Fingerprint;
use crate::lobby::tcp::ShellError;
use crate::rendezvous::RoomCode;

/// Where a [`Lobby`](super::Lobby) is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LobbyPhase {
    /// Host: the lobby is being opened (a room being created online).
    Opening,
    /// Joiner: connecting, checking the room, or awaiting the host's welcome.
    Joining,
    /// In the lobby: roster, chat, ready.
    InLobby,
    /// A match started ([`LobbyEvent::MatchStarted`] was returned). On the
    /// LAN and online the lobby stays open as the match's control channel (seat news,
    /// key epochs, rejoins) until it is left or closed; then
    /// [`MatchControl::Ended`] says so and the match goes on without it.
    InMatch,
    /// Over: failed, closed, kicked or left.
    Closed,
}

/// Something that happened, returned by [`Lobby::poll`](super::Lobby::poll).
/// The same events whether the lobby is hosted or joined, on the LAN or in
/// a rendezvous room. Every string in them is cleaned of control characters.
#[derive(Debug)]
// `MatchStarted` is large (the plan and its transport) and rare (once per
// match): unboxed, so a game takes the `MatchStart` out as is.
#[allow(clippy::large_enum_variant)]
pub enum LobbyEvent {
    /// Host: the lobby is open (advertised on the LAN, or its room created).
    Opened {
        /// The name it is listed under (with a suffix if the wanted one
        /// was taken) or `"Room CODE"`.
        name: String,
        /// The room code to share, online.
        code: Option<RoomCode>,
    },
    /// Joiner: we are in.
    Joined {
        /// Our member id.
        you: MemberId,
        /// Our name (maybe with a suffix).
        name: String,
        /// The lobby's name.
        lobby: String,
        /// Player limit.
        max_players: u16,
        /// The fingerprint of our channel to the host (the host's screen
        /// shows the same one for us unless someone sits in between).
        fingerprint: Fingerprint,
    },
    /// The roster changed (join, leave, ready); also in [`Lobby::roster`](super::Lobby::roster).
    RosterChanged(Vec<RosterEntry>),
    /// Host: a player joined.
    MemberJoined {
        /// Its id.
        id: MemberId,
        /// Its (unique) name.
        name: String,
        /// The fingerprint of its channel.
        fingerprint: Fingerprint,
    },
    /// Host: a player left.
    MemberLeft {
        /// Its id.
        id: MemberId,
        /// Its name.
        name: String,
        /// Why.
        reason: LeaveReason,
    },
    /// A chat line.
    Chat {
        /// Sender id.
        from: MemberId,
        /// Sender name.
        name: String,
        /// The line.
        text: String,
    },
    /// Something worth showing that changes nothing: wrong password
    /// guesses, refused joiners, the rendezvous server closing.
    Notice(String),
    /// The match starts: the checked plan and its transport. Also when we
    /// are seated in a running match (rejoin, late join, spectating late).
    MatchStarted(MatchStart),
    /// News of the running match from its lobby: seats vacated, retaken
    /// or taken, a new match key, the control channel's end.
    Control(MatchControl),
    /// What to do for a rejoin or late join of the running match (LAN):
    /// see [`ResumeStep`](super::ResumeStep).
    Resume(super::ResumeStep),
    /// The lobby could not be hosted or joined (queued ready and chat are
    /// dropped with it); phase [`LobbyPhase::Closed`].
    Failed(LobbyError),
    /// The lobby ended; phase [`LobbyPhase::Closed`].
    Closed(CloseReason),
}

/// What the lobby says about the running match, host and members alike
/// (names cleaned). The session's reaction (a new key, a restart at an
/// agreed frame) is the game's or the netcode's; the lobby delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchControl {
    /// A player's connection dropped (or it left): its seat is vacant and
    /// waits for a rejoin; the others play on.
    SeatVacated {
        /// The seat's handle.
        handle: usize,
        /// Its player's name.
        name: String,
    },
    /// A player proved the seat's secret and is back in it.
    SeatRetaken {
        /// The seat's handle.
        handle: usize,
        /// Its player's name.
        name: String,
        /// Its game address now (a restarted game has a new port).
        addr: SocketAddr,
    },
    /// A newcomer took a free seat (late join), or came to watch.
    SeatTaken {
        /// The new seat's handle.
        handle: usize,
        /// The newcomer's name.
        name: String,
        /// Its game address.
        addr: SocketAddr,
        /// It watches rather than plays.
        spectator: bool,
    },
    /// A spectator stopped watching: the spectator stream stops feeding
    /// it. Its handle stays in the plan (the relay tree keeps its shape,
    /// so nobody else re-attaches) and is not given out again.
    SpectatorLeft {
        /// Its handle.
        handle: usize,
        /// Its name.
        name: String,
    },
    /// The host made a new match key: epoch + 1. Only members connected
    /// now receive it (a member who left for good never does).
    MatchRekeyed {
        /// The key's epoch.
        epoch: u32,
        /// The new key.
        key: MatchKey,
    },
    /// The lobby ended during the match (closed by the host, lost, left):
    /// the match goes on peer to peer, without rejoins or new keys.
    Ended(CloseReason),
    /// Our connection to the host dropped during the match and the lobby
    /// is trying to take our seat back by itself: try number `attempt`
    /// starts now (see [`ReconnectPolicy`](super::ReconnectPolicy)). Show
    /// "reconnecting..."; the session may be dropped or kept meanwhile.
    Reconnecting {
        /// The try, from 1.
        attempt: u32,
    },
    /// The host took us back into our seat: a [`LobbyEvent::MatchStarted`]
    /// of the resumed match follows (play it as a rejoin: drop the old
    /// session, wait for [`ResumeStep::Load`](super::ResumeStep::Load)).
    Reconnected {
        /// Tries it took.
        attempts: u32,
        /// From the drop to the host's welcome.
        after: std::time::Duration,
    },
    /// The lobby stopped trying to take our seat back (tries or time used
    /// up, or the host refused the seat's proof): [`Ended`](Self::Ended)
    /// follows.
    ReconnectGaveUp {
        /// Tries made.
        attempts: u32,
        /// From the drop to giving up.
        after: std::time::Duration,
        /// The last try's failure.
        error: JoinError,
    },
}

/// What a match needs: the checked plan and the transport it names, over
/// the game socket (LAN) or the room's link (online) that the lobby keeps.
#[derive(Debug)]
pub struct MatchStart {
    /// The plan: players, addresses, seed, key, settings; validated.
    pub plan: MatchPlan,
    /// The transport for `plan`.
    pub transport: GameTransport,
    /// Player handles nobody holds now: a rejoin or late join while
    /// another seat is vacant. Every member starts the resumed session
    /// with them disconnected from its frame 0 (their input is
    /// `InputStatus::Disconnected`, as in the old session), so nobody
    /// waits for them to synchronise. Empty at a match's start.
    pub vacant: Vec<usize>,
}

impl MatchStart {
    /// A start with every seat held.
    pub fn new(plan: MatchPlan, transport: GameTransport) -> Self {
        MatchStart {
            plan,
            transport,
            vacant: Vec::new(),
        }
    }

    /// Builds the GGRS session over the transport, through the link
    /// conditioner when `impairment` is set (seeded by the plan's seed),
    /// with a [`NetMonitor`] for stats and the sync deadline
    /// ([`DEFAULT_SYNC_TIMEOUT`]); the [`vacant`](Self::vacant) seats start
    /// disconnected.
    pub fn into_session<C: ggrs::Config<Address = PeerAddr>>(
        self,
        impairment: Option<LinkProfile>,
    ) -> Result<(P2PSession<C>, NetMonitor), SessionError> {
        self.into_session_within(impairment, DEFAULT_SYNC_TIMEOUT)
    }

    /// [`into_session`](Self::into_session), with `sync_timeout` for the
    /// session to reach every other player before the monitor reports a
    /// [`SyncTimeout`](nearplay_netcode::SyncTimeout) naming who it could
    /// not reach.
    pub fn into_session_within<C: ggrs::Config<Address = PeerAddr>>(
        self,
        impairment: Option<LinkProfile>,
        sync_timeout: Duration,
    ) -> Result<(P2PSession<C>, NetMonitor), SessionError> {
        let seed = self.plan.seed;
        let (mut session, monitor) = NetSessionBuilder::<C>::from_plan(&self.plan)
            .sync_timeout(sync_timeout)
            .build_impaired(self.transport, impairment, seed)?;
        for handle in self.vacant {
            // At frame 0 nothing was simulated: no rollback follows (the
            // vendored ggrs's fix, vendor/ggrs/PATCHES.md). A handle that is
            // ours or out of range is refused by ggrs and ignored here.
            if handle != self.plan.local_handle {
                let _ = session.disconnect_player(handle);
            }
        }
        Ok((session, monitor))
    }
}

/// Why a [`Lobby`](super::Lobby) refused an action (nothing was done).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LobbyActionError {
    /// Only the host may do that.
    #[error("only the host can do that")]
    NotHost,
    /// The lobby is closed, or the match already started.
    #[error("not in a lobby (closed, or the match started)")]
    NotInLobby,
    /// These members are not ready.
    #[error("not everyone is ready: {0:?}")]
    NotReady(Vec<String>),
    /// A match needs at least two players.
    #[error("a match needs at least two players")]
    TooFew,
    /// No member has that id.
    #[error("no member {0}")]
    NoSuchMember(MemberId),
    /// Rematch before any match.
    #[error("no match to replay yet")]
    NoMatch,
    /// [`Lobby::reconnect`](super::Lobby::reconnect) outside what it is
    /// for: a LAN player of a running match, reconnecting on.
    #[error("only a LAN player in a match, with reconnecting on, can reconnect")]
    CannotReconnect,
    /// Too many chat lines queued before the welcome.
    #[error("too many chat lines waiting for the host's welcome")]
    QueueFull,
}

/// Why a lobby could not be hosted or joined, or its match not handed over.
#[derive(Debug, thiserror::Error)]
pub enum LobbyError {
    /// The host refused us or could not be reached.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// Opening the LAN lobby (socket, advertisement) failed.
    #[error("cannot open the lobby: {0}")]
    Open(#[from] ShellError),
    /// The rendezvous server refused or could not be reached.
    #[cfg(feature = "rendezvous")]
    #[error(transparent)]
    Rendezvous(#[from] crate::rendezvous::RendezvousError),
    /// The game socket could not be bound.
    #[error("cannot bind the game socket: {0}")]
    Socket(String),
    /// LAN discovery is off (no mDNS daemon); the reason.
    #[error("the LAN is not available: {0}")]
    NoLan(String),
    /// An online lobby was asked for without a rendezvous server (or
    /// without the `rendezvous` feature).
    #[error("no rendezvous server is configured")]
    NoServer,
    /// The match transport could not be built from the plan.
    #[error("cannot build the match transport: {0}")]
    Transport(#[from] TransportError),
    /// The lobby's background work stopped unexpectedly.
    #[error("the lobby's background thread stopped")]
    Stopped,
}
