//! Network links: veth pairs, bridges, up/master/mtu/netns, listing.

use std::fs::File;
use std::os::fd::AsRawFd;

use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth};

use super::{NetError, Netlink};

/// One link as `list` reports it.
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
}

/// Creates the veth pair `name`/`peer`; `peer_netns` places the peer end
/// straight into that network namespace.
pub fn veth(
    nl: &Netlink,
    name: &str,
    peer: &str,
    peer_netns: Option<&File>,
) -> Result<(), NetError> {
    let mut p = LinkMessageBuilder::<LinkUnspec>::new().name(peer.to_string());
    if let Some(ns) = peer_netns {
        p = p.setns_by_fd(ns.as_raw_fd());
    }
    let msg = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
        .name(name.to_string())
        .set_info_data(InfoData::Veth(InfoVeth::Peer(p.build())))
        .build();
    nl.exec(
        || format!("create veth {name}/{peer}"),
        nl.handle().link().add(msg).execute(),
    )
}

/// Creates bridge `name` (STP stays off, the kernel's default).
pub fn bridge(nl: &Netlink, name: &str) -> Result<(), NetError> {
    nl.exec(
        || format!("create bridge {name}"),
        nl.handle()
            .link()
            .add(LinkBridge::new(name).build())
            .execute(),
    )
}

fn set(nl: &Netlink, what: impl FnOnce() -> String, msg: LinkMessage) -> Result<(), NetError> {
    nl.exec(what, nl.handle().link().set(msg).execute())
}

/// `ip link set NAME up`.
pub fn set_up(nl: &Netlink, name: &str) -> Result<(), NetError> {
    set(
        nl,
        || format!("set {name} up"),
        LinkUnspec::new_with_name(name).up().build(),
    )
}

/// `ip link set NAME master BRIDGE`.
pub fn set_master(nl: &Netlink, name: &str, bridge: &str) -> Result<(), NetError> {
    let b = index(nl, bridge)?.ok_or_else(|| NetError::NoSuchLink(bridge.to_string()))?;
    set(
        nl,
        || format!("set {name} master {bridge}"),
        LinkUnspec::new_with_name(name).controller(b).build(),
    )
}

/// `ip link set NAME mtu MTU`.
pub fn set_mtu(nl: &Netlink, name: &str, mtu: u32) -> Result<(), NetError> {
    set(
        nl,
        || format!("set {name} mtu {mtu}"),
        LinkUnspec::new_with_name(name).mtu(mtu).build(),
    )
}

/// `ip link set NAME netns NS`: moves the link into another namespace.
pub fn set_netns(nl: &Netlink, name: &str, netns: &File) -> Result<(), NetError> {
    set(
        nl,
        || format!("move {name} to netns"),
        LinkUnspec::new_with_name(name)
            .setns_by_fd(netns.as_raw_fd())
            .build(),
    )
}

/// Deletes link `name` (a veth takes its peer along).
pub fn delete(nl: &Netlink, name: &str) -> Result<(), NetError> {
    let i = index(nl, name)?.ok_or_else(|| NetError::NoSuchLink(name.to_string()))?;
    nl.exec(
        || format!("delete link {name}"),
        nl.handle().link().del(i).execute(),
    )
}

/// The index of link `name`, None if there is none.
pub fn index(nl: &Netlink, name: &str) -> Result<Option<u32>, NetError> {
    Ok(list(nl)?
        .into_iter()
        .find(|l| l.name == name)
        .map(|l| l.index))
}

