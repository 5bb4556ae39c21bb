//! The client's response made from a node's response head: status, reason phrase when
//! it is not the usual one, and the end-to-end headers (all of them for a 101), sharing
//! the bytes of the head instead of copying them.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};

use crate::downstream::hop_by_hop::HopByHop;
use crate::upstream::body::ResponseBody;
use crate::upstream::exchange::Answer;

/// The response for `answer`, with an empty body; `upgrade` keeps the hop-by-hop headers
/// of a 101 (the client needs `Upgrade` and `Connection`). An error for a status or header
/// hyper cannot send.
pub fn from_answer(answer: &Answer, upgrade: bool) -> Result<Response<ResponseBody>, String> {
    let head = &answer.head;
    let raw = &answer.raw;
    let status =
        StatusCode::from_u16(head.status).map_err(|_| format!("bad status {}", head.status))?;
    let hop = if upgrade {
        HopByHop::default()
    } else {
        HopByHop::new(
            head.headers
                .iter()
                .filter(|h| raw[h.name.clone()].eq_ignore_ascii_case(b"connection"))
                .map(|h| &raw[h.value.clone()]),
        )
    };
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    for h in &head.headers {
        let name = HeaderName::from_bytes(&raw[h.name.clone()])
            .map_err(|_| "bad header name in the response".to_owned())?;
        if !upgrade && hop.contains(&name) {
            continue;
        }
        let value = HeaderValue::from_maybe_shared(raw.slice(h.value.clone()))
            .map_err(|_| format!("bad value of response header {name}"))?;
        headers.append(name, value);
    }
    let mut resp = Response::new(ResponseBody::Empty);
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    let reason = &raw[head.reason.clone()];
    if status.canonical_reason().map(str::as_bytes) != Some(reason) {
        if let Ok(r) = hyper::ext::ReasonPhrase::try_from(raw.slice(head.reason.clone())) {
            resp.extensions_mut().insert(r);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_wire::ResponseHead;
    use bytes::Bytes;

    fn answer(raw: &'static [u8]) -> Answer {
        Answer {
            head: ResponseHead::parse(raw, false)
                .expect("valid")
                .expect("complete"),
            raw: Bytes::from_static(raw),
            body_sent: true,
        }
    }

    #[test]
    fn end_to_end_headers_and_an_unusual_reason_are_kept() {
        let a = answer(
            b"HTTP/1.1 200 Fine\r\nConnection: x-hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n\
              Transfer-Encoding: chunked\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n",
        );
        let resp = from_answer(&a, false).expect("response");
        assert_eq!(resp.status(), 200);
        let names: Vec<&str> = resp.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["set-cookie"]);
        assert_eq!(resp.headers().get_all("set-cookie").iter().count(), 2);
        let reason = resp.extensions().get::<hyper::ext::ReasonPhrase>();
        assert_eq!(reason.map(|r| r.as_bytes()), Some(&b"Fine"[..]));

        let a = answer(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        let resp = from_answer(&a, true).expect("response");
        assert_eq!(resp.headers().len(), 2);
        assert!(resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .is_none());
    }
}
