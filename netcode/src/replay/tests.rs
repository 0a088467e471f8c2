//! Replay tests: the recorder's finality and the reader's refusals, as a
//! hostile or careless file would test them.

use super::*;
use crate::NetSettings;

fn game() -> ReplayGame {
    ReplayGame::new("test-game", "1.0")
}

fn plan(players: usize) -> ReplayPlan {
    ReplayPlan {
        match_id: 5,
        seed: 77,
        players: (0..players).map(|h| format!("P{h}")).collect(),
        settings: NetSettings::default(),
        local_handle: 0,
    }
}

fn sample() -> ReplayFile<u8> {
    let mut recorder = InputRecorder::<u8>::new(3, 10);
    for frame in 1..=100u32 {
        recorder.record_frame(frame, &[frame as u8, 1, 2]);
        recorder.record_checksum(frame, u64::from(frame) * 11);
    }
    recorder.confirm(95);
    recorder.finish(game(), plan(3))
}

#[test]
fn a_resimulated_frame_is_overwritten_until_it_is_confirmed() {
    let mut recorder = InputRecorder::<u8>::new(2, 5);
    for frame in 1..=10 {
        recorder.record_frame(frame, &[0, 0]);
        recorder.record_checksum(frame, 1);
    }
    recorder.confirm(6);
    // A rollback to frame 5 resimulates 5..=10 with corrected input: 5 and 6
    // are final and keep theirs, 7..=10 take the new inputs.
    for frame in 5..=10 {
        recorder.record_frame(frame, &[9, 9]);
        recorder.record_checksum(frame, 2);
    }
    recorder.confirm(10);
    let file = recorder.finish(game(), plan(2));
    assert_eq!(file.frame_inputs(6), Some(&[0u8, 0][..]));
    assert_eq!(file.frame_inputs(7), Some(&[9u8, 9][..]));
    assert_eq!(file.checksums, vec![(5, 1), (10, 2)]);
}

#[test]
fn the_confirmed_stream_hands_out_each_final_frame_once() {
    let mut recorder = InputRecorder::<u8>::new(2, 0);
    for frame in 1..=8 {
        recorder.record_frame(frame, &[frame as u8, 0]);
    }
    assert_eq!(recorder.take_confirmed(), None);
    recorder.confirm(3);
    let batch = recorder.take_confirmed().expect("frames 1..=3");
    assert_eq!((batch.first_frame, batch.frames()), (1, 3));
    assert_eq!(batch.iter().last(), Some((3, &[3u8, 0][..])));
    assert_eq!(recorder.take_confirmed(), None);
    // Confirmed beyond what was simulated (GGRS can be ahead): capped.
    recorder.confirm(50);
    let batch = recorder.take_confirmed().expect("frames 4..=8");
    assert_eq!((batch.first_frame, batch.frames()), (4, 5));
}

#[test]
fn stop_after_ends_every_players_replay_at_the_same_frame() {
    let mut recorder = InputRecorder::<u8>::new(1, 4).stop_after(10);
    for frame in 1..=20 {
        recorder.record_frame(frame, &[1]);
        recorder.record_checksum(frame, u64::from(frame));
    }
    recorder.confirm(20);
    let file = recorder.finish(game(), plan(1));
    assert_eq!(file.frames, 10);
    assert_eq!(file.final_checksum(), Some((10, 10)));
    assert!(!recorder.overflowed());
}

