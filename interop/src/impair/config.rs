//! Command-line options and their resolution into the link model's configuration.
//!
//! Options are resolved in two layers: a `--scenario` preset fills in a [`Settings`], then every
//! option given explicitly on the command line overrides its field. [`Settings::link_configs`]
//! turns the result into the two [`LinkConfig`]s (client→server, server→client) of the
//! `quic::testing::network` model.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use quic::testing::network::{LinkConfig, IPV4_MAX_UDP_PAYLOAD, IPV4_UDP_PPP_OVERHEAD};

use super::parse::{
    parse_bandwidth, parse_duration, parse_list, parse_rate, parse_window, DropList, Window,
};
use super::scenario::{scenario, Scenario};

/// Per-datagram link overhead for IPv6: 2-byte PPP + 40-byte IPv6 + 8-byte UDP (RUNNER.md §4).
pub const IPV6_UDP_PPP_OVERHEAD: usize = 50;
/// Largest UDP payload in a 1500-byte IPv6 packet (RUNNER.md §5.1).
pub const IPV6_MAX_UDP_PAYLOAD: usize = 1452;
/// ns-3's `corrupt-rate` picks the corrupted byte among the first 51 of the UDP payload.
pub const CORRUPT_MAX_OFFSET: usize = 50;

/// `impair`: a userspace UDP proxy that reproduces the QUIC interop runner's ns-3 scenarios.
#[derive(Parser, Debug, Clone, Default)]
#[command(
    name = "impair",
    about = "UDP impairment proxy reproducing the QUIC interop runner's network scenarios",
    after_help = "Durations take a unit (15ms, 1.5s, 100us); bandwidths bps/kbps/Mbps/Gbps; \
                  rates a probability (0.3) or a percentage (30%). `--list-scenarios` shows \
                  the presets and the runner tests that use them."
)]
pub struct Args {
    /// Address the client sends to (IPv4 or IPv6).
    #[arg(long, required_unless_present = "list_scenarios")]
    pub listen: Option<SocketAddr>,
    /// The real server's address.
    #[arg(long, required_unless_present = "list_scenarios")]
    pub server: Option<SocketAddr>,
    /// Seed of the link model's random streams (loss, corruption, rebinding addresses).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Preset for one of the runner's scenarios (a preset name or a runner test name).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Print the scenario presets and exit.
    #[arg(long)]
    pub list_scenarios: bool,
    /// One-way propagation delay, each direction.
    #[arg(long, value_parser = parse_duration)]
    pub delay: Option<Duration>,
    /// Extra per-datagram delay drawn uniformly from [0, jitter] (never reorders).
    #[arg(long, value_parser = parse_duration)]
    pub jitter: Option<Duration>,
    /// Bottleneck rate, each direction (e.g. 10Mbps).
    #[arg(long, value_parser = parse_bandwidth)]
    pub bandwidth: Option<u64>,
    /// Drop-tail queue length in datagrams (behind the one being serialised).
    #[arg(long)]
    pub queue: Option<usize>,
    /// Largest UDP payload carried; 0 = unlimited [default: 1472 (IPv4) / 1452 (IPv6)].
    #[arg(long)]
    pub mtu: Option<usize>,
    /// Random loss client→server.
    #[arg(long, value_parser = parse_rate)]
    pub drop_rate_to_server: Option<f64>,
    /// Random loss server→client.
    #[arg(long, value_parser = parse_rate)]
    pub drop_rate_to_client: Option<f64>,
    /// After this many random losses in a row, the next datagram passes (both directions).
    #[arg(long)]
    pub drop_burst: Option<u32>,
    /// Random one-byte corruption client→server.
    #[arg(long, value_parser = parse_rate)]
    pub corrupt_rate_to_server: Option<f64>,
    /// Random one-byte corruption server→client.
    #[arg(long, value_parser = parse_rate)]
    pub corrupt_rate_to_client: Option<f64>,
    /// After this many corruptions in a row, the next datagram is left intact.
    #[arg(long)]
    pub corrupt_burst: Option<u32>,
    /// Drop everything arriving client→server in START..END (from proxy start); repeatable.
    #[arg(long, value_parser = parse_window)]
    pub blackhole_to_server: Vec<Window>,
    /// Drop everything arriving server→client in START..END; repeatable.
    #[arg(long, value_parser = parse_window)]
    pub blackhole_to_client: Vec<Window>,
    /// Blackhole both directions in START..END; repeatable.
    #[arg(long, value_parser = parse_window)]
    pub blackhole: Vec<Window>,
    /// 1-based numbers of client→server datagrams to drop, e.g. `1,3,4` or `2-7`.
    #[arg(long, value_parser = parse_list)]
    pub drop_client_datagrams: Option<DropList>,
    /// 1-based numbers of server→client datagrams to drop.
    #[arg(long, value_parser = parse_list)]
    pub drop_server_datagrams: Option<DropList>,
    /// NAT rebinding: give each client a new upstream port this often.
    #[arg(long, value_parser = parse_duration, conflicts_with = "rebind_addr_every")]
    pub rebind_port_every: Option<Duration>,
    /// NAT rebinding: give each client a new upstream port and 127.0.0.x address this often.
    #[arg(long, value_parser = parse_duration)]
    pub rebind_addr_every: Option<Duration>,
    /// Time of the first rebind [default: the rebind period].
    #[arg(long, value_parser = parse_duration)]
    pub first_rebind: Option<Duration>,
    /// Stop after this long and print the summary.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Write the summary as JSON here on exit.
    #[arg(long)]
    pub summary_file: Option<PathBuf>,
    /// Before forwarding, require a Version Negotiation answer to the runner's "WAIT" probe
    /// (every 500 ms, up to 10 s), as the simulator does before starting.
    #[arg(long)]
    pub wait_for_server: bool,
    /// Once forwarding, listen on this TCP address (never accepting), like the sim's port 57832.
    #[arg(long)]
    pub ready_tcp: Option<SocketAddr>,
    /// Do not print the summary to stdout.
    #[arg(long)]
    pub quiet: bool,
}

