//! One access-log line per request, in Envoy's default format (the fields Istio shows), written
//! when the response body has been sent (or abandoned), so bytes and duration are final.
//!
//! `[START] "METHOD PATH PROTOCOL" STATUS FLAGS DETAILS - "-" RX TX DURATION UPSTREAM_TIME
//! "XFF" "USER-AGENT" "REQUEST-ID" "AUTHORITY" "UPSTREAM" outbound|PORT||HOST LOCAL PEER SNI ROUTE`
//! (logged at info level with target `access_log`).

use crate::body::{Body, BoxError};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Default)]
pub struct AccessLogEntry {
    pub start: Option<SystemTime>,
    pub method: String,
    pub path: String,
    pub protocol: &'static str,
    pub status: u16,
    pub flags: &'static str,
    pub details: &'static str,
    pub upstream_service_time_ms: Option<u128>,
    pub forwarded_for: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub authority: Option<String>,
    pub upstream: Option<String>,
    pub upstream_cluster: Option<String>,
    pub local: Option<String>,
    pub peer: Option<String>,
    pub sni: Option<String>,
    pub route: Option<String>,
    pub attempts: u32,
}

fn q(v: &Option<String>) -> String {
    format!("\"{}\"", v.as_deref().unwrap_or("-"))
}

fn d(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// RFC 3339 UTC with milliseconds, e.g. `2024-05-01T12:00:00.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

impl AccessLogEntry {
    pub fn line(&self, bytes_received: u64, bytes_sent: u64, duration_ms: u128) -> String {
        format!(
            "[{}] \"{} {} {}\" {} {} {} - \"-\" {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
            self.start.map(rfc3339).unwrap_or_else(|| "-".into()),
            self.method,
            self.path,
            self.protocol,
            self.status,
            self.flags,
            self.details,
            bytes_received,
            bytes_sent,
            duration_ms,
            self.upstream_service_time_ms
                .map(|m| m.to_string())
                .unwrap_or_else(|| "-".into()),
            q(&self.forwarded_for),
            q(&self.user_agent),
            q(&self.request_id),
            q(&self.authority),
            q(&self.upstream),
            d(&self.upstream_cluster),
            d(&self.local),
            d(&self.peer),
            d(&self.sni),
            d(&self.route),
        )
    }
}

/// Counts bytes flowing through a body.
pub struct CountingBody {
    inner: Body,
    count: Arc<AtomicU64>,
}

impl CountingBody {
    pub fn new(inner: Body) -> (Self, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        (
            CountingBody {
                inner,
                count: count.clone(),
            },
            count,
        )
    }
}

impl http_body::Body for CountingBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &poll {
            if let Some(data) = frame.data_ref() {
                self.count.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that writes the access-log line when it is finished or dropped.
pub struct LoggedBody {
    inner: Body,
    entry: Option<AccessLogEntry>,
    started: Instant,
    received: Arc<AtomicU64>,
    sent: u64,
}

impl LoggedBody {
    pub fn new(
        inner: Body,
        entry: AccessLogEntry,
        started: Instant,
        received: Arc<AtomicU64>,
    ) -> Self {
        LoggedBody {
            inner,
            entry: Some(entry),
            started,
            received,
            sent: 0,
        }
    }

    fn emit(&mut self) {
        // Formatting the line costs a few percent of a small request's CPU: skip it when the
        // access log is filtered out (`--log warn`).
        if !tracing::enabled!(target: "access_log", tracing::Level::INFO) {
            self.entry = None;
            return;
        }
        if let Some(entry) = self.entry.take() {
            let line = entry.line(
                self.received.load(Ordering::Relaxed),
                self.sent,
                self.started.elapsed().as_millis(),
            );
            tracing::info!(target: "access_log", "{line}");
        }
    }
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        match &poll {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.sent += data.len() as u64;
                }
                if self.inner.is_end_stream() {
                    self.emit();
                }
            }
            Poll::Ready(None) => self.emit(),
            Poll::Ready(Some(Err(e))) => {
                if let Some(entry) = &mut self.entry {
                    entry.flags = "UPE";
                }
                tracing::debug!("response body error: {e}");
                self.emit();
            }
            Poll::Pending => {}
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        self.emit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_714_564_800_123)),
            "2024-05-01T12:00:00.123Z"
        );
    }

    #[test]
    fn line_has_envoy_fields() {
        let e = AccessLogEntry {
            method: "GET".into(),
            path: "/status/418".into(),
            protocol: "HTTP/3",
            status: 418,
            flags: "-",
            details: "via_upstream",
            request_id: Some("id".into()),
            ..Default::default()
        };
        let line = e.line(0, 135, 4);
        assert!(
            line.starts_with("[-] \"GET /status/418 HTTP/3\" 418 - via_upstream - \"-\" 0 135 4 - \"-\" \"-\" \"id\""),
            "{line}"
        );
    }
}
