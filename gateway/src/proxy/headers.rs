//! Headers a mesh gateway adds or strips: hop-by-hop removal, x-forwarded-*, x-request-id,
//! B3 and W3C trace context, the attempt count.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use rand::Rng;
use std::net::IpAddr;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_B3_TRACEID: HeaderName = HeaderName::from_static("x-b3-traceid");
pub const X_B3_SPANID: HeaderName = HeaderName::from_static("x-b3-spanid");
pub const X_B3_PARENTSPANID: HeaderName = HeaderName::from_static("x-b3-parentspanid");
pub const X_B3_SAMPLED: HeaderName = HeaderName::from_static("x-b3-sampled");
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub const X_ATTEMPT_COUNT: HeaderName = HeaderName::from_static("x-envoy-attempt-count");
pub const X_UPSTREAM_SERVICE_TIME: HeaderName =
    HeaderName::from_static("x-envoy-upstream-service-time");
pub const X_ORIGINAL_PATH: HeaderName = HeaderName::from_static("x-envoy-original-path");

/// Hop-by-hop headers (RFC 9110 §7.6.1) plus those HTTP/2 and HTTP/3 forbid.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "http2-settings",
    "proxy-authenticate",
];

/// Removes hop-by-hop headers, including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    let keep_te_trailers = headers
        .get_all(http::header::TE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
        });
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if keep_te_trailers {
        headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
    }
}

/// Appends `b` as two lowercase hex digits (a `format!` per byte was a String allocation
/// per byte on every proxied request).
fn push_hex(out: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(DIGITS[usize::from(b >> 4)]));
    out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
}

/// `bytes` as lowercase hex (trace and span ids, digests).
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        push_hex(&mut out, b);
    }
    out
}

/// `N` random bytes as hex: a B3 / W3C trace (16) or span (8) id.
fn hex_id<const N: usize>() -> String {
    to_hex(&rand::rng().random::<[u8; N]>())
}

/// A random UUID v4, as Envoy generates for x-request-id.
pub fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = to_hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).expect("hex and uuid text are valid header values")
}

/// Ensures an x-request-id and returns it.
pub fn ensure_request_id(headers: &mut HeaderMap) -> String {
    if let Some(id) = headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()) {
        if !id.is_empty() {
            return id.to_owned();
        }
    }
    let id = uuid_v4();
    headers.insert(X_REQUEST_ID, value(&id));
    id
}

/// Appends the peer to x-forwarded-for and sets x-forwarded-proto (the gateway is the edge:
/// it trusts no forwarded-proto from the client).
pub fn forwarded(headers: &mut HeaderMap, peer: IpAddr, scheme: &str) {
    let xff = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {peer}"),
        _ => peer.to_string(),
    };
    headers.insert(X_FORWARDED_FOR, value(&xff));
    headers.insert(X_FORWARDED_PROTO, value(scheme));
}