#[test]
fn a_replay_reads_back_as_written_and_through_a_file() {
    let file = sample();
    let bytes = file.encode().expect("encodes");
    assert_eq!(ReplayFile::<u8>::decode(&bytes, &game()), Ok(file.clone()));
    let dir = std::env::temp_dir().join(format!("nearplay-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("match.npreplay");
    file.write(&path).expect("writes");
    assert_eq!(ReplayFile::<u8>::read(&path, &game()), Ok(file));
    // Only the replay is left: the temporary file was renamed.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("match.npreplay")]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_tampered_and_foreign_files_are_refused_with_the_reason() {
    let bytes = sample().encode().expect("encodes");
    let cut = bytes.get(..bytes.len() - 40).expect("long enough");
    assert!(matches!(
        ReplayFile::<u8>::decode(cut, &game()),
        Err(ReplayError::Truncated { .. })
    ));
    assert!(matches!(
        ReplayFile::<u8>::decode(&bytes[..5], &game()),
        Err(ReplayError::Truncated { .. })
    ));
    let mut edited = bytes.clone();
    edited[40] ^= 1;
    assert_eq!(
        ReplayFile::<u8>::decode(&edited, &game()),
        Err(ReplayError::Tampered)
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        ReplayFile::<u8>::decode(&longer, &game()),
        Err(ReplayError::Tampered)
    );
    let mut version = bytes.clone();
    version[8] = 9;
    assert_eq!(
        ReplayFile::<u8>::decode(&version, &game()),
        Err(ReplayError::BadVersion {
            found: 9,
            supported: FORMAT_VERSION
        })
    );
    let newer = ReplayGame::new("test-game", "2.0");
    let refused = ReplayFile::<u8>::decode(&bytes, &newer).expect_err("other version");
    assert_eq!(
        refused.to_string(),
        "the replay is of another game version (1.0, this is 2.0)"
    );
    assert_eq!(
        ReplayFile::<u8>::decode(b"GIF89a....", &game()),
        Err(ReplayError::NotAReplay)
    );
    let huge = vec![0u8; MAX_REPLAY_BYTES as usize + 1];
    assert!(matches!(
        ReplayFile::<u8>::decode(&huge, &game()),
        Err(ReplayError::TooLarge { .. })
    ));
}

#[test]
fn a_crafted_file_with_a_good_digest_is_still_checked() {
    let mut file = sample();
    file.inputs.pop();
    assert!(matches!(
        ReplayFile::<u8>::decode(&file.encode().expect("encodes"), &game()),
        Err(ReplayError::Malformed(_))
    ));
    let mut file = sample();
    file.checksums.push((1, 0));
    assert!(matches!(
        ReplayFile::<u8>::decode(&file.encode().expect("encodes"), &game()),
        Err(ReplayError::Malformed(_))
    ));
    let mut file = sample();
    file.plan.players[1] = "Bo\x1b[2J".into();
    assert!(matches!(
        ReplayFile::<u8>::decode(&file.encode().expect("encodes"), &game()),
        Err(ReplayError::Malformed(_))
    ));
}

#[test]
fn a_spectators_replay_is_read_and_a_handle_past_every_spectator_is_refused() {
    // A spectator records with its own handle (players..players + 32).
    let mut file = sample();
    file.plan.local_handle = 3 + crate::MAX_SPECTATORS - 1;
    let read = ReplayFile::<u8>::decode(&file.encode().expect("encodes"), &game());
    assert_eq!(read.map(|f| f.plan.local_handle).ok(), Some(34));
    file.plan.local_handle = 3 + crate::MAX_SPECTATORS;
    assert!(matches!(
        ReplayFile::<u8>::decode(&file.encode().expect("encodes"), &game()),
        Err(ReplayError::Malformed(_))
    ));
}

#[test]
fn garbage_never_panics_the_reader() {
    let good = sample().encode().expect("encodes");
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..4000 {
        let mut bytes = if round % 2 == 0 {
            good.clone()
        } else {
            MAGIC.to_vec()
        };
        let len = (next() % 300) as usize;
        bytes.truncate(if round % 3 == 0 { len } else { bytes.len() });
        for _ in 0..(next() % 8) {
            let at = (next() as usize) % bytes.len().max(1);
            if let Some(b) = bytes.get_mut(at) {
                *b = next() as u8;
            }
        }
        if round % 5 == 0 {
            bytes.extend((0..next() % 64).map(|_| next() as u8));
        }
        // Any outcome but a panic; a changed file is never accepted as is.
        if let Ok(read) = ReplayFile::<u8>::decode(&bytes, &game()) {
            assert_eq!(read.encode().ok().as_deref(), Some(&bytes[..]));
        }
    }
}

#[test]
fn a_replay_keeps_neither_the_match_key_nor_any_member_secret() {
    use crate::{MatchId, MatchKey, MatchPlan, MemberSecret, PeerAddr, PlanPlayer};
    let secret = [0xA7; 32];
    let key = [0x5C; 32];
    let plan = MatchPlan {
        match_id: MatchId(5),
        seed: 77,
        players: (0..3)
            .map(|h| PlanPlayer {
                handle: h,
                name: format!("P{h}"),
                addr: PeerAddr::Sim(h as u32),
            })
            .collect(),
        spectators: Vec::new(),
        key: MatchKey(key),
        key_epoch: 2,
        member_secrets: [(1, MemberSecret(secret))].into_iter().collect(),
        settings: NetSettings::default(),
        local_handle: 1,
    };
    let mut recorder = InputRecorder::<u8>::new(3, 10);
    recorder.record_frame(1, &[1, 2, 3]);
    recorder.confirm(1);
    let bytes = recorder
        .finish(game(), ReplayPlan::from(&plan))
        .encode()
        .expect("encode");
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!holds(&secret), "the member secret leaked into the replay");
    assert!(!holds(&key), "the match key leaked into the replay");
}
