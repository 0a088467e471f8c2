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

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebRtcConfig {
    /// ICE server URLs (`stun:host:port`, `turn:host:port`). Default: none.
    pub ice_urls: Vec<String>,
    /// TURN user name, if the TURN server wants one.
    pub ice_username: Option<String>,
    /// TURN credential, if the TURN server wants one.
    pub ice_credential: Option<String>,
    /// The delay between ICE connectivity checks while a peer connection
    /// is set up. Default 25 ms (webrtc's own is 200 ms, which is most of
    /// the time two peers take to connect: join by code took 615 ms on
    /// loopback, 254 ms at 20 ms). A pair still gets webrtc's 1.4 s to
    /// answer (more attempts, not a shorter wait); the checks are small
    /// STUN packets, sent only while connecting. `None`: webrtc's pace.
    pub ice_check_interval: Option<Duration>,
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        WebRtcConfig {
            ice_urls: Vec::new(),
            ice_username: None,
            ice_credential: None,
            ice_check_interval: Some(Duration::from_millis(25)),
        }
    }
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

/// Peer changes kept per handle between two [`WebRtcLink::poll_peers`]
/// calls; past this the oldest are forgotten (a signaling server cannot grow
/// a handle's memory that nobody polls).
pub const MAX_PENDING_PEER_CHANGES: usize = 1024;

/// One handle's unread peer changes.
type ChangeQueue = Arc<Mutex<VecDeque<PeerChange>>>;

/// What every handle of one link shares.
struct Shared {
    socket: Mutex<WebRtcSocket>,
    exit: Arc<Mutex<Option<LinkExit>>>,
    /// The peer-change queue of every live handle.
    watchers: Mutex<Vec<Weak<Mutex<VecDeque<PeerChange>>>>>,
    /// The message loop's thread (detached, never joined: see `Drop`).
    _thread: Option<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle is gone: close every channel. The loop ends once it
        // sees them closed; joining here could block the game on a stuck
        // handshake, so the thread is detached.
        lock(&self.socket).close();
    }
}

/// One matchbox WebRTC socket with its message loop on a background thread,
/// as a cheap, cloneable handle.
///
/// **Clones share one socket.** A lobby keeps the room's link and hands a
/// clone to the game transport ([`WebRtcTransport::from_plan`](super::WebRtcTransport::from_plan)),
/// so the room survives the match and a rematch runs over the same peers.
/// What each clone sees:
///
/// - **Peer changes** ([`poll_peers`](Self::poll_peers)) go to *every*
///   handle: each has its own queue (a copy of its source's at `clone`,
///   at most [`MAX_PENDING_PEER_CHANGES`]).
/// - **Packets** ([`receive`](Self::receive)) go to whichever handle reads
///   the channel first: let one handle own each channel (the lobby
///   [`RELIABLE_CHANNEL`], the game transport [`GAME_CHANNEL`]).
/// - **Closing**: the socket closes when the *last* handle drops, or at once
///   for every handle on an explicit [`close`](Self::close).
pub struct WebRtcLink {
    shared: Arc<Shared>,
    changes: ChangeQueue,
}

impl Clone for WebRtcLink {
    fn clone(&self) -> Self {
        let changes = Arc::new(Mutex::new(lock(&self.changes).clone()));
        lock(&self.shared.watchers).push(Arc::downgrade(&changes));
        WebRtcLink {
            shared: Arc::clone(&self.shared),
            changes,
        }
    }
}

impl std::fmt::Debug for WebRtcLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcLink")
            .field("exit", &self.exit())
            .field("handles", &Arc::strong_count(&self.shared))
            .finish_non_exhaustive()
    }
}

/// Locks `m`, carrying on after a panic elsewhere (the data stays usable:
/// a socket, a queue, an exit note).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
                check_interval: config.ice_check_interval,
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
        let changes: ChangeQueue = Arc::default();
        Ok(WebRtcLink {
            shared: Arc::new(Shared {
                socket: Mutex::new(socket),
                exit,
                watchers: Mutex::new(vec![Arc::downgrade(&changes)]),
                _thread: Some(thread),
            }),
            changes,
        })
    }

    /// The id the signaling server assigned us, once it has.
    ///
    /// (`&mut self` on this and the other I/O methods is kept from when the
    /// link owned its socket; the socket is shared by every clone.)
    pub fn id(&mut self) -> Option<u128> {
        lock(&self.shared.socket).id().map(peer_to_u128)
    }

    /// Peers that connected or disconnected since this handle's last call
    /// (every handle sees every change; see the type's docs).
    pub fn poll_peers(&mut self) -> Vec<PeerChange> {
        let fresh: Vec<PeerChange> = match lock(&self.shared.socket).try_update_peers() {
            Ok(changes) => changes
                .into_iter()
                .map(|(peer, state)| match state {
                    PeerState::Connected => PeerChange::Connected(peer_to_u128(peer)),
                    PeerState::Disconnected => PeerChange::Disconnected(peer_to_u128(peer)),
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        if !fresh.is_empty() {
            let mut watchers = lock(&self.shared.watchers);
            watchers.retain(|w| w.strong_count() > 0);
            for queue in watchers.iter().filter_map(Weak::upgrade) {
                let mut queue = lock(&queue);
                for change in &fresh {
                    if queue.len() >= MAX_PENDING_PEER_CHANGES {
                        queue.pop_front();
                    }
                    queue.push_back(*change);
                }
            }
        }
        lock(&self.changes).drain(..).collect()
    }

    /// The peers connected now (as of the last [`poll_peers`](Self::poll_peers)
    /// on any handle).
    pub fn connected_peers(&self) -> Vec<u128> {
        lock(&self.shared.socket)
            .connected_peers()
            .map(peer_to_u128)
            .collect()
    }

    /// Queues `bytes` for `peer` on `channel`. `false` when the link is gone.
    pub fn send(&mut self, channel: usize, peer: u128, bytes: &[u8]) -> bool {
        match lock(&self.shared.socket).get_channel_mut(channel) {
            Ok(ch) => ch
                .try_send(Packet::copy_from_slice(bytes), u128_to_peer(peer))
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Everything received on `channel` since the last call on *any* handle,
    /// with its sender (one handle should own each channel).
    pub fn receive(&mut self, channel: usize) -> Vec<(u128, Packet)> {
        match lock(&self.shared.socket).get_channel_mut(channel) {
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
        lock(&self.shared.exit).clone()
    }

    /// Closes every channel, for every handle of this link; the message loop
    /// then ends on its own and [`exit`](Self::exit) reports
    /// [`LinkExit::Closed`]. Dropping the last handle does the same.
    pub fn close(&mut self) {
        lock(&self.shared.socket).close();
    }

    /// How many handles share this link (this one included).
    pub fn handles(&self) -> usize {
        Arc::strong_count(&self.shared)
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
