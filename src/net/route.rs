//! Routes (`ip route add`): default or a prefix, via a gateway and/or out
//! of a device, with a metric, in any table.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use rtnetlink::packet_route::route::RouteScope;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::RouteMessageBuilder;

use super::addr::Cidr;
use super::{NetError, Netlink};

/// A route to add or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination; 0.0.0.0/0 or ::/0 is the default route.
    pub dst: Cidr,
    pub via: Option<IpAddr>,
    /// Output device: index and name (for messages).
    pub dev: Option<(u32, String)>,
    pub metric: Option<u32>,
    /// Routing table number (main is 254).
    pub table: Option<u32>,
}

impl Route {
    /// Checks that the route can be sent: a gateway or a device, and one
    /// address family throughout.
    pub fn check(&self) -> Result<(), NetError> {
        if self.via.is_none() && self.dev.is_none() {
            return Err(NetError::Invalid(format!(
                "route {}: needs a gateway (via) or a device (dev)",
                self.dst
            )));
        }
        if let Some(v) = self.via {
            if v.is_ipv4() != self.dst.addr.is_ipv4() {
                return Err(NetError::Invalid(format!(
                    "route {} via {v}: address families differ",
                    self.dst
                )));
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let mut s = if self.dst.prefix == 0 {
            "route default".to_string()
        } else {
            format!("route {}", self.dst)
        };
        if let Some(v) = self.via {
            s += &format!(" via {v}");
        }
        if let Some((_, d)) = &self.dev {
            s += &format!(" dev {d}");
        }
        if let Some(m) = self.metric {
            s += &format!(" metric {m}");
        }
        if let Some(t) = self.table {
            s += &format!(" table {t}");
        }
        s
    }

    fn message(&self) -> rtnetlink::packet_route::route::RouteMessage {
        match (self.dst.addr, self.via) {
            (IpAddr::V4(d), via) => {
                let mut b =
                    RouteMessageBuilder::<Ipv4Addr>::new().destination_prefix(d, self.dst.prefix);
                match via {
                    Some(IpAddr::V4(g)) => b = b.gateway(g),
                    _ => b = b.scope(RouteScope::Link),
                }
                self.common(b).build()
            }
            (IpAddr::V6(d), via) => {
                let mut b =
                    RouteMessageBuilder::<Ipv6Addr>::new().destination_prefix(d, self.dst.prefix);
                if let Some(IpAddr::V6(g)) = via {
                    b = b.gateway(g);
                }
                self.common(b).build()
            }
        }
    }

    /// Device, metric and table: the same for either family.
    fn common<T>(&self, mut b: RouteMessageBuilder<T>) -> RouteMessageBuilder<T> {
        if let Some((i, _)) = &self.dev {
            b = b.output_interface(*i);
        }
        if let Some(m) = self.metric {
            b = b.priority(m);
        }
        if let Some(t) = self.table {
            b = b.table_id(t);
        }
        b
    }
}

/// Adds `route` (an existing one is an error, as with `ip route add`).
pub fn add(nl: &Netlink, route: &Route) -> Result<(), NetError> {
    route.check()?;
    let mut r = route.clone();
    r.dst = r.dst.network();
    nl.request(
        || format!("add {}", route.describe()),
        RouteNetlinkMessage::NewRoute(r.message()),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// Deletes `route`.
pub fn delete(nl: &Netlink, route: &Route) -> Result<(), NetError> {
    let mut r = route.clone();
    r.dst = r.dst.network();
    nl.request(
        || format!("delete {}", route.describe()),
        RouteNetlinkMessage::DelRoute(r.message()),
        0,
    )
}

/// The default route via `gateway`.
pub fn default_via(gateway: IpAddr) -> Route {
    let dst = match gateway {
        IpAddr::V4(_) => Cidr {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix: 0,
        },
        IpAddr::V6(_) => Cidr {
            addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            prefix: 0,
        },
    };
    Route {
        dst,
        via: Some(gateway),
        dev: None,
        metric: None,
        table: None,
    }
}
