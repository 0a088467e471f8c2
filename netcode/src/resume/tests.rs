//! The resume protocol driven with a fake clock, and its decoder fed garbage.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;

/// Members with their old session's frame; messages pass through the
/// encoder and decoder, as over the lobby channel.
struct Table {
    now: Instant,
    machines: BTreeMap<u16, ResumeMachine>,
    frames: BTreeMap<u16, i32>,
    switched: BTreeMap<u16, i32>,
    loaded: BTreeMap<u16, ResumePoint>,
    failed: BTreeMap<u16, ResumeError>,
}

impl Table {
    fn new(survivors: &[u16], newcomers: &[u16], frames: &[i32]) -> Self {
        let now = Instant::now();
        let mut machines = BTreeMap::new();
        for &me in survivors.iter().chain(newcomers) {
            let m = ResumeMachine::new(
                1,
                me,
                survivors.iter().copied(),
                newcomers.iter().copied(),
                ResumeConfig::default(),
                now,
            )
            .expect("machine");
            machines.insert(me, m);
        }
        let frames = survivors
            .iter()
            .copied()
            .zip(frames.iter().copied())
            .collect();
        Table {
            now,
            machines,
            frames,
            switched: BTreeMap::new(),
            loaded: BTreeMap::new(),
            failed: BTreeMap::new(),
        }
    }

    /// Delivers every queued action, `rounds` times, advancing each
    /// survivor one frame a round where its machine lets it.
    fn run(&mut self, rounds: usize) {
        for _ in 0..rounds {
            self.now += Duration::from_millis(16);
            for (me, frame) in self.frames.iter_mut() {
                let m = self.machines.get_mut(me).expect("machine");
                // Confirmed lags one frame behind.
                m.old_session_at(self.now, *frame, *frame - 1);
                if m.phase() == ResumePhase::Agreeing && m.may_advance(*frame) {
                    *frame += 1;
                }
            }
            let mut mail = Vec::new();
            for (me, m) in self.machines.iter_mut() {
                m.tick(self.now);
                while let Some(action) = m.poll() {
                    match action {
                        ResumeAction::Send { to, message } => {
                            mail.push((*me, to, message.encode().expect("encodes")))
                        }
                        ResumeAction::SwitchAt { frame, newcomers } => {
                            self.switched.insert(*me, frame);
                            for to in newcomers {
                                let parts = m.state_messages(frame, big_state()).expect("state");
                                for msg in parts {
                                    mail.push((*me, to, msg.encode().expect("encodes")));
                                }
                            }
                        }
                        ResumeAction::Load(point) => {
                            self.loaded.insert(*me, point);
                        }
                        ResumeAction::Failed(e) => {
                            self.failed.insert(*me, e);
                        }
                    }
                }
            }
            for (from, to, bytes) in mail {
                let msg = ResumeMessage::decode(&bytes).expect("decodes");
                let m = self.machines.get_mut(&to).expect("recipient");
                m.handle(self.now, from, msg).expect("accepted");
            }
        }
    }

    fn sync_all(&mut self) {
        for m in self.machines.values_mut() {
            m.new_session_synced(self.now);
        }
    }
}

/// A state of three and a bit parts.
fn big_state() -> Vec<u8> {
    (0..3 * STATE_PART_BYTES + 1000)
        .map(|i| (i % 251) as u8)
        .collect()
}

/// A state's only part, as a message.
fn part_of(point: &ResumePoint) -> ResumeMessage {
    let mut parts = point.parts();
    assert_eq!(parts.len(), 1);
    ResumeMessage::StatePart(parts.remove(0))
}

#[test]
fn parts_of_another_state_or_out_of_order_are_refused() {
    let now = Instant::now();
    let newcomer =
        || ResumeMachine::new(3, 2, [0, 1], [2], ResumeConfig::default(), now).expect("machine");
    let point = ResumePoint::new(3, 100, big_state()).expect("point");
    let parts = point.parts();
    assert_eq!(parts.len(), 4);
    assert!(parts.iter().all(|p| p.bytes.len() <= STATE_PART_BYTES));
    // Out of order.
    let mut m = newcomer();
    let second = ResumeMessage::StatePart(parts[1].clone());
    assert!(m.handle(now, 0, second).is_err());
    // A part of another state after the first.
    let mut m = newcomer();
    m.handle(now, 0, ResumeMessage::StatePart(parts[0].clone()))
        .expect("first part");
    let mut other = parts[1].clone();
    other.frame = 101;
    assert!(m.handle(now, 0, ResumeMessage::StatePart(other)).is_err());
    // Parts whose bytes do not match the digest: refused at the end.
    let mut m = newcomer();
    for (i, p) in parts.iter().enumerate() {
        let mut p = p.clone();
        if i == 2 {
            p.bytes[0] ^= 1;
        }
        let r = m.handle(now, 0, ResumeMessage::StatePart(p));
        assert_eq!(r.is_err(), i == 3, "part {i}: {r:?}");
    }
    assert!(m.poll().is_none(), "nothing loaded");
    // All of them, in order: loaded once.
    let mut m = newcomer();
    for p in &parts {
        m.handle(now, 0, ResumeMessage::StatePart(p.clone()))
            .expect("part");
    }
    assert!(matches!(m.poll(), Some(ResumeAction::Load(p)) if p == point));
    // Another state after the switch loads nothing.
    let late = ResumePoint::new(3, 100, vec![1]).expect("point");
    let _ = m.handle(now, 0, part_of(&late));
    assert!(m.poll().is_none());
}

