//! The receiving side of request streams: frames to messages (RFC 9114 §4.1), header
//! sections through QPACK (waiting while blocked, RFC 9204 §2.1.2), validation (§4.1.2),
//! Content-Length against DATA, and the ways a stream can end.

use super::{BadRequest, Connection, Event, Role};
use crate::error::{Code, H3Error, StreamError, StreamErrorKind};
use crate::frame::{Frame, FrameDecoder, FrameEvent, FrameLimits, StreamKind};
use crate::message::{self, Malformed};
use crate::priority::Priority;
use crate::transport::Transport;
use crate::StreamId;
use bytes::Bytes;
use http::Method;
use std::collections::VecDeque;

/// Where the peer's message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvState {
    /// Waiting for the header section (again, after an interim response).
    Headers,
    /// A header (or trailer) section waits for QPACK encoder-stream data; input is queued.
    Blocked {
        /// Whether the blocked section is the trailer section.
        trailers: bool,
    },
    /// Header section delivered: DATA, then trailers or the end.
    Body,
    /// Trailers delivered: only the end (and unknown frames) may follow.
    Trailers,
    /// Finished, reset, or no longer read.
    Done,
}

/// Where our message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendState {
    /// Server: nothing sent yet.
    Start,
    /// Server: interim responses sent.
    Interim,
    /// Header section sent; body, trailers or FIN may follow.
    Body,
    /// FIN sent, or reset, or stopped by the peer.
    Done,
}

/// Received header section, or the reason it cannot be used.
enum Fields {
    Ok(Vec<qpack::HeaderField>),
    TooLarge,
}

/// One request stream.
#[derive(Debug)]
pub(crate) struct RequestStream {
    frames: FrameDecoder,
    pub recv: RecvState,
    /// Input that arrived while a header section was blocked.
    pending: VecDeque<Bytes>,
    pending_fin: bool,
    /// Content-Length of the peer's message (0 when it cannot have content).
    expected_len: Option<u64>,
    /// Sum of the peer's DATA frame lengths so far.
    received_len: u64,
    /// The request method (client: ours; server: the peer's), for response rules.
    pub method: Option<Method>,
    pub send: SendState,
    /// Content-Length of our message (0 when it cannot have content).
    pub send_limit: Option<u64>,
    pub sent_len: u64,
    pub priority: Priority,
    /// Whether a PRIORITY_UPDATE (or a local call) set the priority: it then overrides the
    /// header (RFC 9218 §7).
    pub priority_from_frame: bool,
    /// The priority last given to the transport's scheduler.
    pub applied_priority: Option<Priority>,
}

impl RequestStream {
    pub fn new(limits: FrameLimits) -> Self {
        RequestStream {
            frames: FrameDecoder::new(StreamKind::Request, limits),
            recv: RecvState::Headers,
            pending: VecDeque::new(),
            pending_fin: false,
            expected_len: None,
            received_len: 0,
            method: None,
            send: SendState::Start,
            send_limit: None,
            sent_len: 0,
            priority: Priority::default(),
            priority_from_frame: false,
            applied_priority: None,
        }
    }
}

/// RFC 9114 §4.1.2: a malformed message is a stream error of type H3_MESSAGE_ERROR.
fn malformed(e: Malformed) -> Code {
    tracing::debug!(%e, "malformed message");
    Code::H3_MESSAGE_ERROR
}

impl Connection {
    /// Server: a new request stream from the client. False if it was rejected.
    pub(super) fn accept_request_stream(&mut self, t: &mut dyn Transport, id: StreamId) -> bool {
        let buffered_priority = self.on_request_stream_seen(id);
        // RFC 9114 §5.2: requests at or above the identifier of a GOAWAY we sent are not
        // processed; RFC 9114 §4.1.1: rejected with H3_REQUEST_REJECTED.
        if self.goaway_sent.is_some_and(|g| id.0 >= g) {
            t.stop_sending(id, Code::H3_REQUEST_REJECTED);
            t.reset(id, Code::H3_REQUEST_REJECTED);
            // RFC 9204 §2.2.2.2: abandoning the stream's sections.
            self.decoder.cancel_stream(id.0);
            return false;
        }
        if self.max_request_seen.map_or(true, |m| id > m) {
            self.max_request_seen = Some(id);
        }
        let mut stream = RequestStream::new(self.config.frame_limits);
        if let Some(p) = buffered_priority {
            stream.priority = p;
            stream.priority_from_frame = true;
        }
        self.requests.insert(id, stream);
        // Even the default differs from the transport's own (RFC 9218 §4.2: not
        // incremental), so every request stream is set.
        self.push_priority(t, id);
        true
    }

