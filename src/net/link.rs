//! Network links: bridge, veth, dummy, macvlan, ipvlan, vxlan and vlan
//! creation; up/down, MTU, MAC, master, alias and namespace changes; lookup
//! by name, listing and deletion. Every request is one netlink message on the
//! socket of the namespace it concerns.

use std::net::IpAddr;
use std::os::fd::RawFd;

use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use rtnetlink::packet_route::link::{
    BridgeStpState, InfoData, InfoKind, InfoVeth, IpVlanMode, LinkAttribute, LinkFlags,
    LinkInfo as NlLinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{
    LinkBridge, LinkDummy, LinkIpVlan, LinkMacVlan, LinkMessageBuilder, LinkUnspec, LinkVlan,
    LinkVxlan,
};

use super::{NetError, Netlink};

/// Longest interface name the kernel takes (IFNAMSIZ - 1).
pub const IFNAMSIZ_MAX: usize = 15;

/// The link kinds luxc creates, as the Lua API spells them.
pub const KINDS: &[&str] = &[
    "bridge", "veth", "dummy", "macvlan", "ipvlan", "vxlan", "vlan",
];

/// One link as `get` and `list` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub name: String,
    pub index: u32,
    /// "veth", "bridge", ...; None for links without a kind (lo, physical).
    pub kind: Option<String>,
    /// IFF_UP is set (administratively up).
    pub up: bool,
    pub mtu: u32,
    /// aa:bb:cc:dd:ee:ff, where the link has a hardware address.
    pub mac: Option<String>,
    /// The index of the bridge (or bond) this link is enslaved to.
    pub master: Option<u32>,
    /// The link's alias (`ip link set NAME alias TEXT`); luxc marks its own.
    pub alias: Option<String>,
}

/// What kind of link to create, with its kind's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A bridge; STP off unless asked.
    Bridge {
        stp: bool,
        vlan_filtering: bool,
    },
    /// A veth pair; the peer may go straight into another namespace. (It
    /// cannot come up in the same message: the kernel opens a veth end only
    /// once both exist, and makes the peer first: ENOTCONN.)
    Veth {
        peer: String,
        peer_netns: Option<RawFd>,
        peer_mac: Option<[u8; 6]>,
        /// Ask for this interface index for the peer (0 or None: any).
        peer_index: Option<u32>,
    },
    Dummy,
    /// A macvlan on the link with index `parent` (mode: "bridge", "private",
    /// "vepa", "passthru").
    Macvlan {
        parent: u32,
        mode: String,
    },
    /// An ipvlan on `parent` (mode: "l2", "l3", "l3s").
    Ipvlan {
        parent: u32,
        mode: String,
    },
    /// A VXLAN device: VNI, UDP port, local address, a remote (unicast) or a
    /// group (multicast) peer, and the underlay device's index.
    Vxlan {
        vni: u32,
        port: u16,
        local: Option<IpAddr>,
        remote: Option<IpAddr>,
        group: Option<IpAddr>,
        dev: Option<u32>,
    },
    /// An 802.1Q VLAN on `parent`.
    Vlan {
        parent: u32,
        id: u16,
    },
}

/// A link to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub name: String,
    pub kind: Kind,
    /// Create it straight in this namespace (an open nsfs file).
    pub netns: Option<RawFd>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    /// Enslave it to the bridge with this index (in the namespace it is made in).
    pub master: Option<u32>,
    pub up: bool,
    /// IFLA_IFALIAS in the creating message; whether the kernel keeps it
    /// there is checked by `add_with_alias`.
    pub alias: Option<String>,
    /// Ask for this interface index (None: any; EBUSY if it is taken).
    pub index: Option<u32>,
}

impl NewLink {
    /// A link of `kind` named `name`, with no other setting.
    pub fn new(name: &str, kind: Kind) -> NewLink {
        NewLink {
            name: name.to_string(),
            kind,
            netns: None,
            mtu: None,
            mac: None,
            master: None,
            up: false,
            alias: None,
            index: None,
        }
    }
}

/// Checks an interface name: 1 to 15 bytes, no '/', ':' or whitespace, not
/// "." or "..".
pub fn validate_name(name: &str) -> Result<(), NetError> {
    let ok = !name.is_empty()
        && name.len() <= IFNAMSIZ_MAX
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0);
    if ok {
        Ok(())
    } else {
        Err(NetError::Invalid(format!(
            "interface name '{name}': expected 1 to {IFNAMSIZ_MAX} bytes without '/', ':' or spaces"
        )))
    }
}

