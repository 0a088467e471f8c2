//! Anti-replay: a sliding window of accepted sequence numbers per sender.

use super::{WireError, WireHeader};

/// Anti-replay sliding window over one sender's sequence numbers
/// (RFC 4303 section 3.4.3 / RFC 6347 section 4.1.2.6).
///
/// Accepts each sequence number at most once; numbers more than
/// [`ReplayWindow::WIDTH`] below the highest seen are rejected as too old.
/// Reordering within the window is fine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Highest sequence number accepted plus one (0 = none yet).
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

    /// Whether `seq` would be accepted, without recording it.
    pub fn would_accept(&self, seq: u32) -> bool {
        let seq = u64::from(seq);
        if seq >= self.top {
            return true;
        }
        let back = self.top - 1 - seq;
        back < Self::WIDTH && self.bits & (1u128 << back) == 0
    }

    /// Records `seq` if it is new; `Err(())` if it was seen or is too old.
    #[allow(clippy::result_unit_err)]
    pub fn check_and_insert(&mut self, seq: u32) -> Result<(), ()> {
        if !self.would_accept(seq) {
            return Err(());
        }
        let seq = u64::from(seq);
        if seq >= self.top {
            let shift = seq + 1 - self.top;
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

/// One [`ReplayWindow`] per sender handle, as a receiver keeps them.
#[derive(Debug, Clone, Default)]
pub struct ReplayGuard {
    windows: std::collections::BTreeMap<u16, ReplayWindow>,
}

impl ReplayGuard {
    /// A guard that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the header's sequence number in its sender's window;
    /// [`WireError::Replayed`] if it was seen before or is too old.
    pub fn check_and_insert(&mut self, header: WireHeader) -> Result<(), WireError> {
        self.windows
            .entry(header.sender)
            .or_default()
            .check_and_insert(header.seq)
            .map_err(|()| WireError::Replayed {
                sender: header.sender,
                seq: header.seq,
            })
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
        assert!(w.check_and_insert(u32::MAX).is_ok());
        assert!(w.check_and_insert(u32::MAX).is_err());
    }
}
