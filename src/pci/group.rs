//! IOMMU groups: which functions share one, and whether the group is viable
//! for VFIO — the kernel hands a group to userspace only when every endpoint
//! in it is on vfio-pci, on pci-stub or on no driver (bridges do not count:
//! the devices behind a bridge without isolation share its group anyway).

use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::device::Context;
use super::sysfs::{self, device_dir, groups_dir};
use super::{Address, PciError, VFIO_DRIVER};

/// Drivers that leave a group usable by VFIO (besides no driver at all).
const VIABLE_DRIVERS: &[&str] = &[VFIO_DRIVER, "pci-stub"];

/// One function of an IOMMU group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Its address.
    pub address: Address,
    /// Its driver, if any.
    pub driver: Option<String>,
    /// Whether it is a bridge (does not count for viability).
    pub bridge: bool,
}

impl Member {
    /// Whether this member keeps the group from being handed to VFIO.
    pub fn blocks(&self) -> bool {
        !self.bridge
            && self
                .driver
                .as_deref()
                .is_some_and(|d| !VIABLE_DRIVERS.contains(&d))
    }
}

/// An IOMMU group and its functions, in address order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The group number (`/sys/kernel/iommu_groups/N`).
    pub id: u32,
    /// Every function in it.
    pub members: Vec<Member>,
}

/// A function that keeps a group from being viable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// Its address.
    pub address: Address,
    /// The driver it is on.
    pub driver: String,
    /// True for another function of the group, false for the device asked about.
    pub sibling: bool,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sibling {
            write!(f, "sibling {} is bound to {}", self.address, self.driver)
        } else {
            write!(f, "{} itself is bound to {}", self.address, self.driver)
        }
    }
}

/// Whether a device can be used through VFIO now, and what stands in the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VfioStatus {
    /// The device asked about.
    pub address: Address,
    /// Its IOMMU group.
    pub group: u32,
    /// Whether the kernel would hand the group to VFIO as it is.
    pub viable: bool,
    /// Whether the device itself is on vfio-pci.
    pub bound: bool,
    /// What keeps the group from being viable (empty when viable).
    pub blockers: Vec<Blocker>,
    /// The group's functions.
    pub members: Vec<Member>,
    /// One sentence for a person.
    pub message: String,
}

/// Whether the host has IOMMU groups at all.
pub fn iommu_enabled(root: &Path) -> Result<bool, PciError> {
    Ok(!sysfs::entries(&groups_dir(root))?.is_empty())
}

/// The IOMMU group of the device at `address`.
pub fn group(root: &Path, address: &Address) -> Result<Group, PciError> {
    let ctx = Context::new(root, None)?;
    let dev = ctx.device(address)?;
    if !iommu_enabled(root)? {
        return Err(PciError::NoIommu {
            path: groups_dir(root),
        });
    }
    let id = dev.iommu_group.ok_or_else(|| PciError::NoGroup {
        address: *address,
        path: device_dir(root, address).join("iommu_group"),
    })?;
    let dir = groups_dir(root).join(id.to_string()).join("devices");
    let mut members = Vec::new();
    for a in sysfs::addresses(&dir)? {
        let d = ctx.device(&a)?;
        members.push(Member {
            address: a,
            driver: d.driver,
            bridge: d.bridge,
        });
    }
    Ok(Group { id, members })
}

/// Viability of the group of the device at `address`, naming what blocks it.
pub fn vfio_status(root: &Path, address: &Address) -> Result<VfioStatus, PciError> {
    let g = group(root, address)?;
    let blockers: Vec<Blocker> = g
        .members
        .iter()
        .filter(|m| m.blocks())
        .map(|m| Blocker {
            address: m.address,
            driver: m.driver.clone().unwrap_or_default(),
            sibling: m.address != *address,
        })
        .collect();
    let bound = g
        .members
        .iter()
        .any(|m| m.address == *address && m.driver.as_deref() == Some(VFIO_DRIVER));
    let viable = blockers.is_empty();
    let message = if !viable {
        let parts: Vec<String> = blockers.iter().map(ToString::to_string).collect();
        format!("IOMMU group {} is not viable: {}", g.id, parts.join(", "))
    } else if bound {
        format!(
            "IOMMU group {} is viable and {address} is bound to {VFIO_DRIVER}",
            g.id
        )
    } else {
        format!(
            "IOMMU group {} is viable, but {address} is not bound to {VFIO_DRIVER}",
            g.id
        )
    };
    Ok(VfioStatus {
        address: *address,
        group: g.id,
        viable,
        bound,
        blockers,
        members: g.members,
        message,
    })
}
