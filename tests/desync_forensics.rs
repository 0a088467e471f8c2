//! Desync forensics end to end: two headless bots, one of them corrupting
//! its state at frame 300 (`--inject-desync`, test only). Both must detect
//! the desync, write a report, and `nearplay-demo desync-diff` on the two
//! reports must name the perturbed field.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Demo, bot_args, demo_bin, scratch_dir, unique};

/// Discovery, sync and 600 frames at `--speed 4`, with room to spare.
const DEADLINE: Duration = Duration::from_secs(120);

/// The path a demo printed after "report in ".
fn report_path(demo: &mut Demo) -> PathBuf {
    let needle = "desync: desync at frame";
    demo.wait_for_line(needle, DEADLINE);
    let line = demo
        .seen
        .iter()
        .find(|l| l.contains(needle))
        .cloned()
        .unwrap_or_default();
    let (_, path) = line
        .split_once("report in ")
        .unwrap_or_else(|| panic!("{}: no report path in {line:?}", demo.label));
    PathBuf::from(path.trim())
}

fn desync_diff(a: &Path, b: &Path) -> (bool, String) {
    let out = Command::new(demo_bin())
        .arg("desync-diff")
        .args([a, b])
        .output()
        .expect("run desync-diff");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn an_injected_desync_is_reported_by_both_bots_and_the_diff_names_the_field() {
    let lobby = unique("desync2");
    let dir = scratch_dir("desync2");
    let mut demos: Vec<Demo> = (0..2)
        .map(|i| {
            let name = format!("bot{i}");
            let peer_dir = dir.join(&name).to_string_lossy().into_owned();
            let mut args = vec![if i == 0 { "host" } else { "join" }];
            args.extend(bot_args(&lobby, &name, "600", "4"));
            args.extend(["--desync-dir", &peer_dir]);
            if i == 1 {
                args.extend(["--inject-desync", "300"]);
            }
            Demo::start(&name, &args)
        })
        .collect();
    let paths: Vec<PathBuf> = demos.iter_mut().map(report_path).collect();
    for demo in &mut demos {
        assert!(
            demo.wait_exit(DEADLINE),
            "{} failed:\n{}",
            demo.label,
            demo.seen.join("\n")
        );
    }
    for (i, path) in paths.iter().enumerate() {
        assert!(
            path.starts_with(dir.join(format!("bot{i}"))),
            "{}",
            path.display()
        );
        assert!(path.is_file(), "{} was not written", path.display());
    }
    let (ok, text) = desync_diff(&paths[0], &paths[1]);
    assert!(ok, "desync-diff failed:\n{text}");
    assert!(text.contains("first differing state: frame 300"), "{text}");
    // Disc 0 moved by one pixel (256 sub-units) on bot1 only.
    let line = text
        .lines()
        .find(|l| l.contains("ArenaState.discs[0].pos[0]:"))
        .unwrap_or_else(|| panic!("the perturbed field is not named:\n{text}"));
    let values: Vec<i64> = line
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .split("!=")
        .map(|v| v.trim().parse().expect("a number"))
        .collect();
    assert_eq!(values[1] - values[0], 256, "{line}");
    let compared: u32 = text
        .split_once("inputs agree on the ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no input verdict:\n{text}"));
    assert!(compared > 0, "no confirmed input frame compared:\n{text}");

    // A truncated report is refused with the reason, not a panic.
    let bytes = std::fs::read(&paths[0]).expect("report");
    let cut = dir.join("cut.json");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let (ok, text) = desync_diff(&cut, &paths[1]);
    assert!(!ok && text.contains("not a desync report"), "{text}");
}
