//! IP addresses on links (`ip addr add` / `ip addr show`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{NetError, Netlink};

/// An address with its prefix length: 10.0.0.1/24, fd00::1/64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl FromStr for Cidr {
    type Err = NetError;

    /// ADDR/PREFIX, or a bare ADDR as a host address (/32, /128).
    fn from_str(s: &str) -> Result<Cidr, NetError> {
        let bad = || NetError::InvalidCidr(s.to_string());
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Saved as its text ("10.0.0.1/24"), in the lab's saved model.
impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Cidr {
    /// Whether `ip` lies in this address's network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }

    /// The network address (host bits cleared) with the same prefix.
    pub fn network(&self) -> Cidr {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        Cidr {
            addr,
            prefix: self.prefix,
        }
    }
}

/// IFA_F_NODAD: an IPv6 address usable at once, without the second or so of
/// duplicate address detection (a lab makes its addresses unique itself).
const IFA_F_NODAD: u32 = 0x02;

fn message(index: u32, c: &Cidr) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = match c.addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.prefix_len = c.prefix;
    m.header.index = index;
    if c.addr.is_ipv4() {
        m.attributes.push(AddressAttribute::Local(c.addr));
    }
    m.attributes.push(AddressAttribute::Address(c.addr));
    m
}

/// Adds `cidr` (IPv4 or IPv6; IPv6 without duplicate address detection) to
/// the link with index `index`; `name` is for messages.
pub fn add(nl: &Netlink, index: u32, name: &str, c: &Cidr) -> Result<(), NetError> {
    let mut m = message(index, c);
    if c.addr.is_ipv6() {
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::from_bits_retain(
                IFA_F_NODAD,
            )));
    }
    nl.request(
        || format!("add address {c} to {name}"),
        RouteNetlinkMessage::NewAddress(m),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// Removes `cidr` from the link with index `index`.
pub fn delete(nl: &Netlink, index: u32, name: &str, c: &Cidr) -> Result<(), NetError> {
    nl.request(
        || format!("delete address {c} from {name}"),
        RouteNetlinkMessage::DelAddress(message(index, c)),
        0,
    )
}

/// The addresses of the link with index `index`, IPv4 and IPv6 (including
/// link-local ones); every link's when `index` is None, with its index.
pub fn list(nl: &Netlink, index: Option<u32>) -> Result<Vec<(u32, Cidr)>, NetError> {
    let msgs = nl.dump(
        "list addresses",
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
    )?;
    let mut out = Vec::new();
    for m in msgs {
        let RouteNetlinkMessage::NewAddress(a) = m else {
            continue;
        };
        if index.is_some_and(|i| a.header.index != i) {
            continue;
        }
        // IFA_LOCAL is the interface's own address where present (IPv4,
        // point-to-point); IFA_ADDRESS otherwise, as iproute2 prints it.
        let mut local = None;
        let mut address = None;
        for attr in &a.attributes {
            match attr {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                _ => {}
            }
        }
        if let Some(addr) = local.or(address) {
            out.push((
                a.header.index,
                Cidr {
                    addr,
                    prefix: a.header.prefix_len,
                },
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse() {
        let c: Cidr = "10.250.3.1/24".parse().unwrap();
        assert_eq!(c.addr, "10.250.3.1".parse::<IpAddr>().unwrap());
        assert_eq!(c.prefix, 24);
        assert_eq!(c.to_string(), "10.250.3.1/24");
        let c: Cidr = "fd00::1/64".parse().unwrap();
        assert!(c.addr.is_ipv6());
        assert_eq!(c.prefix, 64);
        assert_eq!("1.2.3.4".parse::<Cidr>().unwrap().prefix, 32);
        assert_eq!("::1".parse::<Cidr>().unwrap().prefix, 128);
        assert_eq!("fd00::/128".parse::<Cidr>().unwrap().prefix, 128);
        for bad in [
            "",
            "/24",
            "10.0.0.1/",
            "10.0.0.1/33",
            "fd00::1/129",
            "10.0.0.1/+4",
            "10.0.0.1/24/1",
            "10.0.0/24",
            "host/24",
            "10.0.0.1/ 24",
            "10.0.0.1/999",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        assert!("10.0.0.1/33"
            .parse::<Cidr>()
            .unwrap_err()
            .to_string()
            .starts_with("address '10.0.0.1/33': invalid cidr"));
    }

    #[test]
    fn networks_contain_their_addresses() {
        let c: Cidr = "10.1.2.3/24".parse().unwrap();
        assert!(c.contains("10.1.2.200".parse().unwrap()));
        assert!(!c.contains("10.1.3.1".parse().unwrap()));
        assert!(!c.contains("fd00::1".parse().unwrap()));
        assert_eq!(c.network().to_string(), "10.1.2.0/24");
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        let v6: Cidr = "fd00:1::5/64".parse().unwrap();
        assert!(v6.contains("fd00:1::ffff".parse().unwrap()));
        assert!(!v6.contains("fd00:2::1".parse().unwrap()));
        assert_eq!(v6.network().to_string(), "fd00:1::/64");
    }
}
