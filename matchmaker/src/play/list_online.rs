//! The rendezvous half of a [`LobbyList`]: a thread that fetches the
//! server's public rooms every `list_refresh` (HTTP never runs on the
//! caller's thread), and the diff that turns each fetch into list events.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use crate::rendezvous::{RendezvousClient, RoomInfo};

use super::list::{ListEvent, LobbyEntry, LobbyList};
use super::matchmaker::MatchmakerConfig;

/// One fetch: the rooms, or why the server could not be asked.
pub(super) type RoomUpdate = Result<Vec<RoomInfo>, String>;

/// The fetching thread's end of the list. Dropping it stops the thread
/// (at its next wake-up, or when its HTTP call returns).
pub(super) struct RoomFeed {
    rx: Mutex<Receiver<RoomUpdate>>,
    _stop: Sender<()>,
}

impl RoomFeed {
    pub(super) fn start(server: RendezvousClient, config: &MatchmakerConfig) -> RoomFeed {
        let (tx, rx) = mpsc::channel();
        let (stop, stopped) = mpsc::channel::<()>();
        let game = config.game.clone();
        let refresh = config.list_refresh.max(Duration::from_millis(100));
        let spawned = std::thread::Builder::new()
            .name("nearplay-room-list".into())
            .spawn(move || {
                loop {
                    let update = server.lobbies(&game, None).map_err(|e| e.to_string());
                    if tx.send(update).is_err() {
                        return;
                    }
                    match stopped.recv_timeout(refresh) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            });
        let (rx, _stop) = match spawned {
            Ok(_) => (rx, stop),
            Err(e) => {
                let (tx, rx) = mpsc::channel();
                let _ = tx.send(Err(format!("cannot start the list thread: {e}")));
                (rx, stop)
            }
        };
        RoomFeed {
            rx: Mutex::new(rx),
            _stop,
        }
    }

    /// The latest fetch, if a new one arrived (older ones are skipped).
    pub(super) fn poll(&mut self) -> Option<RoomUpdate> {
        let rx = self
            .rx
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut last = None;
        while let Ok(update) = rx.try_recv() {
            last = Some(update);
        }
        last
    }
}

impl LobbyList {
    /// Applies one fetch: added, updated and removed rooms become events
    /// (the first is returned, the rest queued).
    pub(super) fn apply_rooms(&mut self, update: RoomUpdate) -> Option<ListEvent> {
        let (game, game_version) = self.game();
        let rooms = match update {
            Ok(rooms) => rooms,
            Err(why) => return Some(ListEvent::ServerError(why)),
        };
        let mut events = Vec::new();
        let mut seen = BTreeSet::new();
        for room in &rooms {
            let entry = LobbyEntry::from_room(room, &game, &game_version);
            let key = entry.place.key();
            if self.entry(&key) != Some(&entry) {
                events.push(self.upsert(entry));
            }
            seen.insert(key);
        }
        for key in self.online_keys() {
            if !seen.contains(&key)
                && let Some(e) = self.remove(&key)
            {
                events.push(e);
            }
        }
        let mut events = events.into_iter();
        let first = events.next();
        self.pending().extend(events);
        first
    }
}

impl std::fmt::Debug for RoomFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoomFeed")
    }
}
