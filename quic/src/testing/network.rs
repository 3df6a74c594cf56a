//! A deterministic, virtual-time network for connection tests and transfer benchmarks.
//!
//! [`Network`] carries opaque datagrams ([`BytesMut`]) between addressed nodes
//! ([`SocketAddr`]). Every ordered pair `(from, to)` is an independent one-way link with its own
//! [`LinkConfig`], its own seeded random generator and its own [`LinkStats`]; pairs that were never
//! configured use the network's default link (a perfect zero-delay link unless changed). Nothing
//! here reads a clock or an ambient random source: the caller passes `now` into every call and
//! the network's behaviour is a pure function of its seed and the sequence of calls, so a failing
//! test replays exactly from its seed.
//!
//! The shape follows the deterministic pairs the anchors test with (quinn's `tests/util.rs`
//! `Pair`, neqo's `test-fixture` sim with its Delay / Drop / TailDrop / Mtu nodes) and the ns-3
//! scenarios the interop runner uses (`/work/shared/interop/RUNNER.md` §2 and §4). A datagram
//! handed to [`Network::send`] passes, in this order:
//!
//! 1. the **MTU** check ([`LinkConfig::mtu`]): oversized datagrams are dropped before they use
//!    the link;
//! 2. the **drop-tail queue and serialiser** ([`LinkConfig::rate_bps`], `queue_packets`,
//!    `queue_bytes`): the `simple-p2p` bottleneck of RUNNER.md §4;
//! 3. **propagation** ([`LinkConfig::one_way_delay`], `jitter`, `reorder`);
//! 4. the **impairment stage**, which like ns-3's receive error models acts on the receiving end,
//!    after the datagram has used link time: `blackhole` (by arrival time), `drop_list`
//!    (`droplist`), the custom [`Filter`], random loss (`drop-rate`, optionally bursty),
//!    corruption (`corrupt-rate`), duplication and ECN marking.
//!
//! Datagrams are then delivered by [`Network::deliver`] / [`Network::pop_due`] in arrival order;
//! ties are broken by send order (a global sequence number), never by hash order.
//!
//! ```
//! # use std::time::{Duration, Instant};
//! # use bytes::BytesMut;
//! # use quic::testing::network::{LinkConfig, Network};
//! # #[allow(clippy::disallowed_methods)]
//! let start = Instant::now();
//! let (client, server) = ("10.0.0.1:4433".parse().unwrap(), "10.0.0.2:443".parse().unwrap());
//! let mut net = Network::new(7, start);
//! net.set_default_link(LinkConfig::interop());
//! net.send(start, client, server, BytesMut::from(&[0u8; 1200][..]));
//! let due = net.next_delivery().unwrap();
//! let got: Vec<_> = net.deliver(due).collect();
//! assert_eq!(got.len(), 1);
//! assert!(due - start >= Duration::from_millis(15));
//! ```

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::recovery::EcnCodepoint;

/// Per-datagram overhead the interop runner's link serialises on top of the UDP payload:
/// 2-byte PPP header + 20-byte IPv4 header + 8-byte UDP header (RUNNER.md §4).
pub const IPV4_UDP_PPP_OVERHEAD: usize = 30;

/// Largest UDP payload that fits a 1500-byte IPv4 MTU (RUNNER.md §5.1).
pub const IPV4_MAX_UDP_PAYLOAD: usize = 1472;

/// Gilbert–Elliott burst-loss model: a two-state Markov chain stepped once per datagram.
///
/// In the *good* state datagrams are lost with [`LinkConfig::loss`]; in the *bad* state with
/// [`loss_in_bad`](Self::loss_in_bad). With `loss = 0` and `loss_in_bad = 1` (the classic Gilbert
/// model) the long-run loss rate is `enter_bad / (enter_bad + exit_bad)` and loss bursts have a
/// geometric length with mean `1 / exit_bad`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GilbertElliott {
    /// Per-datagram probability of moving from the good state to the bad state.
    pub enter_bad: f64,
    /// Per-datagram probability of moving from the bad state back to the good state.
    pub exit_bad: f64,
    /// Loss probability while in the bad state.
    pub loss_in_bad: f64,
}

impl GilbertElliott {
    /// The classic Gilbert model (everything in the bad state is lost) with the given transition
    /// probabilities.
    pub fn new(enter_bad: f64, exit_bad: f64) -> Self {
        Self {
            enter_bad,
            exit_bad,
            loss_in_bad: 1.0,
        }
    }

    /// A classic Gilbert model with long-run loss rate `loss_rate` (in `[0, 1)`) and mean burst
    /// length `mean_burst` datagrams (at least 1).
    pub fn with_mean(loss_rate: f64, mean_burst: f64) -> Self {
        let exit_bad = 1.0 / mean_burst.max(1.0);
        let enter_bad = (loss_rate * exit_bad / (1.0 - loss_rate)).clamp(0.0, 1.0);
        Self::new(enter_bad, exit_bad)
    }

    /// Long-run fraction of datagrams that see the bad state.
    pub fn stationary_bad(&self) -> f64 {
        let sum = self.enter_bad + self.exit_bad;
        if sum == 0.0 {
            0.0
        } else {
            self.enter_bad / sum
        }
    }
}

