//! The HTTP/3 connection state machine (client and server), driven by the caller: incoming
//! stream events go in through `on_*` methods, outgoing operations go out through a
//! [`Transport`], and what the application must see comes out of [`Connection::poll_event`].
//!
//! Layout: this file holds the types, the public entry points and connection errors;
//! `local` the streams we write (control, QPACK, requests and responses); `uni` the peer's
//! unidirectional streams (control frames, QPACK instructions); `request` the receiving side
//! of request streams (frames to messages, validation, blocked header sections); `priority`
//! RFC 9218 priorities (signals, PRIORITY_UPDATE, the transport's scheduler).

mod local;
mod priority;
mod request;
mod uni;

use crate::error::{Code, ConnectionError, H3Error, StreamError};
use crate::frame::FrameLimits;
use crate::priority::Priority;
use crate::settings::Settings;
use crate::transport::Transport;
use crate::StreamId;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use std::collections::{HashMap, VecDeque};

use local::{LocalUni, SendBuf};
use priority::SeenRequests;
use request::RequestStream;
use uni::PeerUni;

/// Which end of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends requests.
    Client,
    /// Receives requests.
    Server,
}

/// Local settings and limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// SETTINGS_MAX_FIELD_SECTION_SIZE we advertise and enforce on received header and
    /// trailer sections (RFC 9114 §4.2.2).
    pub max_field_section_size: u64,
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY we advertise: our decoder's dynamic table.
    pub qpack_max_table_capacity: u64,
    /// SETTINGS_QPACK_BLOCKED_STREAMS we advertise.
    pub qpack_blocked_streams: u64,
    /// Upper bound on our encoder's dynamic table, whatever the peer allows.
    pub encoder_max_table_capacity: u64,
    /// Advertise SETTINGS_ENABLE_CONNECT_PROTOCOL and accept `:protocol` (RFC 9220).
    pub enable_connect_protocol: bool,
    /// Advertise SETTINGS_H3_DATAGRAM (RFC 9297); datagrams themselves are not handled here.
    pub h3_datagram: bool,
    /// Send GREASE: a reserved setting, a reserved frame on the control stream and a reserved
    /// unidirectional stream (RFC 9114 §6.2.3, §7.2.4.1, §7.2.8).
    pub grease: bool,
    /// Buffered-frame size limits.
    pub frame_limits: FrameLimits,
    /// PRIORITY_UPDATE frames kept for request streams not opened yet (RFC 9218 §7: bounded
    /// by local policy; more are dropped).
    pub max_pending_priority_updates: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_field_section_size: 64 * 1024,
            qpack_max_table_capacity: 4096,
            qpack_blocked_streams: 16,
            encoder_max_table_capacity: 4096,
            enable_connect_protocol: false,
            h3_datagram: false,
            grease: true,
            frame_limits: FrameLimits::default(),
            max_pending_priority_updates: 256,
        }
    }
}

/// Why a server could not accept a request; it may answer with [`BadRequest::status`]
/// before finishing the stream (RFC 9114 §4.1.2), or reset it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadRequest {
    /// The request is malformed (RFC 9114 §4.1.2); reading was stopped with
    /// H3_MESSAGE_ERROR.
    Malformed(&'static str),
    /// The header section exceeds our SETTINGS_MAX_FIELD_SECTION_SIZE (RFC 9114 §4.2.2);
    /// reading was stopped with H3_EXCESSIVE_LOAD.
    HeadersTooLarge,
}

impl BadRequest {
    /// The status to answer with: 400, or 431 for an oversized header section.
    pub fn status(&self) -> StatusCode {
        match self {
            BadRequest::Malformed(_) => StatusCode::BAD_REQUEST,
            BadRequest::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        }
    }
}

