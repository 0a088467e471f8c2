//! nearplay netcode (work in progress).
pub mod addr;
pub mod plan;
pub use addr::PeerAddr;
pub use plan::{MatchId, MatchKey, MatchPlan, NetSettings, PlanPlayer, PlanSpectator};
