//! The proxy's end-of-run summary, as text and as JSON.
//!
//! Everything in it is a function of the seed, the configuration and the order in which
//! datagrams arrived (no wall-clock times), so two runs with the same inputs print the same
//! summary.

use std::fmt::{self, Write as _};
use std::time::Duration;

use quic::recovery::EcnCodepoint;
use quic::testing::network::LinkStats;

use super::amplification::Amplification;
use super::inspect::HeaderStats;

/// One direction's numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectionSummary {
    /// Counters of the link model (received = `sent`, forwarded = `delivered`, drops by reason).
    pub link: LinkStats,
    /// Datagrams the NAT dropped because their client mapping was retired by a rebind while
    /// they were in flight (server→client only).
    pub dropped_nat: u64,
    /// Datagrams that could not be sent on (socket errors, or no upstream socket could be bound
    /// for a new client).
    pub send_errors: u64,
    /// Corruptions of Version Negotiation datagrams that were undone (ns-3's `corrupt-rate`
    /// never corrupts those); not included in the reported `corrupted` count.
    pub vn_corruptions_undone: u64,
    /// Datagrams actually sent on to the receiver.
    pub forwarded: u64,
    /// Their bytes.
    pub forwarded_bytes: u64,
    /// Header statistics of the datagrams as the sender sent them (before impairment).
    pub headers: HeaderStats,
    /// ECN codepoints of the datagrams as the sender sent them.
    pub ecn: EcnSeen,
}

/// Datagrams per ECN codepoint of the IP header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EcnSeen {
    /// Not-ECT (or not reported by the kernel).
    pub not_ect: u64,
    /// ECT(0).
    pub ect0: u64,
    /// ECT(1).
    pub ect1: u64,
    /// CE.
    pub ce: u64,
}

impl EcnSeen {
    /// Counts one datagram.
    pub fn count(&mut self, ecn: EcnCodepoint) {
        match ecn {
            EcnCodepoint::NotEct => self.not_ect += 1,
            EcnCodepoint::Ect0 => self.ect0 += 1,
            EcnCodepoint::Ect1 => self.ect1 += 1,
            EcnCodepoint::Ce => self.ce += 1,
        }
    }
}

impl DirectionSummary {
    /// Datagrams whose payload the link corrupted (and that were delivered corrupted).
    pub fn corrupted(&self) -> u64 {
        self.link
            .corrupted
            .saturating_sub(self.vn_corruptions_undone)
    }

    /// Drops by reason, in a fixed order.
    pub fn drops(&self) -> [(&'static str, u64); 8] {
        let l = &self.link;
        [
            ("mtu", l.dropped_mtu),
            ("queue", l.dropped_queue),
            ("blackhole", l.dropped_blackhole),
            ("droplist", l.dropped_list),
            ("filter", l.dropped_filter),
            ("loss", l.dropped_loss),
            ("nat", self.dropped_nat),
            ("send_error", self.send_errors),
        ]
    }

    fn json(&self, out: &mut String) {
        let l = &self.link;
        let _ = write!(
            out,
            "{{\"received\":{{\"datagrams\":{},\"bytes\":{}}},\
             \"forwarded\":{{\"datagrams\":{},\"bytes\":{}}},\"dropped\":{{",
            l.sent, l.sent_bytes, self.forwarded, self.forwarded_bytes,
        );
        join(out, self.drops().iter(), |out, (k, v)| {
            let _ = write!(out, "\"{k}\":{v}");
        });
        let _ = write!(
            out,
            "}},\"corrupted\":{},\"max_queue\":{},\"packets\":{{",
            self.corrupted(),
            l.max_queue
        );
        join(out, self.headers.packets.fields().iter(), |out, (k, v)| {
            let _ = write!(out, "\"{k}\":{v}");
        });
        out.push_str("},\"versions\":[");
        join(out, self.headers.versions.iter(), |out, v| {
            let _ = write!(out, "\"{v:#010x}\"");
        });
        let e = &self.ecn;
        let _ = write!(
            out,
            "],\"ecn\":{{\"not_ect\":{},\"ect0\":{},\"ect1\":{},\"ce\":{}}}",
            e.not_ect, e.ect0, e.ect1, e.ce
        );
        out.push_str(",\"initial_scids\":[");
        join(out, self.headers.initial_scids.iter(), |out, cid| {
            let _ = write!(out, "\"{}\"", hex(cid));
        });
        out.push_str("]}");
    }
}

/// The whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The seed.
    pub seed: u64,
    /// The preset used, if any.
    pub scenario: Option<&'static str>,
    /// Distinct client addresses seen.
    pub clients: u64,
    /// NAT rebinds performed (per client).
    pub rebinds: u64,
    /// Client→server.
    pub to_server: DirectionSummary,
    /// Server→client.
    pub to_client: DirectionSummary,
    /// The amplification walk, over all clients (RUNNER.md §2.3, A).
    pub amplification: Amplification,
    /// From the first to the last server 1-RTT packet delivered to a client (the runner's
    /// goodput time, RUNNER.md §3). Wall-clock, so it is the one field that differs between
    /// two runs with the same seed.
    pub server_one_rtt_span: Option<Duration>,
}

