//! Proxy errors and the short responses the client sees for them.

use crate::body::{self, Body};
use http::{header, HeaderValue, Response, StatusCode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("no route matched")]
    NoRoute,
    #[error("no healthy upstream: {0}")]
    NoHealthyUpstream(String),
    #[error("upstream connect error: {0}")]
    ConnectFailure(String),
    #[error("upstream reset: {0}")]
    Reset(String),
    #[error("upstream request timeout")]
    Timeout,
    #[error("bad request: {0}")]
    BadRequest(String),
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NoRoute => StatusCode::NOT_FOUND,
            ProxyError::NoHealthyUpstream(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::ConnectFailure(_) | ProxyError::Reset(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// Envoy's response flags, for the access log.
    pub fn flags(&self) -> &'static str {
        match self {
            ProxyError::NoRoute => "NR",
            ProxyError::NoHealthyUpstream(_) => "UH",
            ProxyError::ConnectFailure(_) => "UF",
            ProxyError::Reset(_) => "UC",
            ProxyError::Timeout => "UT",
            ProxyError::BadRequest(_) => "DPE",
        }
    }

    /// The short body: Envoy's wording where it has one.
    pub fn body_text(&self) -> &'static str {
        match self {
            ProxyError::NoRoute => "no route matched\n",
            ProxyError::NoHealthyUpstream(_) => "no healthy upstream\n",
            ProxyError::ConnectFailure(_) => "upstream connect error or disconnect/reset before headers. reset reason: connection failure\n",
            ProxyError::Reset(_) => "upstream connect error or disconnect/reset before headers. reset reason: connection termination\n",
            ProxyError::Timeout => "upstream request timeout\n",
            ProxyError::BadRequest(_) => "bad request\n",
        }
    }

    pub fn response(&self) -> Response<Body> {
        let mut resp = Response::new(body::full(self.body_text()));
        *resp.status_mut() = self.status();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        resp
    }
}