/// NAT rebinding schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rebind {
    /// First rebind, from the proxy's start.
    pub first: Duration,
    /// Period after the first.
    pub every: Duration,
    /// Also move each client to a fresh 127.0.0.x source address (IPv4 loopback only).
    pub change_addr: bool,
}

/// The scenario knobs, before they become link configurations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// One-way delay.
    pub delay: Duration,
    /// Jitter bound.
    pub jitter: Duration,
    /// Bottleneck rate in bit/s, `None` = unlimited.
    pub bandwidth: Option<u64>,
    /// Drop-tail queue in datagrams, `None` = unlimited.
    pub queue: Option<usize>,
    /// Largest UDP payload; `None` = the address family's 1500-byte-MTU payload, `Some(0)` = none.
    pub mtu: Option<usize>,
    /// Loss probability client→server.
    pub drop_to_server: f64,
    /// Loss probability server→client.
    pub drop_to_client: f64,
    /// Longest run of random losses.
    pub drop_burst: Option<u32>,
    /// Corruption probability client→server.
    pub corrupt_to_server: f64,
    /// Corruption probability server→client.
    pub corrupt_to_client: f64,
    /// Longest run of corruptions.
    pub corrupt_burst: Option<u32>,
    /// Blackhole windows client→server.
    pub blackhole_to_server: Vec<Range<Duration>>,
    /// Blackhole windows server→client.
    pub blackhole_to_client: Vec<Range<Duration>>,
    /// Client→server datagram numbers to drop.
    pub drop_client: Vec<u64>,
    /// Server→client datagram numbers to drop.
    pub drop_server: Vec<u64>,
    /// NAT rebinding.
    pub rebind: Option<Rebind>,
}

impl Settings {
    /// The runner's default `simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25`.
    pub fn simple_p2p() -> Self {
        Self {
            delay: Duration::from_millis(15),
            bandwidth: Some(10_000_000),
            queue: Some(25),
            ..Self::default()
        }
    }

