//! [`NetSettings::validate`]: the settings' bounds (see the parent module).

use super::{
    MAX_DESYNC_INTERVAL, MAX_FPS, MAX_PREDICTION, MAX_SPECTATORS, MAX_TIMEOUT_MS, MIN_FPS,
    MIN_TIMEOUT_MS, PlanError,
};
use crate::plan::NetSettings;

impl NetSettings {
    /// Checks every setting against what GGRS accepts without panicking or
    /// stalling, and what a game can play with (see the module's bounds).
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.max_prediction > MAX_PREDICTION {
            return Err(PlanError::MaxPrediction {
                value: self.max_prediction,
                max: MAX_PREDICTION,
            });
        }
        // Lockstep (max_prediction 0) still bounds the delay by the limit.
        let delay_max = match self.max_prediction {
            0 => MAX_PREDICTION,
            n => n,
        };
        if self.input_delay > delay_max {
            return Err(PlanError::InputDelay {
                delay: self.input_delay,
                max: delay_max,
            });
        }
        if !(MIN_FPS..=MAX_FPS).contains(&self.fps) {
            return Err(PlanError::Fps { fps: self.fps });
        }
        if !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&self.disconnect_timeout_ms) {
            return Err(PlanError::DisconnectTimeout {
                ms: self.disconnect_timeout_ms,
            });
        }
        if self.disconnect_notify_start_ms > self.disconnect_timeout_ms {
            return Err(PlanError::DisconnectNotify {
                notify_ms: self.disconnect_notify_start_ms,
                timeout_ms: self.disconnect_timeout_ms,
            });
        }
        if self.desync_interval > MAX_DESYNC_INTERVAL {
            return Err(PlanError::DesyncInterval {
                interval: self.desync_interval,
            });
        }
        if self.spectate_fanout == 0 || usize::from(self.spectate_fanout) > MAX_SPECTATORS {
            return Err(PlanError::SpectateFanout {
                fanout: self.spectate_fanout,
            });
        }
        Ok(())
    }
}
