//! A built-in httpbin-compatible upstream (HTTP/1.1): /headers, /get, /anything, /status/N,
//! /bytes/N, /stream-bytes/N, /delay/N, /ip, /user-agent, /uuid, /base64/VALUE (decoded and
//! served as `text/html`, which is how a test serves a browser a page of its own making through
//! the gateway). Unlike httpbin, /bytes has
//! no size cap and streams, and /sink (an extension) consumes a body and returns its length
//! and SHA-256, so large transfers can be checked without buffering.

use crate::body::{self, Body};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// Bodies /anything echoes back at most (it buffers them, as httpbin does).
const MAX_ECHO: usize = 16 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Deterministic bytes for /bytes/N?seed=S (xorshift64*), reproducible by tests.
#[derive(Debug, Clone)]
pub struct ByteGen {
    state: u64,
}

impl ByteGen {
    pub fn new(seed: u64) -> Self {
        ByteGen {
            state: seed ^ 0x9E37_79B9_7F4A_7C15 | 1,
        }
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let v = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Serves on an already-bound listener until the task is dropped.
pub async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| async move {
                Ok::<_, std::convert::Infallible>(handle(req, peer).await)
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Binds `addr` and serves in the background; returns the bound address.
pub async fn start(addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((local, tokio::spawn(serve(listener))))
}

/// httpbin's header names: `x-request-id` -> `X-Request-Id`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut map = Map::new();
    for name in headers.keys() {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        map.insert(title_case(name.as_str()), Value::String(values.join(",")));
    }
    Value::Object(map)
}

fn args_json(query: Option<&str>) -> Value {
    let mut map = Map::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    Value::Object(map)
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    let mut resp = Response::new(body::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn url(req: &Request<Incoming>) -> String {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!(
        "{proto}://{host}{}",
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    )
}

fn origin(req: &Request<Incoming>, peer: SocketAddr) -> String {
    req.headers()
        .get("x-forwarded-for")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| peer.ip().to_string())
}

fn number(segment: Option<&str>) -> Option<u64> {
    segment.and_then(|s| s.parse().ok())
}

async fn handle(req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or("");
    let second = segments.next();
    match first {
        "headers" => json_response(
            StatusCode::OK,
            &json!({"headers": headers_json(req.headers())}),
        ),
        "ip" => json_response(StatusCode::OK, &json!({"origin": origin(&req, peer)})),
        "user-agent" => json_response(
            StatusCode::OK,
            &json!({"user-agent": req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok())}),
        ),
        "uuid" => json_response(
            StatusCode::OK,
            &json!({"uuid": crate::proxy::headers::uuid_v4()}),
        ),
        "get" if req.method() == Method::GET => {
            json_response(StatusCode::OK, &get_json(&req, peer))
        }
        "get" => status(StatusCode::METHOD_NOT_ALLOWED),
        "delay" => {
            let secs = number(second).unwrap_or(0).min(10);
            tokio::time::sleep(Duration::from_secs(secs)).await;
            json_response(StatusCode::OK, &get_json(&req, peer))
        }
        "status" => match second
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse::<u16>().ok())
        {
            Some(code) => match StatusCode::from_u16(code) {
                Ok(StatusCode::IM_A_TEAPOT) => {
                    let mut r = Response::new(body::full("\n    -=[ teapot ]=-\n"));
                    *r.status_mut() = StatusCode::IM_A_TEAPOT;
                    r.headers_mut().insert(
                        "x-more-info",
                        HeaderValue::from_static("http://tools.ietf.org/html/rfc2324"),
                    );
                    r
                }
                Ok(s) => status(s),
                Err(_) => status(StatusCode::BAD_REQUEST),
            },
            None => status(StatusCode::BAD_REQUEST),
        },
        "bytes" | "stream-bytes" => match number(second) {
            Some(n) => {
                let seed = req
                    .uri()
                    .query()
                    .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("seed=")))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(rand::random);
                bytes_response(n, seed, first == "bytes")
            }
            None => status(StatusCode::BAD_REQUEST),
        },
        "base64" => base64_page(second.unwrap_or("")),
        "anything" => anything(req, peer).await,
        "sink" => sink(req).await,
        _ => status(StatusCode::NOT_FOUND),
    }
}

