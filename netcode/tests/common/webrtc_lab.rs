//! WebRTC tests' lab: a stock signaling server on loopback, a network
//! namespace per test (so ICE never offers the machine's real addresses),
//! a connected mesh of links, and a match plan over their peer ids.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use matchbox_signaling::SignalingServer;
use nearplay_netcode::prelude::*;
use nearplay_netcode::transport::webrtc::{PeerChange, WebRtcLink, WebRtcTransport};

use super::{GameCfg, Peer};

pub const INSIDE: &str = "NEARPLAY_IN_NETNS";
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A stock full-mesh signaling server on its own runtime.
pub struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start() -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut server = {
            let _guard = runtime.enter();
            SignalingServer::full_mesh_builder((Ipv4Addr::LOCALHOST, 0)).build()
        };
        let addr = server.bind().expect("bind");
        runtime.spawn(server.serve());
        Server {
            runtime: Some(runtime),
            addr,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Runs `test` in a fresh namespace (lo up, and a default route on lo when
/// `route`) by re-executing this test binary; returns true when already
/// inside, false (after saying why) otherwise.
pub fn in_netns(test: &str, route: bool) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !root {
        println!("SKIP {test}: not root, cannot create a network namespace for WebRTC");
        return false;
    }
    let ns = format!("np-wrtc-{}-{test}", std::process::id());
    let ip = |args: &[&str]| {
        let st = Command::new("ip").args(args).status().expect("run ip");
        assert!(st.success(), "ip {args:?} failed");
    };
    ip(&["netns", "add", &ns]);
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _cleanup = Cleanup(ns.clone());
    ip(&["-n", &ns, "link", "set", "lo", "up"]);
    if route {
        ip(&["-n", &ns, "route", "add", "default", "dev", "lo"]);
    }
    let exe = std::env::current_exe().expect("test binary");
    let status = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .status()
        .expect("re-run the test inside the namespace");
    assert!(status.success(), "{test} failed inside the namespace");
    false
}

/// Waits until every link has its id and `n - 1` connected peers.
pub fn connect_mesh(links: &mut [WebRtcLink]) -> Vec<u128> {
    let end = Instant::now() + DEADLINE;
    let n = links.len();
    let mut ids = vec![None; n];
    let mut peers: Vec<Vec<u128>> = vec![Vec::new(); n];
    loop {
        for (i, link) in links.iter_mut().enumerate() {
            if ids[i].is_none() {
                ids[i] = link.id();
            }
            for change in link.poll_peers() {
                match change {
                    PeerChange::Connected(p) => peers[i].push(p),
                    PeerChange::Disconnected(p) => peers[i].retain(|q| *q != p),
                }
            }
            assert_eq!(link.exit(), None, "link {i} ended");
        }
        if ids.iter().all(Option::is_some) && peers.iter().all(|p| p.len() == n - 1) {
            return ids.into_iter().flatten().collect();
        }
        assert!(
            Instant::now() < end,
            "mesh not connected: ids {ids:?}, peers {peers:?}"
        );
        std::thread::yield_now();
    }
}

/// A plan for players at WebRTC peer `ids` (handle = index), seen by
/// player 0.
pub fn webrtc_plan(ids: &[u128], seed: u64) -> MatchPlan {
    let addrs = ids.iter().map(|id| PeerAddr::WebRtc(*id));
    super::plan_at(addrs, MatchId(0x7765_6272_7463 ^ seed), seed, 0)
}

/// One peer per link (handle = position), each playing `plan` over its
/// link.
pub fn peers_over(links: impl IntoIterator<Item = WebRtcLink>, plan: &MatchPlan) -> Vec<Peer> {
    links
        .into_iter()
        .enumerate()
        .map(|(h, link)| {
            let plan = plan.for_member(h);
            let transport = WebRtcTransport::from_plan(link, &plan).expect("transport");
            let (session, monitor) = NetSessionBuilder::<GameCfg>::from_plan(&plan)
                .build_monitored(transport)
                .expect("session");
            Peer::new(h, session, monitor, plan.seed)
        })
        .collect()
}
