//! The rustls crypto provider: ring's TLS 1.3 suites, rebuilt so that QUIC packet and header
//! protection come from our [`crate::crypto`] module rather than from rustls's own QUIC code.
//!
//! rustls keeps the key schedule (it derives the traffic secrets and expands "quic key",
//! "quic iv", "quic hp" and, for key updates, "quic ku"); it hands the raw key bytes to our
//! [`rustls::quic::Algorithm`], and every packet is then sealed and masked by our code.

use std::sync::{Arc, OnceLock};

use rustls::crypto::cipher::{AeadKey, Iv};
use rustls::crypto::{CipherSuiteCommon, CryptoProvider};
use rustls::quic::{Algorithm, HeaderProtectionKey, PacketKey, Tag};
use rustls::{SupportedCipherSuite, Tls13CipherSuite};

use crate::crypto::{self, Aead, SAMPLE_LEN};

/// Which TLS 1.3 cipher suites to offer or accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CipherSuites {
    /// AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305, in rustls's preference order.
    #[default]
    All,
    /// Only TLS_CHACHA20_POLY1305_SHA256 (the interop runner's `chacha20` test case).
    ChaCha20Only,
}

/// Our QUIC protection for one AEAD, plugged into a rustls cipher suite.
#[derive(Debug)]
struct OurQuicAlgorithm(Aead);

static AES_128_GCM: OurQuicAlgorithm = OurQuicAlgorithm(Aead::Aes128Gcm);
static AES_256_GCM: OurQuicAlgorithm = OurQuicAlgorithm(Aead::Aes256Gcm);
static CHACHA20: OurQuicAlgorithm = OurQuicAlgorithm(Aead::ChaCha20Poly1305);

impl Algorithm for OurQuicAlgorithm {
    fn packet_key(&self, key: AeadKey, iv: Iv) -> Box<dyn PacketKey> {
        // rustls derives exactly `aead_key_len()` key bytes and a 12-byte IV.
        let key = crypto::PacketKey::new(self.0, key.as_ref(), iv.as_ref())
            .expect("rustls derives keys of the length we asked for");
        Box::new(OurPacketKey(key))
    }

    fn header_protection_key(&self, key: AeadKey) -> Box<dyn HeaderProtectionKey> {
        let key = crypto::HeaderKey::new(self.0, key.as_ref())
            .expect("rustls derives keys of the length we asked for");
        Box::new(OurHeaderKey(key))
    }

    fn aead_key_len(&self) -> usize {
        self.0.key_len()
    }
}

struct OurPacketKey(crypto::PacketKey);

impl PacketKey for OurPacketKey {
    fn encrypt_in_place(
        &self,
        packet_number: u64,
        header: &[u8],
        payload: &mut [u8],
    ) -> Result<Tag, rustls::Error> {
        let tag = self
            .0
            .seal_separate(packet_number, header, payload)
            .map_err(|_| rustls::Error::EncryptError)?;
        Ok(Tag::from(&tag[..]))
    }

    fn decrypt_in_place<'a>(
        &self,
        packet_number: u64,
        header: &[u8],
        payload: &'a mut [u8],
    ) -> Result<&'a [u8], rustls::Error> {
        let len = self
            .0
            .open_separate(packet_number, header, payload)
            .map_err(|_| rustls::Error::DecryptError)?;
        Ok(&payload[..len])
    }

    fn tag_len(&self) -> usize {
        self.0.tag_len()
    }

    fn confidentiality_limit(&self) -> u64 {
        self.0.confidentiality_limit()
    }

    fn integrity_limit(&self) -> u64 {
        self.0.integrity_limit()
    }
}

struct OurHeaderKey(crypto::HeaderKey);

