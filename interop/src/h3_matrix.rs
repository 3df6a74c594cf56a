//! What the HTTP/3 interop matrix (interop/peers/h3-matrix.sh) needs beyond file transfer,
//! shared in shape with its aioquic and quinn peers:
//!
//! * **upload**: the server answers a `POST` by reading the whole body and replying 200 with
//!   `"<length> <sha256 hex>\n"`, so the matrix can prove a body arrived byte-exact (a server
//!   that answered early or lost a byte produces a different line);
//! * **header echo**: every response repeats the request's `x-echo-*` fields, so that
//!   requests with the same long custom fields give responses with the same fields and the
//!   QPACK dynamic table is worth using in both directions;
//! * **QPACK stats**: the server logs each connection's dynamic-table insertions when it
//!   ends, the client at its end, as `qpack: <role> <peer> encoder_inserts=N ...`.
//!
//! The client takes its extras from the environment, so the runner-facing command line stays
//! the contract's: `QUIC_INTEROP_UPLOAD=FILE` POSTs FILE's bytes to every URL (the response
//! body is saved like a download), `QUIC_INTEROP_HEADERS` adds one `name: value` field per
//! line to every request.

use bytes::Bytes;
use h3::asynch::RequestStream;

/// Prefix of the request fields a server repeats in its response.
pub const ECHO_PREFIX: &str = "x-echo-";
/// An upload larger than this is refused (413): the server holds no body, only a hash, but
/// the bound keeps a runaway client from keeping a request open for ever.
const MAX_UPLOAD: u64 = 1 << 30;

/// `builder` with the request's `x-echo-*` fields added.
pub fn echo_fields(
    request: &http::Request<()>,
    mut builder: http::response::Builder,
) -> http::response::Builder {
    for (name, value) in request.headers() {
        if name.as_str().starts_with(ECHO_PREFIX) {
            builder = builder.header(name, value);
        }
    }
    builder
}

/// Server: reads a POST body and answers with its length and SHA-256 (see the module doc).
pub async fn serve_upload(request: &http::Request<()>, stream: &RequestStream) {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    let mut len = 0u64;
    loop {
        match stream.recv_data().await {
            Ok(Some(chunk)) => {
                len += chunk.len() as u64;
                if len > MAX_UPLOAD {
                    let _ = respond(request, stream, 413, b"too large\n".to_vec()).await;
                    return;
                }
                hash.update(&chunk);
            }
            Ok(None) => break,
            // The client reset its request: nothing to answer.
            Err(_) => return,
        }
    }
    let hex: String = hash
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let _ = respond(request, stream, 200, format!("{len} {hex}\n").into_bytes()).await;
}

async fn respond(
    request: &http::Request<()>,
    stream: &RequestStream,
    status: u16,
    body: Vec<u8>,
) -> Result<(), h3::asynch::Error> {
    let response = echo_fields(request, http::Response::builder())
        .status(status)
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(())
        .expect("valid response");
    stream.send_response(response)?;
    stream.send_data(Bytes::from(body)).await?;
    stream.finish()
}

/// Logs one connection's QPACK dynamic-table use (stderr, one line).
pub fn log_qpack(role: &str, conn: &quic::runtime::Connection) {
    if let Some(stats) = h3::asynch::qpack_stats(conn) {
        eprintln!("qpack: {role} {} {stats}", conn.remote_address());
    }
}

/// The client's extras, from the environment (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct ClientExtras {
    /// Body POSTed to every URL instead of a GET.
    pub upload: Option<Bytes>,
    /// Fields added to every request.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl ClientExtras {
    /// Reads `QUIC_INTEROP_UPLOAD` and `QUIC_INTEROP_HEADERS`.
    pub fn from_env() -> Result<Self, String> {
        let upload = match std::env::var_os("QUIC_INTEROP_UPLOAD") {
            Some(path) => Some(Bytes::from(std::fs::read(&path).map_err(|e| {
                format!("QUIC_INTEROP_UPLOAD {}: {e}", path.to_string_lossy())
            })?)),
            None => None,
        };
        let mut headers = Vec::new();
        for line in std::env::var("QUIC_INTEROP_HEADERS")
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("QUIC_INTEROP_HEADERS: {line:?} is not 'name: value'"))?;
            let name = http::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|e| format!("QUIC_INTEROP_HEADERS: {name:?}: {e}"))?;
            let value = http::HeaderValue::from_str(value.trim())
                .map_err(|e| format!("QUIC_INTEROP_HEADERS: {value:?}: {e}"))?;
            headers.push((name, value));
        }
        Ok(Self { upload, headers })
    }

    /// The request for `url`: a GET, or a POST when uploading, with the extra fields.
    pub fn request(&self, url: String) -> Result<http::Request<()>, http::Error> {
        let method = if self.upload.is_some() {
            http::Method::POST
        } else {
            http::Method::GET
        };
        let mut builder = http::Request::builder().method(method).uri(url);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &self.upload {
            builder = builder.header(http::header::CONTENT_LENGTH, body.len());
        }
        builder.body(())
    }

    /// Before a request: with extra fields, wait for the server's SETTINGS so our encoder
    /// may use the dynamic table from the first request on (all requests start at once).
    pub async fn before_request(
        &self,
        client: &h3::asynch::Client,
    ) -> Result<(), h3::asynch::Error> {
        if !self.headers.is_empty() {
            client.settings().await?;
        }
        Ok(())
    }

    /// Sends the upload body, if any, on a request stream.
    pub async fn send_body(&self, stream: &RequestStream) -> Result<(), h3::asynch::Error> {
        match &self.upload {
            Some(body) => stream.send_data(body.clone()).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_fields_repeat_only_x_echo() {
        let req = http::Request::get("https://h/x")
            .header("x-echo-a", "1")
            .header("x-other", "2")
            .body(())
            .unwrap();
        let resp = echo_fields(&req, http::Response::builder())
            .body(())
            .unwrap();
        assert_eq!(resp.headers()["x-echo-a"], "1");
        assert!(resp.headers().get("x-other").is_none());
    }

    #[test]
    fn client_request_is_a_post_with_the_fields_when_uploading() {
        let extras = ClientExtras {
            upload: Some(Bytes::from_static(b"abc")),
            headers: vec![(
                http::HeaderName::from_static("x-echo-a"),
                http::HeaderValue::from_static("1"),
            )],
        };
        let req = extras.request("https://h/up".into()).unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.headers()["x-echo-a"], "1");
        assert_eq!(req.headers()[http::header::CONTENT_LENGTH], "3");
        let get = ClientExtras::default()
            .request("https://h/f".into())
            .unwrap();
        assert_eq!(get.method(), http::Method::GET);
        assert!(get.headers().is_empty());
    }
}