/// The behaviour of one direction of one link. Pure data: `Clone`, comparable, printable.
///
/// All fields are public, so `LinkConfig { loss: 0.1, ..LinkConfig::default() }` works; the
/// constructors and `with_*` builders cover the common shapes, including the interop runner's
/// ns-3 scenarios (RUNNER.md §2.1 and §4):
///
/// | RUNNER.md scenario | here |
/// |---|---|
/// | `simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25` | [`LinkConfig::interop`] |
/// | `simple-p2p --delay=750ms ...` (longrtt) | [`LinkConfig::simple_p2p`] with 750 ms |
/// | `blackhole --on=5s --off=2s` | `.with_blackhole(5s..7s)` on both directions |
/// | `droplist --drops_to_server=2,...,7` (amplificationlimit) | `.with_drop_list(2..=7)` client→server |
/// | `drop-rate --rate=30/2 --burst=3` (handshakeloss, transferloss) | `.with_drop_rate(0.30, Some(3))` |
/// | `corrupt-rate --rate=30/2 --burst=3` (handshake-, transfercorruption) | `.with_corrupt_rate(0.30, Some(3))` |
///
/// [`Default`] is a perfect link: no delay, unlimited rate, no MTU, no impairments.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// Propagation delay added to every datagram after serialisation (`--delay` of
    /// `simple-p2p`).
    pub one_way_delay: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` per datagram. Jitter alone never reorders:
    /// a datagram never arrives before one sent earlier on the same link (it is held back to
    /// that arrival instead), as on a real FIFO path. Use [`reorder`](Self::reorder) to reorder.
    pub jitter: Duration,
    /// Bottleneck rate in bits per second (`--bandwidth`). `Some` makes the link serialise
    /// datagrams one after another, each taking `(len + overhead_bytes) * 8 / rate_bps`, with a
    /// drop-tail queue in front; `None` means infinitely fast (no queue).
    pub rate_bps: Option<u64>,
    /// Bytes added to each datagram's length when computing its serialisation time (IP, UDP and
    /// link headers; [`IPV4_UDP_PPP_OVERHEAD`] reproduces the runner's link).
    pub overhead_bytes: usize,
    /// Drop-tail queue limit in datagrams waiting behind the one being serialised (`--queue`;
    /// RUNNER.md §5.1: "25 packets, + 1 in service"). `None` = unlimited. Only used with a rate.
    pub queue_packets: Option<usize>,
    /// Drop-tail queue limit in payload bytes waiting behind the one being serialised. `None` =
    /// unlimited. Only used with a rate.
    pub queue_bytes: Option<usize>,
    /// Largest datagram the link carries; larger ones are dropped before using the link (a path
    /// MTU, as neqo's `Mtu` node). `None` = unlimited.
    pub mtu: Option<usize>,
    /// Independent loss probability per datagram (`drop-rate`'s `--rate` / 100); with
    /// [`loss_burst`](Self::loss_burst), the loss probability in its good state.
    pub loss: f64,
    /// Bursty loss (Gilbert–Elliott). `None` = losses are independent.
    pub loss_burst: Option<GilbertElliott>,
    /// After this many random losses in a row the next datagram is forced through and the
    /// counter resets (`drop-rate`'s `--burst`). `None` = no limit.
    pub loss_max_burst: Option<u32>,
    /// Probability that a datagram gets [`reorder_delay`](Self::reorder_delay) of extra delay,
    /// so that datagrams sent after it overtake it.
    pub reorder: f64,
    /// Extra delay given to a reordered datagram.
    pub reorder_delay: Duration,
    /// Probability that a datagram is delivered twice (the copy arrives right after it).
    pub duplicate: f64,
    /// Probability that one byte of a datagram is replaced by a different value
    /// (`corrupt-rate`'s `--rate` / 100). The datagram keeps its length and is delivered.
    pub corrupt: f64,
    /// Corrupted bytes are chosen uniformly from offsets `0..=min(corrupt_max_offset, len - 1)`;
    /// ns-3's `corrupt-rate` uses 50 (a byte in or near the QUIC header).
    pub corrupt_max_offset: usize,
    /// After this many corruptions in a row the next datagram is left intact
    /// (`corrupt-rate`'s `--burst`). `None` = no limit.
    pub corrupt_max_burst: Option<u32>,
    /// Probability that an ECT(0)/ECT(1) datagram is re-marked CE (random congestion marking).
    pub ce_mark: f64,
    /// Mark ECT datagrams CE when at least this many datagrams are waiting in the queue ahead of
    /// them (a step-threshold AQM, as L4S/DCTCP-style routers do). Only used with a rate.
    pub ce_queue_threshold: Option<usize>,
    /// Clear the ECN field of every datagram (a path that bleaches ECN; RFC 9000 §13.4.2
    /// validation should then disable ECN).
    pub ecn_bleach: bool,
    /// Time windows, measured from the network's start, during which every datagram *arriving*
    /// is dropped (`blackhole --on --off`; ns-3 drops at the receiving device).
    pub blackhole: Vec<Range<Duration>>,
    /// 1-based numbers of the datagrams to drop, counting every datagram sent on this link
    /// (`droplist`; see [`Meta::index`]).
    pub drop_list: Vec<u64>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            one_way_delay: Duration::ZERO,
            jitter: Duration::ZERO,
            rate_bps: None,
            overhead_bytes: 0,
            queue_packets: None,
            queue_bytes: None,
            mtu: None,
            loss: 0.0,
            loss_burst: None,
            loss_max_burst: None,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            duplicate: 0.0,
            corrupt: 0.0,
            corrupt_max_offset: usize::MAX,
            corrupt_max_burst: None,
            ce_mark: 0.0,
            ce_queue_threshold: None,
            ecn_bleach: false,
            blackhole: Vec::new(),
            drop_list: Vec::new(),
        }
    }
}

impl LinkConfig {
    /// A perfect link: zero delay, unlimited rate, nothing lost (same as [`Default`]).
    pub fn perfect() -> Self {
        Self::default()
    }

    /// A link with a fixed one-way delay and nothing else.
    pub fn delay(one_way_delay: Duration) -> Self {
        Self {
            one_way_delay,
            ..Self::default()
        }
    }

    /// A link with a fixed delay, independent loss and reordering; reordered datagrams get
    /// `max(one_way_delay / 2, 1 ms)` of extra delay.
    pub fn lossy(one_way_delay: Duration, loss: f64, reorder: f64) -> Self {
        Self {
            one_way_delay,
            loss,
            reorder,
            reorder_delay: (one_way_delay / 2).max(Duration::from_millis(1)),
            ..Self::default()
        }
    }

    /// The interop runner's `simple-p2p` link (RUNNER.md §4): `rate_bps` bottleneck with a
    /// drop-tail queue of `queue_packets` (+ 1 in service), IPv4 + UDP + PPP overhead, a
    /// 1472-byte UDP payload limit, then `one_way_delay`.
    pub fn simple_p2p(one_way_delay: Duration, rate_bps: u64, queue_packets: usize) -> Self {
        Self {
            one_way_delay,
            rate_bps: Some(rate_bps),
            overhead_bytes: IPV4_UDP_PPP_OVERHEAD,
            queue_packets: Some(queue_packets),
            mtu: Some(IPV4_MAX_UDP_PAYLOAD),
            ..Self::default()
        }
    }

    /// The runner's default scenario, `simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25`
    /// (RUNNER.md §2: 30 ms base RTT, 10 Mbit/s, queue ≈ 1 BDP).
    pub fn interop() -> Self {
        Self::simple_p2p(Duration::from_millis(15), 10_000_000, 25)
    }

    /// Sets the jitter bound.
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets a bottleneck rate with a drop-tail queue of `queue_packets` waiting datagrams.
    pub fn with_rate(mut self, rate_bps: u64, queue_packets: Option<usize>) -> Self {
        self.rate_bps = Some(rate_bps);
        self.queue_packets = queue_packets;
        self
    }

    /// Sets independent random loss, at most `max_burst` in a row (ns-3 `drop-rate`;
    /// handshakeloss is `(0.30, Some(3))`, transferloss `(0.02, Some(3))`).
    pub fn with_drop_rate(mut self, loss: f64, max_burst: Option<u32>) -> Self {
        self.loss = loss;
        self.loss_max_burst = max_burst;
        self
    }

    /// Sets Gilbert–Elliott burst loss.
    pub fn with_burst_loss(mut self, model: GilbertElliott) -> Self {
        self.loss_burst = Some(model);
        self
    }

    /// Sets reordering: probability `p` of `extra` additional delay.
    pub fn with_reorder(mut self, p: f64, extra: Duration) -> Self {
        self.reorder = p;
        self.reorder_delay = extra;
        self
    }

    /// Sets the duplication probability.
    pub fn with_duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }

    /// Sets random corruption of one byte in the first 51, at most `max_burst` in a row (ns-3
    /// `corrupt-rate`; handshakecorruption is `(0.30, Some(3))`, transfercorruption
    /// `(0.02, Some(3))`). The runner's model also spares Version Negotiation packets; this
    /// QUIC-agnostic link does not.
    pub fn with_corrupt_rate(mut self, p: f64, max_burst: Option<u32>) -> Self {
        self.corrupt = p;
        self.corrupt_max_burst = max_burst;
        self.corrupt_max_offset = 50;
        self
    }

    /// Sets the largest datagram the link carries.
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Adds a blackhole window (from the network's start); the `blackhole` scenario is
    /// `5 s..7 s` on both directions.
    pub fn with_blackhole(mut self, window: Range<Duration>) -> Self {
        self.blackhole.push(window);
        self
    }

    /// Adds 1-based datagram numbers to drop (`droplist`; amplificationlimit drops client→server
    /// datagrams `2..=7`).
    pub fn with_drop_list(mut self, numbers: impl IntoIterator<Item = u64>) -> Self {
        self.drop_list.extend(numbers);
        self
    }

    /// Sets the random CE-marking probability for ECT datagrams.
    pub fn with_ce_mark(mut self, p: f64) -> Self {
        self.ce_mark = p;
        self
    }

    /// Panics with a clear message if a probability is outside `[0, 1]` or the rate is zero.
    fn validate(&self) {
        let mut probabilities = vec![
            ("loss", self.loss),
            ("reorder", self.reorder),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
            ("ce_mark", self.ce_mark),
        ];
        if let Some(ge) = &self.loss_burst {
            probabilities.push(("loss_burst.enter_bad", ge.enter_bad));
            probabilities.push(("loss_burst.exit_bad", ge.exit_bad));
            probabilities.push(("loss_burst.loss_in_bad", ge.loss_in_bad));
        }
        for (name, p) in probabilities {
            assert!(
                (0.0..=1.0).contains(&p),
                "LinkConfig::{name} must be in [0, 1], got {p}"
            );
        }
        assert!(
            self.rate_bps != Some(0),
            "LinkConfig::rate_bps must be positive"
        );
    }
}

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Larger than [`LinkConfig::mtu`].
    Mtu,
    /// The drop-tail queue was full.
    Queue,
    /// It would have arrived during a [`LinkConfig::blackhole`] window.
    Blackhole,
    /// Its number is in [`LinkConfig::drop_list`].
    DropList,
    /// The link's [`Filter`] asked to drop it.
    Filter,
    /// Random loss ([`LinkConfig::loss`] / [`LinkConfig::loss_burst`]).
    Loss,
}

/// What [`Network::send`] did with a datagram. Tests of the network use it; a connection
/// harness normally ignores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// The datagram will be delivered at `arrival` (and a copy right after it if `duplicated`).
    Scheduled {
        /// When the datagram arrives.
        arrival: Instant,
        /// Whether a duplicate was scheduled too.
        duplicated: bool,
    },
    /// The datagram was dropped.
    Dropped(DropReason),
}

/// What a [`Filter`] sees about a datagram at the impairment stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Sender.
    pub from: SocketAddr,
    /// Receiver.
    pub to: SocketAddr,
    /// 1-based number of this datagram among all datagrams sent on this link (dropped ones
    /// included), the numbering of [`LinkConfig::drop_list`].
    pub index: u64,
    /// When it was sent, measured from the network's start.
    pub sent: Duration,
    /// When it would arrive, measured from the network's start.
    pub arrival: Duration,
    /// Its ECN codepoint as sent.
    pub ecn: EcnCodepoint,
}

/// A custom drop hook for one link: called for each datagram that reaches the impairment stage
/// (after the MTU, queue, blackhole and drop-list checks, before random loss); returning `true`
/// drops it. It may keep state (e.g. "drop the second datagram longer than 1000 bytes").
pub type Filter = Box<dyn FnMut(&Meta, &[u8]) -> bool + Send>;

/// A datagram handed out by [`Network::deliver`] or [`Network::pop_due`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Sender.
    pub from: SocketAddr,
    /// Receiver.
    pub to: SocketAddr,
    /// The payload (possibly corrupted by the link).
    pub datagram: BytesMut,
    /// The ECN codepoint as received (possibly CE-marked or bleached by the link).
    pub ecn: EcnCodepoint,
    /// When it was sent.
    pub sent: Instant,
    /// When it arrived (at or before the `now` it was delivered at).
    pub arrival: Instant,
}

/// Counters for one direction of one link.
///
/// `delivered` counts duplicates too, so `delivered` can exceed `sent`; in a quiescent network
/// `sent + duplicated == delivered + dropped()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams handed to [`Network::send`].
    pub sent: u64,
    /// Their payload bytes.
    pub sent_bytes: u64,
    /// Datagrams handed out to the receiver (duplicates included).
    pub delivered: u64,
    /// Their payload bytes.
    pub delivered_bytes: u64,
    /// Dropped for exceeding the MTU.
    pub dropped_mtu: u64,
    /// Dropped by the full drop-tail queue.
    pub dropped_queue: u64,
    /// Dropped in a blackhole window.
    pub dropped_blackhole: u64,
    /// Dropped by the drop list.
    pub dropped_list: u64,
    /// Dropped by the custom filter.
    pub dropped_filter: u64,
    /// Dropped by random loss.
    pub dropped_loss: u64,
    /// Removed while in flight by [`Network::drop_in_flight`].
    pub dropped_in_flight: u64,
    /// Scheduled datagrams that got the reordering delay.
    pub reordered: u64,
    /// Duplicate copies scheduled.
    pub duplicated: u64,
    /// Scheduled datagrams with a corrupted byte.
    pub corrupted: u64,
    /// Scheduled datagrams re-marked CE.
    pub ce_marked: u64,
    /// Most datagrams ever waiting in the queue at once.
    pub max_queue: u64,
}

