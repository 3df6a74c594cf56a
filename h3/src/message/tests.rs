use super::*;

pub(crate) fn fields(pairs: &[(&str, &str)]) -> Vec<HeaderField> {
    pairs
        .iter()
        .map(|(n, v)| HeaderField::new(n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

pub(crate) const GET: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/index.html?q=1"),
];

/// Malformed requests (RFC 9114 §4.1.2, §4.2, §4.3, §4.3.1, §4.4) with the rule each breaks;
/// the connection tests send each of them and expect H3_MESSAGE_ERROR.
pub(crate) fn malformed_requests() -> Vec<(&'static str, Vec<HeaderField>)> {
    let with = |extra: &[(&str, &str)]| {
        let mut v = fields(GET);
        v.extend(fields(extra));
        v
    };
    let without = |name: &str| {
        fields(
            &GET.iter()
                .copied()
                .filter(|(n, _)| *n != name)
                .collect::<Vec<_>>(),
        )
    };
    let mut raw_value = with(&[]);
    raw_value.push(HeaderField::new("x-nul", &b"a\0b"[..]));
    vec![
        ("missing :method", without(":method")),
        ("missing :scheme", without(":scheme")),
        ("missing :path", without(":path")),
        ("missing :authority and host", without(":authority")),
        ("empty :path", {
            let mut v = without(":path");
            v.extend(fields(&[(":path", "")]));
            v
        }),
        ("empty :authority", {
            let mut v = without(":authority");
            v.extend(fields(&[(":authority", "")]));
            v
        }),
        ("duplicate :path", {
            let mut v = fields(GET);
            v.insert(1, HeaderField::new(":path", "/x"));
            v
        }),
        ("duplicate :method", {
            let mut v = fields(GET);
            v.insert(1, HeaderField::new(":method", "GET"));
            v
        }),
        ("unknown pseudo-header", {
            let mut v = fields(GET);
            v.insert(0, HeaderField::new(":foo", "bar"));
            v
        }),
        ("response pseudo-header in request", {
            let mut v = fields(GET);
            v.insert(0, HeaderField::new(":status", "200"));
            v
        }),
        ("pseudo after regular", {
            let mut v = fields(&[(":method", "GET"), (":scheme", "https"), (":path", "/")]);
            v.push(HeaderField::new("accept", "*/*"));
            v.push(HeaderField::new(":authority", "example.com"));
            v
        }),
        ("uppercase name", with(&[("Accept", "*/*")])),
        ("invalid name char", with(&[("x y", "1")])),
        ("empty name", with(&[("", "1")])),
        ("connection", with(&[("connection", "close")])),
        ("keep-alive", with(&[("keep-alive", "1")])),
        ("proxy-connection", with(&[("proxy-connection", "x")])),
        (
            "transfer-encoding",
            with(&[("transfer-encoding", "chunked")]),
        ),
        ("upgrade", with(&[("upgrade", "websocket")])),
        ("te other than trailers", with(&[("te", "gzip")])),
        ("NUL in value", raw_value),
        ("CR in value", with(&[("x-a", "a\rb")])),
        ("LF in value", with(&[("x-a", "a\nb")])),
        ("leading space", with(&[("x-a", " a")])),
        ("trailing tab", with(&[("x-a", "a\t")])),
        ("bad content-length", with(&[("content-length", "12a")])),
        (
            "conflicting content-length",
            with(&[("content-length", "1"), ("content-length", "2")]),
        ),
        (
            "authority and host differ",
            with(&[("host", "other.example")]),
        ),
        ("invalid method", {
            let mut v = without(":method");
            v.insert(0, HeaderField::new(":method", "GE T"));
            v
        }),
        (
            "CONNECT with :path",
            fields(&[
                (":method", "CONNECT"),
                (":authority", "a:443"),
                (":path", "/"),
            ]),
        ),
        (
            "CONNECT without :authority",
            fields(&[(":method", "CONNECT")]),
        ),
        ("userinfo", {
            let mut v = without(":authority");
            v.push(HeaderField::new(":authority", "user@example.com"));
            v
        }),
        (
            ":protocol not enabled",
            fields(&[
                (":method", "CONNECT"),
                (":protocol", "websocket"),
                (":scheme", "https"),
                (":authority", "a"),
                (":path", "/chat"),
            ]),
        ),
    ]
}

#[test]
fn valid_get() {
    let p = parse_request(fields(GET), false).unwrap();
    assert_eq!(p.message.method(), Method::GET);
    assert_eq!(p.message.uri(), "https://example.com/index.html?q=1");
    assert_eq!(p.content_length, None);
    assert_eq!(p.message.version(), http::Version::HTTP_3);
}

#[test]
fn host_instead_of_authority() {
    let f = fields(&[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/"),
        ("host", "example.com"),
    ]);
    let p = parse_request(f, false).unwrap();
    assert_eq!(p.message.uri().host(), Some("example.com"));
    // Equal :authority and host are fine.
    let mut f = fields(GET);
    f.push(HeaderField::new("host", "example.com"));
    assert!(parse_request(f, false).is_ok());
}

#[test]
fn connect_and_options() {
    let p = parse_request(
        fields(&[(":method", "CONNECT"), (":authority", "example.com:443")]),
        false,
    )
    .unwrap();
    assert_eq!(p.message.method(), Method::CONNECT);
    assert_eq!(p.message.uri().authority().unwrap(), "example.com:443");
    let f = fields(&[
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":authority", "a"),
        (":path", "/chat"),
    ]);
    let p = parse_request(f, true).unwrap();
    assert_eq!(
        p.message.extensions().get::<Protocol>(),
        Some(&Protocol("websocket".into()))
    );
    let back = request_fields(&p.message, true).unwrap();
    assert!(back.iter().any(|f| &f.name[..] == b":protocol"));
    assert!(request_fields(&p.message, false).is_err());
}

#[test]
fn every_malformed_request_is_rejected() {
    for (rule, f) in malformed_requests() {
        assert!(parse_request(f, false).is_err(), "{rule}");
    }
}

#[test]
fn te_trailers_and_content_length() {
    let mut f = fields(GET);
    f.extend(fields(&[
        ("te", "trailers"),
        ("content-length", "10"),
        ("content-length", "10"),
    ]));
    let p = parse_request(f, false).unwrap();
    assert_eq!(p.content_length, Some(10));
}

#[test]
fn cookies_are_joined() {
    let mut f = fields(GET);
    f.extend(fields(&[("cookie", "a=1"), ("x", "y"), ("cookie", "b=2")]));
    let p = parse_request(f, false).unwrap();
    assert_eq!(p.message.headers()["cookie"], "a=1; b=2");
}

#[test]
fn responses() {
    let p = parse_response(fields(&[(":status", "204"), ("server", "x")])).unwrap();
    assert_eq!(p.message.status(), 204);
    for bad in [
        &[("server", "x")][..],
        &[(":status", "20")],
        &[(":status", "2000")],
        &[(":status", "abc")],
        &[(":status", "101")],
        &[(":status", "200"), (":status", "200")],
        &[(":status", "200"), (":path", "/")],
        &[("server", "x"), (":status", "200")],
        &[(":status", "200"), ("te", "trailers")],
        &[(":status", "200"), ("connection", "close")],
    ] {
        assert!(parse_response(fields(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn trailers() {
    let t = parse_trailers(fields(&[("grpc-status", "0")]), false).unwrap();
    assert_eq!(t["grpc-status"], "0");
    assert!(parse_trailers(fields(&[(":status", "200")]), false).is_err());
    assert!(parse_trailers(fields(&[("Upper", "x")]), false).is_err());
}

#[test]
fn building_sections() {
    let req = Request::get("https://example.com/a?b")
        .header("accept", "*/*")
        .body(())
        .unwrap();
    let f = request_fields(&req, false).unwrap();
    let names: Vec<&[u8]> = f.iter().map(|f| &f.name[..]).collect();
    assert_eq!(
        names,
        [
            &b":method"[..],
            b":scheme",
            b":authority",
            b":path",
            b"accept"
        ]
    );
    let back = parse_request(f, false).unwrap().message;
    assert_eq!(back.uri(), req.uri());
    // Never send what the peer must reject.
    let bad = Request::get("https://example.com/")
        .header("connection", "close")
        .body(())
        .unwrap();
    assert!(matches!(
        request_fields(&bad, false),
        Err(SendError::InvalidMessage(_))
    ));
    let no_authority = Request::get("/relative").body(()).unwrap();
    assert!(request_fields(&no_authority, false).is_err());
    let resp = Response::builder().status(101).body(()).unwrap();
    assert!(response_fields(&resp).is_err());
    let connect = Request::connect("example.com:443").body(()).unwrap();
    let f = request_fields(&connect, false).unwrap();
    assert_eq!(f.len(), 2);
    assert!(parse_request(f, false).is_ok());
    let mut sensitive = HeaderMap::new();
    let mut v = HeaderValue::from_static("secret");
    v.set_sensitive(true);
    sensitive.insert("authorization", v);
    assert!(trailer_fields(&sensitive, false).unwrap()[0].sensitive);
}
