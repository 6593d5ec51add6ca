//! What this host stands on, found by `pci::host_uses` on the real /sys and
//! /proc (read only): the disk controller of the root filesystem and the NIC
//! of the default route. Expected values are worked out here independently
//! (/sys/dev/block/MAJ:MIN and `ip route`-free /proc/net/route reading).

use std::fs;
use std::path::Path;

use luxc::pci::{host_uses, Address, HostUse};

/// The PCI function a sysfs device path sits under, if any.
fn pci_owner(path: &Path) -> Option<Address> {
    let real = fs::canonicalize(path).ok()?;
    real.ancestors()
        .find_map(|p| Address::parse(&p.file_name()?.to_string_lossy()).ok())
}

#[test]
fn the_controller_of_the_root_filesystem_is_in_use() {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let devnum = info
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f[4] == "/")
        .map(|f| f[2].to_string())
        .expect("a mount on /");
    let Some(addr) = pci_owner(&Path::new("/sys/dev/block").join(&devnum)) else {
        eprintln!("/ ({devnum}) is not on a PCI disk here; nothing to check");
        return;
    };
    let uses = host_uses(Path::new("/"), &addr).unwrap();
    assert!(
        uses.iter().any(|u| matches!(u,
            HostUse::Mount { dev, mountpoint, .. } if *dev == devnum && mountpoint == Path::new("/"))),
        "{addr} carries / ({devnum}); host_uses said {uses:?}"
    );
}

#[test]
fn the_nic_of_the_default_route_is_in_use() {
    let routes = fs::read_to_string("/proc/net/route").unwrap();
    let Some(iface) = routes.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f[1] == "00000000" && f[7] == "00000000").then(|| f[0].to_string())
    }) else {
        eprintln!("no IPv4 default route here; nothing to check");
        return;
    };
    let Some(addr) = pci_owner(&Path::new("/sys/class/net").join(&iface).join("device")) else {
        eprintln!("{iface} is not a PCI NIC here; nothing to check");
        return;
    };
    let uses = host_uses(Path::new("/"), &addr).unwrap();
    assert!(
        uses.contains(&HostUse::DefaultRoute {
            iface: iface.clone()
        }),
        "{addr} carries the default route on {iface}; host_uses said {uses:?}"
    );
}

#[test]
fn a_function_the_host_does_not_stand_on_is_free() {
    // The host bridge or any function without disks or interfaces: nothing.
    let devices = luxc::pci::list(Path::new("/"), &Default::default()).unwrap();
    let block_owners: Vec<Address> = fs::read_dir("/sys/block")
        .unwrap()
        .filter_map(|e| pci_owner(&e.unwrap().path().join("device")))
        .collect();
    let Some(free) = devices
        .iter()
        .find(|d| d.net.is_empty() && !block_owners.contains(&d.address))
    else {
        eprintln!("every function here has a disk or an interface; nothing to check");
        return;
    };
    assert_eq!(host_uses(Path::new("/"), &free.address).unwrap(), []);
}
