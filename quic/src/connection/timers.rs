//! The clock-driven parts: idle timeout (RFC 9000 §10.1), loss detection and probes
//! (RFC 9002 §6), delayed ACKs (RFC 9000 §13.2.1), keep-alive, and the end of the closing
//! and draining states (RFC 9000 §10.2).

use std::time::Instant;

use super::{Connection, ConnectionError, EndpointEvent, Event, State};
use crate::recovery::{PacketSpace, TimeoutOutcome};

impl Connection {
    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Drained => None,
            State::Closing { until } | State::Draining { until } => Some(until),
            State::Handshake | State::Established => {
                let acks = PacketSpace::ALL
                    .iter()
                    .filter(|&&s| !self.space(s).discarded && self.space(s).keys.is_some())
                    .filter_map(|&s| self.space(s).ack.ack_deadline());
                let keep_alive = self
                    .config
                    .keep_alive_interval
                    .filter(|_| self.handshake_complete)
                    .and_then(|i| self.last_sent.map(|t| t + i));
                [
                    self.idle_deadline,
                    self.recovery.loss_detection_timer(),
                    keep_alive,
                    self.pacing_deadline,
                    self.path_timer(),
                ]
                .into_iter()
                .flatten()
                .chain(acks)
                .min()
            }
        }
    }

    /// Runs whatever timers are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Drained => return,
            State::Closing { until } | State::Draining { until } => {
                if now >= until {
                    self.state = State::Drained;
                    self.endpoint_events.push_back(EndpointEvent::Drained);
                }
                return;
            }
            State::Handshake | State::Established => {}
        }
        self.handle_path_timers(now);
        if self.state == State::Drained {
            return;
        }
        if self.pacing_deadline.is_some_and(|t| now >= t) {
            // The pacer's hold is over; the next poll_transmit sends.
            self.pacing_deadline = None;
        }
        if self.idle_deadline.is_some_and(|d| now >= d) {
            // RFC 9000 §10.1: the connection is silently closed and its state discarded.
            self.error = Some(ConnectionError::TimedOut);
            self.events
                .push_back(Event::Closed(ConnectionError::TimedOut));
            self.state = State::Drained;
            self.endpoint_events.push_back(EndpointEvent::Drained);
            return;
        }
        if self
            .recovery
            .loss_detection_timer()
            .is_some_and(|t| now >= t)
        {
            let mut outcome = std::mem::take(&mut self.ack_outcome);
            match self.recovery.on_loss_detection_timeout(now, &mut outcome) {
                TimeoutOutcome::Nothing => {}
                TimeoutOutcome::Lost { space, .. } => {
                    for packet in outcome.lost.drain(..) {
                        self.on_packet_lost(space, packet.token);
                    }
                }
                TimeoutOutcome::Probe { space, .. } => {
                    // RFC 9002 §6.2.4: probes carry new data if any, else data still in flight;
                    // handshake data is small, so resend all of it.
                    let s = self.space_mut(space);
                    s.crypto_send.resend_all();
                    s.ping_pending = true;
                    // RFC 9002 §6.2.4: also probe the other spaces with data in flight.
                    if space == PacketSpace::Initial {
                        let hs = self.space_mut(PacketSpace::Handshake);
                        if hs.keys.is_some() && !hs.discarded {
                            hs.crypto_send.resend_all();
                        }
                    }
                }
                TimeoutOutcome::AntiDeadlock { space } => {
                    // RFC 9002 §6.2.2.1: the client sends an ack-eliciting packet so the
                    // server's amplification limit can open.
                    self.space_mut(space).ping_pending = true;
                }
            }
            self.ack_outcome = outcome;
        }
        if let (Some(interval), Some(last)) = (self.config.keep_alive_interval, self.last_sent) {
            if self.handshake_complete && now >= last + interval {
                self.space_mut(PacketSpace::Data).ping_pending = true;
            }
        }
    }
}
