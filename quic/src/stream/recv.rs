//! The receiving part of a stream (RFC 9000 §3.2): reassembly, final size rules (§4.5) and
//! stream-level flow control (§4.1).

use bytes::Bytes;

use super::assembler::Assembler;
use super::flow::RecvWindow;
use crate::coding::VarInt;
use crate::TransportError;

/// States of the receiving part of a stream (RFC 9000 §3.2, Figure 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvState {
    /// Receiving data; the final size is not known yet.
    Recv,
    /// A FIN has been received: the final size is known, some data may be missing.
    SizeKnown,
    /// Every byte up to the final size has been received.
    DataRecvd,
    /// The peer reset the stream; the application has not been told yet.
    ResetRecvd,
    /// The application has read everything including the end of the stream (terminal).
    DataRead,
    /// The application has been told about the reset (terminal).
    ResetRead,
}

/// What an incoming frame changed, for the connection-level bookkeeping.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecvDelta {
    /// Growth of the largest received offset: counts against connection flow control.
    pub(crate) new_bytes: u64,
    /// Bytes that count as consumed without being read (discarded after STOP_SENDING or a
    /// reset): they give connection credit back.
    pub(crate) released: u64,
    /// The application should be told the stream is readable (data, FIN or reset).
    pub(crate) notify: bool,
}

#[derive(Debug)]
pub(crate) struct Recv {
    state: RecvState,
    asm: Assembler,
    final_size: Option<u64>,
    /// Largest offset received (end of the furthest frame); RFC 9000 §4.1 counts this, not the
    /// bytes held, against flow control.
    received: u64,
    pub(crate) window: RecvWindow,
    /// Set when the application stopped reading (STOP_SENDING, §3.5).
    stopped: Option<VarInt>,
    reset_code: Option<VarInt>,
}

impl Recv {
    pub(crate) fn new(window: u64, max_window: u64) -> Self {
        Self {
            state: RecvState::Recv,
            asm: Assembler::default(),
            final_size: None,
            received: 0,
            window: RecvWindow::new(window, max_window),
            stopped: None,
            reset_code: None,
        }
    }

    pub(crate) fn state(&self) -> RecvState {
        self.state
    }