    pub(super) fn on_request_data(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        data: Bytes,
        fin: bool,
    ) -> Result<(), H3Error> {
        let Some(r) = self.requests.get_mut(&id) else {
            return Ok(());
        };
        match r.recv {
            RecvState::Done => Ok(()),
            RecvState::Blocked { .. } => {
                if !data.is_empty() {
                    r.pending.push_back(data);
                }
                r.pending_fin |= fin;
                Ok(())
            }
            _ => self.process_request_input(t, id, data, fin),
        }
    }

    fn process_request_input(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        mut input: Bytes,
        fin: bool,
    ) -> Result<(), H3Error> {
        loop {
            let Some(r) = self.requests.get_mut(&id) else {
                return Ok(());
            };
            match r.recv {
                RecvState::Done => return Ok(()),
                RecvState::Blocked { .. } => {
                    if !input.is_empty() {
                        r.pending.push_back(input);
                    }
                    r.pending_fin |= fin;
                    return Ok(());
                }
                _ => {}
            }
            let Some(event) = r.frames.decode(&mut input)? else {
                break;
            };
            match event {
                FrameEvent::Unknown { .. } => {}
                FrameEvent::DataHeader { len } => match r.recv {
                    // RFC 9114 §4.1: DATA before HEADERS, or after the trailers, is an invalid
                    // frame sequence: H3_FRAME_UNEXPECTED.
                    RecvState::Headers => {
                        return Err(H3Error::new(
                            Code::H3_FRAME_UNEXPECTED,
                            "DATA before HEADERS",
                        ))
                    }
                    RecvState::Trailers => {
                        return Err(H3Error::new(
                            Code::H3_FRAME_UNEXPECTED,
                            "DATA after trailers",
                        ))
                    }
                    _ => {
                        r.received_len = r.received_len.saturating_add(len);
                        // RFC 9114 §4.1.2: DATA beyond the Content-Length is malformed.
                        if r.expected_len.is_some_and(|l| r.received_len > l) {
                            self.message_error(t, id, Code::H3_MESSAGE_ERROR);
                            return Ok(());
                        }
                    }
                },
                FrameEvent::Data(data) => {
                    if !data.is_empty() {
                        self.events.push_back(Event::Data { stream: id, data });
                    }
                }
                FrameEvent::Frame(Frame::Headers(block)) => match r.recv {
                    RecvState::Headers => self.on_headers_frame(t, id, block, false)?,
                    RecvState::Body => self.on_headers_frame(t, id, block, true)?,
                    // RFC 9114 §4.1: HEADERS after the trailers is H3_FRAME_UNEXPECTED.
                    _ => {
                        return Err(H3Error::new(
                            Code::H3_FRAME_UNEXPECTED,
                            "HEADERS after trailers",
                        ))
                    }
                },
                FrameEvent::Frame(Frame::PushPromise { .. }) => {
                    return Err(match self.role {
                        // RFC 9114 §7.2.5: a server MUST treat PUSH_PROMISE as
                        // H3_FRAME_UNEXPECTED.
                        Role::Server => {
                            H3Error::new(Code::H3_FRAME_UNEXPECTED, "PUSH_PROMISE from a client")
                        }
                        // RFC 9114 §7.2.5: a push ID above what the client advertised (we
                        // never send MAX_PUSH_ID) is H3_ID_ERROR.
                        Role::Client => {
                            H3Error::new(Code::H3_ID_ERROR, "PUSH_PROMISE without MAX_PUSH_ID")
                        }
                    });
                }
                FrameEvent::Frame(_) => {
                    return Err(H3Error::new(
                        Code::H3_FRAME_UNEXPECTED,
                        "frame not allowed on a request stream",
                    ))
                }
            }
        }
        if fin {
            self.on_request_fin(t, id)?;
        }
        Ok(())
    }

