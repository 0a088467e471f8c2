//! One atomic file write for everything the crate saves (replays, desync
//! reports): a reader, or a crash, never sees half a file.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` at `path` atomically: into a temporary file beside it
/// (`.NAME.PID.tmp`), flushed to disk, then renamed over `path`. The
/// temporary file is removed on failure. `fallback_name` names the
/// temporary file when `path` has no file name.
pub(crate) fn write_atomically(
    path: &Path,
    bytes: &[u8],
    fallback_name: &str,
) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| fallback_name.into());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}
