//! [`RelayTree`]: who feeds whom, a rule every member computes from the plan
//! alone, so the host assigns the tree by assigning the plan.
//!
//! Spectators in handle order `s0, s1, ...`; with `P` players and fanout
//! `k`, the first `P * k` spectators hang off the players, round robin
//! (`s_j` off player `j mod P`); every later `s_j` hangs off spectator
//! `s_((j - P*k) / k)` (a k-ary heap below the first level). So no player
//! uploads to more than `k` spectators and no spectator relays to more than
//! `k` in the plan, and the depth grows as `log_k` of the spectators.
//!
//! **When a relay goes silent** its first child still alive (in plan order)
//! takes its place (asks the relay's own feed) and its other children ask
//! that heir. Each member applies the rule with what it knows is gone (its
//! own parent's silence), so no one has to tell anyone; a member that also
//! turns out gone is skipped the same way. A player that left is replaced
//! by the next player still playing. (A silent member is only *suspected*
//! for a while, see `upstream.rs`: silence under load is often slowness.)

use std::collections::BTreeSet;

use super::SpectateError;
use crate::plan::MatchPlan;

/// Default fanout `k`: most spectators one player uploads to.
pub const DEFAULT_FANOUT: usize = 4;
/// Most spectators in one match.
pub const MAX_SPECTATE_MEMBERS: usize = 32;

/// The relay tree of one match (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayTree {
    players: Vec<u16>,
    spectators: Vec<u16>,
    fanout: usize,
}

impl RelayTree {
    /// The tree of `players` and `spectators` (handles) with fanout `k`.
    /// Refuses no player, more than [`MAX_SPECTATE_MEMBERS`] spectators, a
    /// fanout of 0, or a handle used twice.
    pub fn new(players: &[u16], spectators: &[u16], fanout: usize) -> Result<Self, SpectateError> {
        if players.is_empty() {
            return Err(SpectateError::BadRoster("no player"));
        }
        if spectators.len() > MAX_SPECTATE_MEMBERS {
            return Err(SpectateError::BadRoster("too many spectators"));
        }
        if fanout == 0 {
            return Err(SpectateError::BadRoster("fanout 0"));
        }
        let mut seen = BTreeSet::new();
        if !players.iter().chain(spectators).all(|h| seen.insert(*h)) {
            return Err(SpectateError::BadRoster("a handle is used twice"));
        }
        let mut players = players.to_vec();
        let mut spectators = spectators.to_vec();
        players.sort_unstable();
        spectators.sort_unstable();
        Ok(RelayTree {
            players,
            spectators,
            fanout,
        })
    }

    /// The tree of a checked plan: its players and its relay-fed spectators.
    pub fn from_plan(plan: &MatchPlan, fanout: usize) -> Result<Self, SpectateError> {
        let handle = |h: usize| u16::try_from(h).map_err(|_| SpectateError::BadRoster("handle"));
        let players = plan
            .players
            .iter()
            .map(|p| handle(p.handle))
            .collect::<Result<Vec<_>, _>>()?;
        let spectators = plan
            .spectators
            .iter()
            .filter(|s| s.is_relayed())
            .map(|s| handle(s.handle))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(&players, &spectators, fanout)
    }

    /// This tree with one more spectator, `handle`, who came while the
    /// match runs: it must be above every handle in the tree, so it takes
    /// the last place and every member keeps its place (and its parent):
    /// nobody re-attaches. Refused past [`MAX_SPECTATE_MEMBERS`] or for a
    /// handle not above the others (a plan's late spectators get the next
    /// handle, and a handle that left is never given out again).
    pub fn with_spectator(&self, handle: u16) -> Result<Self, SpectateError> {
        let last = self.players.iter().chain(&self.spectators).max();
        if last.is_some_and(|last| handle <= *last) {
            return Err(SpectateError::BadRoster(
                "a late spectator's handle must follow every other",
            ));
        }
        if self.spectators.len() >= MAX_SPECTATE_MEMBERS {
            return Err(SpectateError::BadRoster("too many spectators"));
        }
        let mut tree = self.clone();
        tree.spectators.push(handle);
        Ok(tree)
    }

    /// The fanout `k`.
    pub fn fanout(&self) -> usize {
        self.fanout
    }

    /// Whether `handle` is a player.
    pub fn is_player(&self, handle: u16) -> bool {
        self.players.contains(&handle)
    }

    /// Whether `handle` is a spectator.
    pub fn is_spectator(&self, handle: u16) -> bool {
        self.spectators.contains(&handle)
    }

    /// The players' handles, sorted.
    pub fn players(&self) -> &[u16] {
        &self.players
    }

    /// The spectators' handles, sorted.
    pub fn spectators(&self) -> &[u16] {
        &self.spectators
    }

