//! [`SpectateNode`]: one member's part of the spectator stream, sans-IO
//! (driven with a clock it is given, so tests run on a fake one).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::SpectateError;
use super::history::{ConfirmedHistory, DEFAULT_MAX_FRAMES};
use super::message::{FrameShape, SpectateMessage};
use super::tree::{DEFAULT_FANOUT, MAX_SPECTATE_MEMBERS, RelayTree};
use super::upstream::Upstream;

/// Knobs of the spectator stream, with documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpectateConfig {
    /// Most spectators one player uploads to. Default [`DEFAULT_FANOUT`] (4).
    pub fanout: usize,
    /// Most children a spectator relays to (its plan children plus orphans
    /// it adopted). Default `2 * fanout`, so one relay leaving is absorbed.
    pub relay_capacity: usize,
    /// Match length cap in frames (history bound). Default one hour at 60 fps.
    pub max_frames: u32,
    /// How often a spectator asks its feed (subscribe, acknowledge, keep
    /// alive). Default 30 ms.
    pub want_interval: Duration,
    /// Time without being served (frames, a keep-alive, the end: a `Busy`
    /// is no service) after which a spectator suspects its feed and follows
    /// the tree's rule to another. Default 400 ms.
    pub feed_timeout: Duration,
    /// How long a suspected feed is skipped before it may be asked again
    /// (a feed silent under load is often only slow). Default 1 s.
    pub feed_retry: Duration,
    /// Silence after which a feeder drops a child. Default 400 ms.
    pub child_timeout: Duration,
    /// Frames sent but not acknowledged for this long are sent again.
    /// Default 150 ms.
    pub resend_after: Duration,
    /// A feeder sends a keep-alive when it has sent nothing for this long.
    /// Default 100 ms.
    pub keepalive_interval: Duration,
    /// Frames in flight (sent, not acknowledged) per child at most. Default 4096.
    pub window_frames: u32,
    /// Datagrams per child per poll at most: what bounds a catch-up's burst.
    /// Default 8.
    pub datagrams_per_poll: usize,
}

impl Default for SpectateConfig {
    fn default() -> Self {
        SpectateConfig {
            fanout: DEFAULT_FANOUT,
            relay_capacity: 2 * DEFAULT_FANOUT,
            max_frames: DEFAULT_MAX_FRAMES,
            want_interval: Duration::from_millis(30),
            feed_timeout: Duration::from_millis(400),
            feed_retry: Duration::from_secs(1),
            child_timeout: Duration::from_millis(400),
            resend_after: Duration::from_millis(150),
            keepalive_interval: Duration::from_millis(100),
            window_frames: 4096,
            datagrams_per_poll: 8,
        }
    }
}

impl SpectateConfig {
    /// The defaults with fanout `k` (and relay capacity `2k`).
    pub fn with_fanout(k: usize) -> Self {
        SpectateConfig {
            fanout: k,
            relay_capacity: 2 * k,
            ..Self::default()
        }
    }
}

/// Counters of one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpectateStats {
    /// Times this spectator moved to another feed (its feed did not serve
    /// it for a feed timeout, or left).
    pub reattachments: u32,
    /// `Busy` answers received.
    pub refused: u32,
    /// Messages ignored: from a member that is not our feed or not a spectator.
    pub ignored: u32,
    /// Children served now.
    pub children: usize,
}

/// A child this member feeds.
#[derive(Debug, Clone)]
struct Child {
    /// Every frame below is acknowledged.
    acked: u32,
    /// Every frame below was sent.
    sent: u32,
    last_heard: Instant,
    last_sent: Instant,
    last_progress: Instant,
    /// When `acked` last grew (or the child came).
    acked_at: Instant,
}

/// One member (player or spectator) of the spectator stream of a match.
#[derive(Debug)]
pub struct SpectateNode {
    me: u16,
    tree: RelayTree,
    config: SpectateConfig,
    history: ConfirmedHistory,
    children: BTreeMap<u16, Child>,
    /// Whom we ask for frames, and whom we skip for now.
    upstream: Upstream,
    last_want: Option<Instant>,
    want_now: bool,
    ended: Option<u32>,
    /// Spectators to answer `Busy` at the next poll (deduplicated, bounded
    /// by the tree's size).
    busy: BTreeSet<u16>,
    stats: SpectateStats,
}

