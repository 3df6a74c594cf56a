//! The sending part of a stream (RFC 9000 §3.1): the send buffer, FIN and reset bookkeeping and
//! stream-level send credit.

use std::ops::Range;

use bytes::Bytes;

use super::flow::SendCredit;
use super::send_buffer::SendBuffer;
use crate::coding::VarInt;

/// States of the sending part of a stream (RFC 9000 §3.1, Figure 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendState {
    /// Opened; nothing sent yet.
    Ready,
    /// Data has been sent.
    Send,
    /// The FIN has been sent; waiting for acknowledgments.
    DataSent,
    /// Everything including the FIN was acknowledged (terminal).
    DataRecvd,
    /// A RESET_STREAM was sent (or is queued) and not acknowledged yet.
    ResetSent,
    /// The RESET_STREAM was acknowledged (terminal).
    ResetRecvd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fin {
    /// `finish` not called.
    None,
    /// To be sent (first time or after loss).
    Pending,
    /// In flight.
    Sent,
    /// Acknowledged.
    Acked,
}

/// What the sending part can put in the next frame.
#[derive(Debug)]
pub(crate) enum NextChunk {
    Data {
        offset: u64,
        data: Bytes,
        fin: bool,
        /// Bytes beyond anything sent before: they consume connection credit.
        new_bytes: u64,
    },
    /// New data is waiting but the stream's credit is exhausted.
    BlockedStream,
    /// New data is waiting but the connection's credit is exhausted.
    BlockedConn,
    /// Nothing to send.
    Nothing,
}

#[derive(Debug)]
pub(crate) struct Send {
    state: SendState,
    pub(crate) buf: SendBuffer,
    pub(crate) credit: SendCredit,
    fin: Fin,
    /// Error code and final size of our RESET_STREAM.
    reset: Option<(VarInt, u64)>,
    /// The peer's STOP_SENDING error code.
    stop_code: Option<VarInt>,
    /// A write was refused for lack of buffer space; tell the application when it frees up.
    pub(crate) want_writable: bool,
    /// In the connection's list of streams waiting for MAX_DATA (avoids duplicates there).
    pub(crate) conn_parked: bool,
}

impl Send {
    pub(crate) fn new(max_stream_data: u64) -> Self {
        Self {
            state: SendState::Ready,
            buf: SendBuffer::default(),
            credit: SendCredit::new(max_stream_data),
            fin: Fin::None,
            reset: None,
            stop_code: None,
            want_writable: false,
            conn_parked: false,
        }
    }

    pub(crate) fn state(&self) -> SendState {
        self.state
    }

    pub(crate) fn stop_code(&self) -> Option<VarInt> {
        self.stop_code
    }

    /// The RESET_STREAM to (re)send, while it is unacknowledged.
    pub(crate) fn pending_reset(&self) -> Option<(VarInt, u64)> {
        match self.state {
            SendState::ResetSent => self.reset,
            _ => None,
        }
    }

