//! The diff on nested structs, vectors and maps; reports read as hostile
//! input.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::*;
use crate::PeerAddr;
use crate::plan::{MatchId, MatchKey, MatchPlan, NetSettings, PlanPlayer};

#[derive(Serialize, Clone)]
struct Disc {
    pos: (i32, i32),
    alive: bool,
}

#[derive(Serialize, Clone)]
enum Phase {
    Playing,
    RoundOver { left: u16 },
}

#[derive(Serialize, Clone)]
struct Arena {
    frame: u32,
    discs: Vec<Disc>,
    scores: BTreeMap<String, u8>,
    phase: Phase,
}

fn arena() -> Arena {
    Arena {
        frame: 300,
        discs: vec![
            Disc {
                pos: (1, 2),
                alive: true,
            },
            Disc {
                pos: (3, 4),
                alive: true,
            },
        ],
        scores: BTreeMap::from([("ada".into(), 1), ("bob".into(), 2)]),
        phase: Phase::Playing,
    }
}

fn diff(a: &Arena, b: &Arena) -> (Vec<StateDifference>, bool) {
    let (a, b) = (
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
    );
    let mut out = Vec::new();
    let truncated = diff_values("Arena", &a, &b, &mut out);
    (out, truncated)
}

fn paths(out: &[StateDifference]) -> Vec<&str> {
    out.iter().map(|d| d.path.as_str()).collect()
}

#[test]
fn a_nested_field_is_named_by_its_path_with_both_values() {
    let mut b = arena();
    b.discs[1].pos.0 = 7;
    let (out, truncated) = diff(&arena(), &b);
    assert!(!truncated);
    assert_eq!(
        out,
        vec![StateDifference {
            path: "Arena.discs[1].pos[0]".into(),
            left: "3".into(),
            right: "7".into(),
        }]
    );
    assert!(diff(&arena(), &arena()).0.is_empty());
}

#[test]
fn vectors_of_different_length_name_the_length_and_the_missing_items() {
    let mut b = arena();
    b.discs.push(Disc {
        pos: (5, 6),
        alive: false,
    });
    let (out, _) = diff(&arena(), &b);
    assert_eq!(paths(&out), vec!["Arena.discs.len()", "Arena.discs[2]"]);
    assert_eq!((out[0].left.as_str(), out[0].right.as_str()), ("2", "3"));
    assert_eq!(out[1].left, "<absent>");
    assert!(out[1].right.contains("\"alive\":false"), "{:?}", out[1]);
}

#[test]
fn maps_name_changed_missing_and_odd_keys() {
    let mut b = arena();
    b.scores.insert("bob".into(), 3);
    b.scores.remove("ada");
    b.scores.insert("two words".into(), 0);
    let (out, _) = diff(&arena(), &b);
    assert_eq!(
        paths(&out),
        vec![
            "Arena.scores.ada",
            "Arena.scores.bob",
            "Arena.scores[\"two words\"]"
        ]
    );
    assert_eq!(out[0].right, "<absent>");
    assert_eq!(out[2].left, "<absent>");
}

#[test]
fn an_enum_whose_variant_changed_is_one_difference() {
    let mut b = arena();
    b.phase = Phase::RoundOver { left: 3 };
    let (out, _) = diff(&arena(), &b);
    assert_eq!(paths(&out), vec!["Arena.phase"]);
    assert_eq!(out[0].left, "\"Playing\"");
}

#[test]
fn a_long_list_of_differences_is_cut_and_says_so() {
    let a = Value::Array((0..100).map(Value::from).collect());
    let b = Value::Array((1..101).map(Value::from).collect());
    let mut out = Vec::new();
    assert!(diff_values("v", &a, &b, &mut out));
    assert_eq!(out.len(), MAX_DIFFERENCES);
}

fn plan() -> MatchPlan {
    MatchPlan {
        match_id: MatchId(5),
        seed: 42,
        players: (0..2)
            .map(|h| PlanPlayer {
                handle: h,
                name: format!("bot{h}"),
                addr: PeerAddr::Sim(h as u32),
            })
            .collect(),
        spectators: Vec::new(),
        key: MatchKey([9; 32]),
        key_epoch: 0,
        member_secrets: Default::default(),
        settings: NetSettings::default(),
        local_handle: 0,
    }
}

fn report(state_of: impl Fn(i32) -> Arena, input_of: impl Fn(i32) -> u8) -> DesyncReport {
    let frames = 295..=305;
    DesyncReport {
        format: REPORT_FORMAT.into(),
        version: REPORT_VERSION,
        game: "test 1.0".into(),
        frame: 300,
        detected_at: 320,
        local_checksum: "1".into(),
        remote_checksum: "2".into(),
        peer: "sim:1".into(),
        seed: 42,
        plan: PlanSummary::from(&plan()),
        states: frames
            .clone()
            .map(|f| FrameState {
                frame: f,
                resources: BTreeMap::from([(
                    "Arena".into(),
                    serde_json::to_value(state_of(f)).unwrap(),
                )]),
                entities: Vec::new(),
            })
            .collect(),
        inputs: frames
            .map(|f| FrameInputs {
                frame: f,
                players: vec![
                    PlayerInputRecord {
                        input: json!(input_of(f)),
                        status: "confirmed".into(),
                    },
                    PlayerInputRecord {
                        input: json!(1),
                        status: "confirmed".into(),
                    },
                ],
            })
            .collect(),
        notes: Vec::new(),
    }
}

