//! The host's side of the key exchange, and password guesses.

use std::time::Instant;

use super::{ConnId, ConnState, HostEvent, HostMachine};
use crate::lobby::message::{HostMsg, Offer, RejectReason};
use crate::lobby::secure::answer_offer;

impl HostMachine {
    /// A joiner's offer: in a locked lobby, refused while its source is in
    /// backoff; otherwise answered (one guess), and the channel is set.
    pub(super) fn handle_offer(&mut self, now: Instant, conn: ConnId, offer: &Offer) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let ConnState::AwaitOffer { deadline } = c.state else {
            return;
        };
        let peer = c.peer;
        let locked = self.config.password.is_some();
        if locked {
            if offer.pake.is_none() {
                return self.reject(now, conn, RejectReason::WrongPassword);
            }
            if let Err(wait) = self.guesses.check(now, peer.ip()) {
                let ms = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX).max(1);
                return self.reject(
                    now,
                    conn,
                    RejectReason::TooManyGuesses { retry_after_ms: ms },
                );
            }
        }
        let answered = answer_offer(&mut self.rng, self.config.password.as_deref(), offer);
        let (channel, answer) = match answered {
            Ok(a) => a,
            Err(e) => return self.protocol_error(now, conn, &e),
        };
        if locked {
            self.guesses.begin(now, peer.ip());
        }
        // The answer goes in clear: the channel starts after it.
        self.send(now, conn, &HostMsg::Answer(answer));
        if let Some(c) = self.conns.get_mut(&conn) {
            c.channel = Some(channel);
            c.state = ConnState::AwaitHello {
                deadline,
                guess: locked,
            };
        }
    }

    /// Settles the guess open on `conn`, if any: `ok` when its hello opened
    /// under the channel (the joiner knew the password), else a failure that
    /// grows its source's backoff and is reported to the host's game.
    pub(super) fn settle_guess(&mut self, now: Instant, conn: ConnId, ok: bool) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let ConnState::AwaitHello { guess, .. } = &mut c.state else {
            return;
        };
        if !std::mem::take(guess) {
            return;
        }
        let peer = c.peer;
        if ok {
            self.guesses.succeeded(peer.ip());
        } else {
            let (failures, retry_after) = self.guesses.failed(now, peer.ip());
            self.push_event(HostEvent::GuessFailed {
                peer,
                failures,
                retry_after,
            });
        }
    }
}