#[test]
fn survivors_switch_at_one_frame_and_the_newcomer_loads_it() {
    let mut t = Table::new(&[0, 1], &[2], &[300, 302]);
    t.run(3);
    assert!(t.switched.is_empty(), "nothing before everyone is synced");
    t.sync_all();
    t.run(40);
    let frames: Vec<i32> = t.switched.values().copied().collect();
    assert_eq!(frames.len(), 2, "both survivors switched: {:?}", t.failed);
    assert_eq!(frames[0], frames[1]);
    let point = t.loaded.get(&2).expect("newcomer loaded");
    assert_eq!(point.frame, frames[0]);
    assert_eq!(point.state, big_state(), "every part, in order");
    // Nobody passed the frame in its old session.
    assert!(t.frames.values().all(|f| *f == frames[0]));
    assert!(
        t.machines
            .values()
            .all(|m| m.phase() == ResumePhase::Switched)
    );
}

#[test]
fn a_survivor_past_the_proposal_makes_the_coordinator_propose_again() {
    // Survivor 1 is 100 frames ahead of the coordinator's view.
    let mut t = Table::new(&[0, 1], &[2], &[300, 400]);
    t.sync_all();
    t.run(200);
    let frames: Vec<i32> = t.switched.values().copied().collect();
    assert_eq!(frames.len(), 2, "{:?}", t.failed);
    assert_eq!(frames[0], frames[1]);
    assert!(frames[0] > 400);
    assert_eq!(t.machines[&0].round(), 2);
}

#[test]
fn a_newcomer_without_state_fails_at_the_deadline_and_survivors_play_on() {
    let mut t = Table::new(&[0, 1], &[2], &[10, 10]);
    // Nobody syncs: the frame is never agreed.
    t.run(10);
    assert!(t.failed.is_empty());
    t.now += ResumeConfig::default().deadline;
    t.run(1);
    assert_eq!(t.failed.len(), 3);
    assert!(
        t.failed
            .values()
            .all(|e| matches!(e, ResumeError::Timeout { .. }))
    );
    assert!(t.machines[&0].may_advance(1_000_000));
}

#[test]
fn messages_from_the_wrong_member_or_epoch_are_refused() {
    let now = Instant::now();
    let mut newcomer =
        ResumeMachine::new(3, 2, [0, 1], [2], ResumeConfig::default(), now).expect("machine");
    let point = ResumePoint::new(3, 100, vec![1, 2, 3]).expect("point");
    // Only the coordinator (handle 0) provides the state.
    assert_eq!(
        newcomer.handle(now, 1, part_of(&point)),
        Err(ResumeError::NotAllowed { from: 1 })
    );
    let old = ResumePoint::new(2, 100, vec![1]).expect("point");
    assert!(matches!(
        newcomer.handle(now, 0, part_of(&old)),
        Err(ResumeError::WrongEpoch { got: 2, want: 3 })
    ));
    assert!(newcomer.poll().is_none());
    let mut survivor =
        ResumeMachine::new(3, 1, [0, 1], [2], ResumeConfig::default(), now).expect("machine");
    // A commit nobody proposed is refused, and a newcomer cannot propose.
    assert!(
        survivor
            .handle(
                now,
                0,
                ResumeMessage::Commit {
                    epoch: 3,
                    round: 1,
                    frame: 5
                }
            )
            .is_err()
    );
    assert!(
        survivor
            .handle(
                now,
                2,
                ResumeMessage::Propose {
                    epoch: 3,
                    round: 1,
                    frame: 5
                }
            )
            .is_err()
    );
    assert!(survivor.may_advance(1_000));
    newcomer.handle(now, 0, part_of(&point)).expect("state");
    assert!(matches!(newcomer.poll(), Some(ResumeAction::Load(p)) if p.frame == 100));
}

#[test]
fn members_must_make_sense() {
    let now = Instant::now();
    let c = ResumeConfig::default;
    assert!(ResumeMachine::new(1, 0, [], [0], c(), now).is_err());
    assert!(ResumeMachine::new(1, 0, [0, 1], [1], c(), now).is_err());
    assert!(ResumeMachine::new(1, 5, [0, 1], [2], c(), now).is_err());
}

#[test]
fn frame_offset_maps_both_ways() {
    let o = FrameOffset(300);
    assert_eq!(o.game_frame(0), 300);
    assert_eq!(o.session_frame(310), Some(10));
    assert_eq!(o.session_frame(299), None);
    assert_eq!(FrameOffset(i32::MAX).game_frame(5), i32::MAX);
    assert_eq!(FrameOffset(-5).session_frame(i32::MAX), None);
}