impl SpectateNode {
    /// The node of member `me` in `tree`, for frames of `shape`. (`_now`
    /// is kept for callers: a feed's silence is counted from the first
    /// poll, not from the node's making.)
    pub fn new(
        me: u16,
        tree: RelayTree,
        shape: FrameShape,
        config: SpectateConfig,
        _now: Instant,
    ) -> Result<Self, SpectateError> {
        if !tree.is_player(me) && !tree.is_spectator(me) {
            return Err(SpectateError::BadRoster(
                "the local member is not in the tree",
            ));
        }
        let history = ConfirmedHistory::new(shape, config.max_frames);
        let upstream = Upstream::new(me, &tree);
        Ok(SpectateNode {
            me,
            tree,
            config,
            history,
            children: BTreeMap::new(),
            upstream,
            last_want: None,
            want_now: true,
            ended: None,
            busy: BTreeSet::new(),
            stats: SpectateStats::default(),
        })
    }

    /// The confirmed frames held (what a spectator simulates from).
    pub fn history(&self) -> &ConfirmedHistory {
        &self.history
    }

    /// The member this spectator is fed by now (`None` for a player).
    pub fn feed(&self) -> Option<u16> {
        self.upstream.feed()
    }

    /// The match's frame count once it ended.
    pub fn ended(&self) -> Option<u32> {
        self.ended
    }

    /// Whether every frame of an ended match is held.
    pub fn is_complete(&self) -> bool {
        self.ended.is_some_and(|end| self.history.len() >= end)
    }

    /// Whether every child served now acknowledged every frame below `frame`
    /// (a member about to leave waits for this, bounded, so its children
    /// are not cut short).
    pub fn children_hold(&self, frame: u32) -> bool {
        self.children.values().all(|c| c.acked >= frame)
    }

    /// The last time a child acknowledged new frames (or came), `None`
    /// without children: a player that lingers for its children after the
    /// match waits while they make progress, however slowly (a spectator
    /// starved of CPU), and not for one that stopped.
    pub fn children_progressed_at(&self) -> Option<Instant> {
        self.children.values().map(|c| c.acked_at).max()
    }

    /// Counters.
    pub fn stats(&self) -> SpectateStats {
        SpectateStats {
            children: self.children.len(),
            ..self.stats.clone()
        }
    }

    /// A spectator came while the match runs (the lobby's news, from the
    /// host only): the tree grows by it ([`RelayTree::with_spectator`]), so
    /// its parent accepts its requests and serves the history from the
    /// frame it asks for (frame 0: a catch-up). Nobody else's feed changes.
    pub fn add_spectator(&mut self, handle: u16) -> Result<(), SpectateError> {
        self.tree = self.tree.with_spectator(handle)?;
        Ok(())
    }

    /// A spectator stopped watching (the lobby's news): it is fed no more,
    /// and if it fed us we follow the tree's rule to the next at the next
    /// poll rather than after the feed timeout. It keeps its place in the tree.
    pub fn spectator_left(&mut self, handle: u16) {
        if !self.tree.is_spectator(handle) || handle == self.me {
            return;
        }
        self.children.remove(&handle);
        self.busy.remove(&handle);
        self.upstream.left(&self.tree, handle);
    }

    /// The relay tree as this member knows it now.
    pub fn tree(&self) -> &RelayTree {
        &self.tree
    }

    /// Player side: frame `frame` is confirmed with these inputs (by player
    /// handle). Never blocks and never waits on a spectator.
    pub fn push_confirmed(&mut self, frame: u32, inputs: &[u8]) -> Result<(), SpectateError> {
        self.history.push(frame, inputs)
    }

    /// Player side: the match ended after `frames` frames.
    pub fn end(&mut self, frames: u32) {
        self.ended = Some(frames.min(self.history.len()));
    }

    /// Takes a message from member `from` (already authenticated and decoded).
    pub fn handle(&mut self, from: u16, message: SpectateMessage, now: Instant) {
        match message {
            SpectateMessage::Want { next } => self.on_want(from, next, now),
            _ if Some(from) != self.upstream.feed() => self.stats.ignored += 1,
            SpectateMessage::Frames { first, inputs } => {
                self.upstream.served();
                if self.history.extend_from_batch(first, &inputs) > 0 {
                    self.want_now = true;
                }
            }
            // Not served: a member that only refuses is left after the
            // feed timeout like a silent one.
            SpectateMessage::Busy => self.stats.refused += 1,
            SpectateMessage::End { frames } => {
                self.upstream.served();
                self.ended = Some(frames);
            }
        }
    }

