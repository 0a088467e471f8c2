//! Fuzzes the spectator stream's message decoding and a node taking what
//! decodes: arbitrary bytes as a `SpectateMessage` for a few frame shapes,
//! then handed to a spectator node and a player node, which must never
//! panic and keep their bounds.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use nearplay_netcode::spectate::{
    FrameShape, RelayTree, SpectateConfig, SpectateMessage, SpectateNode,
};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let shapes = [(2, 2), (4, 1), (1, 512), (8, 64)];
    let (players, size) = shapes[usize::from(pick) % shapes.len()];
    let Ok(shape) = FrameShape::new(players, size) else {
        return;
    };
    let Ok(message) = SpectateMessage::decode(bytes, shape, 5000) else {
        return;
    };
    let handles: Vec<u16> = (0..players as u16).collect();
    let Ok(tree) = RelayTree::new(&handles, &[100, 101, 102], 1) else {
        return;
    };
    let now = Instant::now();
    let config = SpectateConfig {
        max_frames: 5000,
        ..SpectateConfig::with_fanout(1)
    };
    for me in [0u16, 100, 102] {
        let Ok(mut node) = SpectateNode::new(me, tree.clone(), shape, config.clone(), now) else {
            return;
        };
        for from in [0u16, 100, 101] {
            node.handle(from, message.clone(), now);
        }
        let mut out = Vec::new();
        node.poll(now, &mut out);
        assert!(node.history().len() <= 5000);
        assert!(out.len() <= 2 + 8 * 2);
    }
});