fn valid_messages() -> Vec<ResumeMessage> {
    vec![
        ResumeMessage::Synced { epoch: 1 },
        ResumeMessage::Propose {
            epoch: 1,
            round: 1,
            frame: 320,
        },
        ResumeMessage::Accept { epoch: 1, round: 1 },
        ResumeMessage::Reject {
            epoch: 1,
            round: 1,
            at: 400,
        },
        ResumeMessage::Commit {
            epoch: 1,
            round: 2,
            frame: 420,
        },
        part_of(&ResumePoint::new(1, 420, (0..=255).collect()).expect("point")),
    ]
}

#[test]
fn every_message_round_trips() {
    for m in valid_messages() {
        assert_eq!(ResumeMessage::decode(&m.encode().expect("encodes")), Ok(m));
    }
}

#[test]
fn garbage_truncations_and_bad_fields_are_refused_without_panic() {
    let mut rng = 0x1234_5678_u64;
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as u8
    };
    for len in 0..2000 {
        let bytes: Vec<u8> = (0..len % 700).map(|_| next()).collect();
        let _ = ResumeMessage::decode(&bytes);
    }
    for m in valid_messages() {
        let bytes = m.encode().expect("encodes");
        for cut in 0..bytes.len() {
            assert!(
                ResumeMessage::decode(&bytes[..cut]).is_err(),
                "{m:?} cut at {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(ResumeMessage::decode(&long), Err(ResumeError::Malformed));
        let mut other = bytes.clone();
        other[0] = RESUME_VERSION + 1;
        assert!(matches!(
            ResumeMessage::decode(&other),
            Err(ResumeError::WrongVersion { .. })
        ));
    }
    assert!(matches!(
        ResumeMessage::decode(&vec![RESUME_VERSION; MAX_RESUME_MESSAGE + 1]),
        Err(ResumeError::TooLarge { .. })
    ));
    let point = ResumePoint::new(1, 5, vec![1, 2, 3]).expect("point");
    let mut part = point.parts().remove(0);
    part.offset = 1;
    let bytes = ResumeMessage::StatePart(part).encode().expect("encodes");
    assert!(
        ResumeMessage::decode(&bytes).is_err(),
        "a part past the end"
    );
    let negative = ResumeMessage::Propose {
        epoch: 1,
        round: 1,
        frame: -3,
    };
    assert!(ResumeMessage::decode(&negative.encode().expect("encodes")).is_err());
    assert!(ResumePoint::new(1, 0, vec![0; MAX_STATE_BYTES + 1]).is_err());
    // A length prefix claiming a huge state is refused by the size limit or
    // the decoder, never allocated.
    let mut huge = vec![RESUME_VERSION, 5, 1, 2];
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(ResumeMessage::decode(&huge).is_err());
}

/// Held at the proposed frame no survivor sends new inputs, so one lost
/// datagram waits for GGRS's 200 ms resend: once the frame is committed,
/// the old session plays on past it until the switch.
#[test]
fn a_survivor_holds_at_the_proposed_frame_only_until_it_is_committed() {
    let now = Instant::now();
    let mut m =
        ResumeMachine::new(1, 1, [0, 1], [2], ResumeConfig::default(), now).expect("machine");
    m.old_session_at(now, 40, 39);
    let propose = ResumeMessage::Propose {
        epoch: 1,
        round: 1,
        frame: 50,
    };
    m.handle(now, 0, propose).expect("a proposal");
    assert!(m.may_advance(49));
    assert!(!m.may_advance(50), "held at the proposed frame");
    let commit = ResumeMessage::Commit {
        epoch: 1,
        round: 1,
        frame: 50,
    };
    m.handle(now, 0, commit).expect("the commit");
    assert!(m.may_advance(50) && m.may_advance(55));
    m.old_session_at(now, 55, 48);
    assert_eq!(
        m.phase(),
        ResumePhase::Agreeing,
        "frame 49 not confirmed yet"
    );
    m.old_session_at(now, 56, 49);
    assert_eq!(m.phase(), ResumePhase::Switched);
}

#[test]
fn seat_inputs_round_trip_and_oversized_ones_are_refused() {
    let ok = ResumeMessage::SeatInputs {
        epoch: 3,
        handle: 2,
        first_frame: 240,
        inputs: vec![vec![1], vec![2, 3]],
    };
    let bytes = ok.encode().expect("encodes");
    assert_eq!(ResumeMessage::decode(&bytes), Ok(ok));
    let refused = [
        (-1, vec![vec![1]]),
        (
            0,
            vec![vec![0]; crate::transport::seat_inputs::KEPT_FRAMES + 1],
        ),
        (
            0,
            vec![vec![0; crate::transport::seat_inputs::MAX_INPUT_BYTES + 1]],
        ),
    ];
    for (first_frame, inputs) in refused {
        let bytes = ResumeMessage::SeatInputs {
            epoch: 3,
            handle: 2,
            first_frame,
            inputs,
        }
        .encode()
        .expect("encodes");
        assert!(matches!(
            ResumeMessage::decode(&bytes),
            Err(ResumeError::Invalid(_))
        ));
    }
}
