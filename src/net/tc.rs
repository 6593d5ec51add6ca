//! Link shaping with traffic control: a tbf (token bucket) root qdisc for a
//! rate, or a netem root qdisc for delay, jitter and loss (with netem's own
//! rate when both are asked). Messages are built by hand: netlink-packet-route
//! models neither qdisc's options.

use std::time::Duration;

use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_REPLACE};

use super::{NetError, Netlink};

const RTM_NEWQDISC: u16 = 36;
const RTM_DELQDISC: u16 = 37;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_BURST: u16 = 6;
const TCA_NETEM_RATE: u16 = 6;
const TCA_NETEM_RATE64: u16 = 8;
const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_NETEM_JITTER64: u16 = 11;
const TC_H_ROOT: u32 = 0xFFFF_FFFF;
const TC_LINKLAYER_ETHERNET: u8 = 1;
/// The kernel's psched tick is 64 ns (PSCHED_SHIFT 6).
const PSCHED_SHIFT: u32 = 6;

/// What to do to a link's traffic; unset fields are not applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    /// Rate in bits per second.
    pub rate: Option<u64>,
    /// Bucket size in bytes (tbf); default: 10 ms at the rate, at least two
    /// full-size frames.
    pub burst: Option<u32>,
    /// Longest time a packet may wait in the tbf queue (default 50 ms).
    pub latency: Option<Duration>,
    /// netem: added delay, its jitter, and loss in percent.
    pub delay: Option<Duration>,
    pub jitter: Option<Duration>,
    pub loss: Option<f64>,
}

impl Shape {
    /// Whether netem is needed (delay, jitter or loss).
    pub fn needs_netem(&self) -> bool {
        self.delay.is_some() || self.jitter.is_some() || self.loss.is_some()
    }

    /// Checks the values before the kernel sees them.
    pub fn check(&self) -> Result<(), NetError> {
        if self.rate == Some(0) {
            return Err(NetError::Invalid("rate: must be above 0".into()));
        }
        if let Some(l) = self.loss {
            if !(0.0..=100.0).contains(&l) {
                return Err(NetError::Invalid(format!(
                    "loss {l}: expected a percentage from 0 to 100"
                )));
            }
        }
        if self.jitter.is_some() && self.delay.is_none() {
            return Err(NetError::Invalid("jitter: needs a delay".into()));
        }
        if self.rate.is_none() && !self.needs_netem() {
            return Err(NetError::Invalid(
                "nothing to shape: give rate, delay, jitter or loss".into(),
            ));
        }
        Ok(())
    }
}

