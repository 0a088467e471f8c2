//! `decode_lobby_page`: a `GET /lobbies` body from a (possibly hostile)
//! rendezvous server. Never panics; every room it keeps is within the API's
//! bounds, and a page never holds more than `MAX_PAGE_ROOMS` rooms.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_matchmaker::rendezvous::api::MAX_PAGE_ROOMS;
use nearplay_matchmaker::rendezvous::wire::decode_lobby_page;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = decode_lobby_page(data) {
        assert!(page.rooms.len() <= MAX_PAGE_ROOMS);
        for room in &page.rooms {
            assert!(room.check().is_ok());
            assert!(room.players <= room.request.max_players);
        }
    }
});
