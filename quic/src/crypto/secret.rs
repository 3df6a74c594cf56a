//! TLS traffic secrets and the packet and header keys derived from them (RFC 9001 §5.1).

use std::fmt;

use ring::hkdf::Prk;

use super::hkdf::{expand_label, Labels};
use super::{CipherSuite, HeaderKey, InvalidKeyLength, PacketKey, IV_LEN};
use crate::Version;

/// The longest hash of a TLS 1.3 suite QUIC uses (SHA-384).
const MAX_SECRET_LEN: usize = 48;
/// The longest key of an AEAD or header protection algorithm QUIC uses.
const MAX_KEY_LEN: usize = 32;

/// One direction's traffic secret at one encryption level (or key phase), with the suite and
/// version that decide how keys are derived from it.
///
/// The bytes are kept (not only the keys) because key update derives the next generation from
/// the secret itself (RFC 9001 §6.1).
#[derive(Clone)]
pub struct TrafficSecret {
    suite: CipherSuite,
    version: Version,
    bytes: [u8; MAX_SECRET_LEN],
}

impl TrafficSecret {
    /// Wraps a secret exported by TLS; it must be one hash length of `suite`.
    pub fn new(
        suite: CipherSuite,
        version: Version,
        secret: &[u8],
    ) -> Result<Self, InvalidKeyLength> {
        if secret.len() != suite.hash_len() {
            return Err(InvalidKeyLength {
                expected: suite.hash_len(),
                actual: secret.len(),
            });
        }
        let mut bytes = [0; MAX_SECRET_LEN];
        bytes[..secret.len()].copy_from_slice(secret);
        Ok(Self {
            suite,
            version,
            bytes,
        })
    }

    /// The cipher suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The QUIC version whose labels derive keys from this secret.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The secret bytes (one hash length), for key logging.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.suite.hash_len()]
    }

    /// The packet protection key and IV (labels "quic key"/"quic iv", RFC 9001 §5.1, or the
    /// v2 labels, RFC 9369 §3.3.2).
    pub fn packet_key(&self) -> PacketKey {
        let labels = self.labels();
        let aead = self.suite.aead();
        let prk = self.prk();
        let mut key = [0; MAX_KEY_LEN];
        let key = &mut key[..aead.key_len()];
        let mut iv = [0; IV_LEN];
        // RFC 9001 §5.1: the key length is the AEAD's key size, the IV length 12 bytes.
        expand_label(&prk, labels.key, &[], key);
        expand_label(&prk, labels.iv, &[], &mut iv);
        PacketKey::new(aead, key, &iv).expect("derived key and IV have the AEAD's lengths")
    }

    /// The header protection key (label "quic hp", RFC 9001 §5.4, or "quicv2 hp").
    pub fn header_key(&self) -> HeaderKey {
        let aead = self.suite.aead();
        let mut key = [0; MAX_KEY_LEN];
        let key = &mut key[..aead.key_len()];
        expand_label(&self.prk(), self.labels().hp, &[], key);
        HeaderKey::new(aead, key).expect("derived key has the algorithm's length")
    }

    pub(crate) fn labels(&self) -> &'static Labels {
        Labels::for_version(self.version)
    }

    /// The secret as an HKDF pseudorandom key: RFC 9001 §5.1 expands traffic secrets directly.
    pub(crate) fn prk(&self) -> Prk {
        Prk::new_less_safe(self.suite.ring_hkdf(), self.as_bytes())
    }

    /// A secret of `suite`'s hash length expanded from `prk` with `label` (how the Initial
    /// secrets, RFC 9001 §5.2, and next-generation secrets, §6.1, are made).
    pub(crate) fn expand(prk: &Prk, label: &[u8], suite: CipherSuite, version: Version) -> Self {
        let mut bytes = [0; MAX_SECRET_LEN];
        expand_label(prk, label, &[], &mut bytes[..suite.hash_len()]);
        Self {
            suite,
            version,
            bytes,
        }
    }
}

impl fmt::Debug for TrafficSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrafficSecret")
            .field("suite", &self.suite)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}
