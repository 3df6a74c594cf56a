//! The streaming body type shared by every listener and the upstream client.

use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};

/// Errors carried by bodies: whatever the transport below reported.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A streamed request or response body (data frames and trailers).
///
/// Listeners box their transport's body into this type (hyper's `Incoming` for TCP, the h3
/// request stream for HTTP/3), so the service never depends on the protocol.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// An empty body.
pub fn empty() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A body holding `data` in one frame.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Boxes any body whose error converts into [`BoxError`].
pub fn boxed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}
