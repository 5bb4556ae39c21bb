//! The TLS material a subscription brings (`sni_key`, `sni_crt`, `sni_ca`), fingerprinted
//! so that the routing table can tell new material from what a node announced before: the
//! newest wins, so a vassal switching from `ssl-domain` to `ssl-ca-domain`, or a renewed
//! certificate, takes effect while other vassals of the domain stay subscribed.

use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;

/// A fingerprint of a subscription's TLS material: the values as sent and, for each value
/// that names a file, the file's identity and change times (so a certificate renewed in
/// place changes it) — without reading any file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Material(u64);

impl Material {
    /// The fingerprint of `sni_key`, `sni_crt` and `sni_ca` as subscribed.
    pub fn of(key: &str, crt: &str, ca: Option<&str>) -> Material {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for value in [Some(key), Some(crt), ca] {
            value.hash(&mut h);
            let Some(value) = value else { continue };
            let path = value.strip_prefix('!').unwrap_or(value);
            if path.trim_start().starts_with("-----BEGIN ") {
                continue;
            }
            // The file's identity (device, inode, size, modification and change times): a
            // certificate replaced or rewritten in place gives another fingerprint.
            match std::fs::metadata(path) {
                Ok(m) => (
                    m.dev(),
                    m.ino(),
                    m.size(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.ctime(),
                    m.ctime_nsec(),
                )
                    .hash(&mut h),
                Err(e) => e.kind().hash(&mut h),
            }
        }
        Material(h.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_rewritten_in_place_changes_the_fingerprint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let crt = dir.path().join("a.crt");
        std::fs::write(&crt, "one").expect("write");
        let crt = crt.to_str().expect("utf8");
        let first = Material::of("inline", crt, None);
        assert_eq!(first, Material::of("inline", crt, None));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(crt, "two").expect("rewrite");
        assert_ne!(first, Material::of("inline", crt, None));
        assert_ne!(first, Material::of("inline", crt, Some("!ca")));
    }
}
