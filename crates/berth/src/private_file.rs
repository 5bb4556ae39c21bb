//! Files only their owner may read (mode 0600): first-start credentials, a server's
//! credential, TLS keys.

use std::path::Path;

use anyhow::Context;

/// Writes `text` to a new file at `path` that only its owner can read or write; fails when
/// the file exists.
pub(crate) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
