//! The server's ed25519 host key: generated at first start (mode 0600), then reused, so that
//! clients see the same host key across node restarts.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, PrivateKey};

use crate::error::NodeError;

/// The host key kept in `path` (OpenSSH format, like `/etc/ssh/ssh_host_ed25519_key`); a new
/// ed25519 key is generated and written there, mode 0600, when the file does not exist.
/// An existing file that is not a private key, or is readable by others, is an error rather
/// than being replaced.
pub fn load_or_generate(path: &Path) -> Result<PrivateKey, NodeError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let mode = fs::metadata(path)
                .map_err(NodeError::io(path))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(NodeError::Config(format!(
                    "the ssh host key {} is readable by others (mode {:o}): make it 0600",
                    path.display(),
                    mode & 0o777
                )));
            }
            PrivateKey::from_openssh(text)
                .map_err(|e| NodeError::Config(format!("the ssh host key {}: {e}", path.display())))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => generate(path),
        Err(e) => Err(NodeError::io(path)(e)),
    }
}

fn generate(path: &Path) -> Result<PrivateKey, NodeError> {
    let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
        .map_err(|e| NodeError::Config(format!("cannot generate an ssh host key: {e}")))?;
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| NodeError::Config(format!("cannot encode the ssh host key: {e}")))?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(NodeError::io(dir))?;
    }
    // create_new: never overwrite a key another process just wrote.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(NodeError::io(path))?;
    file.write_all(text.as_bytes())
        .map_err(NodeError::io(path))?;
    file.sync_all().map_err(NodeError::io(path))?;
    tracing::info!(path = %path.display(), "generated an ssh host key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_private_then_reused_and_a_world_readable_one_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys/ssh_host_ed25519_key");
        let first = load_or_generate(&path).expect("generated");
        assert_eq!(first.algorithm(), Algorithm::Ed25519);
        let mode = fs::metadata(&path).expect("written").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = load_or_generate(&path).expect("reused");
        assert_eq!(again.public_key().key_data(), first.public_key().key_data());

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(load_or_generate(&path).is_err());
        let garbage = dir.path().join("garbage");
        fs::write(&garbage, "not a key").expect("write");
        fs::set_permissions(&garbage, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(load_or_generate(&garbage).is_err());
    }
}
