//! What a game's frame pays for the rendezvous server's HTTP, before and
//! after the one lobby handle, against a server that accepts and never
//! answers (a silent TCP listener on loopback; every call waits its time
//! limit):
//!
//! - before (the anchor): `OnlineHost::open` and `OnlineClient::join` run
//!   their HTTP call on the caller's thread, so the frame that hosts or
//!   joins waits the whole limit;
//! - after: `Matchmaker::host` / `join` return at once and `Lobby::poll`
//!   is called every frame until the typed failure arrives; printed: the
//!   longest single call (`host`/`join` or `poll`) as a ratio to the anchor.
//!
//! Run with `cargo bench -p nearplay_matchmaker --features rendezvous --bench play_poll`.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use nearplay_matchmaker::lobby::client::JoinConfig;
use nearplay_matchmaker::lobby::host::HostConfig;
use nearplay_matchmaker::prelude::*;
use nearplay_matchmaker::rendezvous::{OnlineClient, OnlineHost, RendezvousClient};
use nearplay_netcode::transport::webrtc::WebRtcConfig;

const HTTP_LIMIT: Duration = Duration::from_millis(500);

fn main() {
    let silent = TcpListener::bind("127.0.0.1:0").expect("listener");
    let server = silent.local_addr().expect("addr").to_string();

    // Before: the shells called from the game's frame.
    let client = RendezvousClient::new(&server)
        .expect("url")
        .with_timeout(HTTP_LIMIT);
    let webrtc = WebRtcConfig::default();
    let t = Instant::now();
    let hosted = OnlineHost::open(
        &client,
        HostConfig::new("Den", "Hana", "g", "1"),
        false,
        &webrtc,
    );
    let host_frame = t.elapsed();
    let t = Instant::now();
    let joined = OnlineClient::join(
        &client,
        "H69QE5",
        JoinConfig::new("Ann", "g", "1", 0),
        &webrtc,
    );
    let join_frame = t.elapsed();
    assert!(
        hosted.is_err() && joined.is_err(),
        "a silent server refuses nothing"
    );
    let anchor = host_frame.max(join_frame);

    // After: the one handle.
    let mut config = MatchmakerConfig::new("g", "1");
    config.lan = None;
    config.rendezvous = Some(server);
    config.http_timeout = HTTP_LIMIT;
    let mm = Matchmaker::new(config).expect("matchmaker");
    let mut longest = Duration::ZERO;
    let mut timed = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        longest = longest.max(t.elapsed());
    };
    let mut host = None;
    let mut ann = None;
    timed(&mut || host = Some(mm.host(LobbySettings::new("Den", "Hana").online(false))));
    timed(&mut || ann = Some(mm.join(JoinTarget::code("H69QE5"), PlayerSettings::new("Ann"))));
    let (mut host, mut ann) = (host.expect("host"), ann.expect("ann"));
    let started = Instant::now();
    let mut polls = 0u64;
    let (mut host_done, mut ann_done) = (false, false);
    while !(host_done && ann_done) {
        assert!(started.elapsed() < HTTP_LIMIT * 20, "no failure event");
        timed(&mut || {
            host_done |= matches!(host.poll(), Some(LobbyEvent::Failed(_)));
        });
        timed(&mut || {
            ann_done |= matches!(ann.poll(), Some(LobbyEvent::Failed(_)));
        });
        polls += 2;
        // One frame at 60 fps (the game loop's pacing).
        std::thread::sleep(Duration::from_millis(16));
    }
    println!(
        "silent rendezvous server, HTTP limit {HTTP_LIMIT:?}:\n  \
         before: the frame that hosts waits {host_frame:?}, the frame that joins {join_frame:?} (anchor {anchor:?})\n  \
         after:  longest host/join/poll call {longest:?} over {polls} polls = {:.6} x anchor; \
         failures reported after {:?}",
        longest.as_secs_f64() / anchor.as_secs_f64(),
        started.elapsed()
    );
}
