//! Routes in the main table (`ip route add`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rtnetlink::packet_route::route::RouteScope;
use rtnetlink::RouteMessageBuilder;

use super::addr::Cidr;
use super::{link, NetError, Netlink};

/// `ip route add default via GATEWAY`.
pub fn add_default(nl: &Netlink, gateway: IpAddr) -> Result<(), NetError> {
    let dest = match gateway {
        IpAddr::V4(_) => "0.0.0.0/0",
        IpAddr::V6(_) => "::/0",
    };
    add(nl, dest, Some(gateway), None)
}

/// `ip route add DEST [via GATEWAY] [dev DEV]`; at least one of `via` and
/// `dev` is needed. A route without a gateway gets link scope.
pub fn add(
    nl: &Netlink,
    dest_cidr: &str,
    via: Option<IpAddr>,
    dev: Option<&str>,
) -> Result<(), NetError> {
    let dest: Cidr = dest_cidr.parse()?;
    let what = || {
        let mut s = format!("add route {dest}");
        if let Some(v) = via {
            s += &format!(" via {v}");
        }
        if let Some(d) = dev {
            s += &format!(" dev {d}");
        }
        s
    };
    let oif = match dev {
        Some(d) => Some(link::index(nl, d)?.ok_or_else(|| NetError::NoSuchLink(d.to_string()))?),
        None => None,
    };
    if via.is_none() && oif.is_none() {
        return Err(NetError::op(
            what(),
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "needs a gateway or a device",
            ),
        ));
    }
    let family_mismatch = || {
        NetError::op(
            what(),
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "address families differ"),
        )
    };
    let msg = match dest.addr {
        IpAddr::V4(d) => {
            let mut b = RouteMessageBuilder::<Ipv4Addr>::new().destination_prefix(d, dest.prefix);
            match via {
                Some(IpAddr::V4(g)) => b = b.gateway(g),
                Some(IpAddr::V6(_)) => return Err(family_mismatch()),
                None => b = b.scope(RouteScope::Link),
            }
            if let Some(i) = oif {
                b = b.output_interface(i);
            }
            b.build()
        }
        IpAddr::V6(d) => {
            let mut b = RouteMessageBuilder::<Ipv6Addr>::new().destination_prefix(d, dest.prefix);
            match via {
                Some(IpAddr::V6(g)) => b = b.gateway(g),
                Some(IpAddr::V4(_)) => return Err(family_mismatch()),
                None => {}
            }
            if let Some(i) = oif {
                b = b.output_interface(i);
            }
            b.build()
        }
    };
    nl.exec(what, nl.handle().route().add(msg).execute())
}
