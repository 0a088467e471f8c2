//! [`Upstream`]: whom a spectator asks for frames, and when it gives up on
//! one for a while.
//!
//! A feed that went silent may only be slow (a process starved of CPU for
//! half a second under load), and a feed that answers `Busy` serves nothing:
//! so a spectator never gives up on a member for good on its own judgement.
//! It *suspects* a feed that did not serve it (frames, a keep-alive or the
//! end) for a feed timeout, skips it for `feed_retry`, and follows the
//! tree's rule ([`RelayTree::feed_for`]) around the suspects; when the rule
//! finds nobody, every suspicion is dropped and it starts again from its
//! plan parent. Only the lobby's news that a spectator left is for good.
//!
//! Silence is counted only while the spectator runs: a gap between two of
//! its polls counts at most a quarter of the feed timeout, so a spectator
//! starved itself, or a machine stalled whole (every process at once, as
//! measured under load), does not blame its feed for its own deafness.
//!
//! Bounds: both tables hold tree members only (at most the tree's size);
//! a spectator changes feed at most once per feed timeout and asks one
//! feed at a time, so it never asks faster than a fed spectator does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::tree::RelayTree;

/// The feed side of a spectator (see the module documentation).
#[derive(Debug)]
pub(super) struct Upstream {
    /// Spectators the lobby said left: never asked again.
    left: BTreeSet<u16>,
    /// Members that did not serve us for a feed timeout, and when they may
    /// be asked again.
    suspects: BTreeMap<u16, Instant>,
    feed: Option<u16>,
    /// Time we polled without being served since the feed last served us
    /// (or since we started asking it).
    silence: Duration,
    /// When we last polled.
    looked_at: Option<Instant>,
}

impl Upstream {
    /// `me`'s plan feed in `tree` (none for a player).
    pub(super) fn new(me: u16, tree: &RelayTree) -> Self {
        Upstream {
            left: BTreeSet::new(),
            suspects: BTreeMap::new(),
            feed: tree.feed_for(me, &BTreeSet::new()),
            silence: Duration::ZERO,
            looked_at: None,
        }
    }

    /// The member asked now.
    pub(super) fn feed(&self) -> Option<u16> {
        self.feed
    }

    /// Our feed served us (frames, a keep-alive, the end).
    pub(super) fn served(&mut self) {
        self.silence = Duration::ZERO;
    }

    /// The lobby says spectator `handle` left: never asked again. If it
    /// was our feed, we have none until the next [`check`](Self::check)
    /// chooses another (at once, not after the feed timeout).
    pub(super) fn left(&mut self, tree: &RelayTree, handle: u16) {
        if !tree.is_spectator(handle) {
            return;
        }
        self.left.insert(handle);
        self.suspects.remove(&handle);
        if self.feed == Some(handle) {
            self.feed = None;
        }
    }

    /// At each poll: a feed that did not serve us for `timeout` is
    /// suspected for `retry` and another is chosen; a spectator without a
    /// feed chooses one. Returns whether we moved.
    pub(super) fn check(
        &mut self,
        me: u16,
        tree: &RelayTree,
        timeout: Duration,
        retry: Duration,
        now: Instant,
    ) -> bool {
        let Some(feed) = self.feed else {
            if !tree.is_spectator(me) {
                return false; // a player
            }
            self.choose(me, tree, now);
            return self.feed.is_some();
        };
        let gap = self
            .looked_at
            .replace(now)
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
        self.silence += gap.min(timeout / 4);
        if self.silence < timeout {
            return false;
        }
        self.suspects.insert(feed, now + retry);
        self.choose(me, tree, now);
        true
    }

    /// The tree's rule around the members left and suspected; if it finds
    /// nobody, around those left only (every suspicion dropped).
    fn choose(&mut self, me: u16, tree: &RelayTree, now: Instant) {
        self.suspects.retain(|_, until| *until > now);
        let mut skip = self.left.clone();
        skip.extend(self.suspects.keys().copied());
        self.feed = tree.feed_for(me, &skip).or_else(|| {
            self.suspects.clear();
            tree.feed_for(me, &self.left)
        });
        self.silence = Duration::ZERO;
    }
}
