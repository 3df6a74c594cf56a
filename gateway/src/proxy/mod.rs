//! Proxying to HTTP/1.1 upstreams: resolution, the pooled client, retries and timeouts,
//! added headers, and error responses.

pub mod client;
pub mod error;
pub mod headers;

pub use client::UpstreamClient;
pub use error::ProxyError;

use crate::body::{self, Body};
use crate::config::{RetryOn, Route, WeightedDestination};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Version};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Request bodies up to this size (with a known length) are kept to be replayed on retries;
/// larger or unknown-length bodies stream through in a single attempt.
pub const MAX_REPLAY_BODY: u64 = 64 * 1024;

/// The upstream's answer.
pub struct Forwarded {
    pub response: Response<Incoming>,
    pub attempts: u32,
    pub upstream: SocketAddr,
    /// From sending the final attempt to its response headers.
    pub service_time: Duration,
}

/// Why forwarding failed, after `attempts` attempts.
#[derive(Debug)]
pub struct ForwardFailure {
    pub error: ProxyError,
    pub attempts: u32,
    pub upstream: Option<SocketAddr>,
}

/// What to send: the request's headers (already prepared), the target path and authority.
pub struct Outgoing {
    pub method: http::Method,
    pub headers: http::HeaderMap,
    pub path_and_query: String,
    pub authority: String,
    pub body: Body,
}

fn retriable_status(on: &RetryOn, status: StatusCode) -> bool {
    let s = status.as_u16();
    (on.five_xx && s >= 500)
        || (on.gateway_error && matches!(s, 502..=504))
        || (on.retriable_4xx && s == 409)
        || on.status_codes.contains(&s)
}

enum Attempt {
    Failed(ProxyError, bool),
}

/// Sends `out` to `dest` following the route's timeout and retry policy.
pub async fn forward(
    client: &UpstreamClient,
    upstreams: &BTreeMap<String, String>,
    route: &Route,
    dest: &WeightedDestination,
    out: Outgoing,
) -> Result<Forwarded, ForwardFailure> {
    let start = Instant::now();
    let deadline = route.timeout.map(|t| start + t);
    let addrs = client::resolve(dest, upstreams)
        .await
        .map_err(|error| ForwardFailure {
            error,
            attempts: 0,
            upstream: None,
        })?;
    let Outgoing {
        method,
        mut headers,
        path_and_query,
        authority,
        body,
    } = out;
    headers.insert(
        http::header::HOST,
        HeaderValue::from_str(&authority).map_err(|_| ForwardFailure {
            error: ProxyError::BadRequest(format!("authority `{authority}`")),
            attempts: 0,
            upstream: None,
        })?,
    );
    // A body small enough and of known length can be replayed; others stream once.
    let (replay, mut streaming) = if body.is_end_stream() {
        (Some(Bytes::new()), None)
    } else if body
        .size_hint()
        .exact()
        .is_some_and(|n| n <= MAX_REPLAY_BODY)
    {
        match body.collect().await {
            Ok(c) => (Some(c.to_bytes()), None),
            Err(e) => {
                return Err(ForwardFailure {
                    error: ProxyError::BadRequest(format!("request body: {e}")),
                    attempts: 0,
                    upstream: None,
                })
            }
        }
    } else {
        (None, Some(body))
    };
    let max_attempts = if replay.is_some() {
        1 + route.retries.attempts
    } else {
        1
    };
    let on = &route.retries.on;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let addr = client.pick(&addrs);
        let upstream = Some(addr);
        let uri = format!("http://{addr}{path_and_query}");
        let mut req = Request::new(match (&replay, streaming.take()) {
            (Some(b), _) => body::full(b.clone()),
            (None, Some(s)) => s,
            (None, None) => body::empty(),
        });
        *req.method_mut() = method.clone();
        *req.version_mut() = Version::HTTP_11;
        *req.uri_mut() = match uri.parse() {
            Ok(u) => u,
            Err(_) => {
                return Err(ForwardFailure {
                    error: ProxyError::BadRequest(format!("path `{path_and_query}`")),
                    attempts: attempt,
                    upstream,
                })
            }
        };
        *req.headers_mut() = headers.clone();
        req.headers_mut()
            .insert(headers::X_ATTEMPT_COUNT, HeaderValue::from(attempt));
        let now = Instant::now();
        let remaining = deadline.map(|d| d.saturating_duration_since(now));
        let limit = match (route.retries.per_try_timeout, remaining) {
            (Some(p), Some(r)) => Some(p.min(r)),
            (p, r) => p.or(r),
        };
        let sent = Instant::now();
        let fut = client.inner().request(req);
        let result = match limit {
            Some(l) => tokio::time::timeout(l, fut).await.ok(),
            None => Some(fut.await),
        };
        let outcome = match result {
            None => {
                let overall = deadline.is_some_and(|d| Instant::now() >= d);
                Attempt::Failed(
                    ProxyError::Timeout,
                    !overall && (on.five_xx || on.gateway_error),
                )
            }
            Some(Ok(resp)) => {
                if attempt < max_attempts && retriable_status(on, resp.status()) {
                    tracing::debug!(status = %resp.status(), attempt, "retrying on status");
                    Attempt::Failed(ProxyError::Reset(format!("status {}", resp.status())), true)
                } else {
                    return Ok(Forwarded {
                        response: resp,
                        attempts: attempt,
                        upstream: addr,
                        service_time: sent.elapsed(),
                    });
                }
            }
            Some(Err(e)) if e.is_connect() => Attempt::Failed(
                ProxyError::ConnectFailure(format!("{addr}: {}", source_text(&e))),
                on.connect_failure || on.five_xx || on.gateway_error || on.reset,
            ),
            Some(Err(e)) => Attempt::Failed(
                ProxyError::Reset(format!("{addr}: {}", source_text(&e))),
                on.reset || on.five_xx || on.gateway_error || on.refused_stream,
            ),
        };
        match outcome {
            Attempt::Failed(error, retriable) => {
                if !retriable || attempt >= max_attempts {
                    tracing::debug!(%error, attempt, "upstream attempt failed");
                    return Err(ForwardFailure {
                        error,
                        attempts: attempt,
                        upstream,
                    });
                }
                // Envoy's back-off: 25 ms base, doubling, capped, jittered.
                let base = Duration::from_millis(25 << (attempt - 1).min(3));
                let jitter = Duration::from_millis(rand::random::<u64>() % 10);
                let mut wait = base + jitter;
                if let Some(d) = deadline {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ForwardFailure {
                            error: ProxyError::Timeout,
                            attempts: attempt,
                            upstream,
                        });
                    }
                    wait = wait.min(left);
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

fn source_text(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