    /// The two link configurations `(client→server, server→client)` for a server of the given
    /// address family.
    pub fn link_configs(&self, ipv6: bool) -> (LinkConfig, LinkConfig) {
        let (overhead, max_payload) = if ipv6 {
            (IPV6_UDP_PPP_OVERHEAD, IPV6_MAX_UDP_PAYLOAD)
        } else {
            (IPV4_UDP_PPP_OVERHEAD, IPV4_MAX_UDP_PAYLOAD)
        };
        let base = LinkConfig {
            one_way_delay: self.delay,
            jitter: self.jitter,
            rate_bps: self.bandwidth,
            overhead_bytes: overhead,
            queue_packets: self.queue,
            mtu: match self.mtu {
                None => Some(max_payload),
                Some(0) => None,
                Some(m) => Some(m),
            },
            corrupt_max_offset: CORRUPT_MAX_OFFSET,
            ..LinkConfig::default()
        };
        let direction = |drop, corrupt, blackhole: &[Range<Duration>], list: &[u64]| {
            let mut link = base
                .clone()
                .with_drop_rate(drop, self.drop_burst)
                .with_corrupt_rate(corrupt, self.corrupt_burst)
                .with_drop_list(list.iter().copied());
            link.blackhole = blackhole.to_vec();
            link
        };
        (
            direction(
                self.drop_to_server,
                self.corrupt_to_server,
                &self.blackhole_to_server,
                &self.drop_client,
            ),
            direction(
                self.drop_to_client,
                self.corrupt_to_client,
                &self.blackhole_to_client,
                &self.drop_server,
            ),
        )
    }
}

/// Everything the proxy needs to run.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyConfig {
    /// Client-facing address.
    pub listen: SocketAddr,
    /// The real server.
    pub server: SocketAddr,
    /// Seed of all randomness.
    pub seed: u64,
    /// Name of the preset used, if any.
    pub scenario: Option<&'static str>,
    /// The scenario knobs.
    pub settings: Settings,
}

impl ProxyConfig {
    /// A proxy with the given settings and seed 0.
    pub fn new(listen: SocketAddr, server: SocketAddr, settings: Settings) -> Self {
        Self {
            listen,
            server,
            seed: 0,
            scenario: None,
            settings,
        }
    }

    /// `(client→server, server→client)` link configurations.
    pub fn link_configs(&self) -> (LinkConfig, LinkConfig) {
        self.settings.link_configs(self.server.is_ipv6())
    }
}

