//! Domains: the names a customer proves with a DNS TXT record and then serves.
//!
//! A [`DomainName`] is lower-case ASCII: labels of letters, digits and dashes (IDNA names are
//! given in their `xn--` form; berth does no IDNA conversion). Underscores are refused: a
//! domain here is a web host name, which RFC 1123 does not allow them in and no certificate
//! authority issues certificates for. A leading dot (`.example.com`) is the wildcard key the
//! router matches every subdomain with; it is a domain of its own.

use std::fmt;

use crate::ValidationError;

/// The longest domain name (without the wildcard dot), as DNS allows.
pub const NAME_MAX: usize = 253;

/// The longest label between two dots.
pub const LABEL_MAX: usize = 63;

/// A checked, normalised domain name: `example.com`, `www.example.com` or the wildcard
/// `.example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainName(String);

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::new("name", message)
}

fn check_label(label: &str) -> Result<(), ValidationError> {
    if label.is_empty() {
        return Err(invalid("must not contain empty labels (two dots in a row)"));
    }
    if label.len() > LABEL_MAX {
        return Err(invalid(format!(
            "labels must be at most {LABEL_MAX} characters"
        )));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(invalid(match bad {
            '_' => "must not contain underscores (not allowed in host names)".to_owned(),
            '*' => "write a wildcard as .example.com, not *.example.com".to_owned(),
            c if !c.is_ascii() => {
                "must be ASCII; give an international name in its xn-- form".to_owned()
            }
            c => format!("may contain only letters, digits, dashes and dots, not {c:?}"),
        }));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(invalid("labels must not start or end with a dash"));
    }
    Ok(())
}

/// Checks the `xn--` labels (IDNA A-labels) of `host`: each must be the Punycode of a valid
/// international label, exactly as IDNA writes it back (`xn--zz` is not).
fn check_idna(host: &str, labels: &[&str]) -> Result<(), ValidationError> {
    if !labels.iter().any(|label| label.starts_with("xn--")) {
        return Ok(());
    }
    match idna::domain_to_ascii(host) {
        Ok(ascii) if ascii == host => Ok(()),
        _ => Err(invalid(
            "has an xn-- label that is not a valid international name (IDNA)",
        )),
    }
}

impl DomainName {
    /// Checks and normalises a domain name: trims spaces, lower-cases, drops one trailing dot
    /// (`example.com.`), and requires at least two labels (`example.com`), so that nobody
    /// claims a top-level domain. IP addresses are refused (their last label is all digits),
    /// and so are `xn--` labels that are not valid IDNA. Customers and staff alike give
    /// their names through this check.
    pub fn parse(value: &str) -> Result<DomainName, ValidationError> {
        let value = value.trim().to_ascii_lowercase();
        let (wildcard, host) = match value.strip_prefix('.') {
            Some(host) => (true, host),
            None => (false, value.as_str()),
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if host.len() > NAME_MAX {
            return Err(invalid(format!("must be at most {NAME_MAX} characters")));
        }
        let labels: Vec<&str> = host.split('.').collect();
        for label in &labels {
            check_label(label)?;
        }
        if labels.len() < 2 {
            return Err(invalid("must have at least two labels, like example.com"));
        }
        check_idna(host, &labels)?;
        if labels
            .last()
            .is_some_and(|top| top.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(invalid("must be a domain name, not an IP address"));
        }
        Ok(DomainName(if wildcard {
            format!(".{host}")
        } else {
            host.to_owned()
        }))
    }

    /// The name as stored and shown (`.example.com` for a wildcard).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a wildcard key (`.example.com`).
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with('.')
    }

    /// The host name without the wildcard dot.
    pub fn host(&self) -> &str {
        self.0.trim_start_matches('.')
    }