fn is_hex(s: &str, len: &[usize]) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Starts a span for this hop: B3 (x-b3-*) and W3C `traceparent`, sharing one trace id.
///
/// An incoming trace (B3 first, else traceparent) is continued: its span becomes the parent.
/// Otherwise a new sampled trace starts. Returns the trace id.
pub fn propagate_trace(headers: &mut HeaderMap) -> String {
    let get = |h: &HeaderMap, n: &HeaderName| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_ascii_lowercase())
    };
    let b3_trace = get(headers, &X_B3_TRACEID).filter(|t| is_hex(t, &[16, 32]));
    let b3_span = get(headers, &X_B3_SPANID).filter(|t| is_hex(t, &[16]));
    let parent_w3c = get(headers, &TRACEPARENT).and_then(|tp| {
        let parts: Vec<&str> = tp.split('-').collect();
        (parts.len() == 4
            && is_hex(parts[0], &[2])
            && is_hex(parts[1], &[32])
            && is_hex(parts[2], &[16])
            && is_hex(parts[3], &[2]))
        .then(|| {
            (
                parts[1].to_owned(),
                parts[2].to_owned(),
                parts[3].to_owned(),
            )
        })
    });
    let (trace, parent, sampled) = match (b3_trace, parent_w3c) {
        (Some(t), _) => {
            let sampled = get(headers, &X_B3_SAMPLED).map_or(true, |s| s != "0");
            (t, b3_span, sampled)
        }
        (None, Some((t, span, flags))) => {
            let sampled = u8::from_str_radix(&flags, 16).map_or(true, |f| f & 1 == 1);
            (t, Some(span), sampled)
        }
        (None, None) => (hex_id::<16>(), None, true),
    };
    let span = hex_id::<8>();
    headers.insert(X_B3_TRACEID, value(&trace));
    headers.insert(X_B3_SPANID, value(&span));
    match &parent {
        Some(p) => {
            headers.insert(X_B3_PARENTSPANID, value(p));
        }
        None => {
            headers.remove(&X_B3_PARENTSPANID);
        }
    }
    headers.insert(X_B3_SAMPLED, value(if sampled { "1" } else { "0" }));
    let trace128 = format!("{trace:0>32}");
    headers.insert(
        TRACEPARENT,
        value(&format!(
            "00-{trace128}-{span}-{}",
            if sampled { "01" } else { "00" }
        )),
    );
    trace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_connection_named() {
        let mut h = HeaderMap::new();
        h.insert("connection", value("keep-alive, x-secret"));
        h.insert("x-secret", value("1"));
        h.insert("keep-alive", value("timeout=5"));
        h.insert("te", value("trailers, deflate"));
        h.insert("x-keep", value("1"));
        strip_hop_by_hop(&mut h);
        assert!(h.get("x-secret").is_none() && h.get("connection").is_none());
        assert_eq!(h.get("te").unwrap(), "trailers");
        assert_eq!(h.get("x-keep").unwrap(), "1");
    }

    #[test]
    fn forwarded_appends() {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, value("10.0.0.1"));
        forwarded(&mut h, "127.0.0.1".parse().unwrap(), "https");
        assert_eq!(h[&X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        assert_eq!(h[&X_FORWARDED_PROTO], "https");
    }

    #[test]
    fn push_hex_matches_format() {
        for b in 0..=u8::MAX {
            let mut s = String::new();
            push_hex(&mut s, b);
            assert_eq!(s, format!("{b:02x}"));
        }
    }

    #[test]
    fn request_id_kept_or_generated() {
        let mut h = HeaderMap::new();
        let id = ensure_request_id(&mut h);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(ensure_request_id(&mut h), id);
    }

    #[test]
    fn new_trace_sets_b3_and_traceparent() {
        let mut h = HeaderMap::new();
        let trace = propagate_trace(&mut h);
        assert_eq!(trace.len(), 32);
        let tp = h[&TRACEPARENT].to_str().unwrap().to_owned();
        let span = h[&X_B3_SPANID].to_str().unwrap().to_owned();
        assert_eq!(tp, format!("00-{trace}-{span}-01"));
        assert!(h.get(&X_B3_PARENTSPANID).is_none());
    }

    #[test]
    fn b3_trace_is_continued() {
        let mut h = HeaderMap::new();
        h.insert(X_B3_TRACEID, value("463ac35c9f6413ad"));
        h.insert(X_B3_SPANID, value("a2fb4a1d1a96d312"));
        h.insert(X_B3_SAMPLED, value("0"));
        propagate_trace(&mut h);
        assert_eq!(h[&X_B3_TRACEID], "463ac35c9f6413ad");
        assert_eq!(h[&X_B3_PARENTSPANID], "a2fb4a1d1a96d312");
        assert_ne!(h[&X_B3_SPANID], "a2fb4a1d1a96d312");
        assert!(h[&TRACEPARENT]
            .to_str()
            .unwrap()
            .starts_with("00-0000000000000000463ac35c9f6413ad-"));
        assert!(h[&TRACEPARENT].to_str().unwrap().ends_with("-00"));
    }

    #[test]
    fn traceparent_is_continued() {
        let mut h = HeaderMap::new();
        h.insert(
            TRACEPARENT,
            value("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        propagate_trace(&mut h);
        assert_eq!(h[&X_B3_TRACEID], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(h[&X_B3_PARENTSPANID], "00f067aa0ba902b7");
        assert_eq!(h[&X_B3_SAMPLED], "1");
    }
}
