//! HTTP messages as field lists: building header and trailer sections from `http` types,
//! and validating received ones (RFC 9114 §4.1.2, §4.2, §4.3) before they are turned into
//! `http` types. A section that breaks a rule is malformed ([`Malformed`]); the connection
//! turns that into a stream error H3_MESSAGE_ERROR and never hands the message out.

use crate::error::SendError;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use qpack::HeaderField;

/// Why a received header or trailer section is malformed (RFC 9114 §4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed message: {0}")]
pub struct Malformed(pub &'static str);

/// The `:protocol` pseudo-header of an extended CONNECT request (RFC 9220, RFC 8441 §4),
/// carried in the request's extensions. Accepted only when this endpoint advertised
/// SETTINGS_ENABLE_CONNECT_PROTOCOL, sent only when the peer did.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Protocol(pub String);

/// A received message's header section, validated.
#[derive(Debug)]
pub(crate) struct Parsed<T> {
    pub message: T,
    /// The Content-Length, if present (all values agreed).
    pub content_length: Option<u64>,
}

/// RFC 9114 §4.2: connection-specific fields MUST NOT appear (TE is checked separately).
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Checks a regular field name and value: lowercase token characters (RFC 9114 §4.2, RFC
/// 9110 §5.1), no NUL/CR/LF and no leading or trailing whitespace in the value (RFC 9114
/// §10.3, RFC 9110 §5.5), no connection-specific field (RFC 9114 §4.2).
fn check_field(name: &[u8], value: &[u8], is_request: bool) -> Result<(), Malformed> {
    if name.is_empty() {
        return Err(Malformed("empty field name"));
    }
    for &c in name {
        // RFC 9114 §4.2: uppercase characters in field names MUST be treated as malformed.
        if c.is_ascii_uppercase() {
            return Err(Malformed("uppercase field name"));
        }
        if !is_tchar(c) {
            return Err(Malformed("invalid character in field name"));
        }
    }
    // RFC 9114 §10.3: a character not permitted in a field value (NUL, CR, LF) MUST be
    // treated as malformed.
    if value.iter().any(|&c| c == 0 || c == b'\r' || c == b'\n') {
        return Err(Malformed("invalid character in field value"));
    }
    if let (Some(first), Some(last)) = (value.first(), value.last()) {
        if matches!(first, b' ' | b'\t') || matches!(last, b' ' | b'\t') {
            return Err(Malformed("whitespace around field value"));
        }
    }
    let name_str = std::str::from_utf8(name).unwrap_or("");
    if CONNECTION_SPECIFIC.contains(&name_str) {
        return Err(Malformed("connection-specific field"));
    }
    // RFC 9114 §4.2: TE is allowed only in requests, and only with "trailers".
    if name == b"te" && (!is_request || !value.eq_ignore_ascii_case(b"trailers")) {
        return Err(Malformed("TE other than trailers"));
    }
    Ok(())
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Splits `fields` into pseudo-headers and regular fields, checking order (RFC 9114 §4.3:
/// pseudo-headers after a regular field make the message malformed) and every regular field.
fn split_fields(
    fields: Vec<HeaderField>,
    is_request: bool,
) -> Result<(Vec<HeaderField>, HeaderMap, Option<u64>), Malformed> {
    let mut pseudo = Vec::new();
    let mut headers = HeaderMap::with_capacity(fields.len());
    let mut content_length: Option<u64> = None;
    let mut cookies: Vec<Bytes> = Vec::new();
    let mut regular_seen = false;
    for f in fields {
        if f.name.first() == Some(&b':') {
            if regular_seen {
                return Err(Malformed("pseudo-header after a regular field"));
            }
            pseudo.push(f);
            continue;
        }
        regular_seen = true;
        check_field(&f.name, &f.value, is_request)?;
        if &f.name[..] == b"content-length" {
            let v = parse_content_length(&f.value)?;
            // RFC 9110 §8.6: differing Content-Length values make the message invalid.
            if content_length.is_some_and(|c| c != v) {
                return Err(Malformed("conflicting content-length"));
            }
            content_length = Some(v);
        }
        if &f.name[..] == b"cookie" {
            // RFC 9114 §4.2.1: cookie lines are joined with "; " before going to a generic
            // HTTP application.
            cookies.push(f.value);
            continue;
        }
        let name = HeaderName::from_bytes(&f.name)
            .map_err(|_| Malformed("invalid character in field name"))?;
        let mut value = HeaderValue::from_maybe_shared(f.value)
            .map_err(|_| Malformed("invalid character in field value"))?;
        value.set_sensitive(f.sensitive);
        headers.append(name, value);
    }
    if !cookies.is_empty() {
        let joined = cookies.join(&b"; "[..]);
        let value = HeaderValue::from_bytes(&joined)
            .map_err(|_| Malformed("invalid character in field value"))?;
        headers.append(http::header::COOKIE, value);
    }
    Ok((pseudo, headers, content_length))
}

fn parse_content_length(v: &[u8]) -> Result<u64, Malformed> {
    const BAD: Malformed = Malformed("invalid content-length");
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(BAD);
    }
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(BAD)
}

/// Validates a request header section and builds the request (RFC 9114 §4.3.1, §4.4).
/// `connect_protocol`: whether we advertised SETTINGS_ENABLE_CONNECT_PROTOCOL.
pub(crate) fn parse_request(
    fields: Vec<HeaderField>,
    connect_protocol: bool,
) -> Result<Parsed<Request<()>>, Malformed> {
    let (pseudo, headers, content_length) = split_fields(fields, true)?;
    let (mut method, mut scheme, mut authority, mut path, mut protocol) =
        (None, None, None, None, None);
    for f in pseudo {
        let slot = match &f.name[..] {
            b":method" => &mut method,
            b":scheme" => &mut scheme,
            b":authority" => &mut authority,
            b":path" => &mut path,
            b":protocol" if connect_protocol => &mut protocol,
            // RFC 9114 §4.3: undefined pseudo-headers, or response ones in a request, are
            // malformed.
            _ => return Err(Malformed("unknown pseudo-header in a request")),
        };
        // RFC 9114 §4.3.1: exactly one value for each.
        if slot.replace(f.value).is_some() {
            return Err(Malformed("duplicate pseudo-header"));
        }
    }
    let method = method.ok_or(Malformed("missing :method"))?;
    let method = Method::from_bytes(&method).map_err(|_| Malformed("invalid :method"))?;
    let host = match headers.get_all(http::header::HOST).iter().count() {
        0 => None,
        1 => headers.get(http::header::HOST).map(|h| h.as_bytes()),
        _ => return Err(Malformed("duplicate host")),
    };
    let mut uri = Uri::builder();
    if method == Method::CONNECT && protocol.is_none() {
        // RFC 9114 §4.4: :scheme and :path omitted, :authority required.
        if scheme.is_some() || path.is_some() {
            return Err(Malformed("CONNECT with :scheme or :path"));
        }
        let authority = authority.ok_or(Malformed("CONNECT without :authority"))?;
        uri = uri.authority(authority_of(&authority)?);
    } else {
        if protocol.is_some() && method != Method::CONNECT {
            return Err(Malformed(":protocol outside CONNECT"));
        }
        let scheme = scheme.ok_or(Malformed("missing :scheme"))?;
        let path = path.ok_or(Malformed("missing :path"))?;
        // RFC 9114 §4.3.1: :path MUST NOT be empty for http and https.
        if path.is_empty() {
            return Err(Malformed("empty :path"));
        }
        let http_like = &scheme[..] == b"http" || &scheme[..] == b"https";
        if http_like {
            // RFC 9114 §4.3.1: :authority or Host required, non-empty, equal if both.
            match (&authority, host) {
                (None, None) => return Err(Malformed("missing :authority and host")),
                (Some(a), Some(h)) if &a[..] != h => {
                    return Err(Malformed(":authority and host differ"))
                }
                _ => {}
            }
        }
        let authority = authority.or_else(|| host.map(Bytes::copy_from_slice));
        if let Some(a) = &authority {
            // RFC 9114 §4.3.1: no userinfo in http or https authorities.
            if http_like && a.contains(&b'@') {
                return Err(Malformed("userinfo in :authority"));
            }
            uri = uri.authority(authority_of(a)?);
        }
        uri = uri
            .scheme(std::str::from_utf8(&scheme).map_err(|_| Malformed("invalid :scheme"))?)
            .path_and_query(&path[..]);
    }
    let uri = uri
        .build()
        .map_err(|_| Malformed("invalid request target"))?;
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = http::Version::HTTP_3;
    *request.headers_mut() = headers;
    if let Some(p) = protocol {
        let p = String::from_utf8(p.to_vec()).map_err(|_| Malformed("invalid :protocol"))?;
        request.extensions_mut().insert(Protocol(p));
    }
    Ok(Parsed {
        message: request,
        content_length,
    })
}

fn authority_of(a: &[u8]) -> Result<http::uri::Authority, Malformed> {
    // RFC 9114 §4.3.1: if present, it MUST NOT be empty.
    if a.is_empty() {
        return Err(Malformed("empty :authority"));
    }
    http::uri::Authority::try_from(a).map_err(|_| Malformed("invalid :authority"))
}

/// Validates a response header section (RFC 9114 §4.3.2) and builds the response.
pub(crate) fn parse_response(fields: Vec<HeaderField>) -> Result<Parsed<Response<()>>, Malformed> {
    let (pseudo, headers, content_length) = split_fields(fields, false)?;
    let mut status = None;
    for f in pseudo {
        if &f.name[..] != b":status" {
            return Err(Malformed("unknown pseudo-header in a response"));
        }
        if status.replace(f.value).is_some() {
            return Err(Malformed("duplicate :status"));
        }
    }
    let status = status.ok_or(Malformed("missing :status"))?;
    if status.len() != 3 {
        return Err(Malformed("invalid :status"));
    }
    let status = StatusCode::from_bytes(&status).map_err(|_| Malformed("invalid :status"))?;
    // RFC 9114 §4.5: no 101 (Switching Protocols) in HTTP/3.
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(Malformed("101 in HTTP/3"));
    }
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = http::Version::HTTP_3;
    *response.headers_mut() = headers;
    Ok(Parsed {
        message: response,
        content_length,
    })
}

/// Validates a trailer section: no pseudo-headers (RFC 9114 §4.3), valid regular fields.
pub(crate) fn parse_trailers(
    fields: Vec<HeaderField>,
    is_request: bool,
) -> Result<HeaderMap, Malformed> {
    let (pseudo, headers, _) = split_fields(fields, is_request)?;
    if !pseudo.is_empty() {
        return Err(Malformed("pseudo-header in trailers"));
    }
    Ok(headers)
}

fn field(name: impl Into<Bytes>, value: impl Into<Bytes>) -> HeaderField {
    HeaderField::new(name, value)
}

/// Appends the regular fields of `headers`, checking them the way a receiver will.
fn push_headers(
    out: &mut Vec<HeaderField>,
    headers: &HeaderMap,
    is_request: bool,
) -> Result<(), SendError> {
    for (name, value) in headers {
        check_field(name.as_str().as_bytes(), value.as_bytes(), is_request)
            .map_err(|m| SendError::InvalidMessage(m.0))?;
        out.push(HeaderField {
            name: Bytes::copy_from_slice(name.as_str().as_bytes()),
            value: Bytes::copy_from_slice(value.as_bytes()),
            sensitive: value.is_sensitive(),
        });
    }
    Ok(())
}

/// Builds a request header section. `connect_protocol`: whether the peer advertised
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (needed to send `:protocol`).
pub(crate) fn request_fields(
    request: &Request<()>,
    connect_protocol: bool,
) -> Result<Vec<HeaderField>, SendError> {
    let uri = request.uri();
    let method = request.method();
    let mut out = vec![field(
        Bytes::from_static(b":method"),
        Bytes::copy_from_slice(method.as_str().as_bytes()),
    )];
    let protocol = request.extensions().get::<Protocol>();
    let authority = uri.authority().map(|a| a.as_str());
    if *method == Method::CONNECT && protocol.is_none() {
        // RFC 9114 §4.4: only :method and :authority.
        let a = authority.ok_or(SendError::InvalidMessage("CONNECT without authority"))?;
        out.push(field(":authority", Bytes::copy_from_slice(a.as_bytes())));
    } else {
        if let Some(p) = protocol {
            if *method != Method::CONNECT || !connect_protocol {
                return Err(SendError::InvalidMessage(
                    ":protocol needs CONNECT and the peer's ENABLE_CONNECT_PROTOCOL",
                ));
            }
            out.push(field(":protocol", Bytes::copy_from_slice(p.0.as_bytes())));
        }
        let scheme = uri
            .scheme_str()
            .ok_or(SendError::InvalidMessage("request URI without scheme"))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let path = if path.is_empty() { "/" } else { path };
        out.push(field(":scheme", Bytes::copy_from_slice(scheme.as_bytes())));
        let host = request.headers().get(http::header::HOST);
        match (authority, host) {
            (Some(a), _) => {
                if a.contains('@') {
                    return Err(SendError::InvalidMessage("userinfo in the authority"));
                }
                if host.is_some_and(|h| h.as_bytes() != a.as_bytes()) {
                    return Err(SendError::InvalidMessage("host differs from the authority"));
                }
                out.push(field(":authority", Bytes::copy_from_slice(a.as_bytes())));
            }
            (None, Some(_)) => {}
            (None, None) if scheme == "http" || scheme == "https" => {
                return Err(SendError::InvalidMessage("request URI without authority"))
            }
            (None, None) => {}
        }
        out.push(field(":path", Bytes::copy_from_slice(path.as_bytes())));
    }
    push_headers(&mut out, request.headers(), true)?;
    Ok(out)
}

/// Builds a response header section.
pub(crate) fn response_fields(response: &Response<()>) -> Result<Vec<HeaderField>, SendError> {
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Err(SendError::InvalidMessage("101 is not allowed in HTTP/3"));
    }
    let mut out = vec![field(
        Bytes::from_static(b":status"),
        Bytes::copy_from_slice(response.status().as_str().as_bytes()),
    )];
    push_headers(&mut out, response.headers(), false)?;
    Ok(out)
}

/// Builds a trailer section.
pub(crate) fn trailer_fields(
    trailers: &HeaderMap,
    is_request: bool,
) -> Result<Vec<HeaderField>, SendError> {
    let mut out = Vec::with_capacity(trailers.len());
    push_headers(&mut out, trailers, is_request)?;
    Ok(out)
}

/// RFC 9114 §4.2.2 size of a field section: name + value + 32 per line.
pub(crate) fn section_size(fields: &[HeaderField]) -> u64 {
    fields.iter().map(HeaderField::size).sum()
}

/// RFC 9114 §4.1.2 / RFC 9110 §6.4.1: responses that never have content (to HEAD, 1xx, 204,
/// 304) may carry a non-zero Content-Length with no DATA.
pub(crate) fn response_has_no_content(method: Option<&Method>, status: StatusCode) -> bool {
    method == Some(&Method::HEAD)
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

#[cfg(test)]
pub(crate) mod tests;
