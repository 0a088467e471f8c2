//! The hostile rejoin tests with the demo's processes (issue 13):
//! a stranger on the same network, holding a ticket for the vacant seat
//! whose secret is wrong (the ticket file of the seat's owner with one
//! byte of its secret changed), is refused and the seat stays free for its
//! owner, who then takes it back; a wrong password cannot take a late-join
//! seat, the right one can. Headless bots on loopback, each test its own
//! lobby; all players agree on the checksum at frame 1200.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Demo, bot_args, read_report, scratch_dir, unique};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(180);
const SPEED: &str = "4";
const FRAMES: &str = "1200";

fn bot(lobby: &str, name: &str, command: &[&str], report: &Path, data: &Path) -> Demo {
    let report_arg = report.to_string_lossy().into_owned();
    let mut args: Vec<&str> = command.to_vec();
    args.extend(bot_args(lobby, name, FRAMES, SPEED));
    args.extend(["--report", &report_arg]);
    Demo::start_env(name, &args, &[("XDG_DATA_HOME", data)])
}

fn finish(demo: &mut Demo) {
    let ok = demo.wait_exit(DEADLINE);
    assert!(ok, "{} failed:\n{}", demo.label, demo.seen.join("\n"));
}

/// A join that must be refused: the process ends unsuccessfully and says
/// why in words containing `why`.
fn refused(demo: &mut Demo, why: &str) {
    let ok = demo.wait_exit(DEADLINE);
    let out = demo.seen.join("\n").to_lowercase();
    assert!(!ok, "{} was let in:\n{out}", demo.label);
    assert!(
        out.contains(why),
        "{} refused without {why:?}:\n{out}",
        demo.label
    );
}

/// Every report at frame 1200, on one checksum, without a desync.
fn agree(reports: &[PathBuf]) {
    let values: Vec<Value> = reports.iter().map(|p| read_report(p)).collect();
    for r in &values {
        assert_eq!(r.get("frames"), Some(&Value::from(1200)), "{r}");
        assert_eq!(r.get("checksum"), values[0].get("checksum"), "{values:?}");
        assert_eq!(r.get("desyncs"), Some(&Value::from(0)), "{r}");
    }
}

/// The ticket file `data` holds (the demo saves one per lobby and player).
fn ticket_in(data: &Path) -> PathBuf {
    let dir = data.join("nearplay").join("rejoin");
    let mut tickets: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ticket"))
        .collect();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    tickets.remove(0)
}

#[test]
fn a_stranger_with_a_forged_ticket_is_refused_and_the_owner_takes_the_seat_back() {
    let lobby = unique("stranger");
    let dir = scratch_dir("stranger");
    let data = |who: &str| {
        let d = dir.join(format!("data-{who}"));
        std::fs::create_dir_all(&d).expect("data dir");
        d
    };
    let reports: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("bot{i}.json"))).collect();
    let mut host = bot(
        &lobby,
        "bot0",
        &["host", "--players", "3"],
        &reports[0],
        &data("0"),
    );
    let mut one = bot(&lobby, "bot1", &["join"], &reports[1], &data("1"));
    let mut two = bot(&lobby, "bot2", &["join"], &reports[2], &data("2"));
    two.wait_for_line("match: frame 300 confirmed", DEADLINE);
    two.kill();

    // The stranger holds bot2's ticket with the secret's last byte changed
    // (the secret is the file's last field).
    let mut forged = std::fs::read(ticket_in(&data("2"))).expect("ticket");
    if let Some(last) = forged.last_mut() {
        *last ^= 0x5a;
    }
    let stranger_data = data("stranger");
    let stranger_ticket = stranger_data
        .join("nearplay/rejoin")
        .join(ticket_in(&data("2")).file_name().expect("name"));
    std::fs::create_dir_all(stranger_ticket.parent().expect("dir")).expect("dir");
    std::fs::write(&stranger_ticket, &forged).expect("write");
    let stranger_report = dir.join("stranger.json");
    let mut stranger = bot(&lobby, "bot2", &["join"], &stranger_report, &stranger_data);
    refused(&mut stranger, "did not take us back into the seat");

    let mut again = bot(&lobby, "bot2", &["join"], &reports[2], &data("2"));
    again.wait_for_line("match: rejoined", DEADLINE);
    for d in [&mut host, &mut one, &mut again] {
        finish(d);
    }
    agree(&reports);
}

#[test]
fn a_wrong_password_cannot_take_a_late_join_seat_and_the_right_one_can() {
    let lobby = unique("latepw");
    let dir = scratch_dir("latepw");
    let data = dir.join("data");
    let reports: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("bot{i}.json"))).collect();
    let host_args = [
        "host",
        "--players",
        "3",
        "--start-with",
        "2",
        "--late-join",
        "--password",
        "open sesame",
    ];
    let mut host = bot(&lobby, "bot0", &host_args, &reports[0], &data);
    let join_with = |pw: &'static str| ["join", "--password", pw];
    let mut one = bot(
        &lobby,
        "bot1",
        &join_with("open sesame"),
        &reports[1],
        &data,
    );
    host.wait_for_line("match: frame 300 confirmed", DEADLINE);
    let wrong_report = dir.join("wrong.json");
    let mut wrong = bot(
        &lobby,
        "bot2",
        &join_with("let me in"),
        &wrong_report,
        &data,
    );
    refused(&mut wrong, "password");
    let mut late = bot(
        &lobby,
        "bot2",
        &join_with("open sesame"),
        &reports[2],
        &data,
    );
    for d in [&mut host, &mut one, &mut late] {
        finish(d);
    }
    agree(&reports);
}
