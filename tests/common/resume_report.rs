//! What the rejoin tests (`rejoin_match` on the LAN, `online_rejoin` by
//! room code) check in the bots' reports: the same checksum at frame 1200,
//! no desync, the newcomer's rejoin time, and the others' longest stall
//! within the goal (printed as figures).
#![allow(dead_code)]

use serde_json::Value;

/// The goal for the players already in the match.
pub const MAX_STALL: u64 = 6;

/// The report's `key`, or a failure that shows the report.
pub fn field<'a>(report: &'a Value, key: &str) -> &'a Value {
    report
        .get(key)
        .unwrap_or_else(|| panic!("report has no {key}: {report}"))
}

/// Same checksum at 1200, no desync; the others' longest stall within the
/// goal; the newcomer's rejoin time. Prints the figures.
pub fn check(what: &str, reports: &[Value], newcomer: usize) {
    for r in reports {
        assert_eq!(field(r, "frames"), &Value::from(1200), "{r}");
        assert_eq!(
            field(r, "checksum"),
            field(&reports[0], "checksum"),
            "{reports:?}"
        );
        assert_eq!(field(r, "desyncs"), &Value::from(0), "{r}");
    }
    let stalls: Vec<u64> = reports
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != newcomer)
        .map(|(_, r)| {
            field(r, "longest_stall_resume")
                .as_u64()
                .unwrap_or(u64::MAX)
        })
        .collect();
    let rejoin = field(&reports[newcomer], "rejoin_time_ms").as_u64();
    let resumed = field(&reports[0], "resumed_at");
    println!(
        "{what}: resumed at frame {resumed}; newcomer's first confirmed frame {rejoin:?} ms after its process started; others' longest stall {stalls:?} frames"
    );
    assert!(rejoin.is_some(), "no rejoin time: {:?}", reports[newcomer]);
    assert!(
        stalls.iter().all(|s| *s <= MAX_STALL),
        "{what}: stalls {stalls:?}"
    );
}