impl Summary {
    /// The runner's number of handshakes: distinct SCIDs in server-sent Initial packets.
    pub fn handshakes(&self) -> usize {
        self.to_client.headers.handshakes()
    }

    /// The summary as one JSON object (hand-written; no serde in this crate).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "{{\"seed\":{},\"scenario\":", self.seed);
        match self.scenario {
            Some(s) => {
                let _ = write!(out, "\"{s}\"");
            }
            None => out.push_str("null"),
        }
        let _ = write!(
            out,
            ",\"clients\":{},\"rebinds\":{},\"handshakes\":{},\"to_server\":",
            self.clients,
            self.rebinds,
            self.handshakes()
        );
        self.to_server.json(&mut out);
        out.push_str(",\"to_client\":");
        self.to_client.json(&mut out);
        let a = &self.amplification;
        let _ = write!(
            out,
            ",\"amplification\":{{\"client_bytes\":{},\"server_bytes\":{},\"over_3x\":{},\
             \"over_4x\":{},\"validated\":{}}},\"server_1rtt_span_ms\":",
            a.client_bytes, a.server_bytes, a.over_3x, a.over_4x, a.validated
        );
        match self.server_one_rtt_span {
            Some(d) => {
                let _ = write!(out, "{:.3}", d.as_secs_f64() * 1000.0);
            }
            None => out.push_str("null"),
        }
        out.push_str("}\n");
        out
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "impair summary: seed {} scenario {} clients {} rebinds {} handshakes {}",
            self.seed,
            self.scenario.unwrap_or("-"),
            self.clients,
            self.rebinds,
            self.handshakes()
        )?;
        let a = &self.amplification;
        writeln!(
            f,
            "  before address validation: client Initials {} B, server {} B{}{}{}",
            a.client_bytes,
            a.server_bytes,
            if a.over_3x { ", over 3x" } else { "" },
            if a.over_4x { ", over 4x" } else { "" },
            if a.validated {
                ""
            } else {
                " (never validated)"
            }
        )?;
        if let Some(span) = self.server_one_rtt_span {
            writeln!(f, "  server 1-RTT span at the client: {span:.3?}")?;
        }
        for (name, d) in [
            ("to_server", &self.to_server),
            ("to_client", &self.to_client),
        ] {
            let l = &d.link;
            writeln!(
                f,
                "  {name}: received {} dgrams / {} B, forwarded {} dgrams / {} B, corrupted {}, max queue {}",
                l.sent,
                l.sent_bytes,
                d.forwarded,
                d.forwarded_bytes,
                d.corrupted(),
                l.max_queue
            )?;
            let drops: Vec<String> = d
                .drops()
                .iter()
                .filter(|(_, v)| *v > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            writeln!(
                f,
                "    dropped: {}",
                if drops.is_empty() {
                    "none".to_string()
                } else {
                    drops.join(", ")
                }
            )?;
            let packets: Vec<String> = d
                .headers
                .packets
                .fields()
                .iter()
                .filter(|(_, v)| *v > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let versions: Vec<String> = d
                .headers
                .versions
                .iter()
                .map(|v| format!("{v:#010x}"))
                .collect();
            let e = &d.ecn;
            writeln!(
                f,
                "    ECN as sent: not-ECT {}, ECT(0) {}, ECT(1) {}, CE {}",
                e.not_ect, e.ect0, e.ect1, e.ce
            )?;
            writeln!(
                f,
                "    packets: {}; versions: {}; initial SCIDs: {}",
                if packets.is_empty() {
                    "none".to_string()
                } else {
                    packets.join(", ")
                },
                if versions.is_empty() {
                    "none".to_string()
                } else {
                    versions.join(", ")
                },
                d.headers.initial_scids.len()
            )?;
        }
        Ok(())
    }
}

fn join<I: Iterator>(out: &mut String, items: I, mut each: impl FnMut(&mut String, I::Item)) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