/// Every link of the connection's namespace.
pub fn list(nl: &Netlink) -> Result<Vec<LinkInfo>, NetError> {
    let msgs = nl.dump(
        "list links",
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
    )?;
    let mut out = Vec::new();
    for m in msgs {
        let RouteNetlinkMessage::NewLink(l) = m else {
            continue;
        };
        let mut info = LinkInfo {
            name: String::new(),
            index: l.header.index,
            kind: None,
            up: l.header.flags.contains(LinkFlags::Up),
            mtu: 0,
            mac: None,
            master: None,
        };
        for attr in l.attributes {
            match attr {
                LinkAttribute::IfName(n) => info.name = n,
                LinkAttribute::Mtu(m) => info.mtu = m,
                LinkAttribute::Controller(c) => info.master = Some(c),
                LinkAttribute::Address(a) if a.len() == 6 => {
                    info.mac = Some(
                        a.iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                    )
                }
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
        out.push(info);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{addr, netns, route};
    use super::*;
    use std::process::Command;

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    /// Deletes the test's namespaces (and with them their links) on drop.
    struct Guard(Vec<String>);

    impl Drop for Guard {
        fn drop(&mut self) {
            for n in &self.0 {
                let _ = netns::delete(n);
            }
        }
    }

    #[test]
    fn veth_between_two_netns_pings() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let pid = std::process::id();
        let (a, b) = (format!("luxc-t{pid}-a"), format!("luxc-t{pid}-b"));
        let (va, vb) = (format!("lxt{pid}a"), format!("lxt{pid}b"));
        let x = pid % 250;
        let _guard = Guard(vec![a.clone(), b.clone()]);
        let pa = netns::create(&a).unwrap();
        let pb = netns::create(&b).unwrap();
        assert!(pa.exists() && pb.exists());
        let (fa, fb) = (netns::open(&a).unwrap(), netns::open(&b).unwrap());

        let host = Netlink::open().unwrap();
        veth(&host, &va, &vb, Some(&fb)).unwrap();
        // Creating it again names the object and the kernel's errno.
        let e = veth(&host, &va, &vb, Some(&fb)).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("create veth {va}/{vb}: File exists (os error 17)")
        );
        set_netns(&host, &va, &fa).unwrap();
        assert_eq!(index(&host, &va).unwrap(), None);

        let (na, nb) = (
            Netlink::open_in(&fa).unwrap(),
            Netlink::open_in(&fb).unwrap(),
        );
        for (nl, dev, ip) in [(&na, &va, 1), (&nb, &vb, 2)] {
            addr::add(nl, dev, &format!("10.250.{x}.{ip}/24")).unwrap();
            addr::add(nl, dev, &format!("fd00:250:{x}::{ip}/64")).unwrap();
            set_up(nl, dev).unwrap();
            set_up(nl, "lo").unwrap();
            set_mtu(nl, dev, 1400).unwrap();
            let l = list(nl).unwrap();
            let me = l.iter().find(|l| &l.name == dev).unwrap();
            assert!(me.up && me.mtu == 1400 && me.kind.as_deref() == Some("veth"));
            assert!(me.mac.is_some());
            let addrs = addr::list(nl, dev).unwrap();
            assert!(
                addrs.contains(&format!("10.250.{x}.{ip}/24").parse().unwrap()),
                "{addrs:?}"
            );
            assert!(
                addrs.contains(&format!("fd00:250:{x}::{ip}/64").parse().unwrap()),
                "{addrs:?}"
            );
        }
        route::add_default(&na, format!("10.250.{x}.2").parse().unwrap()).unwrap();
        route::add(&na, "10.251.0.0/16", None, Some(&va)).unwrap();

        // ping, or busybox's where the host has no ping binary.
        let has_ping = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("ping").exists()));
        let ping_cmd: &[&str] = if has_ping {
            &["ping"]
        } else {
            &["busybox", "ping"]
        };
        let ping = Command::new("ip")
            .args(["netns", "exec", &a])
            .args(ping_cmd)
            .args(["-c1", "-W1"])
            .arg(format!("10.250.{x}.2"))
            .output()
            .unwrap();
        assert!(ping.status.success(), "ping: {ping:?}");
        let ls = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let ls = String::from_utf8_lossy(&ls.stdout);
        assert!(
            ls.lines()
                .any(|l| l.split_whitespace().next() == Some(a.as_str())),
            "{ls}"
        );
        assert!(
            ls.lines()
                .any(|l| l.split_whitespace().next() == Some(b.as_str())),
            "{ls}"
        );

        drop((na, nb, fa, fb));
        netns::delete(&a).unwrap();
        netns::delete(&b).unwrap();
        assert!(!pa.exists() && !pb.exists());
        let left = list(&host).unwrap();
        assert!(
            !left.iter().any(|l| l.name == va || l.name == vb),
            "{left:?}"
        );
    }

    #[test]
    fn bridge_in_netns() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let pid = std::process::id();
        let n = format!("luxc-t{pid}-br");
        let _guard = Guard(vec![n.clone()]);
        netns::create(&n).unwrap();
        let f = netns::open(&n).unwrap();
        let nl = Netlink::open_in(&f).unwrap();
        bridge(&nl, "br0").unwrap();
        veth(&nl, "v0", "v0p", None).unwrap();
        veth(&nl, "v1", "v1p", None).unwrap();
        for dev in ["br0", "v0", "v1"] {
            set_up(&nl, dev).unwrap();
        }
        set_master(&nl, "v0", "br0").unwrap();
        set_master(&nl, "v1", "br0").unwrap();
        let br = index(&nl, "br0").unwrap().unwrap();
        let l = list(&nl).unwrap();
        let get = |name: &str| l.iter().find(|i| i.name == name).unwrap().clone();
        assert_eq!(get("br0").kind.as_deref(), Some("bridge"));
        assert!(get("br0").up);
        for dev in ["v0", "v1"] {
            assert_eq!(get(dev).master, Some(br));
            assert!(get(dev).up);
        }
        assert_eq!(get("v0p").master, None);
        delete(&nl, "v0").unwrap();
        assert_eq!(index(&nl, "v0p").unwrap(), None);
        assert!(matches!(delete(&nl, "v0"), Err(NetError::NoSuchLink(_))));
        drop(nl);
        netns::delete(&n).unwrap();
    }
}
