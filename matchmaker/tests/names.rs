//! Name conflicts between processes on loopback: a host that did not see the
//! other lobby in time still ends up with a unique name, because mDNS probing
//! renames it ("Name (2)"), and it reports the new name.

mod common;

use std::time::Duration;

use common::netns::{example_binary, spawn_local};
use common::unique;

const LIMIT: Duration = Duration::from_secs(15);

#[test]
fn probing_renames_a_conflicting_lobby_and_the_host_knows() {
    let Some(bin) = example_binary() else {
        eprintln!(
            "SKIPPED: the `lobby` example is not built (run `cargo test -p nearplay_matchmaker`)"
        );
        return;
    };
    let name = unique("Dup");
    let lo = ["--interface", "lo"];
    let list = spawn_local(&bin, &["list", lo[0], lo[1]]);
    let first = spawn_local(&bin, &["host", "--name", &name, lo[0], lo[1]]);
    list.expect_line("first listed", LIMIT, |l| {
        l.starts_with(&format!("added {name} at"))
    });
    // A fresh process advertises at once, before its browser has seen the
    // first lobby: only probing can catch the conflict.
    let second = spawn_local(&bin, &["host", "--name", &name, lo[0], lo[1]]);
    let renamed = format!("{name} (2)");
    second.expect_line("second renamed", LIMIT, |l| {
        l == format!("renamed {renamed}")
    });
    list.expect_line("second listed", LIMIT, |l| {
        l.starts_with(&format!("added {renamed} at"))
    });
    drop(first);
}