    fn on_request_fin(&mut self, t: &mut dyn Transport, id: StreamId) -> Result<(), H3Error> {
        let Some(r) = self.requests.get_mut(&id) else {
            return Ok(());
        };
        // RFC 9114 §7.1: a stream that ends cleanly inside a frame is H3_FRAME_ERROR.
        if !r.frames.at_frame_boundary() {
            return Err(H3Error::new(
                Code::H3_FRAME_ERROR,
                "stream ended inside a frame",
            ));
        }
        match r.recv {
            RecvState::Headers => match self.role {
                Role::Server => {
                    // RFC 9114 §4.1: a request stream that ends without a complete request:
                    // the server SHOULD abort its response with H3_REQUEST_INCOMPLETE.
                    r.recv = RecvState::Done;
                    if r.send != SendState::Done {
                        r.send = SendState::Done;
                        t.reset(id, Code::H3_REQUEST_INCOMPLETE);
                    }
                    self.outgoing.remove(&id);
                    self.requests.remove(&id);
                }
                // A response stream that ends without a final response is malformed.
                Role::Client => self.message_error(t, id, Code::H3_MESSAGE_ERROR),
            },
            RecvState::Body | RecvState::Trailers => {
                // RFC 9114 §4.1.2: Content-Length MUST equal the sum of DATA lengths.
                if r.expected_len.is_some_and(|l| l != r.received_len) {
                    self.message_error(t, id, Code::H3_MESSAGE_ERROR);
                    return Ok(());
                }
                r.recv = RecvState::Done;
                self.events.push_back(Event::Finished { stream: id });
                self.maybe_remove(id);
            }
            RecvState::Blocked { .. } => r.pending_fin = true,
            RecvState::Done => {}
        }
        Ok(())
    }

    fn on_headers_frame(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        block: Bytes,
        trailers: bool,
    ) -> Result<(), H3Error> {
        match self.decoder.decode(id.0, &block) {
            Ok(qpack::Decoded::Done(fields)) => self.on_fields(t, id, Fields::Ok(fields), trailers),
            Ok(qpack::Decoded::Blocked) => {
                if let Some(r) = self.requests.get_mut(&id) {
                    r.recv = RecvState::Blocked { trailers };
                }
                Ok(())
            }
            Err(qpack::QpackError::FieldSectionTooLarge { .. }) => {
                self.on_fields(t, id, Fields::TooLarge, trailers)
            }
            Err(e) => Err(qpack_error(e)),
        }
    }

    /// QPACK encoder-stream data unblocked these sections.
    pub(super) fn on_unblocked(
        &mut self,
        t: &mut dyn Transport,
        unblocked: Vec<qpack::Unblocked>,
    ) -> Result<(), H3Error> {
        for u in unblocked {
            let id = StreamId(u.stream_id);
            let Some(r) = self.requests.get_mut(&id) else {
                continue;
            };
            let RecvState::Blocked { trailers } = r.recv else {
                continue;
            };
            r.recv = if trailers {
                RecvState::Body
            } else {
                RecvState::Headers
            };
            let fields = match u.fields {
                Ok(f) => Fields::Ok(f),
                Err(_) => Fields::TooLarge,
            };
            self.on_fields(t, id, fields, trailers)?;
            self.resume(t, id)?;
        }
        Ok(())
    }

