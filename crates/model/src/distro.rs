//! Distros: the read-only root filesystems containers boot from, the platform's and the
//! customers' own (custom distros, kept in the storage of one of their containers).

use crate::{text, ValidationError};

/// The directory of a storage container's home that holds its custom distros.
pub const CUSTOM_DISTROS_DIR: &str = "distros";

/// The longest custom distro path (one directory name).
pub const CUSTOM_PATH_MAX: usize = 64;

/// Checks a distro name (1–64 characters, one line).
pub fn name(value: &str) -> Result<String, ValidationError> {
    text::required_line("name", value, 64)
}

/// Checks a distro's root directory: an absolute path without `..`, `.` or empty components.
pub fn path(value: &str) -> Result<String, ValidationError> {
    let value = value.trim();
    let clean = value.starts_with('/')
        && value.len() <= 4096
        && !value.contains(char::is_control)
        && (value == "/"
            || value
                .trim_end_matches('/')
                .split('/')
                .skip(1)
                .all(|part| !part.is_empty() && part != "." && part != ".."));
    if clean {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::new(
            "path",
            "must be an absolute directory path without '.', '..' or '//'",
        ))
    }
}

/// Checks a custom distro's path: the name of one directory under the storage container's
/// `distros/`, made of `A-Z a-z 0-9 . _ -` only (as uwsgi.it), never `.` or `..`.
pub fn custom_path(value: &str) -> Result<String, ValidationError> {
    let clean = !value.is_empty()
        && value.len() <= CUSTOM_PATH_MAX
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if clean {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::new(
            "path",
            format!(
                "must be one directory name of at most {CUSTOM_PATH_MAX} characters among \
                 A-Z a-z 0-9 . _ - (not . or ..)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_paths_are_one_plain_directory_name() {
        assert_eq!(
            custom_path("bookworm-1.2_x"),
            Ok("bookworm-1.2_x".to_owned())
        );
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a b",
            "é",
            "x\n",
            &"a".repeat(65),
        ] {
            assert!(custom_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_must_be_clean_and_absolute() {
        assert!(path("/distros/bookworm").is_ok());
        assert!(path("/").is_ok());
        assert!(path("distros/bookworm").is_err());
        assert!(path("/distros/../etc").is_err());
        assert!(path("/distros//x").is_err());
    }
}
