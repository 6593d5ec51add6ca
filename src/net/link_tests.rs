//! Links on real namespaces (root only; skipped otherwise). Each test makes
//! its own uniquely named namespaces and removes them.
use super::super::{addr, netns, route, tc};
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

fn ping(ns: &str, to: &str) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns, "busybox", "ping", "-c1", "-W2", to])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn veth_between_two_netns_pings_over_v4_and_v6() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let pid = std::process::id();
    let (a, b) = (format!("luxc-t{pid}-a"), format!("luxc-t{pid}-b"));
    let x = pid % 250;
    let _guard = Guard(vec![a.clone(), b.clone()]);
    let pa = netns::create(&a).unwrap();
    netns::create(&b).unwrap();
    let (fa, fb) = (netns::open(&a).unwrap(), netns::open(&b).unwrap());
    let host = Netlink::open().unwrap();
    // Both ends straight into their namespaces, up, from the host's socket.
    let mut v = NewLink::new(
        "eth0",
        Kind::Veth {
            peer: "eth0".into(),
            peer_netns: Some(std::os::fd::AsRawFd::as_raw_fd(&fb)),
            peer_mac: Some([2, 0, 0, 0, 0, 2]),
            peer_index: Some(7),
        },
    );
    v.netns = Some(std::os::fd::AsRawFd::as_raw_fd(&fa));
    v.up = true;
    v.mtu = Some(1400);
    add(&host, &v).unwrap();
    assert!(get(&host, "eth0")
        .unwrap()
        .is_none_or(|l| l.kind.as_deref() != Some("veth")));
    let e = add(&host, &NewLink::new("lo", Kind::Dummy))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("create dummy lo: File exists"), "{e}");

    let (na, nb) = (
        Netlink::open_in(&fa).unwrap(),
        Netlink::open_in(&fb).unwrap(),
    );
    set_up(&nb, "eth0").unwrap();
    for (nl, ip) in [(&na, 1), (&nb, 2)] {
        set_up(nl, "lo").unwrap();
        let me = get(nl, "eth0").unwrap().unwrap();
        assert!(me.up && me.kind.as_deref() == Some("veth"), "{me:?}");
        let c4: addr::Cidr = format!("10.250.{x}.{ip}/24").parse().unwrap();
        let c6: addr::Cidr = format!("fd00:250:{x}::{ip}/64").parse().unwrap();
        addr::add(nl, me.index, "eth0", &c4).unwrap();
        addr::add(nl, me.index, "eth0", &c6).unwrap();
        let got: Vec<_> = addr::list(nl, Some(me.index))
            .unwrap()
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        assert!(got.contains(&c4) && got.contains(&c6), "{got:?}");
    }
    assert_eq!(
        get(&nb, "eth0").unwrap().unwrap().mac.as_deref(),
        Some("02:00:00:00:00:02")
    );
    assert_eq!(get(&na, "eth0").unwrap().unwrap().mtu, 1400);
    let eth0 = index(&na, "eth0").unwrap();
    route::add(
        &na,
        &route::Route {
            dst: "10.251.0.0/16".parse().unwrap(),
            via: Some(format!("10.250.{x}.2").parse().unwrap()),
            dev: Some((eth0, "eth0".into())),
            metric: Some(50),
            table: None,
        },
    )
    .unwrap();
    route::add(
        &na,
        &route::default_via(format!("10.250.{x}.2").parse().unwrap()),
    )
    .unwrap();
    let bad = route::Route {
        dst: "10.252.0.0/16".parse().unwrap(),
        via: Some("fd00::1".parse().unwrap()),
        dev: None,
        metric: None,
        table: None,
    };
    assert!(route::add(&na, &bad)
        .unwrap_err()
        .to_string()
        .contains("families differ"));
    assert!(ping(&a, &format!("10.250.{x}.2")));
    assert!(ping(&a, &format!("fd00:250:{x}::2")));

    // Shaping with tbf works on this kernel; netem is reported, not assumed.
    let shaped = tc::apply(
        &na,
        eth0,
        "eth0",
        &tc::Shape {
            rate: Some(10_000_000),
            ..tc::Shape::default()
        },
    );
    assert!(shaped.is_ok(), "{shaped:?}");
    let qd = Command::new("ip")
        .args(["netns", "exec", &a, "tc", "qdisc", "show", "dev", "eth0"])
        .output()
        .unwrap();
    let qd = String::from_utf8_lossy(&qd.stdout);
    assert!(qd.contains("tbf") && qd.contains("10Mbit"), "{qd}");
    tc::clear(&na, eth0, "eth0").unwrap();

    let ls = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let ls = String::from_utf8_lossy(&ls.stdout);
    assert!(
        ls.lines()
            .any(|l| l.split_whitespace().next() == Some(a.as_str())),
        "{ls}"
    );
    assert!(netns::inode(&a).unwrap().is_some());
    drop((na, nb, fa, fb));
    netns::delete(&a).unwrap();
    netns::delete(&b).unwrap();
    assert!(!pa.exists());
    assert_eq!(netns::inode(&a).unwrap(), None);
}

