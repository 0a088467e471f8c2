//! The client while its match runs: seat news and new match keys from the
//! host, cleaned and checked before the game sees them.

use std::net::IpAddr;

use nearplay_netcode::{MAX_PLAYERS, MAX_SPECTATORS, MatchKey};

use super::{ClientEvent, ClientMachine};
use crate::lobby::message::{MAX_NAME_CHARS, SeatNews, sanitize};

impl ClientMachine {
    /// A seat changed hands: the name is cleaned; a handle no match can
    /// have, or (on the LAN) an address no game socket can be at
    /// (unspecified, multicast, broadcast, port 0, or loopback from a host
    /// on another machine: a later plan would aim our traffic there), is a
    /// protocol error.
    pub(super) fn seat_news(&mut self, mut news: SeatNews) {
        if usize::from(news.handle) >= MAX_PLAYERS + MAX_SPECTATORS {
            return self.protocol_error(&"seat news for an impossible handle");
        }
        let ip = news.addr.ip().to_canonical();
        let remote_host = self
            .seen
            .lobby
            .is_some_and(|a| !a.ip().to_canonical().is_loopback());
        let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
        let unusable =
            ip.is_unspecified() || ip.is_multicast() || broadcast || news.addr.port() == 0;
        // Online, addresses are WebRTC peer ids written as IPv6 addresses
        // (random: about one in 256 looks like multicast): none of these
        // checks applies, and the game only ever sends to the room's peers.
        if !self.seen.peer_ids && (unusable || (remote_host && ip.is_loopback())) {
            return self.protocol_error(&"seat news with an unusable address");
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
