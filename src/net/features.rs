//! What this kernel's networking can do, found by trying it in a scratch
//! network namespace (nothing on the host is touched): the netem qdisc
//! (delay and loss), 802.1Q VLANs, VXLAN, macvlan, ipvlan. Modules cannot be
//! loaded on every host, so a kind the kernel lacks is reported, not assumed.

use std::collections::BTreeMap;

use super::{link, tc, NetError, Netlink};

/// Each feature and whether it works here.
pub fn probe() -> Result<BTreeMap<&'static str, bool>, NetError> {
    let orig = std::fs::File::open("/proc/thread-self/ns/net")
        .map_err(|e| NetError::op("open own netns", e))?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetError::op("probe: unshare netns", e.into()))?;
    let result = probe_here();
    if let Err(e) = nix::sched::setns(&orig, nix::sched::CloneFlags::CLONE_NEWNET) {
        panic!("features: cannot return to the original namespace: {e}");
    }
    // The scratch namespace had no other user: it is gone now.
    result
}

fn probe_here() -> Result<BTreeMap<&'static str, bool>, NetError> {
    let nl = Netlink::open()?;
    let mut out = BTreeMap::new();
    // A veth end as the parent: every kernel with network namespaces has veth
    // (not so dummy, which this project's test host lacks).
    link::add(
        &nl,
        &link::NewLink::new(
            "probe0",
            link::Kind::Veth {
                peer: "probe1".into(),
                peer_netns: None,
                peer_mac: None,
                peer_index: None,
            },
        ),
    )?;
    let parent = link::index(&nl, "probe0")?;
    out.insert("dummy", ok_kind(&nl, link::Kind::Dummy, "probedm"));
    let ok = |kind: link::Kind, name: &str| ok_kind(&nl, kind, name);
    out.insert("vlan", ok(link::Kind::Vlan { parent, id: 10 }, "probe0.10"));
    out.insert(
        "macvlan",
        ok(
            link::Kind::Macvlan {
                parent,
                mode: "bridge".into(),
            },
            "probemv",
        ),
    );
    // On the other veth end: a device has one receive handler, and the
    // macvlan above took probe0's.
    let other = link::index(&nl, "probe1")?;
    out.insert(
        "ipvlan",
        ok(
            link::Kind::Ipvlan {
                parent: other,
                mode: "l2".into(),
            },
            "probeiv",
        ),
    );
    out.insert(
        "vxlan",
        ok(
            link::Kind::Vxlan {
                vni: 1,
                port: 4789,
                local: None,
                remote: None,
                group: None,
                dev: None,
            },
            "probevx",
        ),
    );
    out.insert(
        "bridge",
        ok(
            link::Kind::Bridge {
                stp: false,
                vlan_filtering: false,
            },
            "probebr",
        ),
    );
    out.insert(
        "bridge_vlan_filtering",
        ok(
            link::Kind::Bridge {
                stp: false,
                vlan_filtering: true,
            },
            "probebrvf",
        ),
    );
    let shape = |s: tc::Shape| tc::apply(&nl, parent, "probe0", &s).is_ok();
    out.insert(
        "netem",
        shape(tc::Shape {
            delay: Some(std::time::Duration::from_millis(1)),
            ..tc::Shape::default()
        }),
    );
    out.insert(
        "tbf",
        shape(tc::Shape {
            rate: Some(1_000_000),
            ..tc::Shape::default()
        }),
    );
    Ok(out)
}

fn ok_kind(nl: &Netlink, kind: link::Kind, name: &str) -> bool {
    link::add(nl, &link::NewLink::new(name, kind)).is_ok()
}