    /// The member that feeds `spectator` in the plan; `None` for a player
    /// or a stranger.
    pub fn parent(&self, spectator: u16) -> Option<u16> {
        let j = self.spectators.iter().position(|s| *s == spectator)?;
        let first_level = self.players.len() * self.fanout;
        if j < first_level {
            self.players.get(j % self.players.len()).copied()
        } else {
            self.spectators
                .get((j - first_level) / self.fanout)
                .copied()
        }
    }

    /// The members `handle` feeds in the plan, in plan order.
    pub fn children(&self, handle: u16) -> Vec<u16> {
        self.spectators
            .iter()
            .copied()
            .filter(|s| self.parent(*s) == Some(handle))
            .collect()
    }

    /// Whom `me` (a spectator) asks for frames, knowing the members in
    /// `gone` have left: its parent, or the heir of a parent that left, or
    /// (if `me` is that heir) the place the parent had. `None` for a player,
    /// a stranger, or when every player is gone.
    pub fn feed_for(&self, me: u16, gone: &BTreeSet<u16>) -> Option<u16> {
        let parent = self.parent(me)?;
        if !gone.contains(&parent) {
            return Some(parent);
        }
        let heir = self
            .children(parent)
            .into_iter()
            .find(|c| !gone.contains(c))?;
        if heir != me {
            return Some(heir);
        }
        if self.is_player(parent) {
            self.next_player(parent, gone)
        } else {
            // Depth decreases: the recursion ends at the first level.
            self.feed_for(parent, gone)
        }
    }

    /// The next player after `player` (cyclic) not in `gone`.
    fn next_player(&self, player: u16, gone: &BTreeSet<u16>) -> Option<u16> {
        let at = self.players.iter().position(|p| *p == player)?;
        let n = self.players.len();
        (1..n)
            .filter_map(|step| self.players.get((at + step) % n))
            .copied()
            .find(|p| !gone.contains(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn players_feed_at_most_k_and_the_rest_relay() {
        let spectators: Vec<u16> = (2..2 + 32).collect();
        for k in 1..6 {
            let tree = RelayTree::new(&[0, 1], &spectators, k).unwrap();
            for p in [0u16, 1] {
                assert!(tree.children(p).len() <= k);
            }
            for s in &spectators {
                assert!(tree.children(*s).len() <= k);
                // Every spectator reaches a player.
                let (mut at, mut steps) = (*s, 0);
                while let Some(p) = tree.parent(at) {
                    at = p;
                    steps += 1;
                    assert!(steps < 40);
                }
                assert!(tree.is_player(at));
            }
        }
    }

    #[test]
    fn orphans_follow_the_heir_and_the_heir_takes_the_place() {
        // 2 players, 6 spectators, k = 2: s2..s5 off the players, s6, s7 off s2.
        let tree = RelayTree::new(&[0, 1], &[2, 3, 4, 5, 6, 7], 2).unwrap();
        assert_eq!(tree.parent(2), Some(0));
        assert_eq!(tree.parent(3), Some(1));
        assert_eq!(tree.parent(6), Some(2));
        assert_eq!(tree.parent(7), Some(2));
        let gone: BTreeSet<u16> = [2].into();
        assert_eq!(tree.feed_for(6, &gone), Some(0), "the heir takes the place");
        assert_eq!(tree.feed_for(7, &gone), Some(6), "its sibling follows it");
        let both: BTreeSet<u16> = [2, 6].into();
        assert_eq!(tree.feed_for(7, &both), Some(0));
        let player: BTreeSet<u16> = [0].into();
        assert_eq!(tree.feed_for(2, &player), Some(1));
        assert_eq!(tree.feed_for(4, &player), Some(2));
        assert_eq!(tree.feed_for(0, &player), None);
    }

    #[test]
    fn a_late_spectator_takes_the_last_place_and_nobody_moves() {
        let mut tree = RelayTree::new(&[0, 1], &[2, 3, 4, 5, 6], 2).unwrap();
        for late in 7..(2 + MAX_SPECTATE_MEMBERS as u16) {
            let grown = tree.with_spectator(late).unwrap();
            for s in tree.spectators() {
                assert_eq!(grown.parent(*s), tree.parent(*s), "spectator {s} moved");
            }
            let expected = RelayTree::new(&[0, 1], grown.spectators(), 2).unwrap();
            assert_eq!(grown, expected, "the same tree as the plan's");
            assert!(grown.parent(late).is_some());
            tree = grown;
        }
        assert!(tree.with_spectator(200).is_err(), "past the bound");
        let small = RelayTree::new(&[0, 1], &[2, 5], 2).unwrap();
        for taken_or_below in [0, 1, 2, 4, 5] {
            assert!(small.with_spectator(taken_or_below).is_err());
        }
    }

    #[test]
    fn bad_rosters_are_refused() {
        assert!(RelayTree::new(&[], &[1], 2).is_err());
        assert!(RelayTree::new(&[0], &[0], 2).is_err());
        assert!(RelayTree::new(&[0], &[1], 0).is_err());
        let many: Vec<u16> = (1..40).collect();
        assert!(RelayTree::new(&[0], &many, 2).is_err());
    }
}
