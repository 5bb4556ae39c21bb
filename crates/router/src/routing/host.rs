//! Host names as routing keys: lower-cased, port stripped, and the dotsplit walk.

/// Most names a dotsplit lookup tries, the exact one included (as uWSGI).
pub const DOTSPLIT_MAX: usize = 5;

/// The routing key of a Host header, an SNI name or a subscription key: ASCII lower case,
/// any `:port` removed (IPv6 literals keep their brackets). `None` when empty, longer
/// than 255 bytes or not visible ASCII.
pub fn routing_key(host: &str) -> Option<String> {
    let host = host.trim();
    if host.is_empty() || host.len() > 255 || !host.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let name = if host.starts_with('[') {
        match host.find(']') {
            Some(end) => &host[..=end],
            None => return None,
        }
    } else {
        match host.rfind(':') {
            Some(colon) => &host[..colon],
            None => host,
        }
    };
    if name.is_empty() {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// The names a dotsplit lookup tries for `key`, best first: `a.b.example.org`,
/// `.b.example.org`, `.example.org`, `.org`; at most [`DOTSPLIT_MAX`].
pub fn dotsplit(key: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(key);
    std::iter::from_fn(move || {
        let current = next?;
        next = current
            .get(1..)
            .and_then(|rest| rest.find('.'))
            .map(|dot| &current[dot + 1..]);
        Some(current)
    })
    .take(DOTSPLIT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_lower_case_without_port() {
        assert_eq!(
            routing_key("Example.ORG:8080").as_deref(),
            Some("example.org")
        );
        assert_eq!(routing_key(".Wild.org").as_deref(), Some(".wild.org"));
        assert_eq!(routing_key("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(routing_key(""), None);
        assert_eq!(routing_key(":80"), None);
        assert_eq!(routing_key("a b"), None);
        assert_eq!(routing_key(&"a".repeat(256)), None);
        assert_eq!(routing_key("[::1"), None);
    }

    #[test]
    fn dotsplit_walks_suffixes_keeping_the_dot() {
        let names: Vec<_> = dotsplit("a.b.example.org").collect();
        assert_eq!(
            names,
            ["a.b.example.org", ".b.example.org", ".example.org", ".org"]
        );
        let names: Vec<_> = dotsplit("a.b.c.d.e.f.g").collect();
        assert_eq!(names.len(), DOTSPLIT_MAX);
        assert_eq!(names[4], ".e.f.g");
        assert_eq!(dotsplit(".org").collect::<Vec<_>>(), [".org"]);
        assert_eq!(dotsplit("localhost").collect::<Vec<_>>(), ["localhost"]);
    }
}