impl LinkStats {
    /// All drops, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_mtu
            + self.dropped_queue
            + self.dropped_blackhole
            + self.dropped_list
            + self.dropped_filter
            + self.dropped_loss
            + self.dropped_in_flight
    }

    fn add(&mut self, o: &LinkStats) {
        self.sent += o.sent;
        self.sent_bytes += o.sent_bytes;
        self.delivered += o.delivered;
        self.delivered_bytes += o.delivered_bytes;
        self.dropped_mtu += o.dropped_mtu;
        self.dropped_queue += o.dropped_queue;
        self.dropped_blackhole += o.dropped_blackhole;
        self.dropped_list += o.dropped_list;
        self.dropped_filter += o.dropped_filter;
        self.dropped_loss += o.dropped_loss;
        self.dropped_in_flight += o.dropped_in_flight;
        self.reordered += o.reordered;
        self.duplicated += o.duplicated;
        self.corrupted += o.corrupted;
        self.ce_marked += o.ce_marked;
        self.max_queue = self.max_queue.max(o.max_queue);
    }
}

/// A tiny virtual clock for harnesses: starts at a caller-supplied base and only moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    start: Instant,
    now: Instant,
}

impl Clock {
    /// A clock reading `start`.
    pub fn new(start: Instant) -> Self {
        Self { start, now: start }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The time the clock started at.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Moves the clock forward by `d` and returns the new time.
    pub fn advance(&mut self, d: Duration) -> Instant {
        self.now += d;
        self.now
    }

    /// Moves the clock to `t` if that is later (it never goes backwards) and returns the new
    /// time.
    pub fn advance_to(&mut self, t: Instant) -> Instant {
        self.now = self.now.max(t);
        self.now
    }
}

/// One direction of one link: configuration plus mutable state.
struct Link {
    from: SocketAddr,
    to: SocketAddr,
    config: LinkConfig,
    /// Set by [`Network::set_link`]; links without it follow the network default.
    explicit: bool,
    filter: Option<Filter>,
    rng: StdRng,
    stats: LinkStats,
    /// Datagrams sent so far (the last [`Meta::index`]).
    sent_index: u64,
    /// When the serialiser finishes the last accepted datagram.
    busy_until: Instant,
    /// Datagrams waiting for the serialiser: (serialisation start, payload bytes).
    queue: VecDeque<(Instant, usize)>,
    queued_bytes: usize,
    /// Arrival time of the last in-order scheduled datagram (jitter never reorders).
    last_arrival: Instant,
    /// Gilbert–Elliott state.
    bad_state: bool,
    loss_run: u32,
    corrupt_run: u32,
}

/// A datagram in flight, ordered so that [`BinaryHeap`] pops the earliest arrival first and,
/// among equal arrivals, the earliest sent.
struct Pending {
    arrival: Instant,
    seq: u64,
    link: usize,
    sent: Instant,
    ecn: EcnCodepoint,
    datagram: BytesMut,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        other
            .arrival
            .cmp(&self.arrival)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A virtual-time network of addressed nodes joined by per-direction links. See the
/// [module documentation](self).
pub struct Network {
    seed: u64,
    start: Instant,
    default: LinkConfig,
    links: Vec<Link>,
    by_pair: BTreeMap<(SocketAddr, SocketAddr), usize>,
    pending: BinaryHeap<Pending>,
    next_seq: u64,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("seed", &self.seed)
            .field("links", &self.links.len())
            .field("in_flight", &self.pending.len())
            .field("default", &self.default)
            .finish()
    }
}

impl Network {
    /// An empty network whose randomness derives from `seed` and whose time starts at `start`
    /// (blackhole windows and [`Meta`] times are measured from it). Every link starts as the
    /// default, a perfect link.
    pub fn new(seed: u64, start: Instant) -> Self {
        Self {
            seed,
            start,
            default: LinkConfig::default(),
            links: Vec::new(),
            by_pair: BTreeMap::new(),
            pending: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The start time.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Sets the configuration of every link not configured by [`set_link`](Self::set_link),
    /// including ones already in use (their queues, counters and random streams carry on).
    pub fn set_default_link(&mut self, config: LinkConfig) {
        config.validate();
        for link in self.links.iter_mut().filter(|l| !l.explicit) {
            link.config = config.clone();
        }
        self.default = config;
    }

    /// The default link configuration.
    pub fn default_link(&self) -> &LinkConfig {
        &self.default
    }

    /// Configures the `from → to` direction. May be called at any time; datagrams already in
    /// flight keep their fate, queue state and counters carry on.
    pub fn set_link(&mut self, from: SocketAddr, to: SocketAddr, config: LinkConfig) {
        config.validate();
        let i = self.link_index(from, to);
        self.links[i].config = config;
        self.links[i].explicit = true;
    }

    /// Configures both directions between `a` and `b` identically (each keeps its own random
    /// stream and queue).
    pub fn set_link_both(&mut self, a: SocketAddr, b: SocketAddr, config: LinkConfig) {
        self.set_link(a, b, config.clone());
        self.set_link(b, a, config);
    }

    /// The configuration the `from → to` direction uses.
    pub fn link(&self, from: SocketAddr, to: SocketAddr) -> &LinkConfig {
        match self.by_pair.get(&(from, to)) {
            Some(&i) => &self.links[i].config,
            None => &self.default,
        }
    }

    /// Installs a custom drop hook on the `from → to` direction (replacing any previous one).
    pub fn set_filter(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        filter: impl FnMut(&Meta, &[u8]) -> bool + Send + 'static,
    ) {
        let i = self.link_index(from, to);
        self.links[i].filter = Some(Box::new(filter));
    }

    /// Removes the custom drop hook of the `from → to` direction.
    pub fn clear_filter(&mut self, from: SocketAddr, to: SocketAddr) {
        if let Some(&i) = self.by_pair.get(&(from, to)) {
            self.links[i].filter = None;
        }
    }

    /// Sends a Not-ECT datagram at `now`. See [`send_ecn`](Self::send_ecn).
    pub fn send(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        datagram: BytesMut,
    ) -> SendOutcome {
        self.send_ecn(now, from, to, EcnCodepoint::NotEct, datagram)
    }

    /// Sends a datagram with an ECN codepoint at `now`, running it through the link's pipeline
    /// (see the [module documentation](self)). `now` should not go backwards between calls.
    pub fn send_ecn(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        mut ecn: EcnCodepoint,
        mut datagram: BytesMut,
    ) -> SendOutcome {
        let start = self.start;
        let li = self.link_index(from, to);
        let link = &mut self.links[li];
        let cfg = &link.config;
        let len = datagram.len();
        link.sent_index += 1;
        let index = link.sent_index;
        link.stats.sent += 1;
        link.stats.sent_bytes += len as u64;

        // 1. MTU.
        if cfg.mtu.is_some_and(|mtu| len > mtu) {
            link.stats.dropped_mtu += 1;
            return SendOutcome::Dropped(DropReason::Mtu);
        }

        // 2. Drop-tail queue and serialiser.
        let mut queue_ce = false;
        let departure = match cfg.rate_bps {
            None => now,
            Some(rate) => {
                while link.queue.front().is_some_and(|&(begin, _)| begin <= now) {
                    if let Some((_, bytes)) = link.queue.pop_front() {
                        link.queued_bytes -= bytes;
                    }
                }
                let begin = link.busy_until.max(now);
                if begin > now {
                    let waiting = link.queue.len();
                    if cfg.queue_packets.is_some_and(|q| waiting >= q)
                        || cfg.queue_bytes.is_some_and(|q| link.queued_bytes + len > q)
                    {
                        link.stats.dropped_queue += 1;
                        return SendOutcome::Dropped(DropReason::Queue);
                    }
                    queue_ce = cfg.ce_queue_threshold.is_some_and(|t| waiting >= t);
                    link.queue.push_back((begin, len));
                    link.queued_bytes += len;
                    link.stats.max_queue = link.stats.max_queue.max(link.queue.len() as u64);
                }
                link.busy_until = begin + serialization_time(len + cfg.overhead_bytes, rate);
                link.busy_until
            }
        };

        // 3. Propagation.
        let mut arrival = departure + cfg.one_way_delay;
        if !cfg.jitter.is_zero() {
            let max = u64::try_from(cfg.jitter.as_nanos()).unwrap_or(u64::MAX);
            arrival += Duration::from_nanos(link.rng.random_range(0..=max));
        }
        arrival = arrival.max(link.last_arrival);
        let reordered = cfg.reorder > 0.0 && link.rng.random_bool(cfg.reorder);
        if reordered {
            arrival += cfg.reorder_delay;
        }

        // 4. Impairments at the receiving end.
        let arrival_offset = arrival.saturating_duration_since(start);
        if cfg.blackhole.iter().any(|w| w.contains(&arrival_offset)) {
            link.stats.dropped_blackhole += 1;
            return SendOutcome::Dropped(DropReason::Blackhole);
        }
        if cfg.drop_list.contains(&index) {
            link.stats.dropped_list += 1;
            return SendOutcome::Dropped(DropReason::DropList);
        }
        if let Some(filter) = link.filter.as_mut() {
            let meta = Meta {
                from,
                to,
                index,
                sent: now.saturating_duration_since(start),
                arrival: arrival_offset,
                ecn,
            };
            if filter(&meta, &datagram) {
                link.stats.dropped_filter += 1;
                return SendOutcome::Dropped(DropReason::Filter);
            }
        }

        let mut p_loss = cfg.loss;
        if let Some(ge) = &cfg.loss_burst {
            if link.bad_state {
                if ge.exit_bad > 0.0 && link.rng.random_bool(ge.exit_bad) {
                    link.bad_state = false;
                }
            } else if ge.enter_bad > 0.0 && link.rng.random_bool(ge.enter_bad) {
                link.bad_state = true;
            }
            if link.bad_state {
                p_loss = ge.loss_in_bad;
            }
        }
        let forced_through = cfg.loss_max_burst.is_some_and(|m| link.loss_run >= m);
        if !forced_through && p_loss > 0.0 && link.rng.random_bool(p_loss) {
            link.loss_run += 1;
            link.stats.dropped_loss += 1;
            return SendOutcome::Dropped(DropReason::Loss);
        }
        link.loss_run = 0;

        if cfg.corrupt > 0.0 && len > 0 {
            let spared = cfg.corrupt_max_burst.is_some_and(|m| link.corrupt_run >= m);
            if !spared && link.rng.random_bool(cfg.corrupt) {
                let offset = link
                    .rng
                    .random_range(0..=cfg.corrupt_max_offset.min(len - 1));
                let flip: u8 = link.rng.random_range(1..=255);
                datagram[offset] ^= flip;
                link.corrupt_run += 1;
                link.stats.corrupted += 1;
            } else {
                link.corrupt_run = 0;
            }
        }

        let ect = matches!(ecn, EcnCodepoint::Ect0 | EcnCodepoint::Ect1);
        if cfg.ecn_bleach {
            ecn = EcnCodepoint::NotEct;
        } else if ect && (queue_ce || (cfg.ce_mark > 0.0 && link.rng.random_bool(cfg.ce_mark))) {
            ecn = EcnCodepoint::Ce;
            link.stats.ce_marked += 1;
        }

        let duplicated = cfg.duplicate > 0.0 && link.rng.random_bool(cfg.duplicate);

        // 5. Schedule.
        if reordered {
            link.stats.reordered += 1;
        } else {
            link.last_arrival = arrival;
        }
        if duplicated {
            link.stats.duplicated += 1;
            let copy = datagram.clone();
            self.push(arrival, li, now, ecn, datagram);
            self.push(arrival, li, now, ecn, copy);
        } else {
            self.push(arrival, li, now, ecn, datagram);
        }
        SendOutcome::Scheduled {
            arrival,
            duplicated,
        }
    }

    /// The earliest pending arrival, if anything is in flight.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.pending.peek().map(|p| p.arrival)
    }

    /// Takes the earliest datagram that has arrived at or before `now`, if any. Use this in a
    /// `while let` loop when handling a datagram may send more (which a borrowed
    /// [`deliver`](Self::deliver) iterator does not allow).
    pub fn pop_due(&mut self, now: Instant) -> Option<Delivered> {
        if self.pending.peek()?.arrival > now {
            return None;
        }
        let p = self.pending.pop()?;
        let link = &mut self.links[p.link];
        link.stats.delivered += 1;
        link.stats.delivered_bytes += p.datagram.len() as u64;
        Some(Delivered {
            from: link.from,
            to: link.to,
            datagram: p.datagram,
            ecn: p.ecn,
            sent: p.sent,
            arrival: p.arrival,
        })
    }

    /// Everything that has arrived at or before `now`, in arrival order (ties in send order).
    /// Lazy: datagrams the iterator is not advanced to stay in flight.
    pub fn deliver(&mut self, now: Instant) -> Deliver<'_> {
        Deliver { net: self, now }
    }

