#![no_main]
//! Transport parameter decoding (RFC 9000 §18) must never panic, for either sender role.
//! Whatever decodes must re-encode to exactly `encoded_len()` bytes that decode to the same
//! parameters, and anything a client may send a server also accepts.
use libfuzzer_sys::fuzz_target;
use quic::crypto::Side;
use quic::transport_params::TransportParameters;

fuzz_target!(|data: &[u8]| {
    for sender in [Side::Client, Side::Server] {
        let Ok(params) = TransportParameters::decode(sender, data) else {
            continue;
        };
        let mut out = Vec::with_capacity(params.encoded_len());
        params.encode(&mut out);
        assert_eq!(out.len(), params.encoded_len());
        assert_eq!(TransportParameters::decode(sender, &out), Ok(params));
        assert!(params.validate(sender).is_ok());
        if sender == Side::Client {
            assert_eq!(TransportParameters::decode(Side::Server, data), Ok(params));
        }
    }
});
