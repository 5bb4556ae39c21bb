//! SSH public keys as they go into a container's `authorized_keys`.

use ssh_key::PublicKey;

use crate::ValidationError;

/// The most keys one container may hold.
pub const MAX_KEYS: usize = 100;
/// The longest single key line (an 16384-bit RSA key with options fits).
pub const MAX_KEY_LEN: usize = 16_384;

/// Validates a list of authorized_keys lines as a client sends them and returns the
/// normalised keys: `\r` dropped, each element split on newlines, blank lines removed, each
/// line a valid OpenSSH public key, optionally preceded by options (`command="…" ssh-ed25519 …`).
pub fn parse_list(keys: &[String]) -> Result<Vec<String>, ValidationError> {
    let mut parsed = Vec::new();
    for line in keys
        .iter()
        .flat_map(|key| key.split('\n'))
        .map(|line| line.trim_matches(|c: char| c == '\r' || c.is_whitespace()))
        .filter(|line| !line.is_empty())
    {
        if line.len() > MAX_KEY_LEN {
            return Err(ValidationError::new(
                "ssh_keys",
                format!("a key is longer than {MAX_KEY_LEN} bytes"),
            ));
        }
        if !is_authorized_key(line) {
            return Err(ValidationError::new(
                "ssh_keys",
                format!("not an OpenSSH public key: {}", abbreviate(line)),
            ));
        }
        parsed.push(line.to_owned());
    }
    if parsed.len() > MAX_KEYS {
        return Err(ValidationError::new(
            "ssh_keys",
            format!("at most {MAX_KEYS} keys per container"),
        ));
    }
    Ok(parsed)
}

/// The stored form of a key list: one key per line.
pub fn to_raw(keys: &[String]) -> String {
    keys.join("\n")
}

/// The key list of a stored raw text, as the API shows it.
pub fn from_raw(raw: &str) -> Vec<String> {
    raw.split('\n')
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `line` is an authorized_keys entry: an optional options field (which ends at the
/// first whitespace outside double quotes, as sshd reads it) then `type base64 [comment]`.
fn is_authorized_key(line: &str) -> bool {
    if PublicKey::from_openssh(line).is_ok() {
        return true;
    }
    match split_options(line) {
        Some((options, key)) => {
            !options.is_empty()
                && !options.contains(char::is_control)
                && PublicKey::from_openssh(key.trim_start()).is_ok()
        }
        None => false,
    }
}

/// Splits the options field off an authorized_keys line; `None` when a quote is left open.
fn split_options(line: &str) -> Option<(&str, &str)> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if c.is_whitespace() && !in_quotes => return Some((&line[..index], &line[index..])),
            _ => {}
        }
    }
    None
}

fn abbreviate(line: &str) -> String {
    let short: String = line.chars().take(40).collect();
    if short.len() < line.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb2x6z0DsbQFQq0bnJkm2Y7E+DkUc9NMuOQYhW0F1yi alice@laptop";

    #[test]
    fn a_valid_key_round_trips() {
        let keys = parse_list(&[ED25519.to_owned()]).expect("valid key");
        assert_eq!(keys, vec![ED25519]);
        assert_eq!(from_raw(&to_raw(&keys)), keys);
    }

    #[test]
    fn options_are_allowed() {
        let line = format!("command=\"pysftpjail /containers/30001/www\" {ED25519}");
        assert_eq!(
            parse_list(std::slice::from_ref(&line)).expect("valid"),
            vec![line]
        );
    }

    #[test]
    fn newlines_and_carriage_returns_are_normalised() {
        let joined = format!("{ED25519}\r\n\r\n{ED25519}\r\n");
        assert_eq!(parse_list(&[joined]).expect("valid").len(), 2);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_list(&["ssh-rsa notbase64!".to_owned()]).is_err());
        assert!(parse_list(&["hello world".to_owned()]).is_err());
        let forged = ED25519.replace("ssh-ed25519", "ssh-rsa");
        assert!(parse_list(&[forged]).is_err());
    }

    #[test]
    fn an_empty_list_clears_the_keys() {
        assert!(parse_list(&[]).expect("valid").is_empty());
        assert!(parse_list(&["  ".to_owned()]).expect("valid").is_empty());
    }
}