    /// Number of datagrams in flight.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Drops every datagram in flight on `from → to` (like quinn's `Pair` clearing a queue) and
    /// returns how many.
    pub fn drop_in_flight(&mut self, from: SocketAddr, to: SocketAddr) -> usize {
        let Some(&li) = self.by_pair.get(&(from, to)) else {
            return 0;
        };
        let before = self.pending.len();
        self.pending.retain(|p| p.link != li);
        let dropped = before - self.pending.len();
        self.links[li].stats.dropped_in_flight += dropped as u64;
        dropped
    }

    /// Counters of the `from → to` direction (all zero if it was never used).
    pub fn stats(&self, from: SocketAddr, to: SocketAddr) -> LinkStats {
        self.by_pair
            .get(&(from, to))
            .map(|&i| self.links[i].stats)
            .unwrap_or_default()
    }

    /// Counters summed over all links (`max_queue` is the maximum).
    pub fn total_stats(&self) -> LinkStats {
        let mut total = LinkStats::default();
        for link in &self.links {
            total.add(&link.stats);
        }
        total
    }

    /// `(from, to, counters)` for every link used or configured so far, sorted by address pair.
    pub fn all_stats(&self) -> impl Iterator<Item = (SocketAddr, SocketAddr, LinkStats)> + '_ {
        self.by_pair
            .iter()
            .map(|(&(from, to), &i)| (from, to, self.links[i].stats))
    }

