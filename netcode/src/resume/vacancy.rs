//! [`VacancyAgreement`]: the players left in a match agree on a vacated
//! seat's inputs before any of them drops it from its GGRS session.
//!
//! Each survivor holds the vanished player's inputs up to a different frame
//! (its last datagrams reach some survivors and not others), and GGRS 0.13
//! cannot drop a player consistently then (see
//! [`InputTap`](crate::transport::InputTap)). So, once its session stalls
//! for the vacated seat's input, each survivor freezes that player's input
//! stream, sends what it holds ([`ResumeMessage::SeatInputs`](super::ResumeMessage))
//! to the other survivors, and waits for theirs; then it fills its session
//! with the inputs of the report that reaches furthest (every survivor picks
//! the same one), and only then drops the player: every survivor drops it at
//! the same frame with the same inputs.
//!
//! Sans-IO: the caller passes `now`, the reports received, and asks
//! [`VacancyAgreement::outcome`] when to fill and drop.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::ResumeError;
use crate::transport::HeldInputs;

/// How long a survivor waits for the others' reports before it drops the
/// vacated seat with what it has (a survivor that vanished too never
/// reports; the lobby tells of it and [`VacancyAgreement::forget`] stops
/// the wait sooner). GGRS's own disconnect timeout is 2 s by default.
pub const REPORT_WAIT: Duration = Duration::from_millis(1500);

/// One survivor's side of agreeing on a vacated seat's inputs.
#[derive(Debug)]
pub struct VacancyAgreement {
    handle: u16,
    waiting_for: BTreeSet<u16>,
    reports: BTreeMap<u16, HeldInputs>,
    own: Option<(u16, HeldInputs)>,
    deadline: Instant,
}

/// What to do once the survivors agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    /// The inputs to fill the local session with before the drop: the
    /// report reaching furthest (ties: the lowest handle's); `None` when
    /// this survivor's own inputs reach furthest.
    pub fill: Option<HeldInputs>,
    /// Whether every other survivor reported (`false`: the wait ended at
    /// its deadline).
    pub complete: bool,
}

impl VacancyAgreement {
    /// Agreeing on seat `handle`'s inputs with the `others` survivors (this
    /// member excluded), from `now`.
    pub fn new(handle: u16, others: impl IntoIterator<Item = u16>, now: Instant) -> Self {
        VacancyAgreement {
            handle,
            waiting_for: others.into_iter().filter(|h| *h != handle).collect(),
            reports: BTreeMap::new(),
            own: None,
            deadline: now + REPORT_WAIT,
        }
    }

    /// The vacated seat.
    pub fn handle(&self) -> u16 {
        self.handle
    }

    /// Whether this member already reported its own inputs.
    pub fn reported(&self) -> bool {
        self.own.is_some()
    }

    /// The survivors this member sends its report to.
    pub fn others(&self) -> impl Iterator<Item = u16> + '_ {
        self.waiting_for.iter().chain(self.reports.keys()).copied()
    }

    /// This member's own inputs of the seat (frozen), as member `me`.
    pub fn own(&mut self, me: u16, held: HeldInputs) {
        self.own = Some((me, held));
    }

    /// Another survivor's report. Refused from anyone else, or twice.
    pub fn report(&mut self, from: u16, held: HeldInputs) -> Result<(), ResumeError> {
        if !self.waiting_for.remove(&from) {
            return Err(ResumeError::NotAllowed { from });
        }
        self.reports.insert(from, held);
        Ok(())
    }

    /// Survivor `who` is gone too: stop waiting for it.
    pub fn forget(&mut self, who: u16) {
        self.waiting_for.remove(&who);
    }

    /// `Some` once this member reported and every other survivor did (or
    /// the wait passed its deadline): what to fill before dropping the seat.
    pub fn outcome(&self, now: Instant) -> Option<Agreed> {
        let (me, own) = self.own.as_ref()?;
        let complete = self.waiting_for.is_empty();
        if !complete && now < self.deadline {
            return None;
        }
        let mut best = (*me, own);
        for (from, held) in &self.reports {
            let better = held.last_frame() > best.1.last_frame()
                || (held.last_frame() == best.1.last_frame() && *from < best.0);
            if better {
                best = (*from, held);
            }
        }
        let fill = (best.1.last_frame() > own.last_frame()).then(|| best.1.clone());
        Some(Agreed { fill, complete })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(first_frame: i32, n: usize) -> HeldInputs {
        HeldInputs {
            first_frame,
            inputs: (0..n).map(|i| vec![i as u8]).collect(),
        }
    }

    #[test]
    fn every_survivor_fills_from_the_report_reaching_furthest() {
        let now = Instant::now();
        // Survivors 0, 1, 3; seat 2 vacated. Views: 0 to 302, 1 to 305, 3 to 305.
        let views = [
            (0u16, held(250, 53)),
            (1, held(250, 56)),
            (3, held(255, 51)),
        ];
        let mut fills = Vec::new();
        for (me, mine) in &views {
            let others = views.iter().map(|(h, _)| *h).filter(|h| h != me);
            let mut a = VacancyAgreement::new(2, others, now);
            a.own(*me, mine.clone());
            for (from, theirs) in views.iter().filter(|(h, _)| h != me) {
                assert_eq!(a.outcome(now), None, "waits for every report");
                a.report(*from, theirs.clone())
                    .expect("a survivor's report");
            }
            let agreed = a.outcome(now).expect("all reported");
            assert!(agreed.complete);
            let last = agreed
                .fill
                .as_ref()
                .map_or(mine.last_frame(), |f| f.last_frame());
            fills.push((last, agreed.fill.map(|f| f.first_frame)));
        }
        assert!(fills.iter().all(|(last, _)| *last == 305), "{fills:?}");
        // Ties go to the lowest handle: 0 fills from 1's report, 1 needs none.
        assert_eq!(fills[0].1, Some(250));
        assert_eq!(fills[1].1, None);
        assert_eq!(fills[2].1, None);
    }

    #[test]
    fn a_report_from_a_stranger_or_twice_is_refused() {
        let now = Instant::now();
        let mut a = VacancyAgreement::new(2, [0, 1], now);
        assert!(a.report(2, held(0, 1)).is_err(), "the vacated seat itself");
        assert!(a.report(7, held(0, 1)).is_err());
        assert!(a.report(1, held(0, 1)).is_ok());
        assert!(a.report(1, held(0, 9)).is_err());
    }

    #[test]
    fn the_wait_ends_at_its_deadline_or_when_the_silent_one_is_gone() {
        let now = Instant::now();
        let mut a = VacancyAgreement::new(2, [1, 3], now);
        a.own(0, held(10, 5));
        a.report(1, held(10, 7)).expect("report");
        assert_eq!(a.outcome(now), None);
        let late = a.outcome(now + REPORT_WAIT).expect("deadline");
        assert!(!late.complete);
        assert_eq!(late.fill.map(|f| f.last_frame()), Some(16));
        a.forget(3);
        assert!(a.outcome(now).is_some_and(|o| o.complete));
    }
}
