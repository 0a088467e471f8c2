//! The shells under a [`Lobby`](super::Lobby): the TCP ones on the LAN
//! ([`LobbyHost`], [`LobbyClient`]), the WebRTC ones in a rendezvous room
//! ([`OnlineHost`], [`OnlineClient`]), and the HTTP call that opens the
//! latter, run off the caller's thread ([`OffThread`]). One shape for all
//! four, so the lobby's logic is written once.

use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::lobby::client::ClientEvent;
use crate::lobby::host::{HostEvent, StartRefused};
use crate::lobby::message::{MemberId, RosterEntry};
use crate::lobby::tcp::{LobbyClient, LobbyHost};
#[cfg(feature = "rendezvous")]
use crate::rendezvous::{OnlineClient, OnlineHost};

use super::events::LobbyError;

/// Work running on its own thread, whose result is taken without waiting.
#[derive(Debug)]
pub(super) struct OffThread<T> {
    rx: Receiver<T>,
}

impl<T: Send + 'static> OffThread<T> {
    /// Runs `work` on a new thread named `name`. If no thread can be
    /// spawned, runs nothing: [`take`](Self::take) then says `Err`.
    pub(super) fn spawn(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        let _ = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let _ = tx.send(work());
            });
        OffThread { rx }
    }

    /// The result if ready: `Ok(Some)`, `Ok(None)` while running, `Err` if
    /// the thread ended without one (it panicked, or never started).
    pub(super) fn take(&mut self) -> Result<Option<T>, LobbyError> {
        match self.rx.try_recv() {
            Ok(v) => Ok(Some(v)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(LobbyError::Stopped),
        }
    }
}

/// An event of either lobby machine, or of the shell around it.
#[derive(Debug)]
pub(super) enum Raw {
    Host(HostEvent),
    Client(ClientEvent),
    /// Something to show, from the shell (the server let go of the room).
    Notice(String),
    /// The room's link ended (online host): the lobby is gone.
    LinkEnded(String),
}

/// What a [`Lobby`](super::Lobby) drives.
pub(super) enum Backend {
    LanHost(LobbyHost),
    LanClient(LobbyClient),
    #[cfg(feature = "rendezvous")]
    OnlineHost(Box<OnlineHost>),
    #[cfg(feature = "rendezvous")]
    OnlineClient(Box<OnlineClient>),
    /// A room being created or checked on the server (HTTP, off-thread).
    #[cfg(feature = "rendezvous")]
    Connecting(OffThread<Result<Backend, LobbyError>>),
    /// Nothing: failed, left, or handed over to the match.
    Gone,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self {
            Backend::LanHost(_) => "LanHost",
            Backend::LanClient(_) => "LanClient",
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(_) => "OnlineHost",
            #[cfg(feature = "rendezvous")]
            Backend::OnlineClient(_) => "OnlineClient",
            #[cfg(feature = "rendezvous")]
            Backend::Connecting(_) => "Connecting",
            Backend::Gone => "Gone",
        };
        f.write_str(what)
    }
}

impl Backend {
    /// Moves bytes (online shells are pumped here) and returns the next event.
    pub(super) fn poll(&mut self) -> Option<Raw> {
        match self {
            Backend::LanHost(h) => h.poll().map(Raw::Host),
            Backend::LanClient(c) => c.poll().map(Raw::Client),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => {
                if let Some(e) = h.poll() {
                    return Some(Raw::Host(e));
                }
                if h.take_server_gone() {
                    return Some(Raw::Notice(
                        "the rendezvous server let go of the room: nobody new can join".into(),
                    ));
                }
                h.link_exit().map(|exit| Raw::LinkEnded(exit.to_string()))
            }
            #[cfg(feature = "rendezvous")]
            Backend::OnlineClient(c) => {
                if let Some(e) = c.poll() {
                    return Some(Raw::Client(e));
                }
                c.take_server_gone().then(|| {
                    Raw::Notice(
                        "the rendezvous server let go of the room: nobody new can join".into(),
                    )
                })
            }
            #[cfg(feature = "rendezvous")]
            Backend::Connecting(_) => None,
            Backend::Gone => None,
        }
    }

