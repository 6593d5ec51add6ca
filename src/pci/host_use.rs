//! Is a PCI function something the host itself stands on? A disk controller
//! whose disk holds a mounted filesystem, or the NIC that carries the default
//! route: moving either to vfio-pci takes the host's root or its network away.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::device::pci_owner;
use super::sysfs;
use super::{Address, PciError};

/// One way the host uses a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HostUse {
    /// A block device on it (or a partition, or a device-mapper/md device
    /// stacked on it) is mounted.
    Mount {
        /// The block device that is mounted (`vda1`, `dm-0`).
        block: String,
        /// Its `major:minor`.
        dev: String,
        /// Where it is mounted (the first mount of it).
        mountpoint: PathBuf,
    },
    /// One of its network interfaces carries a default route.
    DefaultRoute {
        /// The interface.
        iface: String,
    },
}

impl fmt::Display for HostUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostUse::Mount {
                block,
                dev,
                mountpoint,
            } => write!(
                f,
                "backs the mounted filesystem {} ({block}, {dev})",
                mountpoint.display()
            ),
            HostUse::DefaultRoute { iface } => {
                write!(f, "carries the host's default route ({iface})")
            }
        }
    }
}

/// How far holders (dm on md on a partition …) are followed.
const MAX_STACK: usize = 8;

/// Every way the host uses the device at `address` (empty: free to take).
pub fn host_uses(root: &Path, address: &Address) -> Result<Vec<HostUse>, PciError> {
    let mut uses = mounts(root, address)?;
    for iface in default_route_ifaces(root)? {
        let dev = sysfs::real(&root.join("sys/class/net").join(&iface).join("device"));
        if dev.as_deref().and_then(pci_owner) == Some(*address) {
            uses.push(HostUse::DefaultRoute { iface });
        }
    }
    Ok(uses)
}

/// Mounted block devices that sit on the device: its disks (found through
/// `/sys/block/*/device`), their partitions and what is stacked on them,
/// matched by `major:minor` against the mount table.
fn mounts(root: &Path, address: &Address) -> Result<Vec<HostUse>, PciError> {
    let mounted = mount_table(&root.join("proc/self/mountinfo"))?;
    let block_dir = root.join("sys/block");
    let mut seen = BTreeSet::new();
    let mut uses = Vec::new();
    for disk in sysfs::entries(&block_dir)? {
        let dev = sysfs::real(&block_dir.join(&disk).join("device"));
        if dev.as_deref().and_then(pci_owner) != Some(*address) {
            continue;
        }
        let mut stack = vec![(disk.clone(), block_dir.join(&disk), 0)];
        while let Some((name, dir, depth)) = stack.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(devnum) = sysfs::read_opt(&dir.join("dev"))? {
                if let Some(mountpoint) = mounted.get(&devnum) {
                    uses.push(HostUse::Mount {
                        block: name.clone(),
                        dev: devnum,
                        mountpoint: mountpoint.clone(),
                    });
                }
            }
            if depth >= MAX_STACK {
                continue;
            }
            // Partitions are subdirectories with a `partition` file.
            for sub in sysfs::entries(&dir)? {
                if dir.join(&sub).join("partition").exists() {
                    stack.push((sub.clone(), dir.join(&sub), depth + 1));
                }
            }
            // What is built on it (dm-0, md0) is listed under holders/.
            for holder in sysfs::entries(&dir.join("holders"))? {
                let hdir = block_dir.join(&holder);
                stack.push((holder, hdir, depth + 1));
            }
        }
    }
    Ok(uses)
}

/// `major:minor` → the first mountpoint of it, from mountinfo.
fn mount_table(path: &Path) -> Result<BTreeMap<String, PathBuf>, PciError> {
    let text = sysfs::read(path)?;
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let (Some(dev), Some(mp)) = (fields.get(2), fields.get(4)) {
            map.entry(dev.to_string())
                .or_insert_with(|| crate::cgroup::unescape_mountinfo(mp));
        }
    }
    Ok(map)
}

/// Interfaces with an IPv4 or IPv6 default route in the host's main table.
fn default_route_ifaces(root: &Path) -> Result<Vec<String>, PciError> {
    let mut ifaces = BTreeSet::new();
    if let Some(v4) = sysfs::read_opt(&root.join("proc/net/route"))? {
        for line in v4.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 7 && f[1] == "00000000" && f[7] == "00000000" {
                ifaces.insert(f[0].to_string());
            }
        }
    }
    if let Some(v6) = sysfs::read_opt(&root.join("proc/net/ipv6_route"))? {
        for line in v6.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let default = f.len() == 10 && f[0].bytes().all(|b| b == b'0') && f[1] == "00";
            // The kernel keeps an unreachable default on lo; that is no uplink.
            if default && f[9] != "lo" {
                ifaces.insert(f[9].to_string());
            }
        }
    }
    Ok(ifaces.into_iter().collect())
}