    /// Processes input queued while the stream was blocked.
    fn resume(&mut self, t: &mut dyn Transport, id: StreamId) -> Result<(), H3Error> {
        let Some(r) = self.requests.get_mut(&id) else {
            return Ok(());
        };
        let chunks = std::mem::take(&mut r.pending);
        let fin = std::mem::take(&mut r.pending_fin);
        let mut chunks = chunks.into_iter();
        while let Some(chunk) = chunks.next() {
            self.process_request_input(t, id, chunk, false)?;
            if let Some(r) = self.requests.get_mut(&id) {
                if let RecvState::Blocked { .. } = r.recv {
                    r.pending.extend(chunks);
                    r.pending_fin |= fin;
                    return Ok(());
                }
            }
        }
        if fin {
            self.process_request_input(t, id, Bytes::new(), true)?;
        }
        Ok(())
    }

    /// A decoded header or trailer section.
    fn on_fields(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        fields: Fields,
        trailers: bool,
    ) -> Result<(), H3Error> {
        let Some(r) = self.requests.get_mut(&id) else {
            return Ok(());
        };
        if trailers {
            let fields = match fields {
                Fields::Ok(f) => f,
                Fields::TooLarge => {
                    self.message_error(t, id, Code::H3_EXCESSIVE_LOAD);
                    return Ok(());
                }
            };
            // RFC 9114 §4.3: trailers carry no pseudo-headers; fields are checked as usual.
            match message::parse_trailers(fields, self.role == Role::Server) {
                Ok(trailers) => {
                    r.recv = RecvState::Trailers;
                    self.events.push_back(Event::Trailers {
                        stream: id,
                        trailers,
                    });
                }
                Err(e) => self.message_error(t, id, malformed(e)),
            }
            return Ok(());
        }
        match self.role {
            Role::Server => {
                let fields = match fields {
                    Fields::Ok(f) => f,
                    Fields::TooLarge => {
                        self.bad_request(t, id, BadRequest::HeadersTooLarge);
                        return Ok(());
                    }
                };
                match message::parse_request(fields, self.config.enable_connect_protocol) {
                    Ok(parsed) => {
                        let request = parsed.message;
                        r.method = Some(request.method().clone());
                        r.expected_len = parsed.content_length;
                        r.recv = RecvState::Body;
                        // RFC 9218 §5 / §7: the header sets the priority unless a
                        // PRIORITY_UPDATE already did.
                        if !r.priority_from_frame {
                            if let Some(p) = Priority::from_headers(request.headers()) {
                                r.priority = p;
                            }
                        }
                        self.push_priority(t, id);
                        self.events.push_back(Event::Request {
                            stream: id,
                            request,
                        });
                    }
                    // RFC 9114 §4.1.2: malformed requests are a stream error of type
                    // H3_MESSAGE_ERROR; the server MAY answer first.
                    Err(e) => self.bad_request(t, id, BadRequest::Malformed(e.0)),
                }
            }
            Role::Client => {
                let fields = match fields {
                    Fields::Ok(f) => f,
                    Fields::TooLarge => {
                        self.message_error(t, id, Code::H3_EXCESSIVE_LOAD);
                        return Ok(());
                    }
                };
                match message::parse_response(fields) {
                    Ok(parsed) => {
                        let response = parsed.message;
                        if response.status().is_informational() {
                            self.events.push_back(Event::InformationalResponse {
                                stream: id,
                                response,
                            });
                            return Ok(());
                        }
                        r.expected_len = if message::response_has_no_content(
                            r.method.as_ref(),
                            response.status(),
                        ) {
                            Some(0)
                        } else {
                            parsed.content_length
                        };
                        r.recv = RecvState::Body;
                        self.events.push_back(Event::Response {
                            stream: id,
                            response,
                        });
                    }
                    // RFC 9114 §4.1.2: clients MUST NOT accept a malformed response.
                    Err(e) => self.message_error(t, id, malformed(e)),
                }
            }
        }
        Ok(())
    }

    /// Server: stops reading a request that will not be delivered and lets the
    /// application answer it (RFC 9114 §4.1.2).
    fn bad_request(&mut self, t: &mut dyn Transport, id: StreamId, error: BadRequest) {
        let code = match error {
            BadRequest::Malformed(_) => Code::H3_MESSAGE_ERROR,
            BadRequest::HeadersTooLarge => Code::H3_EXCESSIVE_LOAD,
        };
        if let Some(r) = self.requests.get_mut(&id) {
            r.recv = RecvState::Done;
            r.pending.clear();
        }
        t.stop_sending(id, code);
        self.decoder.cancel_stream(id.0);
        self.events
            .push_back(Event::BadRequest { stream: id, error });
    }

