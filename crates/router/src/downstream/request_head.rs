//! The HTTP/1.1 request head written to a plain HTTP node: origin-form target, the
//! client's end-to-end headers, `Host`, `X-Forwarded-For`/`-Proto` and the body framing.

use http::header::{self, HeaderValue};
use http::request::Parts;

use crate::downstream::hop_by_hop::HopByHop;
use crate::upstream::exchange::BodyFraming;

/// What the head needs besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Forwarding<'a> {
    /// The Host value (or HTTP/2 authority) the request was routed by.
    pub host: &'a str,
    /// The client's IP, for `X-Forwarded-For`.
    pub client_ip: &'a str,
    /// Whether the client came over TLS (`X-Forwarded-Proto`).
    pub https: bool,
    /// The client's `Upgrade` value, when it asked for one (websockets).
    pub upgrade: Option<&'a HeaderValue>,
    /// How the body follows.
    pub body: BodyFraming,
}

fn line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Append the request head for `parts` to `out`. Header values are already checked (no
/// CR or LF), so nothing the client sent can add a line.
pub fn write(out: &mut Vec<u8>, parts: &Parts, f: Forwarding<'_>) {
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    // Origin form: the path and query only (HTTP/2 and absolute-form requests carry
    // scheme and authority too).
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(if target.is_empty() { "/" } else { target }.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let hop = HopByHop::of(&parts.headers);
    let mut has_host = false;
    for (name, value) in &parts.headers {
        if hop.contains(name) || name.as_str() == "x-forwarded-proto" {
            continue;
        }
        has_host |= name == header::HOST;
        line(out, name.as_str().as_bytes(), value.as_bytes());
    }
    if !has_host {
        line(out, b"host", f.host.as_bytes());
    }
    if let Some(upgrade) = f.upgrade {
        line(out, b"connection", b"upgrade");
        line(out, b"upgrade", upgrade.as_bytes());
    }
    line(out, b"x-forwarded-for", f.client_ip.as_bytes());
    line(
        out,
        b"x-forwarded-proto",
        if f.https { b"https" } else { b"http" },
    );
    if f.body == BodyFraming::Chunked {
        line(out, b"transfer-encoding", b"chunked");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(req: http::Request<()>, f: Forwarding<'_>) -> String {
        let (parts, ()) = req.into_parts();
        let mut out = Vec::new();
        write(&mut out, &parts, f);
        String::from_utf8(out).expect("utf-8")
    }

    fn forwarding(body: BodyFraming) -> Forwarding<'static> {
        Forwarding {
            host: "example.org",
            client_ip: "10.0.0.1",
            https: true,
            upgrade: None,
            body,
        }
    }

    #[test]
    fn hop_by_hop_headers_stay_and_forwarding_headers_are_added() {
        let req = http::Request::builder()
            .method("POST")
            .uri("/a?b=c")
            .header("Host", "Example.org")
            .header("Connection", "keep-alive, x-secret")
            .header("X-Secret", "1")
            .header("Transfer-Encoding", "chunked")
            .header("X-Forwarded-For", "192.0.2.1")
            .header("X-Forwarded-Proto", "ftp")
            .header("Cookie", "a=1")
            .body(())
            .expect("request");
        assert_eq!(
            head(req, forwarding(BodyFraming::Chunked)),
            "POST /a?b=c HTTP/1.1\r\nhost: Example.org\r\nx-forwarded-for: 192.0.2.1\r\n\
             cookie: a=1\r\nx-forwarded-for: 10.0.0.1\r\nx-forwarded-proto: https\r\n\
             transfer-encoding: chunked\r\n\r\n"
        );
    }

    #[test]
    fn http2_requests_get_origin_form_and_a_host() {
        let req = http::Request::builder()
            .uri("https://example.org/x")
            .version(http::Version::HTTP_2)
            .header("Content-Length", "0")
            .body(())
            .expect("request");
        let upgrade = HeaderValue::from_static("websocket");
        let f = Forwarding {
            upgrade: Some(&upgrade),
            https: false,
            ..forwarding(BodyFraming::Empty)
        };
        assert_eq!(
            head(req, f),
            "GET /x HTTP/1.1\r\ncontent-length: 0\r\nhost: example.org\r\n\
             connection: upgrade\r\nupgrade: websocket\r\nx-forwarded-for: 10.0.0.1\r\n\
             x-forwarded-proto: http\r\n\r\n"
        );
    }
}
