//! Anti-replay: a sliding window of accepted sequence numbers (a receiver
//! keeps one per sender), which also extends the 16 bits a datagram carries
//! to the full number.

/// Anti-replay sliding window over one sender's sequence numbers
/// (RFC 4303 section 3.4.3 / RFC 6347 section 4.1.2.6).
///
/// Accepts each sequence number at most once; numbers more than
/// [`ReplayWindow::WIDTH`] below the highest seen are rejected as too old.
/// Reordering within the window is fine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Highest sequence number accepted plus one (0 = none yet): the next
    /// one expected.
    top: u64,
    /// Bit `i` set: `top - 1 - i` was accepted.
    bits: u128,
}

impl ReplayWindow {
    /// How far behind the newest datagram an older one is still accepted.
    pub const WIDTH: u64 = 128;

    /// A window that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The full sequence number whose low 16 bits are `low`, nearest the
    /// next one expected (RFC 9000 appendix A.3 with 16 bits).
    pub fn extend(&self, low: u16) -> u64 {
        const WIN: u64 = 1 << 16;
        const HALF: u64 = WIN / 2;
        let expected = self.top;
        let candidate = (expected & !(WIN - 1)) | u64::from(low);
        if candidate.saturating_add(HALF) <= expected && candidate <= u64::MAX - WIN {
            candidate + WIN
        } else if candidate > expected.saturating_add(HALF) && candidate >= WIN {
            candidate - WIN
        } else {
            candidate
        }
    }

    /// Whether `seq` would be accepted, without recording it. `u64::MAX`
    /// never is (senders stop before it: [`SendFailure::SeqExhausted`](super::SendFailure::SeqExhausted)).
    pub fn would_accept(&self, seq: u64) -> bool {
        if seq == u64::MAX {
            return false;
        }
        if seq >= self.top {
            return true;
        }
        let back = self.top - 1 - seq;
        back < Self::WIDTH && self.bits & (1u128 << back) == 0
    }

    /// Records `seq` if it is new; `Err(())` if it was seen or is too old.
    #[allow(clippy::result_unit_err)]
    pub fn check_and_insert(&mut self, seq: u64) -> Result<(), ()> {
        if !self.would_accept(seq) {
            return Err(());
        }
        if seq >= self.top {
            let shift = seq - self.top + 1; // seq < u64::MAX: no overflow
            self.bits = if shift >= Self::WIDTH {
                0
            } else {
                self.bits << shift
            };
            self.bits |= 1;
            self.top = seq + 1;
        } else {
            self.bits |= 1u128 << (self.top - 1 - seq);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_accepts_once_and_reordered() {
        let mut w = ReplayWindow::new();
        assert!(w.check_and_insert(5).is_ok());
        assert!(w.check_and_insert(5).is_err());
        assert!(w.check_and_insert(3).is_ok());
        assert!(w.check_and_insert(0).is_ok());
        assert!(w.check_and_insert(3).is_err());
        assert!(w.check_and_insert(500).is_ok());
        assert!(w.check_and_insert(372).is_err(), "too old");
        assert!(w.check_and_insert(373).is_ok());
        assert!(w.check_and_insert(u64::MAX - 1).is_ok());
        assert!(w.check_and_insert(u64::MAX - 1).is_err());
        assert!(w.check_and_insert(u64::MAX).is_err(), "never valid");
    }

    #[test]
    fn sixteen_bits_extend_across_wraps_and_reordering() {
        let mut w = ReplayWindow::new();
        // In order across many 16-bit wraps, with a late one now and then.
        for seq in 0..300_000u64 {
            assert_eq!(w.extend(seq as u16), seq);
            w.check_and_insert(seq).expect("new");
            if seq > 100 && seq % 1000 == 0 {
                assert_eq!(w.extend((seq - 100) as u16), seq - 100, "late");
            }
        }
        // A gap of up to 32,767 lost datagrams is bridged; a late one just
        // behind a wrap extends to the previous block, not the next.
        let top = 300_000u64;
        assert_eq!(w.extend((top + 32_767) as u16), top + 32_767);
        assert_eq!(w.extend((top - 5) as u16), top - 5);
        // Near zero nothing goes negative, near the end nothing overflows.
        assert_eq!(ReplayWindow::new().extend(65_535), 65_535);
        let mut end = ReplayWindow::new();
        end.check_and_insert(u64::MAX - 3).expect("new");
        assert_eq!(end.extend((u64::MAX - 1) as u16), u64::MAX - 1);
    }
}
