//! Incremental frame decoding from a stream's bytes, which may arrive split at any byte.
//!
//! DATA payloads are handed out as they arrive (slices of the input, no copy); payloads of
//! unknown frames are skipped without buffering; other frames are buffered whole, within
//! [`FrameLimits`]. Which frames a stream may carry (RFC 9114 §7.2, Table 1) is checked as
//! soon as the frame header is complete, before any payload is buffered.

use super::*;
use bytes::Buf;

/// The kind of stream a decoder reads, which decides the frames it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// A peer's control stream: SETTINGS first, then CANCEL_PUSH, GOAWAY, MAX_PUSH_ID,
    /// PRIORITY_UPDATE and unknown frames.
    Control,
    /// A request stream: DATA, HEADERS, PUSH_PROMISE and unknown frames.
    Request,
    /// A push stream: DATA, HEADERS and unknown frames.
    Push,
    /// Any frame, in any order (tests and tooling).
    Any,
}

/// Size bounds for buffered frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest SETTINGS or PRIORITY_UPDATE payload; larger is H3_EXCESSIVE_LOAD (RFC 9114
    /// §10.5: endpoints SHOULD limit the use of unknown protocol elements such as many
    /// unknown settings).
    pub max_control_payload: u64,
    /// Largest HEADERS or PUSH_PROMISE payload; larger is H3_EXCESSIVE_LOAD. Set above the
    /// advertised SETTINGS_MAX_FIELD_SECTION_SIZE, which QPACK enforces on the decoded size.
    pub max_field_section_payload: u64,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_control_payload: 16 * 1024,
            max_field_section_payload: 256 * 1024,
        }
    }
}

/// One step of decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// A complete frame other than DATA or an unknown type.
    Frame(Frame),
    /// A DATA frame header; `len` payload bytes follow as [`FrameEvent::Data`] pieces.
    DataHeader {
        /// Payload length.
        len: u64,
    },
    /// A piece of the current DATA payload.
    Data(Bytes),
    /// A frame of an unknown or reserved type; its payload is skipped (RFC 9114 §9: unknown
    /// frame types MUST be ignored).
    Unknown {
        /// Frame type.
        ty: u64,
        /// Payload length.
        len: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Reading a frame header; `hdr[..hdr_len]` holds what has arrived.
    Header,
    /// Buffering the payload of a frame of type `ty`.
    Payload { ty: u64, len: usize },
    /// Streaming a DATA payload.
    Data { remaining: u64 },
    /// Skipping an unknown payload.
    Skip { remaining: u64 },
    /// A previous error; the stream is unusable.
    Failed(H3Error),
}

/// Incremental decoder for the frames of one stream.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    kind: StreamKind,
    limits: FrameLimits,
    state: State,
    hdr: [u8; 16],
    hdr_len: usize,
    payload: Vec<u8>,
    frames: u64,
}

impl FrameDecoder {
    /// A decoder for a stream of `kind`.
    pub fn new(kind: StreamKind, limits: FrameLimits) -> Self {
        FrameDecoder {
            kind,
            limits,
            state: State::Header,
            hdr: [0; 16],
            hdr_len: 0,
            payload: Vec::new(),
            frames: 0,
        }
    }

    /// Whether the decoder sits between frames, so the stream may end here (RFC 9114 §7.1:
    /// a stream that terminates cleanly inside a frame is H3_FRAME_ERROR).
    pub fn at_frame_boundary(&self) -> bool {
        match self.state {
            State::Header => self.hdr_len == 0,
            State::Data { remaining } | State::Skip { remaining } => remaining == 0,
            State::Payload { .. } | State::Failed(_) => false,
        }
    }

    /// Number of frame headers decoded so far.
    pub fn frames_started(&self) -> u64 {
        self.frames
    }

    /// The bytes of a DATA payload still to come, if inside one.
    pub fn data_remaining(&self) -> Option<u64> {
        match self.state {
            State::Data { remaining } => Some(remaining),
            _ => None,
        }
    }

