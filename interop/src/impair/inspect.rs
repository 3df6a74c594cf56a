//! Cleartext QUIC header inspection: packet types, versions and server Initial SCIDs.
//!
//! Nothing is decrypted. Each datagram is walked packet by packet with
//! [`quic::packet::PartialDecode`], which splits coalesced packets by their Length fields
//! (RFC 9000 §12.2); versions come from [`quic::packet::peek_invariant_header`], so unknown
//! versions (such as the runner's `WAIT` probe) are still reported. A short-header packet runs
//! to the end of its datagram, so walking stops there.
//!
//! The runner computes "number of handshakes" as the number of distinct Source Connection IDs
//! in server-sent Initial packets (RUNNER.md §2.2, NH(n)); [`HeaderStats::handshakes`] gives
//! the same number for the datagrams this proxy saw from the server.

use std::collections::BTreeSet;

use bytes::BytesMut;
use quic::packet::{peek_invariant_header, PacketDecodeError, PacketType, PartialDecode};

/// Counts of packets by type (coalesced packets count one each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketCounts {
    /// Initial packets.
    pub initial: u64,
    /// 0-RTT packets.
    pub zero_rtt: u64,
    /// Handshake packets.
    pub handshake: u64,
    /// Retry packets.
    pub retry: u64,
    /// Version Negotiation packets.
    pub version_negotiation: u64,
    /// 1-RTT (short header) packets.
    pub one_rtt: u64,
    /// Long headers of a version we cannot parse (the rest of the datagram counts as one).
    pub unknown_version: u64,
    /// Datagrams or trailing bytes that did not parse as a QUIC packet.
    pub malformed: u64,
}

impl PacketCounts {
    fn count(&mut self, ty: PacketType) {
        match ty {
            PacketType::Initial => self.initial += 1,
            PacketType::ZeroRtt => self.zero_rtt += 1,
            PacketType::Handshake => self.handshake += 1,
            PacketType::Retry => self.retry += 1,
            PacketType::VersionNegotiation => self.version_negotiation += 1,
            PacketType::OneRtt => self.one_rtt += 1,
        }
    }

    /// `(name, count)` pairs in a fixed order, as the summary prints them.
    pub fn fields(&self) -> [(&'static str, u64); 8] {
        [
            ("initial", self.initial),
            ("0rtt", self.zero_rtt),
            ("handshake", self.handshake),
            ("retry", self.retry),
            ("version_negotiation", self.version_negotiation),
            ("1rtt", self.one_rtt),
            ("unknown_version", self.unknown_version),
            ("malformed", self.malformed),
        ]
    }
}

/// What one datagram contained.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatagramInfo {
    /// Packet types in order.
    pub packets: Vec<PacketType>,
    /// Versions of the long headers (Version Negotiation's 0 excluded), in order.
    pub versions: Vec<u32>,
    /// Source connection IDs of the Initial packets, in order.
    pub initial_scids: Vec<Vec<u8>>,
    /// Long headers of an unknown version.
    pub unknown_version: u64,
    /// Whether some bytes did not parse.
    pub malformed: bool,
}

/// Walks the packets of one datagram. Never fails: what cannot be parsed is reported as
/// [`DatagramInfo::malformed`] or [`DatagramInfo::unknown_version`].
pub fn inspect_datagram(datagram: &[u8]) -> DatagramInfo {
    let mut info = DatagramInfo::default();
    let mut rest = Some(BytesMut::from(datagram));
    while let Some(buf) = rest.take() {
        // Zero bytes after a coalesced packet are padding some stacks add to reach 1200 bytes
        // (they would otherwise look like a short header with a greased fixed bit).
        if buf.iter().all(|&b| b == 0) {
            break;
        }
        let invariant = peek_invariant_header(&buf).map(|h| h.version);
        if let Some(version) = invariant.filter(|&v| v != 0) {
            info.versions.push(version);
        }
        // Short headers: the DCID length is unknown here, but nothing after it is read, and a
        // short-header packet always ends the datagram. A zero fixed bit is accepted (RFC 9287
        // greasing), since a proxy cannot know whether it was negotiated.
        match PartialDecode::new(buf, 0, true) {
            Ok((packet, tail)) => {
                let header = packet.header();
                info.packets.push(header.packet_type());
                if header.packet_type() == PacketType::Initial {
                    if let Some(scid) = header.src_cid() {
                        info.initial_scids.push(scid.to_vec());
                    }
                }
                rest = tail;
            }
            Err(PacketDecodeError::UnsupportedVersion { .. }) => info.unknown_version += 1,
            Err(PacketDecodeError::InvalidHeader(_)) => info.malformed = true,
        }
    }
    info
}

/// Per-direction header statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderStats {
    /// Packets by type.
    pub packets: PacketCounts,
    /// Every long-header version seen (Version Negotiation excluded).
    pub versions: BTreeSet<u32>,
    /// Distinct Source Connection IDs of Initial packets.
    pub initial_scids: BTreeSet<Vec<u8>>,
}

impl HeaderStats {
    /// Accounts for one datagram.
    pub fn observe(&mut self, datagram: &[u8]) {
        let info = inspect_datagram(datagram);
        for ty in &info.packets {
            self.packets.count(*ty);
        }
        self.packets.unknown_version += info.unknown_version;
        if info.malformed {
            self.packets.malformed += 1;
        }
        self.versions.extend(info.versions);
        self.initial_scids.extend(info.initial_scids);
    }

    /// For server-sent datagrams: the runner's number of handshakes, i.e. distinct SCIDs of
    /// server Initial packets.
    pub fn handshakes(&self) -> usize {
        self.initial_scids.len()
    }
}

/// Whether a datagram is a Version Negotiation packet as ns-3's `corrupt-rate` model sees it
/// (bytes 1..4 zero); that model never corrupts these.
pub fn is_version_negotiation(datagram: &[u8]) -> bool {
    datagram.len() >= 5 && datagram[1..5] == [0, 0, 0, 0]
}