fn macvlan_mode(mode: &str) -> Result<MacVlanMode, NetError> {
    Ok(match mode {
        "bridge" => MacVlanMode::Bridge,
        "private" => MacVlanMode::Private,
        "vepa" => MacVlanMode::Vepa,
        "passthru" => MacVlanMode::Passthrough,
        _ => {
            return Err(NetError::Invalid(format!(
                "macvlan mode '{mode}': expected one of bridge, private, vepa, passthru"
            )))
        }
    })
}

fn ipvlan_mode(mode: &str) -> Result<IpVlanMode, NetError> {
    Ok(match mode {
        "l2" => IpVlanMode::L2,
        "l3" => IpVlanMode::L3,
        "l3s" => IpVlanMode::L3S,
        _ => {
            return Err(NetError::Invalid(format!(
                "ipvlan mode '{mode}': expected one of l2, l3, l3s"
            )))
        }
    })
}

/// The RTM_NEWLINK message for `link`.
fn message(link: &NewLink) -> Result<LinkMessage, NetError> {
    let name = link.name.as_str();
    let mut msg = match &link.kind {
        Kind::Bridge {
            stp,
            vlan_filtering,
        } => {
            let mut b = LinkBridge::new(name).stp_state(if *stp {
                BridgeStpState::KernelStp
            } else {
                BridgeStpState::Disabled
            });
            if *vlan_filtering {
                b = b.vlan_filtering(true);
            }
            b.build()
        }
        Kind::Veth {
            peer,
            peer_netns,
            peer_mac,
            peer_index,
        } => {
            let mut p = LinkMessageBuilder::<LinkUnspec>::new().name(peer.clone());
            if let Some(fd) = peer_netns {
                p = p.setns_by_fd(*fd);
            }
            if let Some(mac) = peer_mac {
                p = p.address(mac.to_vec());
            }
            let mut p = p.build();
            if let Some(i) = peer_index {
                p.header.index = *i;
            }
            // One queue each, asked for up front: otherwise the kernel makes
            // one per CPU, then shrinks the live device to one, which waits
            // for an RCU grace period per veth end (most of a 1,000-link lab).
            p.attributes.push(LinkAttribute::NumTxQueues(1));
            p.attributes.push(LinkAttribute::NumRxQueues(1));
            let mut m = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
                .name(name.to_string())
                .set_info_data(InfoData::Veth(InfoVeth::Peer(p)))
                .build();
            m.attributes.push(LinkAttribute::NumTxQueues(1));
            m.attributes.push(LinkAttribute::NumRxQueues(1));
            m
        }
        Kind::Dummy => LinkDummy::new(name).build(),
        Kind::Macvlan { parent, mode } => {
            LinkMacVlan::new(name, *parent, macvlan_mode(mode)?).build()
        }
        Kind::Ipvlan { parent, mode } => LinkIpVlan::new(name, *parent, ipvlan_mode(mode)?).build(),
        Kind::Vxlan {
            vni,
            port,
            local,
            remote,
            group,
            dev,
        } => {
            let mut b = LinkVxlan::new(name, *vni).port(*port);
            match local {
                Some(IpAddr::V4(a)) => b = b.local(*a),
                Some(IpAddr::V6(a)) => b = b.local6(*a),
                None => {}
            }
            match remote {
                Some(IpAddr::V4(a)) => b = b.remote(*a),
                Some(IpAddr::V6(a)) => b = b.remote6(*a),
                None => {}
            }
            match group {
                Some(IpAddr::V4(a)) => b = b.group(*a),
                Some(IpAddr::V6(a)) => b = b.group6(*a),
                None => {}
            }
            if let Some(d) = dev {
                b = b.dev(*d);
            }
            b.build()
        }
        Kind::Vlan { parent, id } => LinkVlan::new(name, *parent, *id).build(),
    };
    if let Some(fd) = link.netns {
        msg.attributes.push(LinkAttribute::NetNsFd(fd));
    }
    if let Some(mtu) = link.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = link.mac {
        msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(m) = link.master {
        msg.attributes.push(LinkAttribute::Controller(m));
    }
    if let Some(a) = &link.alias {
        msg.attributes.push(LinkAttribute::IfAlias(a.clone()));
    }
    if let Some(i) = link.index {
        msg.header.index = i;
    }
    if link.up {
        msg.header.flags |= LinkFlags::Up;
        msg.header.change_mask |= LinkFlags::Up;
    }
    Ok(msg)
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Bridge { .. } => "bridge",
        Kind::Veth { .. } => "veth",
        Kind::Dummy => "dummy",
        Kind::Macvlan { .. } => "macvlan",
        Kind::Ipvlan { .. } => "ipvlan",
        Kind::Vxlan { .. } => "vxlan",
        Kind::Vlan { .. } => "vlan",
    }
}

