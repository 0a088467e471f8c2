//! Rounds, the shrinking platform and scoring: the one `step` function.

use super::physics;
use super::state::*;

/// Platform shrink per frame once shrinking starts, in sub-units.
const SHRINK_PER_FRAME: i32 = 32;
/// Distance of the spawn ring from the centre, in pixels.
const SPAWN_RING_PX: i32 = 150;
/// Twelve unit directions (scaled by [`UNIT`]) 30 degrees apart: any player
/// count from 1 to 4 divides them evenly, and no float is needed.
const DIRECTIONS: [(i32, i32); 12] = [
    (256, 0),
    (222, 128),
    (128, 222),
    (0, 256),
    (-128, 222),
    (-222, 128),
    (-256, 0),
    (-222, -128),
    (-128, -222),
    (0, -256),
    (128, -222),
    (222, -128),
];

/// Puts `players` discs evenly on the spawn ring, rotated by the seeded RNG.
pub(crate) fn place_discs(state: &mut ArenaState, players: usize) {
    let start = state.rng.below(DIRECTIONS.len() as u32) as usize;
    let spacing = DIRECTIONS.len() / players.clamp(1, DIRECTIONS.len());
    state.discs.clear();
    for i in 0..players {
        let (dx, dy) = DIRECTIONS[(start + i * spacing) % DIRECTIONS.len()];
        state.discs.push(Disc {
            pos: (dx * SPAWN_RING_PX, dy * SPAWN_RING_PX),
            vel: (0, 0),
            alive: true,
            dash_cooldown: 0,
            hit_flash: 0,
            fallen_for: 0,
        });
    }
}

/// Advances the game by one frame with one input per player (by handle;
/// missing inputs count as no input).
pub fn step(state: &mut ArenaState, inputs: &[PlayerInput]) {
    state.frame = state.frame.wrapping_add(1);
    match state.phase {
        Phase::Countdown { left } => {
            state.phase = if left <= 1 {
                Phase::Playing
            } else {
                Phase::Countdown { left: left - 1 }
            };
        }
        Phase::Playing => play(state, inputs),
        Phase::RoundOver { winner, left } => {
            if left > 1 {
                state.phase = Phase::RoundOver {
                    winner,
                    left: left - 1,
                };
            } else {
                next_round(state);
            }
        }
        Phase::MatchOver { .. } => {}
    }
}

fn play(state: &mut ArenaState, inputs: &[PlayerInput]) {
    state.round_frames += 1;
    if state.round_frames > SHRINK_AFTER_FRAMES {
        state.arena_radius = (state.arena_radius - SHRINK_PER_FRAME).max(ARENA_MIN_RADIUS);
    }
    let mut padded = [PlayerInput::default(); 8];
    for (slot, input) in padded.iter_mut().zip(inputs) {
        *slot = *input;
    }
    physics::drive(state, &padded[..state.discs.len().min(padded.len())]);
    physics::bump(state);
    physics::fall(state);

    let alive: Vec<usize> = state.alive().collect();
    let over = match state.players() {
        0 => true,
        1 => alive.is_empty(),
        _ => alive.len() <= 1,
    };
    if over {
        let winner = match (state.players(), alive.as_slice()) {
            (2.., [one]) => Some(*one as u8),
            _ => None,
        };
        if let Some(w) = winner {
            if let Some(score) = state.scores.get_mut(usize::from(w)) {
                *score = score.saturating_add(1);
            }
        }
        state.phase = Phase::RoundOver {
            winner,
            left: ROUND_OVER_FRAMES,
        };
    }
}