    /// Decodes the next event from the front of `input`, consuming what it uses. `Ok(None)`
    /// means `input` is exhausted (whatever was partial is kept for the next call). After an
    /// error, every later call returns the same error.
    pub fn decode(&mut self, input: &mut Bytes) -> Result<Option<FrameEvent>, H3Error> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Header => {
                    if !self.read_header(input) {
                        return Ok(None);
                    }
                    let (ty, n) = varint::decode(&self.hdr).expect("header complete");
                    let (len, _) = varint::decode(&self.hdr[n..]).expect("header complete");
                    self.hdr_len = 0;
                    match self.on_header(ty, len) {
                        Ok(Some(event)) => return Ok(Some(event)),
                        Ok(None) => continue,
                        Err(e) => {
                            self.state = State::Failed(e.clone());
                            return Err(e);
                        }
                    }
                }
                State::Data { remaining } => {
                    if *remaining == 0 {
                        self.state = State::Header;
                        continue;
                    }
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let n = clamp(*remaining, input.len());
                    *remaining -= n as u64;
                    return Ok(Some(FrameEvent::Data(input.split_to(n))));
                }
                State::Skip { remaining } => {
                    let n = clamp(*remaining, input.len());
                    *remaining -= n as u64;
                    input.advance(n);
                    if *remaining > 0 {
                        return Ok(None);
                    }
                    self.state = State::Header;
                }
                State::Payload { ty, len } => {
                    let (ty, len) = (*ty, *len);
                    let payload = if self.payload.is_empty() && input.len() >= len {
                        // The whole payload is here: no copy.
                        input.split_to(len)
                    } else {
                        let n = (len - self.payload.len()).min(input.len());
                        self.payload.extend_from_slice(&input[..n]);
                        input.advance(n);
                        if self.payload.len() < len {
                            return Ok(None);
                        }
                        Bytes::from(std::mem::take(&mut self.payload))
                    };
                    self.state = State::Header;
                    return match parse_payload(ty, payload) {
                        Ok(frame) => Ok(Some(FrameEvent::Frame(frame))),
                        Err(e) => {
                            self.state = State::Failed(e.clone());
                            Err(e)
                        }
                    };
                }
            }
        }
    }

    /// Moves header bytes from `input` into `hdr`; true once type and length are complete.
    fn read_header(&mut self, input: &mut Bytes) -> bool {
        loop {
            // Type varint, then the first byte of the length varint, then the rest of it.
            let need = if self.hdr_len == 0 {
                1
            } else {
                let tlen = varint::len_from_first_byte(self.hdr[0]);
                if self.hdr_len <= tlen {
                    tlen + 1
                } else {
                    tlen + varint::len_from_first_byte(self.hdr[tlen])
                }
            };
            if self.hdr_len == need {
                return true;
            }
            if input.is_empty() {
                return false;
            }
            let n = (need - self.hdr_len).min(input.len());
            self.hdr[self.hdr_len..self.hdr_len + n].copy_from_slice(&input[..n]);
            self.hdr_len += n;
            input.advance(n);
        }
    }

    /// Validates a frame header against the stream kind and limits, and picks the next state.
    fn on_header(&mut self, ty: u64, len: u64) -> Result<Option<FrameEvent>, H3Error> {
        self.frames += 1;
        let first = self.frames == 1;
        // RFC 9114 §7.2.8: HTTP/2 frame types MUST be treated as H3_FRAME_UNEXPECTED.
        if is_http2_reserved(ty) {
            return Err(H3Error::new(
                Code::H3_FRAME_UNEXPECTED,
                "reserved HTTP/2 frame type",
            ));
        }
        if self.kind == StreamKind::Control {
            // RFC 9114 §6.2.1: the first frame of a control stream MUST be SETTINGS, else
            // H3_MISSING_SETTINGS (unknown frame types included).
            if first && ty != SETTINGS {
                return Err(H3Error::new(
                    Code::H3_MISSING_SETTINGS,
                    "first control frame is not SETTINGS",
                ));
            }
            // RFC 9114 §7.2.4: a second SETTINGS frame is H3_FRAME_UNEXPECTED.
            if !first && ty == SETTINGS {
                return Err(H3Error::new(
                    Code::H3_FRAME_UNEXPECTED,
                    "second SETTINGS frame",
                ));
            }
        }
        if !is_known(ty) {
            // RFC 9114 §9: unknown types (GREASE included) are ignored on every stream.
            self.state = State::Skip { remaining: len };
            return Ok(Some(FrameEvent::Unknown { ty, len }));
        }
        if !allowed(self.kind, ty) {
            // RFC 9114 §7.2.1-§7.2.7 and RFC 9218 §7.2: a frame on a stream type that may not
            // carry it is H3_FRAME_UNEXPECTED.
            return Err(H3Error::new(
                Code::H3_FRAME_UNEXPECTED,
                "frame not allowed on this stream",
            ));
        }
        let max = match ty {
            DATA => {
                self.state = State::Data { remaining: len };
                return Ok(Some(FrameEvent::DataHeader { len }));
            }
            // One varint: 1 to 8 bytes (RFC 9114 §7.1, H3_FRAME_ERROR otherwise).
            CANCEL_PUSH | GOAWAY | MAX_PUSH_ID => {
                if len == 0 || len > 8 {
                    return Err(H3Error::new(
                        Code::H3_FRAME_ERROR,
                        "frame payload does not match its length",
                    ));
                }
                8
            }
            HEADERS | PUSH_PROMISE => self.limits.max_field_section_payload,
            _ => self.limits.max_control_payload,
        };
        if len > max {
            // RFC 9114 §10.5: endpoints SHOULD limit what they commit; an oversized frame is
            // H3_EXCESSIVE_LOAD.
            return Err(H3Error::new(Code::H3_EXCESSIVE_LOAD, "frame too large"));
        }
        let len = len as usize;
        self.payload = Vec::new();
        self.state = State::Payload { ty, len };
        Ok(None)
    }
}

/// RFC 9114 §7.2 Table 1 and RFC 9218 §7.2: which known frames each stream kind carries.
fn allowed(kind: StreamKind, ty: u64) -> bool {
    match kind {
        StreamKind::Any => true,
        StreamKind::Control => matches!(
            ty,
            CANCEL_PUSH
                | SETTINGS
                | GOAWAY
                | MAX_PUSH_ID
                | PRIORITY_UPDATE_REQUEST
                | PRIORITY_UPDATE_PUSH
        ),
        StreamKind::Request => matches!(ty, DATA | HEADERS | PUSH_PROMISE),
        // RFC 9114 §4.1: PUSH_PROMISE on a push stream is H3_FRAME_UNEXPECTED.
        StreamKind::Push => matches!(ty, DATA | HEADERS),
    }
}

fn clamp(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}
