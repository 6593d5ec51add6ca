//! Devices: IOMMU groups and VFIO for passthrough, and pci.ids for readable names.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use super::kconfig::{self, Symbol};
use super::{Host, Item, Status};

const SECTION: &str = "Devices";

/// Where distributions install pci.ids, most common first.
const PCI_IDS: &[&str] = &[
    "/usr/share/misc/pci.ids",
    "/usr/share/hwdata/pci.ids",
    "/usr/share/pci.ids",
];

/// IOMMU groups, vfio and the pci.ids database.
pub(super) fn items(host: &Host, pci_ids_env: Option<&OsStr>) -> Vec<Item> {
    vec![iommu(host), vfio(host), pci_ids(host, pci_ids_env)]
}

/// The pci.ids database: `env` (the `LUXC_PCI_IDS` value) as given when set, else the
/// first distribution path that exists under `root`; the error says what was looked at.
pub fn pci_ids_path(root: &Path, env: Option<&OsStr>) -> Result<PathBuf, String> {
    if let Some(path) = env.filter(|p| !p.is_empty()).map(PathBuf::from) {
        if path.is_file() {
            return Ok(path);
        }
        return Err(format!("LUXC_PCI_IDS={} is not a file", path.display()));
    }
    PCI_IDS
        .iter()
        .map(|p| root.join(&p[1..]))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no pci.ids in {}", PCI_IDS.join(", ")))
}

/// VFIO isolates devices per IOMMU group, so without groups there is no passthrough.
fn iommu(host: &Host) -> Item {
    let count = fs::read_dir(host.path("/sys/kernel/iommu_groups"))
        .map(|dir| dir.count())
        .unwrap_or(0);
    if count > 0 {
        return Item::ok(
            SECTION,
            "IOMMU groups",
            format!("{count} groups in /sys/kernel/iommu_groups"),
        );
    }
    Item::limited(
        SECTION,
        "IOMMU groups",
        "no IOMMU groups: VFIO passthrough unavailable",
    )
    .advice("enable VT-d/AMD-Vi in firmware and boot with intel_iommu=on or amd_iommu=on")
}

fn vfio(host: &Host) -> Item {
    if host.path("/dev/vfio/vfio").exists() {
        return Item::ok(SECTION, "vfio", "/dev/vfio/vfio");
    }
    let symbol = Symbol {
        config: "VFIO_PCI",
        module: "vfio_pci",
    };
    let item = kconfig::feature(
        host,
        SECTION,
        "vfio",
        &[symbol],
        "use the VM lab for VFIO passthrough",
    );
    // The config allows vfio-pci, but without /dev/vfio/vfio nothing can be bound yet.
    match item.status {
        Status::Ok => Item::limited(
            SECTION,
            "vfio",
            format!("{}, but no /dev/vfio/vfio", item.detail),
        )
        .advice("modprobe vfio-pci (needs IOMMU groups) to create /dev/vfio/vfio"),
        _ => item,
    }
}

fn pci_ids(host: &Host, env: Option<&OsStr>) -> Item {
    match pci_ids_path(host.root, env) {
        Ok(path) => Item::ok(SECTION, "pci.ids", display(host.root, &path)),
        Err(why) => Item::limited(
            SECTION,
            "pci.ids",
            format!("vendor/device names shown as numbers: {why}"),
        )
        .advice("apt-get install pci.ids, or point LUXC_PCI_IDS at a pci.ids file"),
    }
}

/// A path as the host sees it: inside the checked root it is shown from "/".
fn display(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if root != Path::new("/") => Path::new("/").join(rel).display().to_string(),
        _ => path.display().to_string(),
    }
}