/// Creates `link` (an existing name is an error, as with `ip link add`).
pub fn add(nl: &Netlink, link: &NewLink) -> Result<(), NetError> {
    validate_name(&link.name)?;
    if let Kind::Veth { peer, .. } = &link.kind {
        validate_name(peer)?;
    }
    let msg = message(link)?;
    let what = || match &link.kind {
        Kind::Veth { peer, .. } => format!("create veth {}/{peer}", link.name),
        k => format!("create {} {}", kind_name(k), link.name),
    };
    nl.request(
        what,
        RouteNetlinkMessage::NewLink(msg),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// Creates `link` with its alias and makes sure the alias is there: kernels
/// that ignore IFLA_IFALIAS in a creating message get it in a second one.
/// (Setting an alias on a bridge port afterwards makes the bridge re-check
/// every port, which at 1,000 ports is most of a lab's creation time.)
pub fn add_with_alias(
    nl: &Netlink,
    link: &NewLink,
    in_ns: Option<&Netlink>,
) -> Result<(), NetError> {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: not known yet, 1: the kernel keeps it, 2: it does not.
    static KEPT: AtomicU8 = AtomicU8::new(0);
    add(nl, link)?;
    let Some(alias) = &link.alias else {
        return Ok(());
    };
    let there = in_ns.unwrap_or(nl);
    if KEPT.load(Ordering::Relaxed) == 1 {
        return Ok(());
    }
    let kept = get(there, &link.name)?.and_then(|l| l.alias).as_deref() == Some(alias.as_str());
    KEPT.store(if kept { 1 } else { 2 }, Ordering::Relaxed);
    if kept {
        return Ok(());
    }
    set(
        there,
        &link.name,
        &Change {
            alias: Some(alias.clone()),
            ..Change::default()
        },
    )
}

/// Changes to an existing link; None leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    /// Some(Some(i)): enslave to the bridge with index i; Some(None): release.
    pub master: Option<Option<u32>>,
    /// Move the link into this namespace (an open nsfs file).
    pub netns: Option<RawFd>,
    pub alias: Option<String>,
    /// Rename it (it must be down).
    pub rename: Option<String>,
    /// No IPv6 link-local address from now on (addr_gen_mode none); in the
    /// same message as `up`, none is made at all.
    pub no_ipv6_ll: bool,
}

/// Applies `change` to link `name` (looked up by name by the kernel).
pub fn set(nl: &Netlink, name: &str, change: &Change) -> Result<(), NetError> {
    let mut b = LinkUnspec::new_with_name(name);
    match change.up {
        Some(true) => b = b.up(),
        Some(false) => b = b.down(),
        None => {}
    }
    if let Some(m) = change.mtu {
        b = b.mtu(m);
    }
    if let Some(mac) = change.mac {
        b = b.address(mac.to_vec());
    }
    match change.master {
        Some(Some(i)) => b = b.controller(i),
        Some(None) => b = b.nocontroller(),
        None => {}
    }
    if let Some(fd) = change.netns {
        b = b.setns_by_fd(fd);
    }
    if let Some(a) = &change.alias {
        b = b.alias(a.clone());
    }
    let mut msg = b.build();
    if change.no_ipv6_ll {
        use rtnetlink::packet_route::link::{AfSpecInet6, AfSpecUnspec, In6AddrGenMode};
        msg.attributes
            .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
            )]));
    }
    if let Some(new) = &change.rename {
        validate_name(new)?;
        // Looked up by index, since IFLA_IFNAME now carries the new name.
        let index = get(nl, name)?
            .ok_or_else(|| NetError::NoSuchLink(name.to_string()))?
            .index;
        msg.header.index = index;
        msg.attributes
            .retain(|a| !matches!(a, LinkAttribute::IfName(_)));
        msg.attributes.push(LinkAttribute::IfName(new.clone()));
    }
    nl.request(
        || describe_change(name, change),
        RouteNetlinkMessage::SetLink(msg),
        0,
    )
}

