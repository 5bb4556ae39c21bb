//! Hop-by-hop headers (RFC 9110 §7.6.1): they concern one connection and are not passed
//! on by a proxy, nor are the headers a `Connection` header names.

use http::header::{self, HeaderMap, HeaderName};

const ALWAYS: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

const ALWAYS_NAMED: [&str; 2] = ["keep-alive", "proxy-connection"];

/// The hop-by-hop headers of one message: the fixed ones and those its `Connection`
/// headers name.
#[derive(Debug, Default)]
pub struct HopByHop {
    listed: Vec<Vec<u8>>,
}

impl HopByHop {
    /// The hop-by-hop set of a message whose `Connection` header values are `connection`.
    pub fn new<'a>(connection: impl Iterator<Item = &'a [u8]>) -> HopByHop {
        let listed = connection
            .flat_map(|v| v.split(|b| *b == b','))
            .map(|t| t.trim_ascii().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        HopByHop { listed }
    }

    /// The hop-by-hop set of `headers`.
    pub fn of(headers: &HeaderMap) -> HopByHop {
        HopByHop::new(
            headers
                .get_all(header::CONNECTION)
                .iter()
                .map(|v| v.as_bytes()),
        )
    }

    /// Whether `name` is hop-by-hop.
    pub fn contains(&self, name: &HeaderName) -> bool {
        ALWAYS.contains(name)
            || ALWAYS_NAMED.contains(&name.as_str())
            || self.listed.iter().any(|l| l == name.as_str().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_listed_names() {
        let h = HopByHop::new([&b"Keep-Alive, X-Secret "[..], b"close"].into_iter());
        for name in [
            "connection",
            "te",
            "keep-alive",
            "x-secret",
            "upgrade",
            "close",
        ] {
            assert!(h.contains(&HeaderName::from_static(name)), "{name}");
        }
        for name in ["content-length", "x-other", "host"] {
            assert!(!h.contains(&HeaderName::from_static(name)), "{name}");
        }
    }
}
