//! A vacated seat (issue 13): the players left play on without it, and all
//! of them drop it from their GGRS session at the same frame with the same
//! inputs ([`VacancyAgreement`], [`SeatInputs`](nearplay_netcode::transport::SeatInputs)).
//!
//! The lobby reports a seat vacated at once; the plugin stops waiting for
//! its input once the session stalls at its prediction limit, rather than
//! after GGRS's disconnect timeout (2 s of stall by default). There, each
//! survivor freezes the seat's inputs, sends them to the others over the
//! lobby, waits for theirs (a lobby round trip), fills its session with the
//! furthest inputs, and drops the seat when it stalls again. GGRS 0.13
//! panics ("must load frame in the past") when a player whose input
//! reached `current - 1` is disconnected: at the limit the seat's last
//! input is `max_prediction` frames old.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bevy::prelude::*;
use bevy_ggrs::Session;
use bevy_ggrs::ggrs::{Config, GgrsError};
use nearplay_matchmaker::MatchControl;
use nearplay_netcode::PeerAddr;
use nearplay_netcode::bevy::NetMonitorRes;
use nearplay_netcode::resume::VacancyAgreement;
use nearplay_netcode::transport::HeldInputs;

use super::CurrentMatch;
use super::lobby::LobbyHandle;

/// Seats the lobby reported vacant that the session still waits for, and
/// each one's agreement once its survivors started one.
#[derive(Resource, Default)]
pub(crate) struct VacatedSeats {
    seats: BTreeMap<usize, Option<Agreeing>>,
    /// Reports that came before this member started agreeing on the seat.
    early: Vec<(u16, u16, HeldInputs)>,
}

struct Agreeing {
    agreement: VacancyAgreement,
    filled: bool,
}

impl VacatedSeats {
    /// Another survivor's inputs of a vacated seat (from the lobby).
    pub(crate) fn report(&mut self, from: u16, handle: u16, held: HeldInputs) {
        let seat = self.seats.get_mut(&usize::from(handle));
        match seat {
            Some(Some(a)) => {
                if let Err(e) = a.agreement.report(from, held) {
                    warn!("nearplay: seat inputs from {from} refused: {e}");
                }
            }
            _ if self.early.len() < 64 => self.early.push((from, handle, held)),
            _ => {}
        }
    }

    /// A new session holds every seat: forget the old one's vacancies.
    pub(crate) fn clear(&mut self) {
        self.seats.clear();
        self.early.clear();
    }
}

pub(crate) fn note_vacated_seats(
    mut news: MessageReader<super::messages::MatchControlReceived>,
    mut vacated: ResMut<VacatedSeats>,
) {
    for super::messages::MatchControlReceived(n) in news.read() {
        match n {
            MatchControl::SeatVacated { handle, .. } => {
                vacated.seats.entry(*handle).or_insert(None);
                // A survivor that vanished too reports nothing.
                if let Ok(h) = u16::try_from(*handle) {
                    for a in vacated.seats.values_mut().flatten() {
                        a.agreement.forget(h);
                    }
                }
            }
            // An agreement under way still ends in the drop: this session
            // cannot reach the resume's switch frame without it, and its
            // survivor hides the others' drops until then (`release`).
            MatchControl::SeatRetaken { handle, .. } => {
                if matches!(vacated.seats.get(handle), Some(None)) {
                    vacated.seats.remove(handle);
                }
            }
            _ => {}
        }
    }
}

/// Every frame, before bevy_ggrs: agree on, fill and drop vacated seats
/// whose input the session stalls for.
pub(crate) fn drop_vacated_seats<C: Config<Address = PeerAddr>>(world: &mut World) {
    let Some(plan) = world.get_resource::<CurrentMatch>().map(|m| m.plan.clone()) else {
        return;
    };
    let Some(seats) = world
        .get_resource::<NetMonitorRes>()
        .map(|m| m.seat_inputs().clone())
    else {
        return;
    };
    let Some(mut vacated) = world.remove_resource::<VacatedSeats>() else {
        return;
    };
    let me = u16::try_from(plan.local_handle).unwrap_or(u16::MAX);
    let vacant: BTreeSet<usize> = vacated.seats.keys().copied().collect();
    let survivors: Vec<u16> = plan
        .players
        .iter()
        .filter(|p| !vacant.contains(&p.handle))
        .filter_map(|p| u16::try_from(p.handle).ok())
        .filter(|h| *h != me)
        .collect();
    let mut reports = Vec::new();
    let mut dropped = Vec::new();
    if let Some(mut session) = world.get_resource_mut::<Session<C>>()
        && let Session::P2P(p2p) = &mut *session
    {
        let limit = i32::try_from(p2p.max_prediction()).unwrap_or(i32::MAX);
        let at_limit = p2p.current_frame() - p2p.confirmed_frame() >= limit;
        let now = Instant::now();
        let VacatedSeats { seats: all, early } = &mut vacated;
        for (&handle, state) in all.iter_mut() {
            let (Some(addr), Ok(h16)) = (
                plan.players
                    .iter()
                    .find(|p| p.handle == handle)
                    .map(|p| p.addr),
                u16::try_from(handle),
            ) else {
                dropped.push(handle);
                continue;
            };
            // GGRS dropped it already (told by another survivor, at the
            // frame they agreed on), or it is ours: nothing to do.
            let gone = matches!(p2p.network_stats(handle), Err(GgrsError::NotSynchronized));
            if gone || p2p.local_player_handles().contains(&handle) {
                dropped.push(handle);
                continue;
            }
            if !at_limit {
                continue;
            }
            let a = state.get_or_insert_with(|| Agreeing {
                agreement: VacancyAgreement::new(h16, survivors.iter().copied(), now),
                filled: false,
            });
            if !a.agreement.reported() {
                let held = seats.freeze(addr, handle);
                a.agreement.own(me, held.clone());
                reports.push((a.agreement.others().collect::<Vec<_>>(), h16, held));
                let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(early)
                    .into_iter()
                    .partition(|(_, s, _)| *s == h16);
                *early = rest;
                for (from, _, theirs) in mine {
                    let _ = a.agreement.report(from, theirs);
                }
            }
            let Some(agreed) = a.agreement.outcome(now) else {
                continue;
            };
            if !a.filled {
                a.filled = true;
                if let Some(fill) = agreed.fill
                    && let Err(e) = seats.fill(addr, handle, &fill)
                {
                    warn!("nearplay: seat {handle}'s inputs could not be filled: {e}");
                }
                // From the next poll on (after the filled inputs), GGRS may
                // hear the others' drop: at the frame this member holds now.
                seats.release(addr);
                if !agreed.complete {
                    warn!("nearplay: seat {handle}: not every survivor told its inputs in time");
                }
                continue; // the filled inputs arrive on the next poll
            }
            // Err: GGRS already dropped it, told by another survivor (at
            // the same frame: every survivor holds the same inputs now).
            if p2p.disconnect_player(handle).is_ok() {
                info!("nearplay: seat {handle} is vacant: playing on without it");
            }
            dropped.push(handle);
        }
    }
    for h in dropped {
        vacated.seats.remove(&h);
    }
    world.insert_resource(vacated);
    if let Some(mut lobby) = world.get_resource_mut::<LobbyHandle>() {
        for (to, handle, held) in reports {
            if let Err(e) = lobby.send_seat_inputs(to, handle, &held) {
                warn!("nearplay: seat {handle}'s inputs could not be sent: {e}");
            }
        }
    }
}