    /// Whether the application still considers the stream open for sending (not finished and
    /// acknowledged, not reset).
    pub(crate) fn is_live(&self) -> bool {
        matches!(
            self.state,
            SendState::Ready | SendState::Send | SendState::DataSent
        )
    }

    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.state, SendState::DataRecvd | SendState::ResetRecvd)
    }

    /// Whether the application may still write or finish.
    pub(crate) fn is_writable(&self) -> bool {
        matches!(self.state, SendState::Ready | SendState::Send) && self.fin == Fin::None
    }

    /// Whether there is something to transmit, possibly waiting for stream credit.
    pub(crate) fn has_pending(&self) -> bool {
        matches!(
            self.state,
            SendState::Ready | SendState::Send | SendState::DataSent
        ) && (self.buf.has_lost() || self.buf.has_unsent() || self.fin == Fin::Pending)
    }

    /// Whether new data waits only for stream credit.
    pub(crate) fn blocked_by_stream_credit(&self) -> bool {
        self.buf.has_unsent() && self.credit.available() == 0
    }

    /// Stream offset of the next frame: the first lost byte, else the first unsent one.
    pub(crate) fn next_offset(&self) -> u64 {
        self.buf.next_lost(0).map_or(self.buf.sent(), |r| r.start)
    }

    pub(crate) fn finish(&mut self) {
        if self.fin == Fin::None {
            self.fin = Fin::Pending;
        }
    }

    /// The next frame's data: lost data first (RFC 9000 §13.3), then new data within the
    /// stream's and the connection's credit (RFC 9000 §4.1: "Senders MUST NOT send data in
    /// excess of either limit"), then a lone FIN.
    pub(crate) fn next_chunk(&mut self, max_len: u64, conn_credit: u64) -> NextChunk {
        if !matches!(
            self.state,
            SendState::Ready | SendState::Send | SendState::DataSent
        ) {
            return NextChunk::Nothing;
        }
        if max_len == 0 && (self.buf.has_lost() || self.buf.has_unsent()) {
            // No room for data; only a lone FIN could go.
            return NextChunk::Nothing;
        }
        let end = self.buf.end();
        if let Some(range) = self.buf.next_lost(max_len) {
            if range.start < range.end {
                self.buf.mark_retransmitted(range.clone());
                let data = self.buf.get(range.clone());
                let fin = self.take_fin(range.end, end);
                return NextChunk::Data {
                    offset: range.start,
                    data,
                    fin,
                    new_bytes: 0,
                };
            }
        }
        if self.buf.has_unsent() {
            if self.credit.available() == 0 {
                return NextChunk::BlockedStream;
            }
            if conn_credit == 0 {
                return NextChunk::BlockedConn;
            }
            let len = (end - self.buf.sent())
                .min(max_len)
                .min(self.credit.available())
                .min(conn_credit);
            if len == 0 {
                return NextChunk::Nothing;
            }
            let range = self.buf.mark_sent_new(len);
            self.credit.consume(len);
            let data = self.buf.get(range.clone());
            let fin = self.take_fin(range.end, end);
            self.state = if fin {
                SendState::DataSent
            } else {
                SendState::Send
            };
            return NextChunk::Data {
                offset: range.start,
                data,
                fin,
                new_bytes: len,
            };
        }
        if self.fin == Fin::Pending && self.buf.sent() == end {
            self.fin = Fin::Sent;
            self.state = SendState::DataSent;
            return NextChunk::Data {
                offset: end,
                data: Bytes::new(),
                fin: true,
                new_bytes: 0,
            };
        }
        NextChunk::Nothing
    }

    /// Attaches the FIN to a frame ending at the end of the stream, if it still needs sending.
    fn take_fin(&mut self, frame_end: u64, end: u64) -> bool {
        if frame_end == end && self.fin == Fin::Pending {
            self.fin = Fin::Sent;
            true
        } else {
            false
        }
    }

    /// A STREAM frame we sent was acknowledged. Returns the bytes of buffer released and
    /// whether the stream just became fully acknowledged (Data Recvd).
    pub(crate) fn on_ack(&mut self, range: Range<u64>, fin: bool) -> (u64, bool) {
        if !matches!(self.state, SendState::Send | SendState::DataSent) {
            return (0, false);
        }
        let released = self.buf.ack(range);
        if fin && self.fin == Fin::Sent {
            self.fin = Fin::Acked;
        }
        // RFC 9000 §3.1: "Once all stream data has been successfully acknowledged, the sending
        // part of the stream enters the "Data Recvd" state, which is a terminal state."
        if self.fin == Fin::Acked && self.buf.is_fully_acked() {
            self.state = SendState::DataRecvd;
            return (released, true);
        }
        (released, false)
    }

    /// A STREAM frame we sent was declared lost. Returns whether there is now something to
    /// retransmit.
    pub(crate) fn on_lost(&mut self, range: Range<u64>, fin: bool) -> bool {
        if !matches!(self.state, SendState::Send | SendState::DataSent) {
            return false;
        }
        self.buf.lose(range);
        if fin && self.fin == Fin::Sent {
            self.fin = Fin::Pending;
        }
        self.has_pending()
    }

    /// Abandons the stream (RFC 9000 §3.1: from "Ready", "Send" or "Data Sent"). Returns the
    /// bytes of buffer released, or `None` if the stream is already terminal or reset.
    pub(crate) fn reset(&mut self, code: VarInt) -> Option<u64> {
        if !matches!(
            self.state,
            SendState::Ready | SendState::Send | SendState::DataSent
        ) {
            return None;
        }
        // RFC 9000 §4.5: the final size is "one higher than the offset of the byte with the
        // largest offset sent on the stream, or zero if no bytes were sent".
        let final_size = self.buf.sent();
        self.reset = Some((code, final_size));
        self.state = SendState::ResetSent;
        Some(self.buf.clear())
    }

    /// The peer sent STOP_SENDING; returns whether this is news.
    pub(crate) fn on_stop_sending(&mut self, code: VarInt) -> bool {
        if self.stop_code.is_some() {
            return false;
        }
        self.stop_code = Some(code);
        true
    }

    /// Our RESET_STREAM was acknowledged (RFC 9000 §3.1: "Reset Sent" → "Reset Recvd").
    pub(crate) fn on_reset_acked(&mut self) -> bool {
        if self.state == SendState::ResetSent {
            self.state = SendState::ResetRecvd;
            true
        } else {
            false
        }
    }

    /// Checks internal consistency (tests and fuzzing).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn check_invariants(&self) {
        self.buf.check_invariants();
        assert!(
            self.buf.sent() <= self.credit.max(),
            "stream send credit exceeded"
        );
        assert_eq!(self.buf.sent(), self.credit.used());
        if let Some((_, final_size)) = self.reset {
            assert!(final_size <= self.credit.max());
        }
    }
}
