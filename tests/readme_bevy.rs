//! The README's Bevy program is not compiled where it stands (the README is
//! also the crate's documentation, built without the `bevy` feature): it
//! must be, line for line, the example of `nearplay::bevy`'s module docs,
//! which is compiled with the feature.

use std::path::Path;

/// The lines of the first fenced block opening with `fence` in `text`.
fn block(text: &str, fence: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| l.trim_end() != fence)
        .skip(1)
        .take_while(|l| l.trim_end() != "```")
        .map(|l| l.trim_end().to_string())
        .collect()
}

#[test]
fn the_readme_bevy_program_is_the_compiled_module_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let module = std::fs::read_to_string(root.join("src/bevy/mod.rs")).expect("src/bevy/mod.rs");
    let docs: String = module
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    let in_readme = block(&readme, "```rust,ignore");
    assert!(in_readme.len() > 10, "no Bevy program in the README");
    assert_eq!(in_readme, block(&docs, "```no_run"));
}