    pub(super) fn set_ready(&mut self, ready: bool) {
        match self {
            Backend::LanHost(h) => h.set_ready(ready),
            Backend::LanClient(c) => c.set_ready(ready),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => h.set_ready(ready),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineClient(c) => c.set_ready(ready),
            #[cfg(feature = "rendezvous")]
            Backend::Connecting(_) => {}
            Backend::Gone => {}
        }
    }

    pub(super) fn chat(&mut self, text: &str) {
        match self {
            Backend::LanHost(h) => h.chat(text),
            Backend::LanClient(c) => c.chat(text),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => h.chat(text),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineClient(c) => c.chat(text),
            #[cfg(feature = "rendezvous")]
            Backend::Connecting(_) => {}
            Backend::Gone => {}
        }
    }

    /// During a match: an encoded resume message for the player at handle
    /// `to`, over the lobby's control channel (TCP on the LAN, the room
    /// link's reliable channel online).
    pub(super) fn send_resume(&mut self, to: u16, bytes: Vec<u8>) {
        match self {
            Backend::LanHost(h) => {
                h.send_resume(to, bytes);
            }
            Backend::LanClient(c) => c.send_resume(to, bytes),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => {
                h.send_resume(to, bytes);
            }
            #[cfg(feature = "rendezvous")]
            Backend::OnlineClient(c) => c.send_resume(to, bytes),
            _ => {}
        }
    }

    /// Host only: the host's game finished the running resume, so seat
    /// changes that waited for it are announced.
    pub(super) fn resume_settled(&mut self) {
        match self {
            Backend::LanHost(h) => h.resume_settled(),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => h.resume_settled(),
            _ => {}
        }
    }

    /// Online: a handle on the room's link for the game transport, the
    /// shell keeping the lobby on it as the match's control channel.
    #[cfg(feature = "rendezvous")]
    pub(super) fn room_link(&self) -> Option<nearplay_netcode::transport::webrtc::WebRtcLink> {
        match self {
            Backend::OnlineHost(h) => Some(h.link()),
            Backend::OnlineClient(c) => Some(c.link()),
            _ => None,
        }
    }

    /// Host only; `false` if not a host.
    pub(super) fn kick(&mut self, id: MemberId) -> bool {
        match self {
            Backend::LanHost(h) => {
                h.kick(id);
                true
            }
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => h.kick(id),
            _ => false,
        }
    }

    /// Host only: the machine's own decision; the plan follows as an event.
    pub(super) fn start(&mut self) -> Result<(), StartRefused> {
        match self {
            Backend::LanHost(h) => match h.start() {
                Ok(_) => Ok(()),
                Err(crate::lobby::tcp::ShellError::Start(e)) => Err(e),
                Err(_) => Err(StartRefused::NotOpen),
            },
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => h.start().map(|_| ()),
            _ => Err(StartRefused::NotOpen),
        }
    }

    /// The name a LAN host's lobby is advertised under now (mDNS probing may
    /// rename it about a second after it opened).
    pub(super) fn advertised_name(&self) -> Option<String> {
        match self {
            Backend::LanHost(h) => h.instance_name(),
            _ => None,
        }
    }

    /// The lobby's TCP address (LAN): ours as host, the host's as joiner.
    pub(super) fn lobby_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Backend::LanHost(h) => Some(h.local_addr()),
            Backend::LanClient(c) => Some(c.host_addr()),
            _ => None,
        }
    }

    /// The host's roster, if this is a host.
    pub(super) fn host_roster(&self) -> Option<Vec<RosterEntry>> {
        match self {
            Backend::LanHost(h) => Some(h.roster()),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => Some(h.roster()),
            _ => None,
        }
    }

    /// Says goodbye without waiting: the host closes its lobby (members
    /// get "closed"), a member leaves. What is left to send is sent by the
    /// shell's thread (LAN) or the link's (online) after the handle drops.
    pub(super) fn leave(&mut self) {
        match self {
            Backend::LanHost(h) => h.close(),
            Backend::LanClient(c) => c.leave(),
            // Online the same words over the room link (which a match's
            // transport may keep open); dropping the last handle of the
            // link then tells every peer at once.
            #[cfg(feature = "rendezvous")]
            Backend::OnlineHost(h) => h.close(),
            #[cfg(feature = "rendezvous")]
            Backend::OnlineClient(c) => c.leave(),
            _ => {}
        }
    }
}