fn status(code: StatusCode) -> Response<Body> {
    let mut r = Response::new(body::empty());
    *r.status_mut() = code;
    r
}

/// httpbin's /base64/VALUE: URL-safe base64 (padding optional), served as UTF-8 HTML.
fn base64_page(value: &str) -> Response<Body> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose};
    const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        general_purpose::GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let text = base64::Engine::decode(&URL_SAFE_ANY_PADDING, value)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some(text) = text else {
        let mut r = Response::new(body::full("Incorrect Base64 data\n"));
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return r;
    };
    let mut r = Response::new(body::full(text));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn get_json(req: &Request<Incoming>, peer: SocketAddr) -> Value {
    json!({
        "args": args_json(req.uri().query()),
        "headers": headers_json(req.headers()),
        "origin": origin(req, peer),
        "url": url(req),
    })
}

fn bytes_response(n: u64, seed: u64, with_length: bool) -> Response<Body> {
    let stream =
        futures_util::stream::unfold((ByteGen::new(seed), n), |(mut g, left)| async move {
            if left == 0 {
                return None;
            }
            let len = (left as usize).min(CHUNK);
            let mut buf = vec![0u8; len];
            g.fill(&mut buf);
            Some((
                Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(buf))),
                (g, left - len as u64),
            ))
        });
    let mut r = Response::new(body::boxed(StreamBody::new(stream)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if with_length {
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    r
}

async fn anything(req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let mut base = get_json(&req, peer);
    let method = req.method().to_string();
    let mut body = req.into_body();
    let mut data = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Some(d) = f.data_ref() {
                    if data.len() + d.len() > MAX_ECHO {
                        return status(StatusCode::PAYLOAD_TOO_LARGE);
                    }
                    data.extend_from_slice(d);
                }
            }
            Err(_) => return status(StatusCode::BAD_REQUEST),
        }
    }
    let text = String::from_utf8_lossy(&data).into_owned();
    let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut base {
        m.insert("method".into(), Value::String(method));
        m.insert("data".into(), Value::String(text));
        m.insert("json".into(), parsed);
        m.insert("files".into(), json!({}));
        m.insert("form".into(), json!({}));
    }
    json_response(StatusCode::OK, &base)
}

async fn sink(req: Request<Incoming>) -> Response<Body> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut n: u64 = 0;
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Some(d) = f.data_ref() {
                    ctx.update(d);
                    n += d.len() as u64;
                }
            }
            Err(_) => return status(StatusCode::BAD_REQUEST),
        }
    }
    let digest = crate::proxy::headers::to_hex(ctx.finish().as_ref());
    json_response(StatusCode::OK, &json!({"bytes": n, "sha256": digest}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic() {
        let (mut a, mut b) = (ByteGen::new(7), ByteGen::new(7));
        let (mut x, mut y) = (vec![0; 100], vec![0; 100]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, vec![0; 100]);
        assert_eq!(title_case("x-b3-traceid"), "X-B3-Traceid");
    }

    #[tokio::test]
    async fn base64_page_decodes_with_and_without_padding() {
        for (value, want) in [
            ("aGk=", Some("hi")),
            ("aGk", Some("hi")),
            ("PD8-", Some("<?>")),
            ("%%%", None),
        ] {
            let resp = base64_page(value);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            match want {
                Some(text) => assert_eq!(body, text.as_bytes(), "{value}"),
                None => assert!(body.starts_with(b"Incorrect"), "{value}"),
            }
        }
        assert_eq!(
            base64_page("aGk").headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(
            base64_page("_w").status(),
            StatusCode::BAD_REQUEST,
            "not UTF-8"
        );
    }
}
