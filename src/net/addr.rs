//! IP addresses on links (`ip addr add` / `ip addr show`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;

use super::{link, NetError, Netlink};

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

/// Adds `cidr` (IPv4 or IPv6) to `link`.
pub fn add(nl: &Netlink, link: &str, cidr: &str) -> Result<(), NetError> {
    let c: Cidr = cidr.parse()?;
    let index = link::index(nl, link)?.ok_or_else(|| NetError::NoSuchLink(link.to_string()))?;
    nl.exec(
        || format!("add address {c} to {link}"),
        nl.handle().address().add(index, c.addr, c.prefix).execute(),
    )
}

/// The addresses of `link`, IPv4 and IPv6 (including link-local ones).
pub fn list(nl: &Netlink, link: &str) -> Result<Vec<Cidr>, NetError> {
    let index = link::index(nl, link)?.ok_or_else(|| NetError::NoSuchLink(link.to_string()))?;
    let msgs = nl.dump(
        &format!("list addresses of {link}"),
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
    )?;
    let mut out = Vec::new();
    for m in msgs {
        let RouteNetlinkMessage::NewAddress(a) = m else {
            continue;
        };
        if a.header.index != index {
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
            out.push(Cidr {
                addr,
                prefix: a.header.prefix_len,
            });
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
        assert_eq!(
            "10.0.0.1/33".parse::<Cidr>().unwrap_err().to_string(),
            "address '10.0.0.1/33': invalid cidr"
        );
    }
}
