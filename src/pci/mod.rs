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
mod driver;
mod gpu;
mod group;
mod host_use;
mod ids;
mod sysfs;
mod vfio;

pub use address::Address;
pub use bind::{apply, plan_vfio, BindOptions, BindPlan, Forced, Move, SysfsWrite, VFIO_DRIVER};
pub use device::{get, list, list_with_names, Device, Filter, Sriov};
pub use driver::{exists, plan_bind, plan_restore, plan_unbind, write_all, Change};
pub use gpu::{gpu_nodes, is_gpu, GpuNode, GpuNodes, NVIDIA_VENDOR};
pub use group::{group, iommu_enabled, vfio_status, Blocker, Group, Member, VfioStatus};
pub use host_use::{host_uses, HostUse};
pub use ids::{pci_ids_file, Names};
pub use vfio::{vfio_check, vfio_nodes, VfioCheck, VFIO_API_VERSION};

use std::path::{Path, PathBuf};

/// The root the host's PCI calls read and write under: `/`, or the fixture
/// tree named by `LUXC_PCI_ROOT` (tests drive the Lua API and the CLI on a
/// fixture with it; what a lab changes there is journaled with that root,
/// so its teardown writes there too and never to the host).
pub fn host_root() -> PathBuf {
    match std::env::var_os("LUXC_PCI_ROOT") {
        Some(r) if !r.is_empty() => PathBuf::from(r),
        _ => PathBuf::from("/"),
    }
}

/// Whether `root` is the host's own root.
pub fn is_host(root: &Path) -> bool {
    root == Path::new("/")
}

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
    /// A driver name that cannot be one (it becomes a sysfs path component).
    #[error("'{driver}' is not a driver name (letters, digits, '_', '-', '.')")]
    DriverName { driver: String },
    /// No driver of that name is registered with the PCI bus.
    #[error("no PCI driver '{driver}' (no {}): load its module first (modprobe {driver})", path.display())]
    NoDriver { driver: String, path: PathBuf },
    /// A VFIO device node could not be opened or an ioctl on it failed.
    // The cause is in the message, before the hint, so it is no #[source].
    #[error("{op} {}: {error}{}", path.display(), if hint.is_empty() { String::new() } else { format!("; {hint}") })]
    Vfio {
        op: &'static str,
        path: PathBuf,
        hint: String,
        error: std::io::Error,
    },
    /// A GPU profile was asked of a device that is no display controller.
    #[error("{address} is not a GPU (class {class:06x}; GPUs have PCI class 03xxxx)")]
    NotGpu { address: Address, class: u32 },
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
