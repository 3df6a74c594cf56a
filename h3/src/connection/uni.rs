//! The peer's unidirectional streams (RFC 9114 §6.2): stream types, the control stream and
//! its frames, and the QPACK encoder and decoder streams (RFC 9204 §4.2).

use super::local::{STREAM_CONTROL, STREAM_PUSH, STREAM_QPACK_DECODER, STREAM_QPACK_ENCODER};
use super::request::qpack_error;
use super::{Connection, Event, Role};
use crate::error::{Code, H3Error};
use crate::frame::{Frame, FrameDecoder, FrameEvent, StreamKind};
use crate::transport::Transport;
use crate::{varint, StreamId};
use bytes::{Buf, Bytes};

/// A peer unidirectional stream.
#[derive(Debug)]
pub(super) enum PeerUni {
    /// The stream type has not fully arrived.
    Unidentified { buf: [u8; 8], len: usize },
    /// The peer's control stream.
    Control(Box<FrameDecoder>),
    /// The peer's QPACK encoder stream (feeds our decoder).
    Encoder,
    /// The peer's QPACK decoder stream (feeds our encoder).
    Decoder,
    /// An unknown or reserved type: discarded (RFC 9114 §6.2).
    Ignored,
}

fn closed_critical() -> H3Error {
    // RFC 9114 §6.2.1 and RFC 9204 §4.2: closing a control, encoder or decoder stream is
    // H3_CLOSED_CRITICAL_STREAM.
    H3Error::new(Code::H3_CLOSED_CRITICAL_STREAM, "critical stream closed")
}

impl Connection {
    pub(super) fn on_uni_data(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        mut data: Bytes,
        fin: bool,
    ) -> Result<(), H3Error> {
        let state = self.peer_uni.entry(id).or_insert(PeerUni::Unidentified {
            buf: [0; 8],
            len: 0,
        });
        if let PeerUni::Unidentified { buf, len } = state {
            // The stream type is a varint (RFC 9114 §6.2); it may arrive split.
            while !data.is_empty() {
                let need = if *len == 0 {
                    1
                } else {
                    varint::len_from_first_byte(buf[0])
                };
                if *len == need {
                    break;
                }
                let n = (need - *len).min(data.len());
                buf[*len..*len + n].copy_from_slice(&data[..n]);
                *len += n;
                data.advance(n);
            }
            let complete = *len > 0 && *len == varint::len_from_first_byte(buf[0]);
            if !complete {
                if fin {
                    // RFC 9114 §6.2: a receiver MUST tolerate streams closed before the header.
                    self.peer_uni.remove(&id);
                }
                return Ok(());
            }
            let (ty, _) = varint::decode(&buf[..*len]).expect("complete");
            self.identify_uni(t, id, ty)?;
        }
        match self.peer_uni.get_mut(&id) {
            Some(PeerUni::Control(decoder)) => {
                let mut frames = Vec::new();
                while let Some(event) = decoder.decode(&mut data)? {
                    frames.push(event);
                }
                for event in frames {
                    self.on_control_event(t, event)?;
                }
                if fin {
                    return Err(closed_critical());
                }
            }
            Some(PeerUni::Encoder) => {
                if !data.is_empty() {
                    let unblocked = self.decoder.on_encoder_stream(&data).map_err(qpack_error)?;
                    self.on_unblocked(t, unblocked)?;
                }
                if fin {
                    return Err(closed_critical());
                }
            }
            Some(PeerUni::Decoder) => {
                if !data.is_empty() {
                    self.encoder.on_decoder_stream(&data).map_err(qpack_error)?;
                }
                if fin {
                    return Err(closed_critical());
                }
            }
            Some(PeerUni::Ignored) => {
                if fin {
                    self.peer_uni.remove(&id);
                }
            }
            Some(PeerUni::Unidentified { .. }) | None => {}
        }
        Ok(())
    }