    fn on_want(&mut self, from: u16, next: u32, now: Instant) {
        if !self.tree.is_spectator(from) || from == self.me {
            self.stats.ignored += 1;
            return;
        }
        if let Some(child) = self.children.get_mut(&from) {
            if next > child.acked {
                child.last_progress = now;
                child.acked_at = now;
            }
            child.acked = next;
            child.sent = child.sent.max(next);
            child.last_heard = now;
            return;
        }
        self.expire_children(now);
        let capacity = if self.tree.is_player(self.me) {
            self.config.fanout
        } else {
            self.config.relay_capacity.min(MAX_SPECTATE_MEMBERS)
        };
        if self.children.len() >= capacity {
            self.busy.insert(from);
            return;
        }
        self.children.insert(
            from,
            Child {
                acked: next,
                sent: next,
                last_heard: now,
                last_sent: now,
                last_progress: now,
                acked_at: now,
            },
        );
    }

    fn expire_children(&mut self, now: Instant) {
        let timeout = self.config.child_timeout;
        self.children
            .retain(|_, c| now.saturating_duration_since(c.last_heard) < timeout);
    }

    /// Everything to send now, as `(member, message)`, appended to `out`:
    /// at most `datagrams_per_poll` batches per child plus one message per
    /// child and one to the feed, so a poll's work is bounded.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<(u16, SpectateMessage)>) {
        self.poll_feed(now, out);
        for to in std::mem::take(&mut self.busy) {
            out.push((to, SpectateMessage::Busy));
        }
        self.expire_children(now);
        let per_datagram = self.history.shape().frames_per_datagram() as u32;
        let held = self.history.len();
        let end = self.ended.filter(|end| held >= *end);
        for (handle, child) in self.children.iter_mut() {
            if child.sent > child.acked
                && now.saturating_duration_since(child.last_progress) >= self.config.resend_after
            {
                child.sent = child.acked;
                child.last_progress = now;
            }
            let limit = held.min(child.acked.saturating_add(self.config.window_frames));
            let mut sent_any = false;
            for _ in 0..self.config.datagrams_per_poll {
                if child.sent >= limit {
                    break;
                }
                let Some(bytes) = self.history.frames(child.sent, per_datagram) else {
                    break;
                };
                let count = (bytes.len() / self.history.shape().frame_len()) as u32;
                out.push((
                    *handle,
                    SpectateMessage::Frames {
                        first: child.sent,
                        inputs: bytes.to_vec(),
                    },
                ));
                child.sent += count;
                sent_any = true;
            }
            if sent_any {
                child.last_sent = now;
            } else if now.saturating_duration_since(child.last_sent)
                >= self.config.keepalive_interval
            {
                let message = match end {
                    Some(frames) if child.acked >= frames => SpectateMessage::End { frames },
                    _ => SpectateMessage::Frames {
                        first: child.sent,
                        inputs: Vec::new(),
                    },
                };
                out.push((*handle, message));
                child.last_sent = now;
            }
        }
    }

    /// The spectator side of a poll: notice a feed that does not serve us,
    /// follow the tree's rule to another ([`Upstream`]), and ask for what
    /// is missing.
    fn poll_feed(&mut self, now: Instant, out: &mut Vec<(u16, SpectateMessage)>) {
        if self.is_complete() {
            return;
        }
        let (timeout, retry) = (self.config.feed_timeout, self.config.feed_retry);
        if self
            .upstream
            .check(self.me, &self.tree, timeout, retry, now)
        {
            self.stats.reattachments += 1;
            self.want_now = true;
        }
        let Some(feed) = self.upstream.feed() else {
            return;
        };
        let due = self
            .last_want
            .is_none_or(|at| now.saturating_duration_since(at) >= self.config.want_interval);
        if self.want_now || due {
            out.push((
                feed,
                SpectateMessage::Want {
                    next: self.history.len(),
                },
            ));
            self.last_want = Some(now);
            self.want_now = false;
        }
    }
}
