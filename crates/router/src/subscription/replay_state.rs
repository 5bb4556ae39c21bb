//! The anti-replay state on disk, so a restarted router accepts no signed packet older than
//! (or as old as) one it accepted before: `<state dir>/replay.json`, loaded at start and
//! rewritten atomically (temporary file, `fsync`, `rename`) at once after a signed packet
//! that changed the routing table (a new node, an unsubscribe; at most every
//! [`SAVE_EVERY`]), within [`SAVE_REFRESHES`] after mere refreshes, and at shutdown.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::subscription::replay::{ReplayGuard, ReplayState};

/// The state file's name in the state directory.
pub const FILE_NAME: &str = "replay.json";
/// Shortest time between two writes of the file.
pub const SAVE_EVERY: Duration = Duration::from_millis(100);
/// Longest time a refresh's time waits to be written.
pub const SAVE_REFRESHES: Duration = Duration::from_secs(1);
/// A larger state file is not read (it holds at most `MAX_NODES` nodes, far less).
const MAX_FILE_BYTES: u64 = 64 << 20;

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    floor: u64,
    nodes: Vec<NodeEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct NodeEntry {
    key: String,
    address: String,
    unix: u64,
}

/// The state saved at `path`, without the nodes whose time is out of the window anyway.
/// No file (a first start): an empty state. A file that cannot be read: a warning and a
/// floor at `now`, so nothing signed before this start is accepted.
pub fn load(path: &Path, now: u64, tolerance: Duration) -> ReplayState {
    let text = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ReplayState::default(),
        Ok(m) if m.len() > MAX_FILE_BYTES => Err(format!("larger than {MAX_FILE_BYTES} bytes")),
        _ => std::fs::read_to_string(path).map_err(|e| e.to_string()),
    };
    match text.and_then(|t| serde_json::from_str::<StateFile>(&t).map_err(|e| e.to_string())) {
        Ok(file) => ReplayState {
            floor: file.floor,
            last: file
                .nodes
                .into_iter()
                .filter(|n| now.saturating_sub(n.unix) <= tolerance.as_secs())
                .map(|n| ((n.key, n.address), n.unix))
                .collect(),
        },
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "anti-replay state unreadable: accepting only packets signed after this start");
            ReplayState {
                floor: now,
                ..ReplayState::default()
            }
        }
    }
}

/// Write `state` to `path` atomically (mode 0600).
pub fn save(path: &Path, state: &ReplayState) -> std::io::Result<()> {
    let file = StateFile {
        floor: state.floor,
        nodes: state
            .last
            .iter()
            .map(|((key, address), unix)| NodeEntry {
                key: key.clone(),
                address: address.clone(),
                unix: *unix,
            })
            .collect(),
    };
    let text = serde_json::to_vec(&file)?;
    let tmp = path.with_extension("json.tmp");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    out.write_all(&text)?;
    out.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

async fn save_now(guard: &ReplayGuard, path: &Path) {
    let (state, path) = (guard.snapshot(), path.to_owned());
    let saved = tokio::task::spawn_blocking(move || save(&path, &state)).await;
    if let Ok(Err(error)) | Err(error) = saved.map_err(std::io::Error::other) {
        tracing::warn!(%error, "cannot save the anti-replay state");
    }
}

/// Save the guard's state to `path` when asked to, or every [`SAVE_REFRESHES`] when it
/// changed (at most every [`SAVE_EVERY`]), and once more when `shutdown` turns true.
pub async fn keep_saved(
    guard: Arc<ReplayGuard>,
    path: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = guard.urgent() => {}
            _ = tokio::time::sleep(SAVE_REFRESHES) => {}
            _ = crate::stopped(&mut shutdown) => break,
        }
        if guard.take_dirty() {
            save_now(&guard, &path).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(SAVE_EVERY) => {}
            _ = crate::stopped(&mut shutdown) => break,
        }
    }
    if guard.take_dirty() {
        save_now(&guard, &path).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_survives_a_save_and_a_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        assert_eq!(
            load(&path, 1000, Duration::from_secs(300)),
            ReplayState::default()
        );
        let mut state = ReplayState {
            floor: 10,
            ..ReplayState::default()
        };
        state
            .last
            .insert(("a.test".into(), "127.0.0.1:1".into()), 990);
        state
            .last
            .insert(("a.test".into(), "127.0.0.1:2".into()), 100);
        save(&path, &state).expect("saved");
        let loaded = load(&path, 1000, Duration::from_secs(300));
        assert_eq!(loaded.floor, 10);
        assert_eq!(
            loaded.last.len(),
            1,
            "the node out of the window is dropped"
        );
        std::fs::write(&path, "{").expect("corrupt");
        assert_eq!(load(&path, 1000, Duration::from_secs(300)).floor, 1000);
    }
}
