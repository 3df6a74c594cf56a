//! Stream handles: [`SendStream`] is a [`tokio::io::AsyncWrite`], [`RecvStream`] a
//! [`tokio::io::AsyncRead`].

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::ReadBuf;

use super::connection::Connection;
use super::driver::ConnState;
use super::{ReadError, ReadToEndError, WriteError};
use crate::stream::{self, ClosedStream, StreamId};
use crate::VarInt;

/// The sending half of a stream. Dropping it finishes the stream unless it was finished or
/// reset.
#[derive(Debug)]
pub struct SendStream {
    conn: Connection,
    id: StreamId,
    /// Finished or reset by us.
    done: bool,
}

impl SendStream {
    pub(super) fn new(conn: Connection, id: StreamId) -> Self {
        Self {
            conn,
            id,
            done: false,
        }
    }

    /// The stream's ID.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Writes some of `buf` once there is room; returns how much was taken.
    pub fn poll_write_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<Result<usize, WriteError>> {
        let id = self.id;
        self.conn.with(true, |cs| {
            if let Some(e) = &cs.error {
                return Poll::Ready(Err(WriteError::ConnectionLost(e.clone())));
            }
            let Some(mut send) = cs.conn.as_mut().and_then(|c| c.send_stream(id)) else {
                return Poll::Ready(Err(closed_send(cs, id)));
            };
            match send.write(buf) {
                Ok(n) => Poll::Ready(Ok(n)),
                Err(stream::WriteError::Blocked) => {
                    cs.wakers.writers.insert(id, cx.waker().clone());
                    Poll::Pending
                }
                Err(stream::WriteError::Stopped(code)) => {
                    Poll::Ready(Err(WriteError::Stopped(code)))
                }
                Err(stream::WriteError::ClosedStream) => Poll::Ready(Err(closed_send(cs, id))),
            }
        })
    }

    /// Writes some of `buf`, waiting for room; returns how much was taken.
    pub async fn write(&mut self, buf: &[u8]) -> Result<usize, WriteError> {
        poll_fn(|cx| self.poll_write_buf(cx, buf)).await
    }

    /// Writes all of `data` (without copying it), waiting for room.
    pub async fn write_chunk(&mut self, mut data: Bytes) -> Result<(), WriteError> {
        let id = self.id;
        while !data.is_empty() {
            let n = poll_fn(|cx| {
                self.conn.with(true, |cs| {
                    if let Some(e) = &cs.error {
                        return Poll::Ready(Err(WriteError::ConnectionLost(e.clone())));
                    }
                    let Some(mut send) = cs.conn.as_mut().and_then(|c| c.send_stream(id)) else {
                        return Poll::Ready(Err(closed_send(cs, id)));
                    };
                    match send.write_chunk(data.clone()) {
                        Ok(n) => Poll::Ready(Ok(n)),
                        Err(stream::WriteError::Blocked) => {
                            cs.wakers.writers.insert(id, cx.waker().clone());
                            Poll::Pending
                        }
                        Err(stream::WriteError::Stopped(c)) => {
                            Poll::Ready(Err(WriteError::Stopped(c)))
                        }
                        Err(stream::WriteError::ClosedStream) => {
                            Poll::Ready(Err(WriteError::ClosedStream))
                        }
                    }
                })
            })
            .await?;
            let _ = data.split_to(n);
        }
        Ok(())
    }

    /// Ends the stream: a FIN follows the data written. Returns at once; the peer receives
    /// the rest in the background.
    pub fn finish(&mut self) -> Result<(), WriteError> {
        let id = self.id;
        let r = self.conn.with(true, |cs| {
            if let Some(e) = &cs.error {
                return Err(WriteError::ConnectionLost(e.clone()));
            }
            let Some(mut send) = cs.conn.as_mut().and_then(|c| c.send_stream(id)) else {
                return Err(closed_send(cs, id));
            };
            send.finish().map_err(|e| match e {
                stream::WriteError::Stopped(c) => WriteError::Stopped(c),
                _ => closed_send(cs, id),
            })
        });
        if r.is_ok() {
            self.done = true;
        }
        r
    }

    /// Abandons the stream with an application error code (RESET_STREAM).
    pub fn reset(&mut self, code: VarInt) -> Result<(), ClosedStream> {
        let id = self.id;
        self.done = true;
        self.conn.with(true, |cs| {
            cs.conn
                .as_mut()
                .and_then(|c| c.send_stream(id))
                .ok_or(ClosedStream)?
                .reset(code)
        })
    }
}