    /// A stream error (RFC 9114 §8): reset our side, stop reading theirs, report it.
    pub(super) fn message_error(&mut self, t: &mut dyn Transport, id: StreamId, code: Code) {
        let Some(r) = self.requests.remove(&id) else {
            return;
        };
        if r.send != SendState::Done {
            t.reset(id, code);
        }
        if r.recv != RecvState::Done {
            t.stop_sending(id, code);
            self.decoder.cancel_stream(id.0);
        }
        self.outgoing.remove(&id);
        self.events.push_back(Event::StreamError(StreamError {
            stream: id,
            kind: StreamErrorKind::Local,
            code,
        }));
    }

    /// The peer reset a request stream.
    pub(super) fn on_request_reset(&mut self, t: &mut dyn Transport, id: StreamId, code: Code) {
        let Some(r) = self.requests.get_mut(&id) else {
            if self.role == Role::Server && id.is_request() {
                // Reset before any data: the stream will never open, so a PRIORITY_UPDATE
                // for it is neither kept nor buffered.
                self.on_request_stream_seen(id);
            }
            return;
        };
        if r.recv == RecvState::Done {
            return;
        }
        // RFC 9204 §2.2.2.2: a reset before the end of the stream needs a Stream
        // Cancellation.
        self.decoder.cancel_stream(id.0);
        let delivered =
            r.recv != RecvState::Headers && r.recv != RecvState::Blocked { trailers: false };
        let r = self.requests.remove(&id).expect("present");
        // RFC 9114 §4.1.1: cancel whatever direction is still open.
        if r.send != SendState::Done {
            let ours = if self.role == Role::Server && !delivered {
                // Nothing was processed: the request is rejected.
                Code::H3_REQUEST_REJECTED
            } else {
                Code::H3_REQUEST_CANCELLED
            };
            t.reset(id, ours);
        }
        self.outgoing.remove(&id);
        if delivered || self.role == Role::Client {
            self.events.push_back(Event::StreamError(StreamError {
                stream: id,
                kind: StreamErrorKind::ResetByPeer,
                code,
            }));
        }
    }

    /// Client: the server's GOAWAY rejects our requests at or above `goaway` (RFC 9114 §5.2):
    /// cancel them so the application can retry them elsewhere.
    pub(super) fn reject_above_goaway(&mut self, t: &mut dyn Transport, goaway: u64) {
        let mut ids: Vec<StreamId> = self
            .requests
            .keys()
            .copied()
            .filter(|id| id.0 >= goaway)
            .collect();
        ids.sort_unstable();
        for id in ids {
            let r = self.requests.remove(&id).expect("present");
            if r.send != SendState::Done {
                t.reset(id, Code::H3_REQUEST_CANCELLED);
            }
            if r.recv != RecvState::Done {
                t.stop_sending(id, Code::H3_REQUEST_CANCELLED);
                self.decoder.cancel_stream(id.0);
            }
            self.outgoing.remove(&id);
            self.events.push_back(Event::StreamError(StreamError {
                stream: id,
                kind: StreamErrorKind::Local,
                code: Code::H3_REQUEST_REJECTED,
            }));
        }
    }
}

/// A QPACK connection error (RFC 9204 §6).
pub(super) fn qpack_error(e: qpack::QpackError) -> H3Error {
    let code = Code(e.code().unwrap_or(Code::QPACK_DECOMPRESSION_FAILED.0));
    let reason = match e {
        qpack::QpackError::DecompressionFailed(r)
        | qpack::QpackError::EncoderStream(r)
        | qpack::QpackError::DecoderStream(r) => r,
        qpack::QpackError::FieldSectionTooLarge { .. } => "field section too large",
    };
    H3Error::new(code, reason)
}