fn next_round(state: &mut ArenaState) {
    let champion = state
        .scores
        .iter()
        .position(|&s| s >= ROUNDS_TO_WIN)
        .map(|w| w as u8);
    if let Some(winner) = champion {
        state.phase = Phase::MatchOver { winner };
        return;
    }
    state.round = state.round.saturating_add(1);
    state.round_frames = 0;
    state.arena_radius = ARENA_START_RADIUS;
    let players = state.players();
    place_discs(state, players);
    state.phase = Phase::Countdown {
        left: COUNTDOWN_FRAMES,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(state: &mut ArenaState, frames: u32, input: impl Fn(u32, usize) -> PlayerInput) {
        for _ in 0..frames {
            let f = state.frame;
            let inputs: Vec<PlayerInput> = (0..state.players()).map(|h| input(f, h)).collect();
            step(state, &inputs);
        }
    }

    #[test]
    fn countdown_holds_discs_still_then_play_starts() {
        let mut s = ArenaState::new(2, 7);
        let start = s.discs.clone();
        run(&mut s, u32::from(COUNTDOWN_FRAMES) - 1, |_, _| {
            PlayerInput(PlayerInput::RIGHT)
        });
        assert_eq!(s.discs, start);
        assert!(matches!(s.phase, Phase::Countdown { .. }));
        run(&mut s, 2, |_, _| PlayerInput(PlayerInput::RIGHT));
        assert_eq!(s.phase, Phase::Playing);
        assert!(s.discs[0].pos.0 > start[0].pos.0);
    }

    #[test]
    fn a_disc_that_drives_off_loses_the_round() {
        let mut s = ArenaState::new(2, 1);
        // Player 0 drives away from the centre; player 1 stands still.
        let out = s.discs[0].pos;
        let dir = PlayerInput(
            if out.0 > 0 {
                PlayerInput::RIGHT
            } else {
                PlayerInput::LEFT
            } | if out.1 > 0 {
                PlayerInput::UP
            } else {
                PlayerInput::DOWN
            },
        );
        let mut frames = 0;
        while !matches!(s.phase, Phase::RoundOver { .. }) && frames < 1000 {
            run(&mut s, 1, |_, h| if h == 0 { dir } else { PlayerInput(0) });
            frames += 1;
        }
        assert!(!s.discs[0].alive);
        assert!(s.discs[1].alive);
        assert_eq!(s.scores, vec![0, 1]);
        assert!(matches!(
            s.phase,
            Phase::RoundOver {
                winner: Some(1),
                ..
            }
        ));
        run(&mut s, u32::from(ROUND_OVER_FRAMES), |_, _| PlayerInput(0));
        assert_eq!(s.round, 2);
        assert!(
            s.discs.iter().all(|d| d.alive),
            "a new round puts every disc back"
        );
    }

    #[test]
    fn head_on_bump_pushes_both_discs_back_and_counts_a_hit() {
        let mut s = ArenaState::new(2, 0);
        s.phase = Phase::Playing;
        s.discs[0].pos = (-30 * UNIT, 0);
        s.discs[1].pos = (30 * UNIT, 0);
        s.discs[0].vel = (5 * UNIT, 0);
        s.discs[1].vel = (-5 * UNIT, 0);
        run(&mut s, 10, |_, _| PlayerInput(0));
        assert!(s.hits >= 1);
        assert!(s.discs[0].vel.0 < 0 && s.discs[1].vel.0 > 0);
        let gap = s.discs[1].pos.0 - s.discs[0].pos.0;
        assert!(gap >= 2 * DISC_RADIUS, "discs overlap: gap {gap}");
    }

    #[test]
    fn first_to_three_rounds_wins_the_match() {
        let mut s = ArenaState::new(2, 3);
        for _ in 0..3 {
            s.phase = Phase::Playing;
            s.discs[0].pos = (400 * UNIT, 0);
            run(&mut s, 1, |_, _| PlayerInput(0));
            run(&mut s, u32::from(ROUND_OVER_FRAMES), |_, _| PlayerInput(0));
        }
        assert_eq!(s.phase, Phase::MatchOver { winner: 1 });
        assert_eq!(s.scores, vec![0, 3]);
    }

    #[test]
    fn the_platform_shrinks_after_a_while_but_not_below_its_minimum() {
        let mut s = ArenaState::new(1, 3);
        s.phase = Phase::Playing;
        s.discs[0].pos = (0, 0);
        run(&mut s, SHRINK_AFTER_FRAMES, |_, _| PlayerInput(0));
        assert_eq!(s.arena_radius, ARENA_START_RADIUS);
        run(&mut s, 10_000, |_, _| PlayerInput(0));
        assert_eq!(s.arena_radius, ARENA_MIN_RADIUS);
    }

    #[test]
    fn same_seed_and_inputs_give_the_same_checksum_and_different_seeds_differ() {
        let script = |f: u32, h: usize| PlayerInput(((f / 7 + h as u32 * 3) % 32) as u8);
        let (mut a, mut b, mut c) = (
            ArenaState::new(4, 9),
            ArenaState::new(4, 9),
            ArenaState::new(4, 10),
        );
        run(&mut a, 3000, script);
        run(&mut b, 3000, script);
        run(&mut c, 3000, script);
        assert_eq!(a.checksum(), b.checksum());
        assert_ne!(a.checksum(), c.checksum());
    }
}
