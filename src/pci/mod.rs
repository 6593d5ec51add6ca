//! PCI devices over sysfs: discovery (ids, names, driver, IOMMU group, NUMA
//! node, SR-IOV, bound net and DRM names), IOMMU group viability for VFIO, and
//! the plan that moves devices to vfio-pci.
//!
//! Every function takes the filesystem root (`Path::new("/")` on the host), so
//! tests run on fixture trees: `ROOT/sys/bus/pci/devices`, `ROOT/sys/kernel/iommu_groups`,
//! `ROOT/sys/class/{net,drm,block}`, `ROOT/proc/self/mountinfo`, `ROOT/proc/net/route`.

mod address;
mod bind;
mod device;
mod group;
mod host_use;
mod ids;
mod sysfs;

pub use address::Address;
pub use bind::{apply, plan_vfio, BindOptions, BindPlan, Forced, Move, SysfsWrite, VFIO_DRIVER};
pub use device::{get, list, list_with_names, Device, Filter, Sriov};
pub use group::{group, iommu_enabled, vfio_status, Blocker, Group, Member, VfioStatus};
pub use host_use::{host_uses, HostUse};
pub use ids::{pci_ids_file, Names};

use std::path::PathBuf;

/// How to turn on an IOMMU, for the error a host without one gets.
pub const IOMMU_HINT: &str = "enable VT-d (Intel) or AMD-Vi (AMD) in the firmware and boot with \
     intel_iommu=on or amd_iommu=on on the kernel command line";

/// Why reading PCI devices, checking a group or binding a driver failed.
#[derive(Debug, thiserror::Error)]
pub enum PciError {
    /// Text that is not a PCI address.
    #[error("malformed PCI address '{input}': {reason}")]
    Address { input: String, reason: String },
    /// No device at that address.
    #[error("no PCI device {address} (nothing at {})", path.display())]
    NotFound { address: Address, path: PathBuf },
    /// A sysfs or procfs file could not be read.
    #[error("read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file held something other than what the kernel documents.
    #[error("parse {}: expected {expected}, got '{value}'", path.display())]
    Parse {
        path: PathBuf,
        value: String,
        expected: &'static str,
    },
    /// The host has no IOMMU groups at all.
    #[error("no IOMMU on this host (no groups in {}): {IOMMU_HINT}", path.display())]
    NoIommu { path: PathBuf },
    /// The host has IOMMU groups, but this device is in none.
    #[error("{address} is in no IOMMU group (no {} link)", path.display())]
    NoGroup { address: Address, path: PathBuf },
    /// A PCI bridge itself was asked to move to vfio-pci.
    #[error("{address} is a PCI bridge: bind the endpoints behind it, not the bridge")]
    Bridge { address: Address },
    /// Binding only the device would leave its group unusable for VFIO.
    #[error(
        "IOMMU group {group} of {address} is not viable for vfio-pci: {}; \
         bind them too, or pass group = true to move the whole group",
        blockers_text(blockers)
    )]
    NotViable {
        address: Address,
        group: u32,
        blockers: Vec<Blocker>,
    },
    /// The device is in use by the host itself.
    #[error("{address} {}; pass force = true to bind it anyway", uses_text(uses))]
    InUse {
        address: Address,
        uses: Vec<HostUse>,
    },
    /// Writing a sysfs file failed.
    #[error("write '{value}' to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
}

fn blockers_text(blockers: &[Blocker]) -> String {
    let parts: Vec<String> = blockers.iter().map(ToString::to_string).collect();
    parts.join(", ")
}

fn uses_text(uses: &[HostUse]) -> String {
    let parts: Vec<String> = uses.iter().map(ToString::to_string).collect();
    parts.join(" and ")
}
