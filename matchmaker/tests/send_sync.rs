//! The handles a game keeps across frames are `Send + Sync`, so a Bevy app
//! can hold them as resources as they are (no `SyncCell`): checked at
//! compile time. (Before: `LobbyHost`... held an `mpsc::Receiver`, which is
//! not `Sync`, and this file did not compile.)

use nearplay_matchmaker::lan::LobbyBrowser;
use nearplay_matchmaker::lobby::tcp::{LobbyClient, LobbyHost};
use nearplay_matchmaker::{Lobby, LobbyList, MatchStart, Matchmaker};

const fn send_sync<T: Send + Sync>() {}

const _: () = {
    send_sync::<Matchmaker>();
    send_sync::<Lobby>();
    send_sync::<LobbyList>();
    send_sync::<MatchStart>();
    send_sync::<LobbyHost>();
    send_sync::<LobbyClient>();
    send_sync::<LobbyBrowser>();
};

#[cfg(feature = "rendezvous")]
const _: () = {
    send_sync::<nearplay_matchmaker::rendezvous::RendezvousClient>();
};

/// The assertion above is the test; this names it in the test list.
#[test]
fn lobby_handles_are_send_and_sync() {
    fn check<T: Send + Sync>(_: Option<&T>) {}
    check::<Lobby>(None);
}
