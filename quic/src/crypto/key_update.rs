//! Key update (RFC 9001 §6): rolling 1-RTT packet keys over to the next generation.

use super::{KeyPair, PacketKey, TrafficSecret};

impl TrafficSecret {
    /// The next generation's secret (RFC 9001 §6.1):
    /// HKDF-Expand-Label(secret, "quic ku", "", Hash.length), with "quicv2 ku" in v2
    /// (RFC 9369 §3.3.2). Suite and version stay the same.
    pub fn next_generation(&self) -> TrafficSecret {
        TrafficSecret::expand(&self.prk(), self.labels().ku, self.suite(), self.version())
    }

    /// Replaces this secret with its next generation.
    pub fn update(&mut self) {
        *self = self.next_generation();
    }
}

/// The current 1-RTT secrets of both directions, kept to derive the packet keys of later key
/// phases.
///
/// RFC 9001 §6: a key update changes both directions at once, so both secrets advance together.
/// RFC 9001 §6.1: only the packet protection key and IV change; the header protection keys
/// derived from the first 1-RTT secrets stay in use, which is why this yields [`PacketKey`]s only.
#[derive(Debug, Clone)]
pub struct KeyUpdateSecrets {
    local: TrafficSecret,
    remote: TrafficSecret,
}

impl KeyUpdateSecrets {
    /// Starts from the secrets of the current key phase (for the first phase, the 1-RTT
    /// secrets TLS exported).
    pub fn new(local: TrafficSecret, remote: TrafficSecret) -> Self {
        Self { local, remote }
    }

    /// The secrets of the current key phase.
    pub fn current(&self) -> KeyPair<&TrafficSecret> {
        KeyPair {
            local: &self.local,
            remote: &self.remote,
        }
    }

    /// Advances both directions one generation and returns the new phase's packet keys.
    ///
    /// A connection typically calls this ahead of time so the next phase's keys are ready when
    /// a packet with a flipped key phase bit arrives (RFC 9001 §6.3), avoiding a timing side
    /// channel.
    pub fn next_packet_keys(&mut self) -> KeyPair<PacketKey> {
        self.local.update();
        self.remote.update();
        KeyPair {
            local: self.local.packet_key(),
            remote: self.remote.packet_key(),
        }
    }
}
