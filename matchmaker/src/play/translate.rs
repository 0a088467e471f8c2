//! From the shells' events to [`LobbyEvent`]s: one translation for host and
//! joiner, LAN and online, which also keeps the [`Lobby`]'s state (phase,
//! roster, fingerprints), sends what was queued, and hands the match over.

use crate::lobby::client::{ClientEvent, CloseReason, JoinError};
use crate::lobby::host::HostEvent;
use crate::lobby::message::{SeatChange, SeatNews};

use super::backend::{Backend, Raw};
use super::events::{LobbyError, LobbyEvent, LobbyPhase, MatchControl};
use super::lobby::Lobby;

impl Lobby {
    /// Turns one shell event into zero or more lobby events.
    pub(super) fn translate(&mut self, raw: Raw) {
        match raw {
            Raw::Host(e) => self.host_event(e),
            Raw::Client(e) => self.client_event(e),
            Raw::Notice(text) => self.push(LobbyEvent::Notice(text)),
            Raw::LinkEnded(why) => {
                // Said once: the shell is gone with its link.
                self.core().backend = Backend::Gone;
                match self.phase {
                    LobbyPhase::InLobby | LobbyPhase::Opening => {
                        self.phase = LobbyPhase::Closed;
                        self.push(LobbyEvent::Notice(format!("the room's link ended: {why}")));
                        self.push(LobbyEvent::Closed(CloseReason::Disconnected));
                    }
                    LobbyPhase::InMatch => {
                        self.push(LobbyEvent::Notice(format!("the room's link ended: {why}")));
                        self.push(LobbyEvent::Control(MatchControl::Ended(
                            CloseReason::Disconnected,
                        )));
                    }
                    LobbyPhase::Joining | LobbyPhase::Closed => {}
                }
            }
        }
    }

    fn host_event(&mut self, event: HostEvent) {
        match event {
            HostEvent::MemberJoined {
                id,
                name,
                fingerprint,
            } => {
                self.fingerprints.insert(id, fingerprint);
                self.push(LobbyEvent::MemberJoined {
                    id,
                    name,
                    fingerprint,
                });
            }
            HostEvent::MemberLeft { id, name, reason } => {
                self.fingerprints.remove(&id);
                self.push(LobbyEvent::MemberLeft { id, name, reason });
            }
            HostEvent::GuessFailed {
                peer,
                failures,
                retry_after,
            } => self.push(LobbyEvent::Notice(format!(
                "wrong password from {peer} ({failures} so far; its next try waits {} ms)",
                retry_after.as_millis()
            ))),
            HostEvent::Rejected { peer, reason } => {
                self.push(LobbyEvent::Notice(format!(
                    "turned away {peer}: {reason:?}"
                )));
            }
            HostEvent::RosterChanged(roster) => {
                self.follow_rename();
                self.roster = roster.clone();
                self.push(LobbyEvent::RosterChanged(roster));
                self.start_if_ready();
            }
            HostEvent::Chat { from, name, text } => {
                self.push(LobbyEvent::Chat { from, name, text });
            }
            HostEvent::Started(plan) => {
                #[cfg(feature = "rendezvous")]
                let plan = if matches!(self.core().backend, Backend::OnlineHost(_)) {
                    crate::rendezvous::client::to_webrtc_plan(plan)
                } else {
                    plan
                };
                self.match_started(plan);
            }
            HostEvent::Seat(news) => self.control(seat_control(news)),
            HostEvent::Rekeyed { epoch, key } => {
                self.control(MatchControl::MatchRekeyed { epoch, key });
            }
            HostEvent::Resume { from, bytes } => self.resume_in(from, &bytes),
            HostEvent::Closed => {
                if matches!(self.phase, LobbyPhase::InLobby | LobbyPhase::Opening) {
                    self.phase = LobbyPhase::Closed;
                    self.push(LobbyEvent::Closed(CloseReason::HostClosed));
                }
            }
        }
    }

