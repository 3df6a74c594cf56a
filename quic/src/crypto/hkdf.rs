//! HKDF-Expand-Label (RFC 8446 §7.1) and the QUIC labels of each version.
//!
//! RFC 9001 §5.1: QUIC derives its keys with the TLS 1.3 KDF, always with an empty context.
//! RFC 9369 §3.3.2: version 2 changes the labels so that v1 and v2 keys differ even from the
//! same secret.

use ring::hkdf::{KeyType, Prk};

use crate::Version;

/// The prefix RFC 8446 §7.1 puts before every label.
const LABEL_PREFIX: &[u8] = b"tls13 ";

/// HKDF-Expand-Label(secret, label, context, out.len()) from RFC 8446 §7.1, written into `out`.
///
/// `label` is given without the "tls13 " prefix, as ASCII bytes with no trailing NUL
/// (RFC 9001 §5.1). The HkdfLabel structure is passed to `ring` as a list of slices, so nothing
/// is allocated.
///
/// # Panics
///
/// If `out` is longer than 255 hash lengths (the HKDF limit), `label` longer than 249 bytes or
/// `context` longer than 255 bytes: all fixed by the caller, never by received data.
pub fn expand_label(secret: &Prk, label: &[u8], context: &[u8], out: &mut [u8]) {
    // struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel;
    let length = u16::try_from(out.len())
        .expect("HKDF output length fits in u16")
        .to_be_bytes();
    let label_len = [u8::try_from(LABEL_PREFIX.len() + label.len()).expect("label too long")];
    let context_len = [u8::try_from(context.len()).expect("context too long")];
    let info: [&[u8]; 6] = [
        &length,
        &label_len,
        LABEL_PREFIX,
        label,
        &context_len,
        context,
    ];
    secret
        .expand(&info, OutLen(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF output length within 255 hash lengths");
}

/// An output length for `ring`'s HKDF, which wants it as a [`KeyType`].
struct OutLen(usize);

impl KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// The HKDF labels a QUIC version uses for packet protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels {
    /// Packet protection key: "quic key" (RFC 9001 §5.1) or "quicv2 key" (RFC 9369 §3.3.2).
    pub key: &'static [u8],
    /// Packet protection IV: "quic iv" or "quicv2 iv".
    pub iv: &'static [u8],
    /// Header protection key: "quic hp" (RFC 9001 §5.4) or "quicv2 hp".
    pub hp: &'static [u8],
    /// Next-generation secret on key update: "quic ku" (RFC 9001 §6.1) or "quicv2 ku".
    pub ku: &'static [u8],
}

impl Labels {
    /// The labels of `version`.
    pub const fn for_version(version: Version) -> &'static Labels {
        match version {
            Version::V1 => &V1_LABELS,
            Version::V2 => &V2_LABELS,
        }
    }
}

static V1_LABELS: Labels = Labels {
    key: b"quic key",
    iv: b"quic iv",
    hp: b"quic hp",
    ku: b"quic ku",
};

static V2_LABELS: Labels = Labels {
    key: b"quicv2 key",
    iv: b"quicv2 iv",
    hp: b"quicv2 hp",
    ku: b"quicv2 ku",
};