    fn push(
        &mut self,
        arrival: Instant,
        link: usize,
        sent: Instant,
        ecn: EcnCodepoint,
        datagram: BytesMut,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push(Pending {
            arrival,
            seq,
            link,
            sent,
            ecn,
            datagram,
        });
    }

    fn link_index(&mut self, from: SocketAddr, to: SocketAddr) -> usize {
        if let Some(&i) = self.by_pair.get(&(from, to)) {
            return i;
        }
        let i = self.links.len();
        self.links.push(Link {
            from,
            to,
            config: self.default.clone(),
            explicit: false,
            filter: None,
            rng: StdRng::seed_from_u64(link_seed(self.seed, &from, &to)),
            stats: LinkStats::default(),
            sent_index: 0,
            busy_until: self.start,
            queue: VecDeque::new(),
            queued_bytes: 0,
            last_arrival: self.start,
            bad_state: false,
            loss_run: 0,
            corrupt_run: 0,
        });
        self.by_pair.insert((from, to), i);
        i
    }
}

/// Iterator returned by [`Network::deliver`].
#[derive(Debug)]
pub struct Deliver<'a> {
    net: &'a mut Network,
    now: Instant,
}

impl Iterator for Deliver<'_> {
    type Item = Delivered;

    fn next(&mut self) -> Option<Delivered> {
        self.net.pop_due(self.now)
    }
}

/// Time to serialise `bytes` at `rate_bps`, rounded up to the nanosecond.
fn serialization_time(bytes: usize, rate_bps: u64) -> Duration {
    let nanos = (bytes as u128 * 8 * 1_000_000_000).div_ceil(u128::from(rate_bps));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// SplitMix64 finaliser: a fixed, platform-independent mixing function.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable 64-bit key for an address (FNV-1a over family, octets and port); unlike std's
/// hasher it is fixed across Rust versions, so seeds replay forever.
fn addr_key(addr: &SocketAddr) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    match addr.ip() {
        IpAddr::V4(ip) => {
            eat(4);
            ip.octets().into_iter().for_each(&mut eat);
        }
        IpAddr::V6(ip) => {
            eat(6);
            ip.octets().into_iter().for_each(&mut eat);
        }
    }
    addr.port().to_be_bytes().into_iter().for_each(&mut eat);
    h
}