    fn client_event(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::Joined {
                you,
                name,
                lobby,
                max_players,
                roster,
                fingerprint,
            } => {
                self.you = Some(you);
                self.roster = roster.clone();
                self.fingerprints.insert(you, fingerprint);
                self.fingerprints.insert(0, fingerprint);
                if self.phase == LobbyPhase::InMatch {
                    // Back in our seat after a drop: the same lobby goes on.
                    self.reconnected();
                } else {
                    self.name = lobby.clone();
                    self.phase = LobbyPhase::InLobby;
                    if self.auto_ready && self.queued_ready.is_none() {
                        self.queued_ready = Some(true);
                    }
                    self.flush_queue();
                    self.push(LobbyEvent::Joined {
                        you,
                        name,
                        lobby,
                        max_players,
                        fingerprint,
                    });
                }
                self.push(LobbyEvent::RosterChanged(roster));
            }
            ClientEvent::JoinFailed(e) => {
                if self.phase != LobbyPhase::InMatch {
                    self.fail(LobbyError::Join(e));
                } else {
                    self.reconnect_failed(&e);
                }
            }
            ClientEvent::RosterChanged(roster) => {
                self.roster = roster.clone();
                self.push(LobbyEvent::RosterChanged(roster));
            }
            ClientEvent::Chat { from, name, text } => {
                self.push(LobbyEvent::Chat { from, name, text });
            }
            ClientEvent::Started(plan) => {
                if !(self.phase == LobbyPhase::InMatch && self.reseated(&plan)) {
                    self.match_started(plan);
                }
            }
            ClientEvent::Seat(news) => self.control(seat_control(news)),
            ClientEvent::Rekeyed { epoch, key } => {
                self.control(MatchControl::MatchRekeyed { epoch, key });
            }
            ClientEvent::Resume { from, bytes } => self.resume_in(from, &bytes),
            ClientEvent::LobbyClosed(reason) => match self.phase {
                LobbyPhase::InMatch if self.is_reconnecting() => {
                    self.reconnect_failed(&JoinError::Unreachable(reason.to_string()));
                }
                // A player's window that stayed open takes its seat back;
                // otherwise the match goes on without its control channel.
                LobbyPhase::InMatch => {
                    if self.reconnect_after(&reason) {
                        return;
                    }
                    self.core().backend = Backend::Gone;
                    self.push(LobbyEvent::Control(MatchControl::Ended(reason)));
                }
                LobbyPhase::Closed => {}
                _ => {
                    self.phase = LobbyPhase::Closed;
                    self.push(LobbyEvent::Closed(reason));
                }
            },
        }
    }

    /// News of the running match: the plan follows it, the game hears it.
    fn control(&mut self, news: MatchControl) {
        self.follow_match(&news);
        self.push(LobbyEvent::Control(news.clone()));
        self.resume_follow(&news);
    }

    /// A LAN host's lobby renamed by mDNS probing (a name taken by a host
    /// this process had not seen): the new name, and a notice.
    pub(super) fn follow_rename(&mut self) {
        if let Some(now) = self.core().backend.advertised_name()
            && now != self.name
        {
            self.name = now.clone();
            self.push(LobbyEvent::Notice(format!("the lobby is listed as {now}")));
        }
    }

    /// Host with `start_when_ready`: starts once enough players are in and
    /// all of them are ready (spectators count for neither).
    fn start_if_ready(&mut self) {
        let Some(n) = self.start_when_ready else {
            return;
        };
        let players = self.roster.iter().filter(|m| !m.spectator);
        let all_ready = players.clone().all(|m| m.ready);
        if self.host && self.phase == LobbyPhase::InLobby && players.count() >= n && all_ready {
            let _ = self.start();
        }
    }

    /// A room being opened or checked off-thread: take its outcome if ready.
    #[cfg(feature = "rendezvous")]
    pub(super) fn settle_connecting(&mut self) {
        let core = self.core();
        let Backend::Connecting(work) = &mut core.backend else {
            return;
        };
        let outcome = match work.take() {
            Ok(None) => return,
            Ok(Some(outcome)) => outcome,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(backend) => {
                let code = match &backend {
                    Backend::OnlineHost(h) => Some(h.code()),
                    Backend::OnlineClient(c) => Some(c.code()),
                    _ => None,
                };
                let roster = backend.host_roster();
                core.backend = backend;
                self.code = code;
                if let Some(code) = code {
                    self.name = format!("Room {code}");
                }
                if let Some(roster) = roster {
                    self.roster = roster;
                    self.you = Some(0);
                    self.phase = LobbyPhase::InLobby;
                    self.flush_queue();
                    self.push(LobbyEvent::Opened {
                        name: self.name.clone(),
                        code,
                    });
                }
            }
            Err(e) => {
                core.backend = Backend::Gone;
                self.fail(e);
            }
        }
    }
}

/// A seat's news as the game sees it.
fn seat_control(news: SeatNews) -> MatchControl {
    let (handle, name, addr) = (usize::from(news.handle), news.name, news.addr);
    match news.change {
        SeatChange::Vacated => MatchControl::SeatVacated { handle, name },
        SeatChange::Retaken => MatchControl::SeatRetaken { handle, name, addr },
        SeatChange::Left => MatchControl::SpectatorLeft { handle, name },
        SeatChange::Taken | SeatChange::Watching => MatchControl::SeatTaken {
            handle,
            name,
            addr,
            spectator: news.change == SeatChange::Watching,
        },
    }
}