#[test]
fn bridge_ports_rename_alias_and_delete_in_a_netns() {
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
    let mut br = NewLink::new(
        "br0",
        Kind::Bridge {
            stp: false,
            vlan_filtering: false,
        },
    );
    br.up = true;
    add(&nl, &br).unwrap();
    let bri = index(&nl, "br0").unwrap();
    for (v, p) in [("v0", "v0p"), ("v1", "v1p")] {
        let mut l = NewLink::new(
            v,
            Kind::Veth {
                peer: p.into(),
                peer_netns: None,
                peer_mac: None,
                peer_index: None,
            },
        );
        l.master = Some(bri);
        l.up = true;
        add(&nl, &l).unwrap();
    }
    let all = list(&nl).unwrap();
    let find = |name: &str| all.iter().find(|i| i.name == name).unwrap().clone();
    assert_eq!(find("br0").kind.as_deref(), Some("bridge"));
    assert_eq!(find("v0").master, Some(bri));
    assert_eq!(find("v1").master, Some(bri));
    assert!(find("v0").up && !find("v0p").up);
    set(
        &nl,
        "v0p",
        &Change {
            alias: Some("luxc:test".into()),
            mac: Some([2, 1, 2, 3, 4, 5]),
            ..Change::default()
        },
    )
    .unwrap();
    let v0p = get(&nl, "v0p").unwrap().unwrap();
    assert_eq!(v0p.alias.as_deref(), Some("luxc:test"));
    assert_eq!(v0p.mac.as_deref(), Some("02:01:02:03:04:05"));
    set(
        &nl,
        "v0p",
        &Change {
            rename: Some("renamed0".into()),
            ..Change::default()
        },
    )
    .unwrap();
    assert!(get(&nl, "v0p").unwrap().is_none());
    assert_eq!(get(&nl, "renamed0").unwrap().unwrap().index, v0p.index);
    delete(&nl, "v0").unwrap();
    assert!(
        get(&nl, "renamed0").unwrap().is_none(),
        "a veth takes its peer along"
    );
    let e = delete(&nl, "v0").unwrap_err().to_string();
    assert!(e.starts_with("delete link v0: No such device"), "{e}");
    assert!(validate_name("a-name-of-16-byt").is_err());
    assert!(validate_name("eth0.100").is_ok());
    assert!(parse_mac("02:00:00:00:00:zz").is_err());
    assert_eq!(
        parse_mac("02:AB:00:00:00:01").unwrap(),
        [2, 0xab, 0, 0, 0, 1]
    );
}

#[test]
fn features_are_probed_in_a_scratch_namespace() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let before = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .unwrap()
        .stdout;
    let f = super::super::features::probe().unwrap();
    assert_eq!(f.get("bridge"), Some(&true));
    assert_eq!(f.get("tbf"), Some(&true));
    assert!(f.contains_key("netem") && f.contains_key("vlan"));
    let after = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(before.len(), after.len(), "the host's links are untouched");
}