    /// The names the proof looks for its TXT record on, in order: the host itself, then each
    /// parent, dropping the leftmost label, down to two labels (as uwsgi.it). A record on
    /// `example.com` therefore proves `www.example.com` and `.example.com` too.
    pub fn proof_names(&self) -> Vec<String> {
        let host = self.host();
        let labels: Vec<&str> = host.split('.').collect();
        (0..=labels.len().saturating_sub(2))
            .map(|skip| labels[skip..].join("."))
            .collect()
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The TXT value that proves a domain belongs to the customer with `customer_uuid`.
pub fn proof_record(customer_uuid: &str) -> String {
    format!("uwsgi:{customer_uuid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str) -> String {
        DomainName::parse(value)
            .map(|name| name.as_str().to_owned())
            .unwrap_or_else(|error| panic!("{value:?} refused: {error}"))
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(ok("Example.COM"), "example.com");
        assert_eq!(ok("  www.example.com.  "), "www.example.com");
        assert_eq!(ok(".Example.com"), ".example.com");
        assert_eq!(ok("xn--bcher-kva.example"), "xn--bcher-kva.example");
        assert_eq!(ok("XN--BCHER-KVA.example"), "xn--bcher-kva.example");
        assert_eq!(ok("a--b.example.com"), "a--b.example.com");
        assert_eq!(ok("a-1.b2.example.co.uk"), "a-1.b2.example.co.uk");
        assert_eq!(ok("1.2.3.example"), "1.2.3.example");
    }

    #[test]
    fn hostile_names_are_refused() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        for value in [
            "",
            " ",
            ".",
            "..",
            "com",
            ".com",
            "example..com",
            "..example.com",
            "example.com..",
            "-example.com",
            "example-.com",
            "exa mple.com",
            "exa_mple.com",
            "*.example.com",
            "bücher.example",
            "example.com/path",
            "example.com:8080",
            "user@example.com",
            "ex\u{0}ample.com",
            "example.com\n.evil",
            "127.0.0.1",
            "1.2.3.4",
            "%2e.example.com",
            "'; drop table domains; --.com",
            "xn--zz.com",
            "xn--.com",
            "www.xn--zz.example",
            ".xn--zz.com",
            &long_label,
            &long_name,
        ] {
            assert!(DomainName::parse(value).is_err(), "{value:?} accepted");
        }
        let longest = format!("{}.com", vec!["a".repeat(63); 3].join("."));
        assert!(longest.len() <= NAME_MAX);
        assert!(DomainName::parse(&longest).is_ok());
    }

    #[test]
    fn refusals_say_what_to_do() {
        let reason = |value: &str| DomainName::parse(value).err().map(|e| e.to_string());
        assert!(reason("*.example.com").is_some_and(|r| r.contains(".example.com")));
        assert!(reason("bücher.de").is_some_and(|r| r.contains("xn--")));
        assert!(reason("a_b.example.com").is_some_and(|r| r.contains("underscore")));
        assert!(reason("xn--zz.com").is_some_and(|r| r.contains("IDNA")));
    }

    #[test]
    fn the_proof_looks_at_the_name_and_its_parents_down_to_two_labels() {
        let names = |value: &str| DomainName::parse(value).map(|n| n.proof_names());
        assert_eq!(names("example.com"), Ok(vec!["example.com".to_owned()]));
        assert_eq!(
            names("a.b.example.com"),
            Ok(vec![
                "a.b.example.com".to_owned(),
                "b.example.com".to_owned(),
                "example.com".to_owned()
            ])
        );
        assert_eq!(names(".example.com"), Ok(vec!["example.com".to_owned()]));
        let wildcard = DomainName::parse(".www.example.com").expect("wildcard");
        assert!(wildcard.is_wildcard());
        assert_eq!(wildcard.host(), "www.example.com");
        assert_eq!(wildcard.proof_names().len(), 2);
    }

    #[test]
    fn the_record_names_the_customer() {
        assert_eq!(proof_record("3f1c"), "uwsgi:3f1c");
    }
}
