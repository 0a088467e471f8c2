//! Join timings for the rendezvous benchmark: by code over the rendezvous
//! server and WebRTC (ours), bare matchbox_socket connecting two peers
//! through the same server (the anchor), and the LAN path (TCP lobby, then
//! UDP) for scale. Each WebRTC trial runs in a fresh process (a game
//! starting up); it prints its total on the first line and its phases after.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use ggrs::{P2PSession, PredictRepeatLast, SessionState};
use matchbox_socket::{ChannelConfig, RtcIceServerConfig, WebRtcSocket, WebRtcSocketBuilder};
use nearplay_matchmaker::lobby::client::{ClientEvent, JoinConfig};
use nearplay_matchmaker::lobby::host::HostConfig;
use nearplay_matchmaker::lobby::tcp::{HostOptions, LobbyClient, LobbyHost};
use nearplay_matchmaker::rendezvous::server::{Limits, RendezvousServer};
use nearplay_matchmaker::rendezvous::{OnlineClient, OnlineHost, RendezvousClient};
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::webrtc::WebRtcConfig;

const LIMIT: Duration = Duration::from_secs(30);

pub struct Cfg;
impl ggrs::Config for Cfg {
    type Input = u8;
    type InputPredictor = PredictRepeatLast;
    type State = u64;
    type Address = PeerAddr;
}

pub fn until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + LIMIT;
    while !f() {
        assert!(Instant::now() < end, "timed out: {what}");
        std::thread::yield_now();
    }
}

fn synchronized(sessions: &mut [P2PSession<Cfg>]) {
    until("sessions synchronized", || {
        for s in sessions.iter_mut() {
            s.poll_remote_clients();
            s.events().for_each(drop);
        }
        sessions
            .iter()
            .all(|s| s.current_state() == SessionState::Running)
    });
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Join by code -> both sessions running, over the rendezvous server and
/// WebRTC: the total, then (phase, ms since the join) pairs.
pub fn webrtc_join_ms() -> (f64, Vec<(&'static str, f64)>) {
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), Limits::default(), 1)
            .expect("server");
    let client = RendezvousClient::new(&server.local_addr().to_string()).expect("url");
    let webrtc = WebRtcConfig::default();
    let mut host = OnlineHost::open(&client, HostConfig::new("b", "h", "g", "1"), false, &webrtc)
        .expect("host");
    // The host is in its room before anyone joins.
    until("host in room", || {
        let _ = host.poll();
        // Paced under the server's look-up rate (20 a second per address).
        std::thread::sleep(Duration::from_millis(50));
        client
            .room(host.code().as_str())
            .is_ok_and(|r| r.players == 1)
    });
    let mut phases = Vec::new();
    let t0 = Instant::now();
    let mut member = OnlineClient::join(
        &client,
        host.code().as_str(),
        JoinConfig::new("m", "g", "1", 0),
        &webrtc,
    )
    .expect("join");
    phases.push(("room looked up, link opened", ms(t0)));
    let mut joined = false;
    until("joined", || {
        let _ = host.poll();
        while let Some(e) = member.poll() {
            if let ClientEvent::JoinFailed(why) = &e {
                panic!("join failed: {why}; host link {:?}", host.link_exit());
            }
            joined |= matches!(e, ClientEvent::Joined { .. });
        }
        joined
    });
    phases.push(("joined (WebRTC up, lobby hello)", ms(t0)));
    member.set_ready(true);
    until("ready", || {
        let _ = host.poll();
        let _ = member.poll();
        host.roster().iter().skip(1).all(|r| r.ready)
    });
    phases.push(("host sees member ready", ms(t0)));
    let plan = host.start().expect("start");
    let mut theirs = None;
    until("plan", || {
        let _ = host.poll();
        while let Some(e) = member.poll() {
            if let ClientEvent::Started(p) = e {
                theirs = Some(p);
            }
        }
        theirs.is_some()
    });
    phases.push(("member has the plan", ms(t0)));
    let theirs = theirs.expect("plan");
    let t_host = host.into_transport(&plan).expect("transport");
    let t_member = member.into_transport(&theirs).expect("transport");
    let mut sessions = vec![
        NetSessionBuilder::<Cfg>::from_plan(&plan)
            .build(t_host)
            .expect("session"),
        NetSessionBuilder::<Cfg>::from_plan(&theirs)
            .build(t_member)
            .expect("session"),
    ];
    synchronized(&mut sessions);
    (ms(t0), phases)
}

/// A bare matchbox socket with nearplay's channels and ICE list (none), its
/// message loop on a thread of its own.
fn bare_socket(url: &str) -> WebRtcSocket {
    let (socket, message_loop) = WebRtcSocketBuilder::new(url)
        .ice_server(RtcIceServerConfig {
            urls: Vec::new(),
            username: None,
            credential: None,
            // Stock matchbox_socket's pace (webrtc's 200 ms): the anchor.
            check_interval: None,
        })
        .add_channel(ChannelConfig::reliable())
        .add_channel(ChannelConfig::unreliable())
        .build();
    std::thread::spawn(move || {
        let _ = futures_lite::future::block_on(message_loop);
    });
    socket
}

/// The anchor: bare matchbox_socket, the second of two peers created ->
/// both see the other connected (data channels open), through the same
/// rendezvous server.
pub fn bare_connect_ms() -> f64 {
    let server =
        RendezvousServer::start("127.0.0.1:0".parse().expect("addr"), Limits::default(), 1)
            .expect("server");
    let url = format!("ws://{}/anchor", server.local_addr());
    let mut first = bare_socket(&url);
    until("first peer has its id", || {
        let _ = first.try_update_peers();
        first.id().is_some()
    });
    let t0 = Instant::now();
    let mut second = bare_socket(&url);
    until("two bare peers connected", || {
        let _ = first.try_update_peers();
        let _ = second.try_update_peers();
        first.connected_peers().count() == 1 && second.connected_peers().count() == 1
    });
    ms(t0)
}

/// Join (address known) -> both sessions running, over the LAN lobby and UDP.
pub fn lan_join_ms() -> f64 {
    let host_sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let member_sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut config = HostConfig::new("b", "h", "g", "1");
    config.game_port = host_sock.local_addr().expect("addr").port();
    let options = HostOptions {
        bind: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..Default::default()
    };
    let host = LobbyHost::open(config, options).expect("host");
    let t0 = Instant::now();
    let port = member_sock.local_addr().expect("addr").port();
    let member = LobbyClient::join(host.local_addr(), JoinConfig::new("m", "g", "1", port));
    until("joined", || {
        matches!(member.poll(), Some(ClientEvent::Joined { .. }))
    });
    member.set_ready(true);
    // The roster snapshot can run ahead of the host thread: retry start.
    let mut plan = None;
    until("started", || {
        let _ = host.poll();
        plan = host.start().ok();
        plan.is_some()
    });
    let plan = plan.expect("plan");
    let mut theirs = None;
    until("plan", || {
        if let Some(ClientEvent::Started(p)) = member.poll() {
            theirs = Some(p);
        }
        theirs.is_some()
    });
    let theirs = theirs.expect("plan");
    let mut sessions = vec![
        NetSessionBuilder::<Cfg>::from_plan(&plan)
            .build(UdpTransport::from_plan(host_sock, &plan).expect("t"))
            .expect("session"),
        NetSessionBuilder::<Cfg>::from_plan(&theirs)
            .build(UdpTransport::from_plan(member_sock, &theirs).expect("t"))
            .expect("session"),
    ];
    synchronized(&mut sessions);
    ms(t0)
}