fn nla(out: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(payload);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn tcmsg(index: u32, handle: u32, parent: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(20);
    m.extend_from_slice(&[0u8, 0, 0, 0]); // family, pads
    m.extend_from_slice(&(index as i32).to_ne_bytes());
    m.extend_from_slice(&handle.to_ne_bytes());
    m.extend_from_slice(&parent.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m
}

fn ticks(d: Duration) -> u32 {
    (d.as_nanos() >> PSCHED_SHIFT).min(u32::MAX as u128) as u32
}

/// The TCA_OPTIONS payload of a tbf qdisc.
fn tbf_options(rate_bps: u64, burst: Option<u32>, latency: Option<Duration>) -> Vec<u8> {
    let bytes_per_s = rate_bps / 8;
    let burst = burst.unwrap_or_else(|| ((bytes_per_s / 100) as u32).max(2 * 1514));
    let latency = latency.unwrap_or(Duration::from_millis(50));
    // The queue holds what the rate sends in `latency`, plus the bucket (as tc computes it).
    let limit = (bytes_per_s as f64 * latency.as_secs_f64()) as u64 + burst as u64;
    let buffer = Duration::from_secs_f64(burst as f64 / bytes_per_s.max(1) as f64);
    let mut q = Vec::with_capacity(36);
    // rate: cell_log, linklayer, overhead, cell_align, mpu, rate
    q.push(0u8);
    q.push(TC_LINKLAYER_ETHERNET);
    q.extend_from_slice(&0u16.to_ne_bytes());
    q.extend_from_slice(&0i16.to_ne_bytes());
    q.extend_from_slice(&0u16.to_ne_bytes());
    q.extend_from_slice(&(bytes_per_s.min(u32::MAX as u64) as u32).to_ne_bytes());
    q.extend_from_slice(&[0u8; 12]); // peakrate: none
    q.extend_from_slice(&(limit.min(u32::MAX as u64) as u32).to_ne_bytes());
    q.extend_from_slice(&ticks(buffer).to_ne_bytes());
    q.extend_from_slice(&0u32.to_ne_bytes()); // mtu (peak rate only)
    let mut opts = Vec::new();
    nla(&mut opts, TCA_TBF_PARMS, &q);
    if bytes_per_s > u32::MAX as u64 {
        nla(&mut opts, TCA_TBF_RATE64, &bytes_per_s.to_ne_bytes());
    }
    nla(&mut opts, TCA_TBF_BURST, &burst.to_ne_bytes());
    opts
}

/// The TCA_OPTIONS payload of a netem qdisc: struct tc_netem_qopt, then
/// attributes (not nested, unlike other qdiscs).
fn netem_options(s: &Shape) -> Vec<u8> {
    let delay = s.delay.unwrap_or_default();
    let jitter = s.jitter.unwrap_or_default();
    let loss = s
        .loss
        .map(|p| ((p / 100.0) * u32::MAX as f64).round() as u32)
        .unwrap_or(0);
    let mut q = Vec::with_capacity(24);
    q.extend_from_slice(&ticks(delay).to_ne_bytes());
    q.extend_from_slice(&1000u32.to_ne_bytes()); // limit, packets (tc's default)
    q.extend_from_slice(&loss.to_ne_bytes());
    q.extend_from_slice(&0u32.to_ne_bytes()); // gap
    q.extend_from_slice(&0u32.to_ne_bytes()); // duplicate
    q.extend_from_slice(&ticks(jitter).to_ne_bytes());
    let mut out = q;
    nla(
        &mut out,
        TCA_NETEM_LATENCY64,
        &(delay.as_nanos() as i64).to_ne_bytes(),
    );
    nla(
        &mut out,
        TCA_NETEM_JITTER64,
        &(jitter.as_nanos() as i64).to_ne_bytes(),
    );
    if let Some(rate) = s.rate {
        let bytes_per_s = rate / 8;
        let mut r = Vec::with_capacity(16);
        r.extend_from_slice(&(bytes_per_s.min(u32::MAX as u64) as u32).to_ne_bytes());
        r.extend_from_slice(&[0u8; 12]);
        nla(&mut out, TCA_NETEM_RATE, &r);
        if bytes_per_s > u32::MAX as u64 {
            nla(&mut out, TCA_NETEM_RATE64, &bytes_per_s.to_ne_bytes());
        }
    }
    out
}

/// Replaces the root qdisc of the link with index `index` by one doing
/// `shape`: tbf for a rate alone, netem when delay, jitter or loss is asked.
pub fn apply(nl: &Netlink, index: u32, name: &str, shape: &Shape) -> Result<(), NetError> {
    shape.check()?;
    let (kind, options) = if shape.needs_netem() {
        ("netem", netem_options(shape))
    } else {
        (
            "tbf",
            tbf_options(shape.rate.unwrap_or(0), shape.burst, shape.latency),
        )
    };
    // Handle 0: the kernel picks one, so a root qdisc of another kind
    // (tbf before, netem now) is replaced rather than refused.
    let mut payload = tcmsg(index, 0, TC_H_ROOT);
    nla(&mut payload, TCA_KIND, format!("{kind}\0").as_bytes());
    nla(&mut payload, TCA_OPTIONS, &options);
    nl.request_raw(
        || format!("shape {name} ({kind})"),
        RTM_NEWQDISC,
        NLM_F_CREATE | NLM_F_REPLACE,
        &payload,
    )
    .map_err(|e| match e {
        NetError::Op { what, source } if kind == "netem" && super::errno(&source) == Some(2) => {
            NetError::Op {
                what,
                source: std::io::Error::new(
                    source.kind(),
                    format!(
                        "{source} (this kernel has no netem qdisc, so no delay, jitter or loss: \
                         luxc.net.features().netem is false; rate alone works with tbf)"
                    ),
                ),
            }
        }
        other => other,
    })
}

/// Removes the root qdisc of link `index` (back to the kernel's default).
pub fn clear(nl: &Netlink, index: u32, name: &str) -> Result<(), NetError> {
    let payload = tcmsg(index, 0, TC_H_ROOT);
    nl.request_raw(|| format!("unshape {name}"), RTM_DELQDISC, 0, &payload)
}

/// Parses a rate as tc writes it: "10mbit", "1gbit", "500kbit", "100bit",
/// "2mbps" (bytes), or a plain number of bits per second.
pub fn parse_rate(s: &str) -> Result<u64, NetError> {
    let bad = || {
        NetError::Invalid(format!(
            "rate '{s}': expected a number with a unit like 10mbit, 1gbit, 500kbit or 2mbps"
        ))
    };
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit {
        "" | "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        "tbit" => 1e12,
        "bps" => 8.0,
        "kbps" => 8e3,
        "mbps" => 8e6,
        "gbps" => 8e9,
        _ => return Err(bad()),
    };
    let v = n * mult;
    if !(v.is_finite() && (1.0..1.8e19).contains(&v)) {
        return Err(bad());
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_like_tc() {
        assert_eq!(parse_rate("10mbit").unwrap(), 10_000_000);
        assert_eq!(parse_rate("1Gbit").unwrap(), 1_000_000_000);
        assert_eq!(parse_rate("500kbit").unwrap(), 500_000);
        assert_eq!(parse_rate("2mbps").unwrap(), 16_000_000);
        assert_eq!(parse_rate("1000").unwrap(), 1000);
        assert_eq!(parse_rate("1.5mbit").unwrap(), 1_500_000);
        for bad in ["", "fast", "10 furlongs", "-1mbit", "0", "mbit"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tbf_options_carry_rate_burst_and_limit() {
        let o = tbf_options(8_000_000, Some(10_000), Some(Duration::from_millis(50)));
        // PARMS nla header, then the ratespec: linklayer ethernet, 1,000,000 B/s.
        assert_eq!(u16::from_ne_bytes([o[0], o[1]]), 4 + 36);
        assert_eq!(u16::from_ne_bytes([o[2], o[3]]), TCA_TBF_PARMS);
        assert_eq!(o[4 + 1], TC_LINKLAYER_ETHERNET);
        assert_eq!(
            u32::from_ne_bytes(o[4 + 8..4 + 12].try_into().unwrap()),
            1_000_000
        );
        // limit = 50 ms at 1 MB/s + burst.
        assert_eq!(
            u32::from_ne_bytes(o[4 + 24..4 + 28].try_into().unwrap()),
            60_000
        );
        // The burst attribute follows.
        let b = 4 + 36;
        assert_eq!(u16::from_ne_bytes([o[b + 2], o[b + 3]]), TCA_TBF_BURST);
        assert_eq!(
            u32::from_ne_bytes(o[b + 4..b + 8].try_into().unwrap()),
            10_000
        );
    }

    #[test]
    fn shapes_are_checked() {
        assert!(Shape::default().check().is_err());
        let loss = Shape {
            loss: Some(120.0),
            ..Shape::default()
        };
        assert!(loss.check().unwrap_err().to_string().contains("0 to 100"));
        let jitter = Shape {
            jitter: Some(Duration::from_millis(1)),
            ..Shape::default()
        };
        assert!(jitter.check().is_err());
        let ok = Shape {
            rate: Some(1_000_000),
            ..Shape::default()
        };
        assert!(ok.check().is_ok() && !ok.needs_netem());
    }
}
