//! Player seats that change hands while a resume runs wait for it: a
//! rejoin or a late join makes a new key epoch, and every member resumes
//! into it; a second arrival during that resume would start another epoch
//! under the first (members would replace a resume half done). So an
//! arrival is admitted at once (welcome, roster) but its news, the new key
//! and its plan wait until the host's own game says the running resume is
//! over ([`HostMachine::resume_settled`]) or [`RESUME_SETTLE`] passed; the
//! arrivals that waited then share one epoch (two players back from one
//! Wi-Fi drop resume together).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::HostMachine;
use crate::lobby::message::{MemberId, SeatChange};

/// The longest a seat change waits for a resume in progress: above the
/// resume's own 15 s deadline, so a host game that never reports still
/// seats the newcomer.
pub const RESUME_SETTLE: Duration = Duration::from_secs(20);

/// A player seat that changed hands, not yet announced.
#[derive(Debug, Clone)]
pub(super) struct Arrival {
    pub(super) id: MemberId,
    pub(super) handle: usize,
    pub(super) name: String,
    pub(super) addr: SocketAddr,
    pub(super) change: SeatChange,
}

impl HostMachine {
    /// A player seat changed hands: announce it now, or once the running
    /// resume is over.
    pub(super) fn seat_arrived(&mut self, now: Instant, arrival: Arrival) {
        self.arrivals.retain(|a| a.id != arrival.id);
        self.arrivals.push(arrival);
        if self.settle_by.is_none_or(|t| now >= t) {
            self.flush_arrivals(now);
        }
    }

    /// The host's game finished the resume of the current key epoch (it
    /// switched, or gave up): seat changes that waited are announced now,
    /// under one new epoch.
    pub fn resume_settled(&mut self, now: Instant) {
        self.settle_by = None;
        self.flush_arrivals(now);
    }

    /// Seat changes waiting for the running resume.
    pub fn waiting_arrivals(&self) -> usize {
        self.arrivals.len()
    }

    /// When the waiting arrivals are announced at the latest.
    pub(super) fn arrivals_due(&self) -> Option<Instant> {
        self.settle_by.filter(|_| !self.arrivals.is_empty())
    }

    /// Announces every waiting arrival still seated and connected: the news
    /// to the others, one new key epoch, each arrival's plan.
    pub(super) fn flush_arrivals(&mut self, now: Instant) {
        let arrivals: Vec<Arrival> = std::mem::take(&mut self.arrivals)
            .into_iter()
            .filter(|a| {
                self.members
                    .iter()
                    .any(|m| m.id == a.id && m.conn.is_some() && !m.vacant)
            })
            .collect();
        if arrivals.is_empty() {
            return;
        }
        for a in &arrivals {
            self.seat_news(now, a.handle, a.name.clone(), a.addr, a.change, Some(a.id));
        }
        let ids: Vec<MemberId> = arrivals.iter().map(|a| a.id).collect();
        self.rekey(now, &ids);
        for id in ids {
            self.send_plan(now, id);
        }
        self.settle_by = Some(now + RESUME_SETTLE);
    }
}
