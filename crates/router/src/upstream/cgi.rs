//! The CGI vars a uwsgi request carries (spec §4.1), in uWSGI's http router's order.

use std::net::SocketAddr;

use berth_wire::{Packet, VarsBuilder, WireError};
use http::request::Parts;
use http::Version;
use percent_encoding::percent_decode_str;

use crate::downstream::tls_acceptor::TlsInfo;

/// What the vars need to know about the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct Connection<'a> {
    /// The client's address.
    pub remote: SocketAddr,
    /// The client's IP as text.
    pub remote_ip: &'a str,
    /// The port of the listener.
    pub server_port: u16,
    /// TLS facts, on an HTTPS listener.
    pub tls: Option<&'a TlsInfo>,
    /// Whether the verified client certificate belongs to this request's domain (it was
    /// verified against this domain's CA), so HTTPS_DN may be passed on.
    pub client_cert_applies: bool,
}

fn protocol(version: Version) -> &'static str {
    // HTTP/2 requests are presented as HTTP/1.1: the uwsgi app answers with an HTTP/1.x
    // status line, which is what the router parses.
    if version == Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    }
}

/// Build the uwsgi packet header and vars for a request routed to `host` (its Host value),
/// with the node's modifiers. The HTTP body is sent after these bytes.
pub fn uwsgi_packet(
    parts: &Parts,
    host: &str,
    conn: Connection<'_>,
    modifier1: u8,
    modifier2: u8,
) -> Result<Vec<u8>, WireError> {
    let mut v = VarsBuilder::with_capacity(1024);
    v.push(b"REQUEST_METHOD", parts.method.as_str().as_bytes())?;
    let request_uri = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let path = parts.uri.path();
    let path_info = percent_decode_str(path).collect::<Vec<u8>>();
    match parts.uri.query() {
        Some(query) => {
            v.push(b"PATH_INFO", &path_info)?
                .push(b"REQUEST_URI", request_uri.as_bytes())?
                .push(b"QUERY_STRING", query.as_bytes())?;
        }
        None => {
            v.push(b"REQUEST_URI", request_uri.as_bytes())?
                .push(b"PATH_INFO", &path_info)?
                .push(b"QUERY_STRING", b"")?;
        }
    }
    let server_name = crate::routing::host::routing_key(host).unwrap_or_default();
    v.push(b"SERVER_PROTOCOL", protocol(parts.version).as_bytes())?
        .push(b"SCRIPT_NAME", b"")?
        .push(b"SERVER_NAME", server_name.as_bytes())?
        .push(b"SERVER_PORT", conn.server_port.to_string().as_bytes())?
        .push(b"UWSGI_ROUTER", b"http")?;
    if let Some(tls) = conn.tls {
        v.push(b"HTTPS", b"on")?;
        if conn.client_cert_applies {
            if let Some(der) = &tls.client_cert {
                v.push(b"HTTPS_CLIENT_CERTIFICATE", der)?;
            }
            if let Some(dn) = &tls.client_dn {
                v.push(b"HTTPS_DN", dn.as_bytes())?;
            }
        }
    }
    v.push(b"REMOTE_ADDR", conn.remote_ip.as_bytes())?
        .push(b"REMOTE_PORT", conn.remote.port().to_string().as_bytes())?;
    if !parts.headers.contains_key(http::header::HOST) {
        v.push(b"HTTP_HOST", host.as_bytes())?;
    }
    let mut name = Vec::with_capacity(64);
    for key in parts.headers.keys() {
        name.clear();
        let k = key.as_str();
        if k != "content-length" && k != "content-type" {
            name.extend_from_slice(b"HTTP_");
        }
        name.extend(k.bytes().map(|b| match b {
            b'-' => b'_',
            b => b.to_ascii_uppercase(),
        }));
        let mut value = Vec::new();
        for (i, val) in parts.headers.get_all(key).iter().enumerate() {
            if i > 0 {
                value.extend_from_slice(b", ");
            }
            value.extend_from_slice(val.as_bytes());
        }
        v.push(&name, &value)?;
    }
    Packet::encode(modifier1, modifier2, v.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_wire::vars::parse_strict;

    fn vars(req: http::Request<()>, tls: Option<&TlsInfo>) -> Vec<(String, String)> {
        let (parts, ()) = req.into_parts();
        let conn = Connection {
            remote: ([10, 0, 0, 1], 5555).into(),
            remote_ip: "10.0.0.1",
            server_port: 443,
            tls,
            client_cert_applies: true,
        };
        let packet = uwsgi_packet(&parts, "Example.org:443", conn, 5, 0).expect("packet");
        assert_eq!(packet[0], 5);
        parse_strict(&packet[4..])
            .expect("vars")
            .into_iter()
            .map(|e| {
                (
                    String::from_utf8_lossy(e.key).into_owned(),
                    String::from_utf8_lossy(e.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn vars_follow_uwsgi() {
        let req = http::Request::builder()
            .uri("/p%20a/th?q=1&r=%20")
            .header("Host", "Example.org:443")
            .header("X-Foo", "a")
            .header("Content-Type", "text/plain")
            .header("X-Foo", "b")
            .body(())
            .expect("request");
        let tls = TlsInfo {
            domain: Some("example.org".into()),
            client_dn: Some("/CN=c".into()),
            client_cert: Some(vec![1, 2]),
        };
        let v = vars(req, Some(&tls));
        let names: Vec<&str> = v.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            &names[..4],
            ["REQUEST_METHOD", "PATH_INFO", "REQUEST_URI", "QUERY_STRING"]
        );
        let get = |k: &str| v.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH_INFO"), Some("/p a/th"));
        assert_eq!(get("QUERY_STRING"), Some("q=1&r=%20"));
        assert_eq!(get("SERVER_NAME"), Some("example.org"));
        assert_eq!(get("SERVER_PORT"), Some("443"));
        assert_eq!(get("HTTPS"), Some("on"));
        assert_eq!(get("HTTPS_DN"), Some("/CN=c"));
        assert_eq!(get("REMOTE_ADDR"), Some("10.0.0.1"));
        assert_eq!(get("REMOTE_PORT"), Some("5555"));
        assert_eq!(get("HTTP_X_FOO"), Some("a, b"));
        assert_eq!(get("CONTENT_TYPE"), Some("text/plain"));
        assert_eq!(get("HTTP_HOST"), Some("Example.org:443"));
    }

    #[test]
    fn no_query_order_and_host_from_authority() {
        let req = http::Request::builder()
            .uri("https://example.org/x")
            .version(Version::HTTP_2)
            .body(())
            .expect("request");
        let v = vars(req, None);
        let names: Vec<&str> = v.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(&names[1..4], ["REQUEST_URI", "PATH_INFO", "QUERY_STRING"]);
        let get = |k: &str| v.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("SERVER_PROTOCOL"), Some("HTTP/1.1"));
        assert_eq!(get("HTTP_HOST"), Some("Example.org:443"));
        assert_eq!(get("HTTPS"), None);
    }
}