impl OurHeaderKey {
    /// Applies or removes the mask. Like rustls's own keys, `packet_number` may be longer than
    /// the real packet number (up to 4 bytes, when the caller does not know the length yet);
    /// only the length encoded in the unprotected first byte is touched.
    fn xor(
        &self,
        sample: &[u8],
        first: &mut u8,
        packet_number: &mut [u8],
        removing: bool,
    ) -> Result<(), rustls::Error> {
        let sample: &[u8; SAMPLE_LEN] = sample
            .try_into()
            .map_err(|_| rustls::Error::General("bad sample length".into()))?;
        if packet_number.len() > 4 {
            return Err(rustls::Error::General(
                "packet number longer than 4 bytes".into(),
            ));
        }
        let mask = self.0.mask(sample);
        // RFC 9001 §5.4.1: four protected bits in long headers, five in short headers.
        let bits = if *first & 0x80 != 0 { 0x0f } else { 0x1f };
        let unprotected_first = if removing {
            *first ^ (mask[0] & bits)
        } else {
            *first
        };
        let pn_len = usize::from(unprotected_first & 0x03) + 1;
        if packet_number.len() < pn_len {
            return Err(rustls::Error::General(
                "packet number field too short".into(),
            ));
        }
        *first ^= mask[0] & bits;
        for (b, m) in packet_number[..pn_len].iter_mut().zip(&mask[1..]) {
            *b ^= m;
        }
        Ok(())
    }
}

impl HeaderProtectionKey for OurHeaderKey {
    fn encrypt_in_place(
        &self,
        sample: &[u8],
        first: &mut u8,
        packet_number: &mut [u8],
    ) -> Result<(), rustls::Error> {
        self.xor(sample, first, packet_number, false)
    }

    fn decrypt_in_place(
        &self,
        sample: &[u8],
        first: &mut u8,
        packet_number: &mut [u8],
    ) -> Result<(), rustls::Error> {
        self.xor(sample, first, packet_number, true)
    }

    fn sample_len(&self) -> usize {
        SAMPLE_LEN
    }
}

fn with_our_quic(suite: SupportedCipherSuite, quic: &'static OurQuicAlgorithm) -> Tls13CipherSuite {
    let SupportedCipherSuite::Tls13(ring_suite) = suite else {
        unreachable!("only TLS 1.3 suites are rebuilt")
    };
    // CipherSuiteCommon is not Copy: rebuild it field by field.
    Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: ring_suite.common.suite,
            hash_provider: ring_suite.common.hash_provider,
            confidentiality_limit: ring_suite.common.confidentiality_limit,
        },
        hkdf_provider: ring_suite.hkdf_provider,
        aead_alg: ring_suite.aead_alg,
        quic: Some(quic),
    }
}

fn our_suites() -> &'static [Tls13CipherSuite; 3] {
    static SUITES: OnceLock<[Tls13CipherSuite; 3]> = OnceLock::new();
    SUITES.get_or_init(|| {
        use rustls::crypto::ring::cipher_suite as ring_suites;
        [
            with_our_quic(ring_suites::TLS13_AES_128_GCM_SHA256, &AES_128_GCM),
            with_our_quic(ring_suites::TLS13_AES_256_GCM_SHA384, &AES_256_GCM),
            with_our_quic(ring_suites::TLS13_CHACHA20_POLY1305_SHA256, &CHACHA20),
        ]
    })
}

/// The rustls Initial-packet suite (TLS_AES_128_GCM_SHA256) with our QUIC protection, for
/// deriving Initial keys through rustls (RFC 9001 §5.2).
pub fn initial_suite() -> rustls::quic::Suite {
    let suite = &our_suites()[0];
    rustls::quic::Suite {
        suite,
        quic: &AES_128_GCM,
    }
}

/// ring's crypto provider with TLS 1.3 suites whose QUIC protection is ours.
pub fn crypto_provider(suites: CipherSuites) -> Arc<CryptoProvider> {
    let ours = our_suites();
    let cipher_suites = match suites {
        CipherSuites::All => ours.iter().map(SupportedCipherSuite::Tls13).collect(),
        CipherSuites::ChaCha20Only => vec![SupportedCipherSuite::Tls13(&ours[2])],
    };
    Arc::new(CryptoProvider {
        cipher_suites,
        ..rustls::crypto::ring::default_provider()
    })
}