/// What the application learns from the connection, in order.
#[derive(Debug)]
pub enum Event {
    /// The peer's SETTINGS arrived.
    PeerSettings(Settings),
    /// Server: a new, valid request. Its body follows as `Data`, then optional `Trailers`,
    /// then `Finished`.
    Request {
        /// The request stream.
        stream: StreamId,
        /// Method, URI, headers (version HTTP/3).
        request: Request<()>,
    },
    /// Server: a request that will not be delivered (RFC 9114 §4.1.2). The stream's send
    /// side is still open: answer with `send_response` (e.g. `error.status()`) and
    /// `finish`, or `reset_stream`.
    BadRequest {
        /// The request stream.
        stream: StreamId,
        /// What is wrong.
        error: BadRequest,
    },
    /// Client: an interim (1xx) response.
    InformationalResponse {
        /// The request stream.
        stream: StreamId,
        /// The interim response.
        response: Response<()>,
    },
    /// Client: the final response. Its body follows as `Data`, then optional `Trailers`,
    /// then `Finished`.
    Response {
        /// The request stream.
        stream: StreamId,
        /// Status and headers.
        response: Response<()>,
    },
    /// A piece of the peer's message body.
    Data {
        /// The request stream.
        stream: StreamId,
        /// Body bytes.
        data: Bytes,
    },
    /// The peer's trailer section.
    Trailers {
        /// The request stream.
        stream: StreamId,
        /// Trailer fields.
        trailers: HeaderMap,
    },
    /// The peer's message is complete (FIN after a valid message).
    Finished {
        /// The request stream.
        stream: StreamId,
    },
    /// A request stream ended abnormally: reset or stopped by the peer, or reset by us
    /// because the peer's message was malformed, or rejected by the peer's GOAWAY (code
    /// H3_REQUEST_REJECTED: safe to retry elsewhere).
    StreamError(StreamError),
    /// Server: a PRIORITY_UPDATE changed a request stream's priority (RFC 9218 §7).
    PriorityUpdate {
        /// The request stream.
        stream: StreamId,
        /// The new priority.
        priority: Priority,
    },
    /// The peer sent GOAWAY (RFC 9114 §5.2): a stream ID from a server, a push ID from a
    /// client. No new requests may be sent.
    GoAway {
        /// The identifier carried.
        id: u64,
    },
    /// The connection is closed; nothing more will happen.
    Closed(ConnectionError),
}

/// One HTTP/3 connection.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    closed: Option<ConnectionError>,
    events: VecDeque<Event>,
    grease_seed: u64,

    // Our streams.
    control: LocalUni,
    encoder_stream: LocalUni,
    decoder_stream: LocalUni,
    grease_stream_done: bool,
    outgoing: HashMap<StreamId, SendBuf>,

    // The peer's unidirectional streams.
    peer_uni: HashMap<StreamId, PeerUni>,
    peer_control: Option<StreamId>,
    peer_encoder: Option<StreamId>,
    peer_decoder: Option<StreamId>,
    peer_settings: Option<Settings>,

    // Request streams.
    requests: HashMap<StreamId, RequestStream>,
    /// Server: highest request stream ID seen.
    max_request_seen: Option<StreamId>,
    /// Server: request streams seen so far, to tell a PRIORITY_UPDATE for a stream not
    /// opened yet from one for a stream already gone.
    seen_requests: SeenRequests,
    /// Server: PRIORITY_UPDATEs for request streams not opened yet (RFC 9218 §7).
    pending_priorities: HashMap<StreamId, Priority>,

    // QPACK.
    encoder: qpack::Encoder,
    decoder: qpack::Decoder,

    // Shutdown (RFC 9114 §5.2).
    goaway_sent: Option<u64>,
    goaway_received: Option<u64>,
    /// Server: the client's MAX_PUSH_ID (we never push; kept to check it never decreases).
    peer_max_push_id: Option<u64>,
}

