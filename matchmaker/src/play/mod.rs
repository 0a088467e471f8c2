//! One lobby API for LAN and online play: a [`Matchmaker`] made once at
//! start-up, a [`Lobby`] handle for hosting and joining (on the LAN or by
//! room code, the same methods and events whatever the path), and a
//! [`LobbyList`] of lobbies to join (the LAN's and the rendezvous server's
//! public rooms).
//!
//! Built on the shells of the other modules, unchanged: the TCP lobby
//! ([`LobbyHost`](crate::LobbyHost), [`LobbyClient`](crate::LobbyClient)),
//! the rendezvous room ([`OnlineHost`](crate::rendezvous::OnlineHost),
//! [`OnlineClient`](crate::rendezvous::OnlineClient)) and mDNS browsing
//! ([`LobbyBrowser`](crate::LobbyBrowser)).
//!
//! | file | what |
//! |---|---|
//! | `matchmaker.rs` | [`Matchmaker`], [`MatchmakerConfig`]: host, join, browse |
//! | `settings.rs` | [`LobbySettings`], [`PlayerSettings`], [`Venue`], [`JoinTarget`] |
//! | `lobby.rs` | [`Lobby`]: actions, queue before the welcome, leave, rematch |
//! | `translate.rs` | the shells' events into [`LobbyEvent`]s |
//! | `handover.rs` | the match hand-over: plan + transport, rematch over the same socket or link |
//! | `backend.rs` | the four shells behind one shape; HTTP off the caller's thread |
//! | `events.rs` | [`LobbyEvent`], [`LobbyPhase`], [`MatchStart`], [`MatchControl`], the errors |
//! | `resume.rs` | [`ResumeStep`]: rejoin and late join driven over the control channel |
//! | `reconnect.rs` | a window that stayed open takes its seat back by itself ([`Lobby::reconnect`]) |
//! | `reconnect_schedule.rs` | [`ReconnectPolicy`]: when to try again, when to give up (pure) |
//! | `ticket.rs` | [`RejoinTicket`]: a seat's secret, saved privately for a restarted game |
//! | `list.rs`, `list_online.rs` | [`LobbyList`]: mDNS and the server's public rooms |

// Without `rendezvous` the online halves of these are unused.
#[cfg_attr(not(feature = "rendezvous"), allow(dead_code))]
mod backend;
mod events;
mod handover;
#[cfg_attr(not(feature = "rendezvous"), allow(dead_code))]
mod list;
#[cfg(feature = "rendezvous")]
mod list_online;
mod lobby;
mod matchmaker;
mod reconnect;
mod reconnect_schedule;
mod resume;
mod settings;
mod ticket;
mod translate;

pub use events::{LobbyActionError, LobbyError, LobbyEvent, LobbyPhase, MatchControl, MatchStart};
pub use list::{ListEvent, LobbyEntry, LobbyList, LobbyPlace};
pub use lobby::{Lobby, MAX_QUEUED_CHAT};
pub use matchmaker::{Matchmaker, MatchmakerConfig, MatchmakerError};
pub use reconnect_schedule::ReconnectPolicy;
pub use resume::{ONLINE_MARGIN_FRAMES, ResumeStep};
pub use settings::{JoinTarget, LIST_REFRESH, LobbySettings, PlayerSettings, Venue};
pub use ticket::{MAX_TICKET_BYTES, RejoinTicket, TICKET_VERSION, TicketError};
