//! Loopboxes: ext4 image files in a container's home, loop-mounted inside it.
//!
//! Both paths are relative to the container's home, and the node (running as root) joins them
//! to it, so they must not be able to name anything else: no absolute paths, no `.` or `..`
//! components, no empty components, no backslashes, no control characters. A loopbox may not
//! be mounted on, or under, a directory the platform manages in every home (`etc`, `logs`,
//! `run`, `tmp`, `vassals`): mounting over `vassals/` or `etc/uwsgi` would hide the customer's
//! own configuration from the Emperor.

use crate::ValidationError;

/// The longest image file name, in characters (as upstream).
pub const FILENAME_MAX: usize = 64;
/// The longest mountpoint, in characters.
pub const MOUNTPOINT_MAX: usize = 255;
/// The top-level directories of a home that no loopbox may cover, nor be mounted under.
pub const RESERVED_MOUNTPOINTS: [&str; 5] = ["etc", "logs", "run", "tmp", "vassals"];

/// Checks a relative path inside a home: at most `max` characters, `/`-separated components
/// that are neither empty, `.` nor `..`, without backslashes or control characters.
fn home_path(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let refuse = |why: &str| Err(ValidationError::new(field, why));
    if value.is_empty() {
        return refuse("must not be empty");
    }
    if value.chars().count() > max {
        return refuse(&format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return refuse("must not contain control characters");
    }
    if value.contains('\\') {
        return refuse("must not contain backslashes");
    }
    if value.starts_with('/') || value.ends_with('/') {
        return refuse("must be a relative path without a leading or trailing '/'");
    }
    for component in value.split('/') {
        match component {
            "" => return refuse("must not contain '//'"),
            "." | ".." => return refuse("must not contain '.' or '..' components"),
            _ => {}
        }
    }
    Ok(value.to_owned())
}

/// Checks the image file's path, relative to the container's home.
pub fn filename(value: &str) -> Result<String, ValidationError> {
    home_path("filename", value, FILENAME_MAX)
}

/// Checks the mountpoint, relative to the container's home: a clean relative path that is
/// not, and is not under, one of [`RESERVED_MOUNTPOINTS`].
pub fn mountpoint(value: &str) -> Result<String, ValidationError> {
    let value = home_path("mountpoint", value, MOUNTPOINT_MAX)?;
    let top = value.split('/').next().unwrap_or_default();
    if RESERVED_MOUNTPOINTS.contains(&top) {
        return Err(ValidationError::new(
            "mountpoint",
            format!("must not be {top}/ or under it: the platform manages that directory"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_relative_paths_are_accepted() {
        assert_eq!(filename("images/db.ext4").as_deref(), Ok("images/db.ext4"));
        assert_eq!(mountpoint("data/db").as_deref(), Ok("data/db"));
        assert!(mountpoint("etcetera").is_ok());
        assert!(mountpoint("my/etc").is_ok());
        assert!(filename("...").is_ok());
        assert!(filename(&"f".repeat(FILENAME_MAX)).is_ok());
        assert!(mountpoint(&"m".repeat(MOUNTPOINT_MAX)).is_ok());
    }

    #[test]
    fn escaping_paths_are_refused() {
        for hostile in [
            "", "/abs", "a/", "../x", "a/../b", "..", "./a", "a/.", ".", "a//b", "a\\..\\b",
            "a\u{0}b", "a\nb", "a\u{1b}b",
        ] {
            assert!(filename(hostile).is_err(), "{hostile:?}");
            assert!(mountpoint(hostile).is_err(), "{hostile:?}");
        }
        assert!(filename(&"f".repeat(FILENAME_MAX + 1)).is_err());
        assert!(mountpoint(&"m".repeat(MOUNTPOINT_MAX + 1)).is_err());
    }

    #[test]
    fn reserved_directories_and_their_insides_are_refused() {
        for reserved in RESERVED_MOUNTPOINTS {
            assert!(mountpoint(reserved).is_err());
            assert!(mountpoint(&format!("{reserved}/inner")).is_err());
            assert!(filename(reserved).is_ok(), "the rule is for mountpoints");
        }
    }
}