#[test]
fn reports_are_compared_at_the_first_frame_whose_states_differ() {
    let left = report(
        |f| Arena {
            frame: f as u32,
            ..arena()
        },
        |_| 0,
    );
    let right = report(
        |f| {
            let mut a = Arena {
                frame: f as u32,
                ..arena()
            };
            if f >= 298 {
                a.discs[0].pos.1 += f - 297;
                a.discs[1].alive = f < 300;
            }
            a
        },
        |f| u8::from(f >= 301),
    );
    let d = diff_reports(&left, &right);
    assert_eq!(d.first_differing_frame, Some(298));
    assert_eq!(paths(&d.differences), vec!["Arena.discs[0].pos[1]"]);
    assert_eq!(
        (
            d.differences[0].left.as_str(),
            d.differences[0].right.as_str()
        ),
        ("2", "3")
    );
    let input = d
        .first_input_difference
        .clone()
        .expect("inputs differ at 301");
    assert_eq!((input.frame, input.handle), (301, 0));
    let text = d.to_string();
    assert!(text.contains("Arena.discs[0].pos[1]: 2 != 3"), "{text}");
    assert!(
        text.contains("inputs first differ at frame 301, handle 0"),
        "{text}"
    );
    let same = diff_reports(&left, &left);
    assert_eq!(
        (same.first_differing_frame, same.first_input_difference),
        (None, None)
    );
    assert_eq!(same.input_frames_compared, 11);
}

#[test]
fn a_report_round_trips_through_an_atomic_write_without_the_key() {
    let dir = std::env::temp_dir().join(format!("nearplay-forensics-{}", std::process::id()));
    let mut written = report(|_| arena(), |_| 0);
    let path = written.write_atomic(&dir, "r.json").expect("written");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("key"), "the plan's key leaked: {text}");
    assert_eq!(DesyncReport::read(&path).expect("read back"), written);
    let leftovers = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(leftovers, 1, "a temporary file was left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn garbage_truncated_foreign_and_oversized_reports_are_refused_by_type() {
    let good = serde_json::to_vec(&report(|_| arena(), |_| 0)).unwrap();
    for cut in [0, 1, 10, good.len() / 2, good.len() - 1] {
        let e = DesyncReport::from_bytes(&good[..cut]).unwrap_err();
        assert!(matches!(e, ForensicsError::Malformed(_)), "cut {cut}: {e}");
    }
    let mut other: Value = serde_json::from_slice(&good).unwrap();
    other["format"] = json!("replay\u{1b}[2J");
    let e = DesyncReport::from_bytes(other.to_string().as_bytes()).unwrap_err();
    assert!(
        matches!(&e, ForensicsError::WrongFormat(f) if !f.contains('\u{1b}')),
        "{e}"
    );
    other["format"] = json!(REPORT_FORMAT);
    other["version"] = json!(2);
    let e = DesyncReport::from_bytes(other.to_string().as_bytes()).unwrap_err();
    assert!(matches!(e, ForensicsError::Version { found: 2 }), "{e}");
    other["version"] = json!(REPORT_VERSION);
    let mut twice = other.clone();
    twice["states"][1]["frame"] = json!(295);
    let e = DesyncReport::from_bytes(twice.to_string().as_bytes()).unwrap_err();
    assert!(matches!(e, ForensicsError::Invalid(_)), "{e}");
    other["inputs"][0]["players"] = Value::Array(vec![json!({"input": 0, "status": "x"}); 17]);
    let e = DesyncReport::from_bytes(other.to_string().as_bytes()).unwrap_err();
    assert!(matches!(e, ForensicsError::Invalid(_)), "{e}");
    let huge = vec![b' '; MAX_REPORT_BYTES as usize + 1];
    let e = DesyncReport::from_bytes(&huge).unwrap_err();
    assert!(matches!(e, ForensicsError::TooLarge { .. }), "{e}");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(DesyncReport::from_bytes(deep.as_bytes()).is_err());
    const ALPHABET: &[u8] = b"{}[]\",:0123456789abcdefnrtul \\";
    let mut seed = 0x1234_5678_u64;
    for _ in 0..2000 {
        let bytes: Vec<u8> = (0..64)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ALPHABET[(seed % ALPHABET.len() as u64) as usize]
            })
            .collect();
        let _ = DesyncReport::from_bytes(&bytes);
    }
}

#[test]
fn an_oversized_report_drops_the_frames_farthest_from_the_desync() {
    let mut big = report(|_| arena(), |_| 0);
    let blob = "x".repeat(2 * 1024 * 1024);
    for s in &mut big.states {
        s.resources.insert("Blob".into(), json!(blob));
    }
    let bytes = big.to_bytes().expect("fits after dropping frames");
    assert!(bytes.len() as u64 <= MAX_REPORT_BYTES);
    assert!(big.state(300).is_some(), "the desync frame was dropped");
    assert!(big.states.len() < 11);
    assert!(big.notes.iter().any(|n| n.contains("dropped")));
}