fn describe_change(name: &str, c: &Change) -> String {
    let mut parts = Vec::new();
    if let Some(up) = c.up {
        parts.push(if up {
            "up".to_string()
        } else {
            "down".to_string()
        });
    }
    if let Some(m) = c.mtu {
        parts.push(format!("mtu {m}"));
    }
    if let Some(mac) = c.mac {
        parts.push(format!("address {}", format_mac(&mac)));
    }
    match c.master {
        Some(Some(i)) => parts.push(format!("master (index {i})")),
        Some(None) => parts.push("nomaster".into()),
        None => {}
    }
    if c.netns.is_some() {
        parts.push("netns".into());
    }
    if let Some(a) = &c.alias {
        parts.push(format!("alias {a}"));
    }
    if let Some(n) = &c.rename {
        parts.push(format!("name {n}"));
    }
    format!("set {name} {}", parts.join(" "))
}

/// `ip link set NAME up`.
pub fn set_up(nl: &Netlink, name: &str) -> Result<(), NetError> {
    set(
        nl,
        name,
        &Change {
            up: Some(true),
            ..Change::default()
        },
    )
}

/// Deletes link `name` (a veth takes its peer along).
pub fn delete(nl: &Netlink, name: &str) -> Result<(), NetError> {
    nl.request(
        || format!("delete link {name}"),
        RouteNetlinkMessage::DelLink(LinkUnspec::new_with_name(name).build()),
        0,
    )
}

/// Deletes link `index`.
pub fn delete_index(nl: &Netlink, index: u32, name: &str) -> Result<(), NetError> {
    nl.request(
        || format!("delete link {name}"),
        RouteNetlinkMessage::DelLink(LinkUnspec::new_with_index(index).build()),
        0,
    )
}

/// Link `name`, or None when the namespace has none of that name.
pub fn get(nl: &Netlink, name: &str) -> Result<Option<LinkInfo>, NetError> {
    let msg = LinkUnspec::new_with_name(name).build();
    Ok(nl
        .get(
            || format!("get link {name}"),
            RouteNetlinkMessage::GetLink(msg),
        )?
        .and_then(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(info(l)),
            _ => None,
        }))
}

/// The index of link `name`, or the error naming it.
pub fn index(nl: &Netlink, name: &str) -> Result<u32, NetError> {
    get(nl, name)?
        .map(|l| l.index)
        .ok_or_else(|| NetError::NoSuchLink(name.to_string()))
}

/// Every link of the connection's namespace.
pub fn list(nl: &Netlink) -> Result<Vec<LinkInfo>, NetError> {
    let msgs = nl.dump(
        "list links",
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
    )?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(info(l)),
            _ => None,
        })
        .collect())
}

/// aa:bb:cc:dd:ee:ff.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses aa:bb:cc:dd:ee:ff (either case).
pub fn parse_mac(s: &str) -> Result<[u8; 6], NetError> {
    let bad = || {
        NetError::Invalid(format!(
            "mac '{s}': expected six hex bytes like 02:00:00:00:00:01"
        ))
    };
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return Err(bad());
        }
        mac[i] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

fn info(l: LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        name: String::new(),
        index: l.header.index,
        kind: None,
        up: l.header.flags.contains(LinkFlags::Up),
        mtu: 0,
        mac: None,
        master: None,
        alias: None,
    };
    for attr in l.attributes {
        match attr {
            LinkAttribute::IfName(n) => info.name = n,
            LinkAttribute::Mtu(m) => info.mtu = m,
            LinkAttribute::Controller(c) => info.master = Some(c),
            LinkAttribute::IfAlias(a) => info.alias = Some(a),
            LinkAttribute::Address(a) if a.len() == 6 => info.mac = Some(format_mac(&a)),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let NlLinkInfo::Kind(k) = i {
                        info.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    info
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
