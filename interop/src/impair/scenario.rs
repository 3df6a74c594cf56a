//! Presets for the interop runner's ns-3 scenarios (RUNNER.md §2.1) and the runner tests
//! that use each.

use std::time::Duration;

use super::config::{Rebind, Settings};

/// A preset for one of the runner's ns-3 scenarios.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Preset name for `--scenario`.
    pub name: &'static str,
    /// The ns-3 command line it reproduces (RUNNER.md §2.1).
    pub ns3: &'static str,
    /// Runner tests (`-t` names) that run on it.
    pub tests: &'static [&'static str],
    apply: fn(&mut Settings),
}

impl Scenario {
    /// The settings of this preset.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::simple_p2p();
        (self.apply)(&mut s);
        s
    }
}

fn rates(s: &mut Settings, drop: f64, corrupt: f64) {
    s.drop_to_server = drop;
    s.drop_to_client = drop;
    s.corrupt_to_server = corrupt;
    s.corrupt_to_client = corrupt;
    s.drop_burst = Some(3);
    s.corrupt_burst = Some(3);
}

fn rebind(s: &mut Settings, change_addr: bool) {
    s.rebind = Some(Rebind {
        first: Duration::from_secs(1),
        every: Duration::from_secs(5),
        change_addr,
    });
}

/// The presets, one per distinct scenario of RUNNER.md §2.1.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "simple-p2p",
        ns3: "simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25",
        tests: &[
            "handshake",
            "transfer",
            "chacha20",
            "multiplexing",
            "retry",
            "resumption",
            "zerortt",
            "http3",
            "keyupdate",
            "ecn",
            "ipv6",
            "v2",
            "connectionmigration",
            "goodput",
            "crosstraffic",
            "versionnegotiation",
        ],
        apply: |_| {},
    },
    Scenario {
        name: "longrtt",
        ns3: "simple-p2p --delay=750ms --bandwidth=10Mbps --queue=25",
        tests: &["longrtt"],
        apply: |s| s.delay = Duration::from_millis(750),
    },
    Scenario {
        name: "blackhole",
        ns3: "blackhole ... --on=5s --off=2s",
        tests: &["blackhole"],
        apply: |s| {
            let window = Duration::from_secs(5)..Duration::from_secs(7);
            s.blackhole_to_server = vec![window.clone()];
            s.blackhole_to_client = vec![window];
        },
    },
    Scenario {
        name: "droplist",
        ns3: "droplist ... --drops_to_server=2,3,4,5,6,7",
        tests: &["amplificationlimit"],
        apply: |s| s.drop_client = (2..=7).collect(),
    },
    Scenario {
        name: "handshakeloss",
        ns3: "drop-rate ... --rate_to_server=30 --rate_to_client=30 --burst_to_server=3 --burst_to_client=3",
        tests: &["handshakeloss"],
        apply: |s| rates(s, 0.30, 0.0),
    },
    Scenario {
        name: "transferloss",
        ns3: "drop-rate ... --rate_to_server=2 --rate_to_client=2 --burst_to_server=3 --burst_to_client=3",
        tests: &["transferloss"],
        apply: |s| rates(s, 0.02, 0.0),
    },
    Scenario {
        name: "handshakecorruption",
        ns3: "corrupt-rate ... --rate_to_server=30 --rate_to_client=30 --burst_to_server=3 --burst_to_client=3",
        tests: &["handshakecorruption"],
        apply: |s| rates(s, 0.0, 0.30),
    },
    Scenario {
        name: "transfercorruption",
        ns3: "corrupt-rate ... --rate_to_server=2 --rate_to_client=2 --burst_to_server=3 --burst_to_client=3",
        tests: &["transfercorruption"],
        apply: |s| rates(s, 0.0, 0.02),
    },
    Scenario {
        name: "rebind-port",
        ns3: "rebind ... --first-rebind=1s --rebind-freq=5s",
        tests: &["rebind-port"],
        apply: |s| rebind(s, false),
    },
    Scenario {
        name: "rebind-addr",
        ns3: "rebind ... --first-rebind=1s --rebind-freq=5s --rebind-addr",
        tests: &["rebind-addr"],
        apply: |s| rebind(s, true),
    },
];

/// Looks a preset up by its name or by the name of a runner test that uses it
/// (`amplificationlimit` → `droplist`, `handshake` → `simple-p2p`, ...).
pub fn scenario(name: &str) -> Option<&'static Scenario> {
    SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .or_else(|| SCENARIOS.iter().find(|s| s.tests.contains(&name)))
}

/// The preset table as printed by `--list-scenarios`.
pub fn scenario_table() -> String {
    let mut out = String::from("scenario             runner tests\n");
    for s in SCENARIOS {
        out.push_str(&format!("{:<20} {}\n", s.name, s.tests.join(", ")));
        out.push_str(&format!("{:<20}   ns-3: {}\n", "", s.ns3));
    }
    out.push_str("(\"...\" = --delay=15ms --bandwidth=10Mbps --queue=25)\n");
    out
}
