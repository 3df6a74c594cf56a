//! Value parsers for the command line: durations, bandwidths, rates, windows, lists.

use std::ops::Range;
use std::time::Duration;

/// A time window measured from the proxy's start (`START..END`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window(pub Range<Duration>);

/// A list of 1-based datagram numbers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DropList(pub Vec<u64>);

/// Parses `15ms`, `1.5s`, `100us`, `250ns`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{text:?}: missing unit (ns, us, ms, s, m)"))?;
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: bad number"))?;
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        other => return Err(format!("{text:?}: unknown unit {other:?}")),
    };
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{text:?}: {e}"))
}

/// Parses `10Mbps`, `500kbps`, `1Gbps`, `64000bps`, `10M` into bit/s.
pub fn parse_bandwidth(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: bad number"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let scale = match unit.trim_end_matches("bps").trim_end_matches("bit/s") {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        _ => return Err(format!("{text:?}: unknown unit (bps, kbps, Mbps, Gbps)")),
    };
    let bps = (value * scale).round();
    if !(1.0..=u64::MAX as f64).contains(&bps) {
        return Err(format!("{text:?}: out of range"));
    }
    Ok(bps as u64)
}

/// Parses a probability `0.3` or a percentage `30%`, in [0, 1].
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("{text:?}: expected a probability or a percentage"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("{text:?}: must be within [0, 1] (0%..100%)"));
    }
    Ok(value)
}

/// Parses `START..END`, e.g. `5s..7s`.
pub fn parse_window(text: &str) -> Result<Window, String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("{text:?}: expected START..END"))?;
    let (start, end) = (parse_duration(a)?, parse_duration(b)?);
    if end <= start {
        return Err(format!("{text:?}: END must be after START"));
    }
    Ok(Window(start..end))
}

/// Parses `1,3,4` and inclusive ranges `2-7` (1-based datagram numbers).
pub fn parse_list(text: &str) -> Result<DropList, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let number = |s: &str| {
            s.trim()
                .parse::<u64>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("{item:?}: datagram numbers start at 1"))
        };
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if b < a || b - a > 1_000_000 {
                    return Err(format!("{item:?}: bad range"));
                }
                out.extend(a..=b);
            }
            None => out.push(number(item)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(DropList(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert_eq!(parse_duration("15ms"), Ok(Duration::from_millis(15)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
        assert!(parse_duration("15").is_err());
        assert_eq!(parse_bandwidth("10Mbps"), Ok(10_000_000));
        assert_eq!(parse_bandwidth("500kbps"), Ok(500_000));
        assert_eq!(parse_bandwidth("1Gbps"), Ok(1_000_000_000));
        assert!(parse_bandwidth("0bps").is_err());
        assert_eq!(parse_rate("30%"), Ok(0.3));
        assert_eq!(parse_rate("0.02"), Ok(0.02));
        assert!(parse_rate("130%").is_err());
        assert_eq!(parse_list("2-7").unwrap().0, [2, 3, 4, 5, 6, 7]);
        assert_eq!(parse_list("4,1,3").unwrap().0, [1, 3, 4]);
        assert!(parse_list("0").is_err());
    }

    #[test]
    fn windows() {
        let w = parse_window("5s..7s").unwrap();
        assert_eq!(w.0, Duration::from_secs(5)..Duration::from_secs(7));
        assert!(parse_window("7s..5s").is_err());
        assert!(parse_window("5s").is_err());
    }
}