/// Why a send half the core no longer knows is closed: the peer stopped it, or we ended it.
fn closed_send(cs: &ConnState, id: StreamId) -> WriteError {
    match cs.codes.stopped.get(&id) {
        Some(&code) => WriteError::Stopped(code),
        None => WriteError::ClosedStream,
    }
}

impl Drop for SendStream {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.finish();
        }
        let id = self.id;
        self.conn.with(false, |cs| cs.codes.stopped.remove(&id));
    }
}

impl tokio::io::AsyncWrite for SendStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_buf(cx, buf).map_err(Into::into)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written data is already the transport's to send.
        Poll::Ready(Ok(()))
    }

    /// Finishes the stream (once); does not wait for the peer's acknowledgment.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(Ok(()));
        }
        Poll::Ready(this.finish().map_err(Into::into))
    }
}

/// The receiving half of a stream. Dropping it before the end stops the stream (code 0).
#[derive(Debug)]
pub struct RecvStream {
    conn: Connection,
    id: StreamId,
    /// The end was read, the stream was reset, or we stopped it.
    done: bool,
}

impl RecvStream {
    pub(super) fn new(conn: Connection, id: StreamId) -> Self {
        Self {
            conn,
            id,
            done: false,
        }
    }

    /// The stream's ID.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Runs a read on the core stream; `Ok(None)` is the end of the stream.
    fn poll_read_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        read: impl FnOnce(&mut stream::RecvStream<'_>) -> Result<Option<T>, stream::ReadError>,
    ) -> Poll<Result<Option<T>, ReadError>> {
        if self.done {
            return Poll::Ready(Ok(None));
        }
        let id = self.id;
        let r = self.conn.with(true, |cs| {
            // Data that arrived before the connection closed can still be read.
            let result = match cs.conn.as_mut().and_then(|c| c.recv_stream(id)) {
                Some(mut recv) => read(&mut recv),
                None => Err(stream::ReadError::ClosedStream),
            };
            match result {
                Ok(r) => Poll::Ready(Ok(r)),
                Err(_) if cs.error.is_some() => Poll::Ready(Err(ReadError::ConnectionLost(
                    cs.error.clone().expect("checked"),
                ))),
                Err(stream::ReadError::Blocked) => {
                    cs.wakers.readers.insert(id, cx.waker().clone());
                    Poll::Pending
                }
                Err(stream::ReadError::Reset(code)) => Poll::Ready(Err(ReadError::Reset(code))),
                Err(stream::ReadError::ClosedStream) => match cs.codes.reset.remove(&id) {
                    Some(code) => Poll::Ready(Err(ReadError::Reset(code))),
                    None => Poll::Ready(Err(ReadError::ClosedStream)),
                },
            }
        });
        if matches!(
            r,
            Poll::Ready(Ok(None)) | Poll::Ready(Err(ReadError::Reset(_)))
        ) {
            self.done = true;
        }
        r
    }

    /// Reads up to `max` bytes without copying; `None` at the end of the stream.
    pub async fn read_chunk(&mut self, max: usize) -> Result<Option<Bytes>, ReadError> {
        poll_fn(|cx| self.poll_read_with(cx, |r| r.read_chunk(max))).await
    }

    /// Reads the whole stream, failing if it is longer than `limit` bytes.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, ReadToEndError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.read_chunk(usize::MAX).await? {
            if out.len() + chunk.len() > limit {
                let _ = self.stop(VarInt::from_u32(0));
                return Err(ReadToEndError::TooLong);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Stops reading (STOP_SENDING with `code`); unread data is discarded.
    pub fn stop(&mut self, code: VarInt) -> Result<(), ClosedStream> {
        let id = self.id;
        self.done = true;
        self.conn.with(true, |cs| {
            cs.conn
                .as_mut()
                .and_then(|c| c.recv_stream(id))
                .ok_or(ClosedStream)?
                .stop(code)
        })
    }
}

impl Drop for RecvStream {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.stop(VarInt::from_u32(0));
        }
        let id = self.id;
        self.conn.with(false, |cs| cs.codes.reset.remove(&id));
    }
}

impl tokio::io::AsyncRead for RecvStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let dst = buf.initialize_unfilled();
        match this.poll_read_with(cx, |r| r.read(dst)) {
            Poll::Ready(Ok(Some(n))) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(None)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e.into())),
            Poll::Pending => Poll::Pending,
        }
    }
}
