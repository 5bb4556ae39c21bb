//! Credentials as clients send them: HTTP Basic, or uwsgi.it's hex-encoded
//! `X-uwsgi-it-username` / `X-uwsgi-it-password` headers.

use axum::http::{header, HeaderMap};
use base64::Engine;

/// A username and password as a client sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl Credentials {
    /// The credentials of a request: Basic first, then the hex headers; `None` when the
    /// request carries neither (or carries them malformed).
    pub fn from_headers(headers: &HeaderMap) -> Option<Credentials> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value = value.to_str().ok()?;
            let (scheme, encoded) = value.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return None;
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (username, password) = decoded.split_once(':')?;
            return Some(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            });
        }
        let hex_header = |name: &str| -> Option<String> {
            let bytes = hex::decode(headers.get(name)?.to_str().ok()?.trim()).ok()?;
            String::from_utf8(bytes).ok()
        };
        Some(Credentials {
            username: hex_header("x-uwsgi-it-username")?,
            password: hex_header("x-uwsgi-it-password")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic a3JhdG9zOnNwYXJ0YTpvZg=="),
        );
        let credentials = Credentials::from_headers(&headers).expect("credentials");
        assert_eq!(credentials.username, "kratos");
        assert_eq!(credentials.password, "sparta:of");
    }

    #[test]
    fn hex_headers_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-uwsgi-it-username",
            HeaderValue::from_static("6b7261746f73"),
        );
        headers.insert(
            "x-uwsgi-it-password",
            HeaderValue::from_static("7370617274"),
        );
        let credentials = Credentials::from_headers(&headers).expect("credentials");
        assert_eq!(credentials.username, "kratos");
        assert_eq!(credentials.password, "spart");
    }

    #[test]
    fn malformed_credentials_are_none() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(Credentials::from_headers(&headers), None);
        let mut headers = HeaderMap::new();
        headers.insert("x-uwsgi-it-username", HeaderValue::from_static("zz"));
        headers.insert("x-uwsgi-it-password", HeaderValue::from_static("00"));
        assert_eq!(Credentials::from_headers(&headers), None);
        assert_eq!(Credentials::from_headers(&HeaderMap::new()), None);
    }
}
