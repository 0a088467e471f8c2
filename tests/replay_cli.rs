//! Replays end to end: headless bots record their match (`--record`), and
//! `nearplay-demo replay FILE --verify` re-simulates each file to the
//! checksum the players reported; truncated, tampered, other-version and
//! wrong-checksum files are refused or fail in words, with their exit code.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Demo, bot_args, demo_bin, read_report, scratch_dir, unique};
use nearplay::netcode::replay::{ReplayFile, ReplayGame};

const MATCH_DEADLINE: Duration = Duration::from_secs(120);
const FRAMES: u32 = 1200;

/// `nearplay-demo replay FILE --verify`: exit code and everything printed.
fn verify(file: &Path) -> (Option<i32>, String) {
    let out = Command::new(demo_bin())
        .args(["replay", "--verify"])
        .arg(file)
        .output()
        .expect("run nearplay-demo replay");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Three bots play `FRAMES` frames recorded; returns each peer's replay,
/// report and data directory.
fn play_recorded_match(dir: &Path) -> Vec<(PathBuf, PathBuf, PathBuf)> {
    let lobby = unique("replay3");
    let frames = FRAMES.to_string();
    let mut demos = Vec::new();
    let mut peers = Vec::new();
    for i in 0..3 {
        let replay = dir.join(format!("peer{i}.npreplay"));
        let report = dir.join(format!("peer{i}.json"));
        let data = dir.join(format!("data{i}"));
        let (replay_arg, report_arg) = (
            replay.to_string_lossy().into_owned(),
            report.to_string_lossy().into_owned(),
        );
        let name = format!("bot{i}");
        let mut args: Vec<&str> = if i == 0 {
            vec!["host", "--players", "3"]
        } else {
            vec!["join"]
        };
        args.extend(bot_args(&lobby, &name, &frames, "4"));
        args.extend(["--report", &report_arg, "--record", &replay_arg]);
        demos.push(Demo::start_env(&name, &args, &[("XDG_DATA_HOME", &data)]));
        peers.push((replay, report, data));
    }
    for demo in &mut demos {
        let ok = demo.wait_exit(MATCH_DEADLINE);
        assert!(ok, "{} failed:\n{}", demo.label, demo.seen.join("\n"));
    }
    peers
}

#[test]
fn three_bots_record_and_each_replay_verifies_to_the_players_checksum_or_is_refused() {
    let dir = scratch_dir("replays");
    let peers = play_recorded_match(&dir);
    for (replay, report, data) in &peers {
        let checksum = read_report(report)["checksum"]
            .as_str()
            .expect("report checksum")
            .to_string();
        let (code, text) = verify(replay);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains(&format!("final checksum {checksum} at frame {FRAMES}")),
            "the replay does not end on the players' checksum {checksum}:\n{text}"
        );
        // Every match is also kept in the player's data directory.
        let kept: Vec<_> = std::fs::read_dir(data.join("nearplay/replays"))
            .expect("data directory replays")
            .flatten()
            .collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
    }
    let bytes = std::fs::read(&peers[0].0).expect("replay");

    let truncated = dir.join("truncated.npreplay");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let (code, text) = verify(&truncated);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("the replay is truncated"), "{text}");

    let tampered = dir.join("tampered.npreplay");
    let mut edited = bytes.clone();
    edited[bytes.len() / 2] ^= 0x10;
    std::fs::write(&tampered, &edited).expect("write");
    let (code, text) = verify(&tampered);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("tampered with or corrupted"), "{text}");

    // Re-encoded with a good digest: another game version, then a checksum
    // the simulation cannot reproduce.
    let game = ReplayGame::new("nearplay-bumper", env!("CARGO_PKG_VERSION"));
    let file = ReplayFile::<u8>::decode(&bytes, &game).expect("a good replay");
    let mut other = file.clone();
    other.game.version = "0.0.0-older".into();
    let older = dir.join("older.npreplay");
    other.write(&older).expect("write");
    let (code, text) = verify(&older);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("another game version (0.0.0-older"), "{text}");

    let mut wrong = file.clone();
    let (frame, checksum) = wrong.checksums[3];
    wrong.checksums[3] = (frame, checksum ^ 1);
    let differs = dir.join("differs.npreplay");
    wrong.write(&differs).expect("write");
    let (code, text) = verify(&differs);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("frame {frame} differs")), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