/// The seed of the `from → to` link's random stream: each direction has its own stream, so
/// traffic on one link never changes what happens on another.
fn link_seed(seed: u64, from: &SocketAddr, to: &SocketAddr) -> u64 {
    splitmix64(splitmix64(seed ^ addr_key(from)) ^ addr_key(to).rotate_left(29))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, n], 4433))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A datagram of `len` bytes carrying `n` in its first 8 bytes.
    fn numbered(n: u64, len: usize) -> BytesMut {
        let mut d = BytesMut::zeroed(len.max(8));
        d[..8].copy_from_slice(&n.to_be_bytes());
        d
    }

    fn number(d: &[u8]) -> u64 {
        u64::from_be_bytes(d[..8].try_into().unwrap())
    }

    /// Drains everything, returning (from, to, arrival offset, number, bytes).
    fn drain(net: &mut Network) -> Vec<(SocketAddr, SocketAddr, Duration, u64, BytesMut)> {
        let start = net.start();
        let mut out = Vec::new();
        while let Some(t) = net.next_delivery() {
            for d in net.deliver(t) {
                out.push((
                    d.from,
                    d.to,
                    d.arrival - start,
                    number(&d.datagram),
                    d.datagram,
                ));
            }
        }
        out
    }

    /// Sends `count` datagrams `a → b`, one every `gap`, draining as it goes; returns the
    /// delivered numbers in arrival order.
    fn stream(net: &mut Network, count: u64, gap: Duration, len: usize) -> Vec<u64> {
        let (a, b) = (addr(1), addr(2));
        let mut now = net.start();
        let mut got = Vec::new();
        for i in 0..count {
            net.send(now, a, b, numbered(i, len));
            got.extend(net.deliver(now).map(|d| number(&d.datagram)));
            now += gap;
        }
        got.extend(drain(net).into_iter().map(|x| x.3));
        got
    }

    fn chaotic() -> LinkConfig {
        LinkConfig::lossy(ms(20), 0.1, 0.1)
            .with_jitter(ms(5))
            .with_rate(20_000_000, Some(30))
            .with_duplicate(0.05)
            .with_corrupt_rate(0.05, None)
            .with_burst_loss(GilbertElliott::new(0.01, 0.3))
    }

    fn run_chaos(
        seed: u64,
        start: Instant,
    ) -> Vec<(SocketAddr, SocketAddr, Duration, u64, BytesMut)> {
        let mut net = Network::new(seed, start);
        net.set_default_link(chaotic());
        let mut now = start;
        let mut out = Vec::new();
        for i in 0..3000u64 {
            let (from, to) = match i % 3 {
                0 => (addr(1), addr(2)),
                1 => (addr(2), addr(1)),
                _ => (addr(3), addr(2)),
            };
            net.send(now, from, to, numbered(i, 1200));
            if i % 7 == 0 {
                for d in net.deliver(now) {
                    out.push((
                        d.from,
                        d.to,
                        d.arrival - start,
                        number(&d.datagram),
                        d.datagram,
                    ));
                }
            }
            now += Duration::from_micros(300);
        }
        out.extend(drain(&mut net));
        out
    }

    #[test]
    fn deterministic_per_seed() {
        let a = run_chaos(42, base());
        let b = run_chaos(42, base() + ms(1234));
        assert!(a.len() > 2000);
        assert_eq!(
            a, b,
            "same seed and calls must replay exactly, whatever the base instant"
        );
        let c = run_chaos(43, base());
        assert_ne!(a, c, "a different seed should give different deliveries");
    }

    #[test]
    fn perfect_default_delivers_immediately() {
        let start = base();
        let mut net = Network::new(1, start);
        assert_eq!(net.next_delivery(), None);
        let out = net.send(start, addr(1), addr(2), numbered(5, 100));
        assert_eq!(
            out,
            SendOutcome::Scheduled {
                arrival: start,
                duplicated: false
            }
        );
        assert_eq!(net.next_delivery(), Some(start));
        let got: Vec<_> = net.deliver(start).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].from, got[0].to, got[0].arrival),
            (addr(1), addr(2), start)
        );
        assert_eq!(number(&got[0].datagram), 5);
        assert_eq!(net.in_flight(), 0);
        let s = net.stats(addr(1), addr(2));
        assert_eq!(
            (s.sent, s.delivered, s.sent_bytes, s.delivered_bytes),
            (1, 1, 100, 100)
        );
    }

    #[test]
    fn delay_and_jitter_bounds_without_reordering() {
        let start = base();
        let mut net = Network::new(2, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::delay(ms(10)).with_jitter(ms(5)),
        );
        let mut now = start;
        for i in 0..2000 {
            net.send(now, addr(1), addr(2), numbered(i, 100));
            now += Duration::from_micros(700);
        }
        let mut delays = Vec::new();
        let mut prev = 0;
        let mut first = true;
        while let Some(t) = net.next_delivery() {
            assert!(
                net.deliver(t - Duration::from_nanos(1)).next().is_none(),
                "nothing early"
            );
            for d in net.deliver(t) {
                let delay = d.arrival - d.sent;
                assert!(
                    delay >= ms(10) && delay <= ms(15),
                    "delay {delay:?} out of bounds"
                );
                let n = number(&d.datagram);
                assert!(first || n == prev + 1, "jitter alone must not reorder");
                first = false;
                prev = n;
                delays.push(delay);
            }
        }
        assert_eq!(delays.len(), 2000);
        let spread = *delays.iter().max().unwrap() - *delays.iter().min().unwrap();
        assert!(
            spread > ms(3),
            "jitter should spread delays, got {spread:?}"
        );
    }

    #[test]
    fn rate_limit_serialises_and_tail_drops() {
        let start = base();
        let mut net = Network::new(3, start);
        // 1250 bytes at 10 Mbit/s = 1 ms each.
        let cfg = LinkConfig::delay(ms(5)).with_rate(10_000_000, Some(25));
        net.set_link(addr(1), addr(2), cfg);
        let mut outcomes = Vec::new();
        for i in 0..40 {
            outcomes.push(net.send(start, addr(1), addr(2), numbered(i, 1250)));
        }
        // One in service + 25 waiting accepted, the rest tail-dropped.
        for (i, o) in outcomes.iter().enumerate() {
            if i < 26 {
                let want = start + ms(5) + ms(i as u64 + 1);
                assert_eq!(
                    *o,
                    SendOutcome::Scheduled {
                        arrival: want,
                        duplicated: false
                    }
                );
            } else {
                assert_eq!(*o, SendOutcome::Dropped(DropReason::Queue));
            }
        }
        let s = net.stats(addr(1), addr(2));
        assert_eq!((s.dropped_queue, s.max_queue), (14, 25));
        // After 10 ms, 10 have been serialised (the 11th is in service): 10 slots free again.
        let later = start + ms(10);
        let accepted = (0..20)
            .filter(|&i| {
                let o = net.send(later, addr(1), addr(2), numbered(100 + i, 1250));
                matches!(o, SendOutcome::Scheduled { .. })
            })
            .count();
        assert_eq!(accepted, 10);
        let got = drain(&mut net);
        assert_eq!(got.len(), 36);
        // Back-to-back at exactly the serialisation time.
        for w in got.windows(2) {
            assert_eq!(w[1].2 - w[0].2, ms(1));
        }
        // The overhead counts towards serialisation: 1220 + 30 bytes = 1 ms.
        let mut net = Network::new(3, start);
        let mut cfg = LinkConfig::delay(Duration::ZERO).with_rate(10_000_000, None);
        cfg.overhead_bytes = 30;
        net.set_link(addr(1), addr(2), cfg);
        net.send(start, addr(1), addr(2), numbered(0, 1220));
        assert_eq!(
            net.send(start, addr(1), addr(2), numbered(1, 1220)),
            SendOutcome::Scheduled {
                arrival: start + ms(2),
                duplicated: false
            }
        );
    }

    #[test]
    fn queue_bytes_limit() {
        let start = base();
        let mut net = Network::new(4, start);
        let mut cfg = LinkConfig::default().with_rate(8_000_000, None);
        cfg.queue_bytes = Some(3000);
        net.set_link(addr(1), addr(2), cfg);
        let kinds: Vec<_> = (0..6)
            .map(|i| net.send(start, addr(1), addr(2), numbered(i, 1000)))
            .collect();
        // 1 in service, 3000 bytes waiting, then drops.
        let dropped = kinds
            .iter()
            .filter(|o| **o == SendOutcome::Dropped(DropReason::Queue));
        assert_eq!(dropped.count(), 2);
    }

    #[test]
    fn interop_link_paces_at_ten_megabits() {
        let start = base();
        let mut net = Network::new(5, start);
        net.set_default_link(LinkConfig::interop());
        // A full-size datagram: (1472 + 30) * 8 / 10 Mbit/s = 1.2016 ms.
        for i in 0..10 {
            net.send(start, addr(1), addr(2), numbered(i, 1472));
        }
        let got = drain(&mut net);
        assert_eq!(got[0].2, ms(15) + Duration::from_nanos(1_201_600));
        assert_eq!(got[9].2, ms(15) + Duration::from_nanos(12_016_000));
        assert_eq!(
            net.send(start + ms(50), addr(1), addr(2), numbered(0, 1473)),
            SendOutcome::Dropped(DropReason::Mtu)
        );
    }

    #[test]
    fn independent_loss_rate() {
        let start = base();
        let mut net = Network::new(6, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::default().with_drop_rate(0.05, None),
        );
        let got = stream(&mut net, 100_000, Duration::from_micros(10), 16);
        let s = net.stats(addr(1), addr(2));
        let rate = s.dropped_loss as f64 / 100_000.0;
        // σ ≈ 0.0007; allow ~7σ.
        assert!((rate - 0.05).abs() < 0.005, "loss rate {rate}");
        assert_eq!(got.len() as u64 + s.dropped_loss, 100_000);
        assert_eq!(s.delivered, got.len() as u64);
    }

    /// Lengths of runs of consecutive missing numbers in `got` out of `0..count`.
    fn loss_runs(got: &[u64], count: u64) -> Vec<u64> {
        let mut seen = vec![false; count as usize];
        for &n in got {
            seen[n as usize] = true;
        }
        let mut runs = Vec::new();
        let mut run = 0;
        for s in seen {
            if s {
                if run > 0 {
                    runs.push(run);
                }
                run = 0;
            } else {
                run += 1;
            }
        }
        if run > 0 {
            runs.push(run);
        }
        runs
    }

    #[test]
    fn drop_rate_max_burst_like_ns3() {
        let start = base();
        let mut net = Network::new(7, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::interop().with_drop_rate(0.30, Some(3)),
        );
        let got = stream(&mut net, 20_000, ms(2), 100);
        let runs = loss_runs(&got, 20_000);
        assert!(
            runs.iter().all(|&r| r <= 3),
            "no more than 3 losses in a row"
        );
        assert!(runs.contains(&3), "bursts of 3 do happen at 30 %");
        let rate = net.stats(addr(1), addr(2)).dropped_loss as f64 / 20_000.0;
        assert!((0.25..0.31).contains(&rate), "loss rate {rate}");
    }

    #[test]
    fn gilbert_elliott_produces_bursts() {
        let start = base();
        let count = 100_000;
        let mut net = Network::new(8, start);
        let ge = GilbertElliott::with_mean(0.04, 5.0);
        net.set_link(addr(1), addr(2), LinkConfig::default().with_burst_loss(ge));
        let got = stream(&mut net, count, Duration::from_micros(10), 16);
        let runs = loss_runs(&got, count);
        let lost: u64 = runs.iter().sum();
        let mean = lost as f64 / runs.len() as f64;
        let rate = lost as f64 / count as f64;
        assert!((0.025..0.055).contains(&rate), "burst loss rate {rate}");
        assert!(mean > 3.5 && mean < 6.5, "mean burst {mean}");
        assert!(runs.iter().any(|&r| r >= 15), "long bursts happen");

        // Independent loss at the same rate has a mean burst near 1.
        let mut net = Network::new(8, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::default().with_drop_rate(0.04, None),
        );
        let got = stream(&mut net, count, Duration::from_micros(10), 16);
        let runs = loss_runs(&got, count);
        let mean = runs.iter().sum::<u64>() as f64 / runs.len() as f64;
        assert!(mean < 1.1, "independent mean burst {mean}");
    }

    #[test]
    fn reordering_reorders() {
        let start = base();
        let mut net = Network::new(9, start);
        net.set_link(addr(1), addr(2), LinkConfig::lossy(ms(10), 0.0, 0.1));
        let got = stream(&mut net, 1000, ms(1), 100);
        assert_eq!(got.len(), 1000);
        let late = got.windows(2).filter(|w| w[0] > w[1]).count();
        let s = net.stats(addr(1), addr(2));
        assert!(
            (60..140).contains(&s.reordered),
            "reordered {}",
            s.reordered
        );
        assert!(
            late >= 50,
            "arrival order should have inversions, got {late}"
        );
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());

        // With reorder = 0 and jitter the order is kept.
        let mut net = Network::new(9, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::delay(ms(10)).with_jitter(ms(8)),
        );
        let got = stream(&mut net, 1000, ms(1), 100);
        assert!(got.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn duplication() {
        let start = base();
        let mut net = Network::new(10, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::delay(ms(3)).with_duplicate(0.1),
        );
        let got = stream(&mut net, 10_000, ms(1), 64);
        let s = net.stats(addr(1), addr(2));
        assert!(
            (800..1200).contains(&s.duplicated),
            "duplicated {}",
            s.duplicated
        );
        assert_eq!(got.len() as u64, 10_000 + s.duplicated);
        assert_eq!(s.delivered, s.sent + s.duplicated);
        let adjacent = got.windows(2).filter(|w| w[0] == w[1]).count() as u64;
        assert_eq!(
            adjacent, s.duplicated,
            "copies arrive right after the original"
        );
    }

    #[test]
    fn corruption_changes_exactly_one_byte() {
        let start = base();
        let mut net = Network::new(11, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig {
                corrupt: 1.0,
                ..LinkConfig::default()
            },
        );
        net.set_link(
            addr(2),
            addr(1),
            LinkConfig::default().with_corrupt_rate(1.0, None),
        );
        let original = |i: u64| -> BytesMut {
            let mut d = BytesMut::zeroed(200 + (i as usize % 1000));
            for (j, b) in d.iter_mut().enumerate() {
                *b = (j as u64 * 31 + i) as u8;
            }
            d
        };
        let mut max_offset = 0;
        for i in 0..2000 {
            net.send(start, addr(1), addr(2), original(i));
            net.send(start, addr(2), addr(1), original(i));
        }
        for (n, d) in net.deliver(start).enumerate() {
            let want = original(n as u64 / 2);
            assert_eq!(d.datagram.len(), want.len());
            let diffs: Vec<_> = (0..want.len())
                .filter(|&j| d.datagram[j] != want[j])
                .collect();
            assert_eq!(diffs.len(), 1, "exactly one byte changed");
            if d.from == addr(2) {
                assert!(
                    diffs[0] <= 50,
                    "ns-3 style corruption stays in the first 51 bytes"
                );
            } else {
                max_offset = max_offset.max(diffs[0]);
            }
        }
        assert!(max_offset > 200, "unrestricted corruption can hit any byte");
        assert_eq!(net.stats(addr(1), addr(2)).corrupted, 2000);

        // Max burst: after 3 corrupted in a row, one is spared.
        let mut net = Network::new(11, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::default().with_corrupt_rate(1.0, Some(3)),
        );
        for i in 0..8 {
            net.send(start, addr(1), addr(2), original(i));
        }
        let intact: Vec<bool> = net
            .deliver(start)
            .enumerate()
            .map(|(i, d)| d.datagram == original(i as u64))
            .collect();
        assert_eq!(
            intact,
            [false, false, false, true, false, false, false, true]
        );
    }

    #[test]
    fn mtu_drops_larger_datagrams() {
        let start = base();
        let mut net = Network::new(12, start);
        net.set_link(addr(1), addr(2), LinkConfig::default().with_mtu(1200));
        assert!(matches!(
            net.send(start, addr(1), addr(2), numbered(0, 1200)),
            SendOutcome::Scheduled { .. }
        ));
        assert_eq!(
            net.send(start, addr(1), addr(2), numbered(1, 1201)),
            SendOutcome::Dropped(DropReason::Mtu)
        );
        // The reverse direction has no MTU.
        assert!(matches!(
            net.send(start, addr(2), addr(1), numbered(2, 9000)),
            SendOutcome::Scheduled { .. }
        ));
        assert_eq!(net.stats(addr(1), addr(2)).dropped_mtu, 1);
        assert_eq!(net.stats(addr(2), addr(1)).dropped_mtu, 0);
    }

    #[test]
    fn blackhole_window_by_arrival_time() {
        let start = base();
        let mut net = Network::new(13, start);
        let cfg = LinkConfig::delay(ms(10)).with_blackhole(ms(100)..ms(200));
        net.set_link_both(addr(1), addr(2), cfg);
        let got = stream(&mut net, 300, ms(1), 100);
        // Sent at i ms, arriving at i + 10 ms: 90..190 fall in the hole.
        let want: Vec<u64> = (0..90).chain(190..300).collect();
        assert_eq!(got, want);
        assert_eq!(net.stats(addr(1), addr(2)).dropped_blackhole, 100);
        // The reverse direction has its own identical hole.
        assert_eq!(
            net.send(start + ms(150), addr(2), addr(1), numbered(0, 10)),
            SendOutcome::Dropped(DropReason::Blackhole)
        );
    }

    #[test]
    fn drop_list_and_filter() {
        let start = base();
        let mut net = Network::new(14, start);
        net.set_link(
            addr(1),
            addr(2),
            LinkConfig::default().with_drop_list(2..=7),
        );
        net.set_filter(addr(2), addr(1), |meta, bytes| {
            meta.index % 2 == 0 && bytes.len() > 50
        });
        let got = stream(&mut net, 10, ms(1), 10);
        assert_eq!(got, [0, 7, 8, 9]);
        assert_eq!(net.stats(addr(1), addr(2)).dropped_list, 6);
        let kept: Vec<_> = (0..6)
            .map(|i| {
                let len = if i < 3 { 10 } else { 100 };
                matches!(
                    net.send(start, addr(2), addr(1), numbered(i, len)),
                    SendOutcome::Scheduled { .. }
                )
            })
            .collect();
        // Indices 1..=6: even indices with > 50 bytes (4 and 6) are dropped.
        assert_eq!(kept, [true, true, true, false, true, false]);
        assert_eq!(net.stats(addr(2), addr(1)).dropped_filter, 2);
        net.clear_filter(addr(2), addr(1));
        assert!(matches!(
            net.send(start, addr(2), addr(1), numbered(9, 100)),
            SendOutcome::Scheduled { .. }
        ));
    }

    #[test]
    fn per_direction_independence() {
        let start = base();
        // A → B lossy and slow, B → A perfect.
        let lossy = LinkConfig::lossy(ms(30), 0.2, 0.0);
        let mut net = Network::new(15, start);
        net.set_link(addr(1), addr(2), lossy.clone());
        let mut now = start;
        let mut a_to_b = Vec::new();
        for i in 0..1000 {
            a_to_b.push(net.send(now, addr(1), addr(2), numbered(i, 100)));
            let back = net.send(now, addr(2), addr(1), numbered(i, 100));
            assert_eq!(
                back,
                SendOutcome::Scheduled {
                    arrival: now,
                    duplicated: false
                }
            );
            now += ms(1);
        }
        assert_eq!(net.stats(addr(2), addr(1)).dropped(), 0);
        assert!(net.stats(addr(1), addr(2)).dropped_loss > 100);

        // The A → B fate does not depend on traffic on other links.
        let mut quiet = Network::new(15, start);
        quiet.set_link(addr(1), addr(2), lossy);
        let mut now = start;
        for (i, want) in a_to_b.iter().enumerate() {
            if i % 3 == 0 {
                quiet.send(now, addr(3), addr(2), numbered(0, 10));
            }
            assert_eq!(
                quiet.send(now, addr(1), addr(2), numbered(i as u64, 100)),
                *want
            );
            now += ms(1);
        }
    }

    #[test]
    fn deliveries_interleave_across_links_in_arrival_order() {
        let start = base();
        let mut net = Network::new(16, start);
        net.set_link(addr(1), addr(3), LinkConfig::delay(ms(5)));
        net.set_link(addr(2), addr(3), LinkConfig::delay(ms(2)));
        net.send(start, addr(1), addr(3), numbered(1, 10));
        net.send(start + ms(1), addr(2), addr(3), numbered(2, 10));
        net.send(start + ms(3), addr(2), addr(3), numbered(3, 10));
        net.send(start + ms(3), addr(1), addr(3), numbered(4, 10));
        let got: Vec<_> = drain(&mut net).into_iter().map(|x| (x.2, x.3)).collect();
        assert_eq!(got, [(ms(3), 2), (ms(5), 1), (ms(5), 3), (ms(8), 4)]);
        let total = net.total_stats();
        assert_eq!((total.sent, total.delivered), (4, 4));
        let links: Vec<_> = net.all_stats().map(|(f, t, s)| (f, t, s.sent)).collect();
        assert_eq!(links, [(addr(1), addr(3), 2), (addr(2), addr(3), 2)]);
    }

    #[test]
    fn ecn_marking_and_bleaching() {
        let start = base();
        let mut net = Network::new(17, start);
        net.set_link(addr(1), addr(2), LinkConfig::default().with_ce_mark(1.0));
        net.set_link(
            addr(2),
            addr(1),
            LinkConfig {
                ecn_bleach: true,
                ..LinkConfig::default()
            },
        );
        let mut cfg = LinkConfig::default().with_rate(10_000_000, None);
        cfg.ce_queue_threshold = Some(2);
        net.set_link(addr(3), addr(2), cfg);
        net.send_ecn(start, addr(1), addr(2), EcnCodepoint::Ect0, numbered(0, 10));
        net.send_ecn(
            start,
            addr(1),
            addr(2),
            EcnCodepoint::NotEct,
            numbered(1, 10),
        );
        net.send_ecn(start, addr(2), addr(1), EcnCodepoint::Ect1, numbered(2, 10));
        for i in 0..5 {
            net.send_ecn(
                start,
                addr(3),
                addr(2),
                EcnCodepoint::Ect0,
                numbered(10 + i, 1250),
            );
        }
        let ecn: Vec<_> = net.deliver(start + ms(100)).map(|d| d.ecn).collect();
        use EcnCodepoint::*;
        assert_eq!(ecn, [Ce, NotEct, NotEct, Ect0, Ect0, Ect0, Ce, Ce]);
        assert_eq!(net.stats(addr(3), addr(2)).ce_marked, 2);
    }

    #[test]
    fn drop_in_flight_and_default_changes() {
        let start = base();
        let mut net = Network::new(18, start);
        net.set_default_link(LinkConfig::delay(ms(10)));
        net.send(start, addr(1), addr(2), numbered(0, 10));
        net.send(start, addr(2), addr(1), numbered(1, 10));
        assert_eq!(net.drop_in_flight(addr(1), addr(2)), 1);
        assert_eq!(net.drop_in_flight(addr(5), addr(6)), 0);
        assert_eq!(net.in_flight(), 1);
        assert_eq!(net.stats(addr(1), addr(2)).dropped_in_flight, 1);
        // Changing the default reaches links already in use but not explicit ones.
        net.set_link(addr(2), addr(1), LinkConfig::delay(ms(1)));
        net.set_default_link(LinkConfig::delay(ms(50)));
        assert_eq!(net.link(addr(1), addr(2)).one_way_delay, ms(50));
        assert_eq!(net.link(addr(2), addr(1)).one_way_delay, ms(1));
        assert_eq!(net.link(addr(7), addr(8)).one_way_delay, ms(50));
    }

    #[test]
    #[should_panic(expected = "LinkConfig::loss must be in [0, 1]")]
    fn invalid_probability_panics() {
        Network::new(0, base()).set_link(addr(1), addr(2), LinkConfig::lossy(ms(1), 1.5, 0.0));
    }

    #[test]
    fn clock() {
        let start = base();
        let mut clock = Clock::new(start);
        assert_eq!(clock.advance(ms(5)), start + ms(5));
        assert_eq!(
            clock.advance_to(start + ms(3)),
            start + ms(5),
            "never backwards"
        );
        assert_eq!(clock.advance_to(start + ms(9)), start + ms(9));
        assert_eq!(
            (clock.now(), clock.start(), clock.elapsed()),
            (start + ms(9), start, ms(9))
        );
    }

    #[test]
    fn large_transfer_is_cheap() {
        // ~100 MB through the interop link with 2 % loss: O(log n) per datagram.
        let start = base();
        let mut net = Network::new(19, start);
        net.set_default_link(LinkConfig::interop().with_drop_rate(0.02, Some(3)));
        let mut now = start;
        let mut delivered = 0u64;
        let payload = BytesMut::zeroed(1400);
        for _ in 0..72_000 {
            net.send(now, addr(1), addr(2), payload.clone());
            delivered += net
                .deliver(now)
                .map(|d| d.datagram.len() as u64)
                .sum::<u64>();
            now += Duration::from_micros(1150);
        }
        delivered += drain(&mut net)
            .iter()
            .map(|x| x.4.len() as u64)
            .sum::<u64>();
        let s = net.stats(addr(1), addr(2));
        assert_eq!(s.delivered_bytes, delivered);
        assert_eq!(s.sent, s.delivered + s.dropped());
        assert!(delivered > 95_000_000);
    }
}
