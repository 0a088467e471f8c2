//! Fuzzes plan validation: arbitrary bytes decoded as a postcard `MatchPlan`
//! (what a lobby host's `Start` carries), then validated, with and without
//! a set of known member addresses. A plan that passes must build a GGRS
//! session without panicking: validation and GGRS must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nearplay_netcode::{MatchPlan, NetSessionBuilder, PeerAddr, PlanLimits, SimNetwork};

struct Cfg;
impl ggrs::Config for Cfg {
    type Input = u8;
    type InputPredictor = ggrs::PredictRepeatLast;
    type State = u64;
    type Address = PeerAddr;
}

fuzz_target!(|data: &[u8]| {
    // The lobby's frame limit bounds what a real plan can be.
    if data.len() > 64 * 1024 {
        return;
    }
    let Ok(plan) = postcard::from_bytes::<MatchPlan>(data) else {
        return;
    };
    let known = PlanLimits {
        max_players: 4,
        members: Some(plan.players.iter().take(3).map(|p| p.addr).collect()),
        local_port: Some(5000),
        ..PlanLimits::default()
    };
    let _ = plan.validate(&known);
    if plan.validate(&PlanLimits::default()).is_ok() {
        let built = NetSessionBuilder::<Cfg>::from_plan(&plan).build(SimNetwork::new(1).node(0));
        if plan.local_player().is_some() {
            assert!(built.is_ok(), "a valid plan must build: {:?}", built.err());
        }
    }
});
