//! The client while its match runs: seat news and new match keys from the
//! host, cleaned and checked before the game sees them.

use nearplay_netcode::{MAX_PLAYERS, MAX_SPECTATORS, MatchKey};

use super::{ClientEvent, ClientMachine};
use crate::lobby::message::{MAX_NAME_CHARS, SeatNews, sanitize};

impl ClientMachine {
    /// A seat changed hands: the name is cleaned, a handle no match can
    /// have is a protocol error.
    pub(super) fn seat_news(&mut self, mut news: SeatNews) {
        if usize::from(news.handle) >= MAX_PLAYERS + MAX_SPECTATORS {
            return self.protocol_error(&"seat news for an impossible handle");
        }
        news.name = sanitize(&news.name, MAX_NAME_CHARS + 8);
        self.events.push_back(ClientEvent::Seat(news));
    }

    /// A new match key: taken only if its epoch is newer than ours (a
    /// replayed or reordered old key is ignored).
    pub(super) fn rekeyed(&mut self, epoch: u32, key: MatchKey) {
        if epoch > self.epoch {
            self.epoch = epoch;
            self.events.push_back(ClientEvent::Rekeyed { epoch, key });
        }
    }
}
