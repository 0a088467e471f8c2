//! [`WebRtcLink`]: one matchbox [`WebRtcSocket`] whose message loop runs on
//! its own thread, with its panics contained.
//!
//! matchbox hands back the socket and a future that must be driven for
//! anything to move. The future needs no particular runtime (matchbox's native
//! build spawns its WebRTC tasks on smol's global executor, and async-io runs
//! its own reactor thread), so the link drives it with
//! `futures_lite::future::block_on` on a plain named thread, inside
//! `catch_unwind`: a panic in matchbox (it has `unwrap`s on OS errors) ends
//! the link with [`LinkExit::Panicked`] instead of taking the game down.
//!
//! Every link opens two data channels, in this order:
//! [`RELIABLE_CHANNEL`] (ordered, retransmitted: lobby and control messages)
//! and [`GAME_CHANNEL`] (unordered, no retransmit: GGRS datagrams).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use matchbox_socket::{
    ChannelConfig, Packet, PeerId, PeerState, RtcIceServerConfig, WebRtcSocket, WebRtcSocketBuilder,
};

/// Index of the reliable, ordered data channel (lobby and control).
pub const RELIABLE_CHANNEL: usize = 0;
/// Index of the unreliable, unordered data channel (game datagrams).
pub const GAME_CHANNEL: usize = 1;

/// How a [`WebRtcLink`] reaches the signaling server and its peers.
///
/// The default has **no ICE server**: peers offer only their host
/// candidates, which is right when they share a network (and never stalls on
/// a STUN server that a network without internet cannot reach). Across the
/// internet, give a STUN server and, for peers behind strict NATs, a TURN
/// server (see `docs/rendezvous.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebRtcConfig {
    /// ICE server URLs (`stun:host:port`, `turn:host:port`). Default: none.
    pub ice_urls: Vec<String>,
    /// TURN user name, if the TURN server wants one.
    pub ice_username: Option<String>,
    /// TURN credential, if the TURN server wants one.
    pub ice_credential: Option<String>,
}

/// How the link's message loop ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkExit {
    /// The socket was closed (by us, or every peer and the server left).
    Closed,
    /// The signaling connection failed or was lost; matchbox's reason.
    Failed(String),
    /// matchbox's message loop panicked; the panic message.
    Panicked(String),
}

impl std::fmt::Display for LinkExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkExit::Closed => f.write_str("closed"),
            LinkExit::Failed(why) => write!(f, "signaling failed: {why}"),
            LinkExit::Panicked(why) => write!(f, "WebRTC message loop panicked: {why}"),
        }
    }
}

/// A change in a peer's connection, as [`WebRtcLink::poll_peers`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerChange {
    /// The data channels to this peer are open.
    Connected(u128),
    /// The peer left or its connection failed.
    Disconnected(u128),
}

/// One matchbox WebRTC socket with its message loop on a background thread.
pub struct WebRtcLink {
    socket: WebRtcSocket,
    exit: Arc<Mutex<Option<LinkExit>>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for WebRtcLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcLink")
            .field("exit", &self.exit())
            .finish_non_exhaustive()
    }
}

/// The 128-bit form of a matchbox peer id (what [`crate::PeerAddr::WebRtc`] holds).
pub fn peer_to_u128(peer: PeerId) -> u128 {
    peer.0.as_u128()
}

/// The matchbox peer id of a 128-bit id.
pub fn u128_to_peer(id: u128) -> PeerId {
    PeerId(uuid::Uuid::from_u128(id))
}

impl WebRtcLink {
    /// Connects to the signaling server at `room_url` (`ws://host:port/ROOM`)
    /// and starts the message loop on a thread named `nearplay-webrtc`.
    ///
    /// Returns at once; the server assigns the local id a little later (see
    /// [`id`](Self::id)) and peers appear through [`poll_peers`](Self::poll_peers).
    /// One connection attempt only: a server that cannot be reached ends the
    /// link with [`LinkExit::Failed`] instead of retrying for seconds.
    pub fn connect(room_url: &str, config: &WebRtcConfig) -> std::io::Result<Self> {
        let (socket, message_loop) = WebRtcSocketBuilder::new(room_url)
            .ice_server(RtcIceServerConfig {
                urls: config.ice_urls.clone(),
                username: config.ice_username.clone(),
                credential: config.ice_credential.clone(),
            })
            .reconnect_attempts(Some(1))
            .add_channel(ChannelConfig::reliable())
            .add_channel(ChannelConfig::unreliable())
            .build();
        let exit = Arc::new(Mutex::new(None));
        let exit_in_thread = Arc::clone(&exit);
        let thread = std::thread::Builder::new()
            .name("nearplay-webrtc".into())
            .spawn(move || {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    futures_lite::future::block_on(message_loop)
                }));
                let exit = match outcome {
                    Ok(Ok(())) => LinkExit::Closed,
                    Ok(Err(e)) => LinkExit::Failed(e.to_string()),
                    Err(payload) => LinkExit::Panicked(panic_message(payload.as_ref())),
                };
                *exit_in_thread
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(exit);
            })?;
        Ok(WebRtcLink {
            socket,
            exit,
            thread: Some(thread),
        })
    }

    /// The id the signaling server assigned us, once it has.
    pub fn id(&mut self) -> Option<u128> {
        self.socket.id().map(peer_to_u128)
    }

    /// Peers that connected or disconnected since the last call.
    pub fn poll_peers(&mut self) -> Vec<PeerChange> {
        match self.socket.try_update_peers() {
            Ok(changes) => changes
                .into_iter()
                .map(|(peer, state)| match state {
                    PeerState::Connected => PeerChange::Connected(peer_to_u128(peer)),
                    PeerState::Disconnected => PeerChange::Disconnected(peer_to_u128(peer)),
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The peers connected now (as of the last [`poll_peers`](Self::poll_peers)).
    pub fn connected_peers(&self) -> Vec<u128> {
        self.socket.connected_peers().map(peer_to_u128).collect()
    }

    /// Queues `bytes` for `peer` on `channel`. `false` when the link is gone.
    pub fn send(&mut self, channel: usize, peer: u128, bytes: &[u8]) -> bool {
        match self.socket.get_channel_mut(channel) {
            Ok(ch) => ch
                .try_send(Packet::copy_from_slice(bytes), u128_to_peer(peer))
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Everything received on `channel` since the last call, with its sender.
    pub fn receive(&mut self, channel: usize) -> Vec<(u128, Packet)> {
        match self.socket.get_channel_mut(channel) {
            Ok(ch) => ch
                .receive()
                .into_iter()
                .map(|(peer, packet)| (peer_to_u128(peer), packet))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// How the message loop ended, once it has (`None` while it runs).
    pub fn exit(&self) -> Option<LinkExit> {
        self.exit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Closes every channel; the message loop then ends on its own.
    pub fn close(&mut self) {
        self.socket.close();
    }
}

impl Drop for WebRtcLink {
    fn drop(&mut self) {
        self.socket.close();
        // The loop ends once it sees the closed channels; joining here could
        // block the game on a stuck handshake, so the thread is detached.
        drop(self.thread.take());
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