    #[cfg(any(test, fuzzing))]
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.is_some()
    }

    /// The error code of our STOP_SENDING, if the application stopped reading.
    pub(crate) fn stop_code(&self) -> Option<crate::coding::VarInt> {
        self.stopped
    }

    pub(crate) fn buffered(&self) -> u64 {
        self.asm.buffered()
    }

    /// Whether the peer may still need credit on this stream (RFC 9000 §13.3: stop sending
    /// MAX_STREAM_DATA once the final size is known or the stream was reset).
    pub(crate) fn wants_credit(&self) -> bool {
        self.state == RecvState::Recv && self.stopped.is_none()
    }

    /// Whether a STOP_SENDING is still meaningful (RFC 9000 §13.3: retransmitted "until the
    /// receiving part of the stream enters either a Data Recvd or Reset Recvd state").
    pub(crate) fn wants_stop_sending(&self) -> bool {
        self.stopped.is_some() && matches!(self.state, RecvState::Recv | RecvState::SizeKnown)
    }

    /// The receiving part needs no more state: the application has seen its end, or it
    /// stopped reading and the final size (all the flow-control accounting needs) is known.
    ///
    /// "Reset Recvd" counts as closed: the application learns of the reset from an event
    /// carrying the error code, so the stream's resources need not wait for it to read.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(
            self.state,
            RecvState::DataRead | RecvState::ResetRecvd | RecvState::ResetRead
        ) || (self.stopped.is_some() && self.final_size.is_some())
    }

    /// A STREAM frame (RFC 9000 §19.8).
    pub(crate) fn ingest(
        &mut self,
        offset: u64,
        data: Bytes,
        fin: bool,
    ) -> Result<RecvDelta, TransportError> {
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&e| e <= VarInt::MAX.into_inner())
            // RFC 9000 §19.8: an end beyond 2^62-1 "MUST be treated as a connection error of
            // type FRAME_ENCODING_ERROR or FLOW_CONTROL_ERROR".
            .ok_or_else(|| TransportError::flow_control_error("stream offset beyond 2^62-1"))?;
        if let Some(final_size) = self.final_size {
            // RFC 9000 §4.5: data at or beyond the final size, or a FIN that changes it, is a
            // FINAL_SIZE_ERROR.
            if end > final_size {
                return Err(TransportError::final_size_error(
                    "data beyond the final size",
                ));
            }
            if fin && end != final_size {
                return Err(TransportError::final_size_error("final size changed"));
            }
        }
        if fin && end < self.received {
            // RFC 9000 §4.5 (and §19.8): a final size below data already received.
            return Err(TransportError::final_size_error(
                "final size below data already received",
            ));
        }
        // RFC 9000 §4.1: "A receiver MUST close the connection with an error of type
        // FLOW_CONTROL_ERROR if the sender violates the advertised connection or stream data
        // limits".
        if end > self.window.max() {
            return Err(TransportError::flow_control_error(
                "stream data beyond MAX_STREAM_DATA",
            ));
        }
        let mut delta = RecvDelta {
            new_bytes: end.saturating_sub(self.received),
            ..RecvDelta::default()
        };
        self.received = self.received.max(end);
        if fin && self.final_size.is_none() {
            self.final_size = Some(end);
            if self.state == RecvState::Recv {
                self.state = RecvState::SizeKnown;
            }
        }
        match self.state {
            RecvState::Recv | RecvState::SizeKnown => {}
            // Late or duplicate data after everything arrived or after a reset: already counted.
            _ => return Ok(delta),
        }
        if self.stopped.is_some() {
            // RFC 9000 §3.5: frames received after STOP_SENDING "are still counted toward
            // connection and stream flow control, even though these frames can be discarded".
            delta.released = self.release_all();
            return Ok(delta);
        }
        let became_readable = self.asm.insert(offset, data);
        let complete = self
            .final_size
            .is_some_and(|f| self.asm.contiguous_end() == f);
        if complete {
            self.state = RecvState::DataRecvd;
        }
        delta.notify = became_readable || (complete && !self.asm.has_readable());
        Ok(delta)
    }

    /// A RESET_STREAM frame (RFC 9000 §19.4).
    pub(crate) fn reset(
        &mut self,
        code: VarInt,
        final_size: u64,
    ) -> Result<RecvDelta, TransportError> {
        // RFC 9000 §4.5: "If a RESET_STREAM or STREAM frame is received indicating a change in
        // the final size for the stream, an endpoint SHOULD respond with an error of type
        // FINAL_SIZE_ERROR".
        if let Some(known) = self.final_size {
            if known != final_size {
                return Err(TransportError::final_size_error(
                    "RESET_STREAM changes the final size",
                ));
            }
        }
        if final_size < self.received {
            return Err(TransportError::final_size_error(
                "RESET_STREAM final size below data received",
            ));
        }
        // RFC 9000 §4.1: the final size counts as data sent, so it must respect our limit.
        if final_size > self.window.max() {
            return Err(TransportError::flow_control_error(
                "RESET_STREAM final size beyond MAX_STREAM_DATA",
            ));
        }
        let mut delta = RecvDelta {
            new_bytes: final_size - self.received,
            ..RecvDelta::default()
        };
        self.received = final_size;
        self.final_size = Some(final_size);
        match self.state {
            RecvState::Recv | RecvState::SizeKnown => {
                // RFC 9000 §4.5: "The receiver MUST use the final size of the stream to account
                // for all bytes sent on the stream in its connection-level flow controller":
                // unread bytes are released so the connection window moves on.
                delta.released = self.release_all();
                self.reset_code = Some(code);
                if self.stopped.is_some() {
                    // The application already gave up on the stream; nothing to report.
                    self.state = RecvState::ResetRead;
                } else {
                    self.state = RecvState::ResetRecvd;
                    delta.notify = true;
                }
            }
            // RFC 9000 §3.2: once all data is received, a reset may be ignored; the application
            // still gets the complete data.
            _ => {}
        }
        Ok(delta)
    }

    /// Drops buffered data and counts everything received as consumed; returns the bytes
    /// released back to the connection window.
    fn release_all(&mut self) -> u64 {
        let target = self.final_size.unwrap_or(self.received);
        let released = target.saturating_sub(self.window_consumed());
        self.asm.discard_to(target);
        self.window.consume(released);
        released
    }

    /// Bytes read or discarded so far (the assembler's read offset tracks it exactly until
    /// data is discarded, after which both move together).
    fn window_consumed(&self) -> u64 {
        self.asm.read_offset()
    }

    /// The application reads up to `max` bytes. `Ok(None)` is the end of the stream.
    pub(crate) fn read(&mut self, max: usize) -> Result<Option<Bytes>, super::ReadError> {
        use super::ReadError;
        if self.stopped.is_some() {
            return Err(ReadError::ClosedStream);
        }
        match self.state {
            RecvState::ResetRecvd => {
                self.state = RecvState::ResetRead;
                return Err(ReadError::Reset(self.reset_code.unwrap_or_default()));
            }
            RecvState::DataRead | RecvState::ResetRead => return Err(ReadError::ClosedStream),
            _ => {}
        }
        if max == 0 && self.asm.has_readable() {
            return Ok(Some(Bytes::new()));
        }
        if let Some(chunk) = self.asm.read(max) {
            self.window.consume(chunk.len() as u64);
            return Ok(Some(chunk));
        }
        if self.state == RecvState::DataRecvd {
            self.state = RecvState::DataRead;
            return Ok(None);
        }
        Err(ReadError::Blocked)
    }

    /// The application reads into `buf`. `Ok(None)` is the end of the stream; a FIN is only
    /// reported by a call that copied nothing, so no byte and no end is ever lost.
    pub(crate) fn read_into(&mut self, buf: &mut [u8]) -> Result<Option<usize>, super::ReadError> {
        let mut filled = 0;
        while filled < buf.len() && self.stopped.is_none() && self.asm.has_readable() {
            let Some(chunk) = self.asm.read(buf.len() - filled) else {
                break;
            };
            buf[filled..filled + chunk.len()].copy_from_slice(&chunk);
            filled += chunk.len();
            self.window.consume(chunk.len() as u64);
        }
        if filled > 0 {
            return Ok(Some(filled));
        }
        if buf.is_empty() && self.asm.has_readable() {
            return Ok(Some(0));
        }
        self.read(0).map(|c| c.map(|_| 0))
    }

    /// The application stops reading (RFC 9000 §3.5). Returns the bytes released to the
    /// connection window and whether a STOP_SENDING frame should be sent.
    pub(crate) fn stop(&mut self, code: VarInt) -> (u64, bool) {
        if self.stopped.is_some() {
            return (0, false);
        }
        match self.state {
            RecvState::Recv | RecvState::SizeKnown => {
                self.stopped = Some(code);
                // RFC 9000 §3.5: "If the stream is in the "Recv" or "Size Known" state, the
                // transport SHOULD signal this by sending a STOP_SENDING frame".
                (self.release_all(), true)
            }
            RecvState::DataRecvd => {
                self.stopped = Some(code);
                let released = self.release_all();
                self.state = RecvState::DataRead;
                (released, false)
            }
            RecvState::ResetRecvd => {
                self.stopped = Some(code);
                self.state = RecvState::ResetRead;
                (0, false)
            }
            RecvState::DataRead | RecvState::ResetRead => (0, false),
        }
    }

    /// Checks internal consistency (tests and fuzzing).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn check_invariants(&self) {
        self.asm.check_invariants();
        assert!(
            self.received <= self.window.max(),
            "stream flow control exceeded"
        );
        assert!(self.asm.read_offset() + self.asm.buffered() <= self.received);
        assert_eq!(self.window.consumed(), self.asm.read_offset());
        if let Some(f) = self.final_size {
            assert_eq!(f, self.received, "final size and largest offset disagree");
        }
    }
}