impl Connection {
    /// A connection in `role` with `config`. Nothing is sent until the first call that takes
    /// a transport (e.g. [`Connection::start`]).
    pub fn new(role: Role, config: Config) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let grease_seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let encoder = qpack::Encoder::new(
            qpack::EncoderConfig {
                max_table_capacity: config.encoder_max_table_capacity,
                ..qpack::EncoderConfig::default()
            }
            .with_sensitive_defaults(),
        );
        let decoder = qpack::Decoder::new(qpack::DecoderConfig {
            max_table_capacity: config.qpack_max_table_capacity,
            max_blocked_streams: config.qpack_blocked_streams,
            max_field_section_size: config.max_field_section_size,
            start_at_max_capacity: false,
        });
        Connection {
            role,
            config,
            closed: None,
            events: VecDeque::new(),
            grease_seed,
            control: LocalUni::default(),
            encoder_stream: LocalUni::default(),
            decoder_stream: LocalUni::default(),
            grease_stream_done: false,
            outgoing: HashMap::new(),
            peer_uni: HashMap::new(),
            peer_control: None,
            peer_encoder: None,
            peer_decoder: None,
            peer_settings: None,
            requests: HashMap::new(),
            max_request_seen: None,
            seen_requests: SeenRequests::default(),
            pending_priorities: HashMap::new(),
            encoder,
            decoder,
            goaway_sent: None,
            goaway_received: None,
            peer_max_push_id: None,
        }
    }

    /// A client connection.
    pub fn client(config: Config) -> Self {
        Connection::new(Role::Client, config)
    }

    /// A server connection.
    pub fn server(config: Config) -> Self {
        Connection::new(Role::Server, config)
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The peer's SETTINGS, once received.
    pub fn peer_settings(&self) -> Option<&Settings> {
        self.peer_settings.as_ref()
    }

    /// Why the connection closed, if it has.
    pub fn closed(&self) -> Option<&ConnectionError> {
        self.closed.as_ref()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The GOAWAY identifier we sent, if any.
    pub fn goaway_sent(&self) -> Option<u64> {
        self.goaway_sent
    }

    /// The GOAWAY identifier the peer sent, if any.
    pub fn goaway_received(&self) -> Option<u64> {
        self.goaway_received
    }

    /// Number of request streams with state.
    pub fn active_requests(&self) -> usize {
        self.requests.len()
    }

    /// Whether a graceful shutdown (GOAWAY either way) has finished: no request stream is
    /// left, so the connection can be closed with H3_NO_ERROR (RFC 9114 §5.2).
    pub fn is_drained(&self) -> bool {
        (self.goaway_sent.is_some() || self.goaway_received.is_some()) && self.requests.is_empty()
    }

    /// The current priority of a request stream (RFC 9218), as the transport's send
    /// scheduler has it: the request's `priority` header (default u=3, not incremental),
    /// replaced by each later signal — a PRIORITY_UPDATE (even one that arrived before the
    /// stream), a server's response `priority` header (only the parameters it carries) or
    /// [`Connection::set_priority`]. `None` for unknown or finished streams.
    pub fn priority(&self, stream: StreamId) -> Option<Priority> {
        self.requests.get(&stream).map(|r| r.priority)
    }

    /// Our control, QPACK encoder and QPACK decoder streams, once opened.
    pub fn local_streams(&self) -> [Option<StreamId>; 3] {
        [
            self.control.id,
            self.encoder_stream.id,
            self.decoder_stream.id,
        ]
    }

    /// The dynamic table use of both QPACK directions: (our encoder's insert count, our
    /// decoder's insert count).
    pub fn qpack_insert_counts(&self) -> (u64, u64) {
        (self.encoder.insert_count(), self.decoder.insert_count())
    }

    /// Opens our control stream (sending SETTINGS first, RFC 9114 §6.2.1) and QPACK streams
    /// (RFC 9204 §4.2). Every other call taking a transport does this too, retrying streams
    /// the transport could not open yet; call it as soon as the transport can send (RFC 9114
    /// §7.2.4.2: SETTINGS MUST be sent as soon as the transport is ready).
    pub fn start(&mut self, t: &mut dyn Transport) -> Result<(), ConnectionError> {
        self.check_open()?;
        self.open_local_streams(t);
        self.result()
    }

    /// Incoming bytes on stream `id` (in order; `fin` when they end the stream).
    pub fn on_stream_data(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        data: Bytes,
        fin: bool,
    ) -> Result<(), ConnectionError> {
        self.check_open()?;
        self.open_local_streams(t);
        let r = if id.is_bidi() {
            self.on_bidi_data(t, id, data, fin)
        } else if id.is_client_initiated() != (self.role == Role::Client) {
            self.on_uni_data(t, id, data, fin)
        } else {
            // Our own unidirectional streams never carry peer data; the transport does not
            // deliver any.
            Ok(())
        };
        self.finish_call(t, r)
    }

    /// The peer reset stream `id` (RESET_STREAM with `code`).
    pub fn on_stream_reset(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        code: Code,
    ) -> Result<(), ConnectionError> {
        self.check_open()?;
        let r = if id.is_bidi() {
            self.on_request_reset(t, id, code);
            Ok(())
        } else {
            self.on_uni_reset(t, id)
        };
        self.finish_call(t, r)
    }

    /// The peer asked us to stop sending on stream `id` (STOP_SENDING with `code`). The
    /// transport resets the stream itself (RFC 9000 §3.5); here we drop what was queued.
    pub fn on_stop_sending(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        code: Code,
    ) -> Result<(), ConnectionError> {
        self.check_open()?;
        let r = self.on_peer_stop_sending(t, id, code);
        self.finish_call(t, r)
    }

    /// The transport can take more data on stream `id`: queued bytes are written.
    pub fn on_stream_writable(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
    ) -> Result<(), ConnectionError> {
        self.check_open()?;
        self.open_local_streams(t);
        let r = self.flush_stream(t, id);
        self.finish_call(t, r)
    }

    /// The transport connection closed (by the peer, or idle timeout: pass
    /// [`Code::H3_NO_ERROR`]).
    pub fn on_connection_closed(&mut self, code: Code, reason: Bytes) {
        if self.closed.is_none() {
            let e = ConnectionError::Remote { code, reason };
            self.closed = Some(e.clone());
            self.events.push_back(Event::Closed(e));
        }
    }

    /// Closes the connection with `code` (H3_NO_ERROR after a graceful shutdown).
    pub fn close(&mut self, t: &mut dyn Transport, code: Code, reason: &'static str) {
        if self.closed.is_none() {
            self.fail(t, H3Error::new(code, reason));
        }
    }

    fn check_open(&self) -> Result<(), ConnectionError> {
        match &self.closed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn result(&self) -> Result<(), ConnectionError> {
        self.check_open()
    }

    /// Turns an internal result into the public one, closing the connection on error and
    /// sending QPACK decoder-stream bytes produced along the way.
    fn finish_call(
        &mut self,
        t: &mut dyn Transport,
        r: Result<(), H3Error>,
    ) -> Result<(), ConnectionError> {
        if let Err(e) = r {
            self.fail(t, e);
        }
        if self.closed.is_none() {
            self.flush_decoder_stream(t);
        }
        self.result()
    }

    /// A connection error (RFC 9114 §8): close the transport with its code.
    fn fail(&mut self, t: &mut dyn Transport, e: H3Error) {
        if self.closed.is_some() {
            return;
        }
        tracing::debug!(code = ?e.code, reason = %e.reason, "closing HTTP/3 connection");
        t.close(e.code, e.reason.as_bytes());
        let err = ConnectionError::Local(e);
        self.closed = Some(err.clone());
        self.events.push_back(Event::Closed(err));
    }

    fn on_bidi_data(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        data: Bytes,
        fin: bool,
    ) -> Result<(), H3Error> {
        if !id.is_client_initiated() {
            if self.role == Role::Client {
                // RFC 9114 §6.1: clients MUST treat a server-initiated bidirectional stream
                // as H3_STREAM_CREATION_ERROR.
                return Err(H3Error::new(
                    Code::H3_STREAM_CREATION_ERROR,
                    "server-initiated bidirectional stream",
                ));
            }
            return Ok(());
        }
        if !self.requests.contains_key(&id) {
            if self.role == Role::Client {
                // A stream we no longer track (finished or reset): late data is dropped.
                return Ok(());
            }
            if !self.accept_request_stream(t, id) {
                return Ok(());
            }
        }
        self.on_request_data(t, id, data, fin)
    }
}

#[cfg(test)]
mod tests;