    fn identify_uni(
        &mut self,
        t: &mut dyn Transport,
        id: StreamId,
        ty: u64,
    ) -> Result<(), H3Error> {
        // RFC 9114 §6.2.1, RFC 9204 §4.2: a second control, encoder or decoder stream is
        // H3_STREAM_CREATION_ERROR.
        let second = || H3Error::new(Code::H3_STREAM_CREATION_ERROR, "second critical stream");
        let state = match ty {
            STREAM_CONTROL => {
                if self.peer_control.replace(id).is_some() {
                    return Err(second());
                }
                PeerUni::Control(Box::new(FrameDecoder::new(
                    StreamKind::Control,
                    self.config.frame_limits,
                )))
            }
            STREAM_QPACK_ENCODER => {
                if self.peer_encoder.replace(id).is_some() {
                    return Err(second());
                }
                PeerUni::Encoder
            }
            STREAM_QPACK_DECODER => {
                if self.peer_decoder.replace(id).is_some() {
                    return Err(second());
                }
                PeerUni::Decoder
            }
            STREAM_PUSH => {
                return Err(match self.role {
                    // RFC 9114 §6.2.2: only servers push; a client-initiated push stream is
                    // H3_STREAM_CREATION_ERROR.
                    Role::Server => {
                        H3Error::new(Code::H3_STREAM_CREATION_ERROR, "push stream from a client")
                    }
                    // RFC 9114 §4.6: a push stream when no MAX_PUSH_ID was sent (we never send
                    // one) is H3_ID_ERROR.
                    Role::Client => {
                        H3Error::new(Code::H3_ID_ERROR, "push stream without MAX_PUSH_ID")
                    }
                });
            }
            _ => {
                // RFC 9114 §6.2: unknown stream types MUST NOT be a connection error; abort
                // reading, with H3_STREAM_CREATION_ERROR.
                t.stop_sending(id, Code::H3_STREAM_CREATION_ERROR);
                PeerUni::Ignored
            }
        };
        self.peer_uni.insert(id, state);
        Ok(())
    }

    /// The peer reset one of its unidirectional streams.
    pub(super) fn on_uni_reset(
        &mut self,
        _t: &mut dyn Transport,
        id: StreamId,
    ) -> Result<(), H3Error> {
        match self.peer_uni.remove(&id) {
            Some(PeerUni::Control(_) | PeerUni::Encoder | PeerUni::Decoder) => {
                Err(closed_critical())
            }
            _ => Ok(()),
        }
    }

    fn on_control_event(
        &mut self,
        t: &mut dyn Transport,
        event: FrameEvent,
    ) -> Result<(), H3Error> {
        let frame = match event {
            FrameEvent::Frame(f) => f,
            // Unknown frames are ignored (RFC 9114 §9); DATA never reaches here (the
            // decoder rejects it on a control stream).
            _ => return Ok(()),
        };
        match frame {
            Frame::Settings(s) => {
                // RFC 9204 §3.2.3: the encoder's table follows the peer's limits.
                self.encoder
                    .set_peer_settings(s.qpack_max_table_capacity(), s.qpack_blocked_streams());
                self.peer_settings = Some(s.clone());
                self.events.push_back(Event::PeerSettings(s));
            }
            Frame::Goaway(id) => self.on_goaway(t, id)?,
            Frame::MaxPushId(push_id) => {
                if self.role == Role::Client {
                    // RFC 9114 §7.2.7: a client MUST treat MAX_PUSH_ID as
                    // H3_FRAME_UNEXPECTED.
                    return Err(H3Error::new(
                        Code::H3_FRAME_UNEXPECTED,
                        "MAX_PUSH_ID from a server",
                    ));
                }
                // RFC 9114 §7.2.7: a smaller MAX_PUSH_ID than before is H3_ID_ERROR.
                if self.peer_max_push_id.is_some_and(|m| push_id < m) {
                    return Err(H3Error::new(Code::H3_ID_ERROR, "MAX_PUSH_ID decreased"));
                }
                self.peer_max_push_id = Some(push_id);
            }
            Frame::CancelPush(_) => {
                // RFC 9114 §7.2.3: a server receiving CANCEL_PUSH for a push ID never
                // promised (we never push), or a client receiving one above the maximum it
                // allowed (we never send MAX_PUSH_ID), MUST treat it as H3_ID_ERROR.
                return Err(H3Error::new(Code::H3_ID_ERROR, "CANCEL_PUSH for no push"));
            }
            Frame::PriorityUpdate { target, id, value } => {
                self.on_priority_update(t, target, id, &value)?
            }
            Frame::Data(_)
            | Frame::Headers(_)
            | Frame::PushPromise { .. }
            | Frame::Unknown { .. } => {
                return Err(H3Error::new(
                    Code::H3_FRAME_UNEXPECTED,
                    "frame not allowed on the control stream",
                ))
            }
        }
        Ok(())
    }

    fn on_goaway(&mut self, t: &mut dyn Transport, id: u64) -> Result<(), H3Error> {
        // RFC 9114 §7.2.6: from a server, the ID MUST be a client-initiated bidirectional
        // stream ID, else H3_ID_ERROR.
        if self.role == Role::Client && !StreamId(id).is_request() {
            return Err(H3Error::new(
                Code::H3_ID_ERROR,
                "GOAWAY with a non-request stream ID",
            ));
        }
        // RFC 9114 §5.2: a GOAWAY with a larger identifier than before is H3_ID_ERROR.
        if self.goaway_received.is_some_and(|prev| id > prev) {
            return Err(H3Error::new(
                Code::H3_ID_ERROR,
                "GOAWAY identifier increased",
            ));
        }
        self.goaway_received = Some(id);
        self.events.push_back(Event::GoAway { id });
        if self.role == Role::Client {
            self.reject_above_goaway(t, id);
        }
        Ok(())
    }
}