impl Args {
    /// Resolves the preset and the explicit options into a [`ProxyConfig`].
    pub fn config(&self) -> Result<ProxyConfig, String> {
        let (listen, server) = match (self.listen, self.server) {
            (Some(l), Some(s)) => (l, s),
            _ => return Err("--listen and --server are required".into()),
        };
        let preset = match &self.scenario {
            Some(name) => Some(
                scenario(name)
                    .ok_or_else(|| format!("unknown scenario {name:?}; see --list-scenarios"))?,
            ),
            None => None,
        };
        let mut s = preset.map(Scenario::settings).unwrap_or_default();
        macro_rules! set {
            ($($field:ident = $opt:expr),* $(,)?) => {$(
                if let Some(v) = $opt.clone() {
                    s.$field = v;
                }
            )*};
        }
        set!(
            delay = self.delay,
            jitter = self.jitter,
            drop_to_server = self.drop_rate_to_server,
            drop_to_client = self.drop_rate_to_client,
            corrupt_to_server = self.corrupt_rate_to_server,
            corrupt_to_client = self.corrupt_rate_to_client,
        );
        set!(
            bandwidth = self.bandwidth.map(Some),
            queue = self.queue.map(Some),
            mtu = self.mtu.map(Some),
            drop_burst = self.drop_burst.map(Some),
            corrupt_burst = self.corrupt_burst.map(Some),
            drop_client = self.drop_client_datagrams.as_ref().map(|l| l.0.clone()),
            drop_server = self.drop_server_datagrams.as_ref().map(|l| l.0.clone()),
        );
        let both = self.blackhole.iter().map(|w| w.0.clone());
        if !self.blackhole.is_empty() || !self.blackhole_to_server.is_empty() {
            s.blackhole_to_server = both.clone().collect();
            s.blackhole_to_server
                .extend(self.blackhole_to_server.iter().map(|w| w.0.clone()));
        }
        if !self.blackhole.is_empty() || !self.blackhole_to_client.is_empty() {
            s.blackhole_to_client = both.collect();
            s.blackhole_to_client
                .extend(self.blackhole_to_client.iter().map(|w| w.0.clone()));
        }
        let period = self
            .rebind_addr_every
            .map(|p| (p, true))
            .or(self.rebind_port_every.map(|p| (p, false)));
        if let Some((every, change_addr)) = period {
            s.rebind = Some(Rebind {
                first: self.first_rebind.unwrap_or(every),
                every,
                change_addr,
            });
        } else if let (Some(first), Some(r)) = (self.first_rebind, s.rebind.as_mut()) {
            r.first = first;
        }
        if let Some(r) = &s.rebind {
            if r.every.is_zero() {
                return Err("the rebind period must be positive".into());
            }
            if r.change_addr && !(server.is_ipv4() && server.ip().is_loopback()) {
                return Err("address rebinding needs an IPv4 loopback server (127.0.0.x)".into());
            }
        }
        if s.bandwidth == Some(0) {
            return Err("--bandwidth must be positive".into());
        }
        if listen.is_ipv4() != server.is_ipv4() {
            eprintln!("impair: note: --listen and --server use different address families");
        }
        Ok(ProxyConfig {
            listen,
            server,
            seed: self.seed,
            scenario: preset.map(|p| p.name),
            settings: s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_presets() {
        let parse = |extra: &[&str]| {
            let mut argv = vec![
                "impair",
                "--listen",
                "127.0.0.1:1",
                "--server",
                "127.0.0.1:2",
            ];
            argv.extend_from_slice(extra);
            Args::try_parse_from(argv).unwrap().config()
        };
        let c = parse(&["--scenario", "amplificationlimit"]).unwrap();
        assert_eq!(c.scenario, Some("droplist"));
        assert_eq!(c.settings.drop_client, (2..=7).collect::<Vec<_>>());
        let (to_server, to_client) = c.link_configs();
        assert_eq!(to_server.rate_bps, Some(10_000_000));
        assert_eq!(to_server.queue_packets, Some(25));
        assert_eq!(to_server.mtu, Some(1472));
        assert_eq!(to_server.one_way_delay, Duration::from_millis(15));
        assert!(to_client.drop_list.is_empty());

        let c = parse(&[
            "--scenario",
            "handshakeloss",
            "--drop-rate-to-client",
            "10%",
        ])
        .unwrap();
        assert_eq!(c.settings.drop_to_server, 0.30);
        assert_eq!(c.settings.drop_to_client, 0.10);
        assert_eq!(c.settings.drop_burst, Some(3));

        let c = parse(&["--scenario", "blackhole"]).unwrap();
        let (s, cl) = c.link_configs();
        let w = Duration::from_secs(5)..Duration::from_secs(7);
        assert_eq!((s.blackhole, cl.blackhole), (vec![w.clone()], vec![w]));

        let c = parse(&["--scenario", "rebind-addr", "--first-rebind", "2s"]).unwrap();
        let r = c.settings.rebind.unwrap();
        assert_eq!((r.first, r.every, r.change_addr), (secs(2), secs(5), true));
        let c = parse(&["--rebind-port-every", "3s"]).unwrap();
        let r = c.settings.rebind.unwrap();
        assert_eq!((r.first, r.every, r.change_addr), (secs(3), secs(3), false));

        let c = parse(&["--scenario", "longrtt", "--queue", "10", "--mtu", "0"]).unwrap();
        let (s, _) = c.link_configs();
        assert_eq!(
            (s.one_way_delay, s.queue_packets, s.mtu),
            (ms(750), Some(10), None)
        );
        let c = parse(&[
            "--blackhole-to-server",
            "1s..2s",
            "--drop-server-datagrams",
            "1,4-5",
        ]);
        let c = c.unwrap();
        assert_eq!(c.settings.blackhole_to_server, vec![secs(1)..secs(2)]);
        assert!(c.settings.blackhole_to_client.is_empty());
        assert_eq!(c.settings.drop_server, [1, 4, 5]);
        assert!(parse(&["--scenario", "nope"]).is_err());

        let v6 = Args::try_parse_from([
            "impair",
            "--listen",
            "[::1]:1",
            "--server",
            "[::1]:2",
            "--scenario",
            "ipv6",
        ]);
        let (s, _) = v6.unwrap().config().unwrap().link_configs();
        assert_eq!((s.mtu, s.overhead_bytes), (Some(1452), 50));
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn ms(m: u64) -> Duration {
        Duration::from_millis(m)
    }
}
