//! Moving devices to vfio-pci: first a plan (which functions move, from which
//! driver, and the sysfs writes that do it), then `apply`, which performs the
//! writes under the given root. The plan is pure, so its rules are tested on
//! fixture trees; `apply` on a fixture tree shows exactly what was written.
//!
//! The kernel's sequence per function: `driver_override` names vfio-pci (so
//! no other driver grabs it), the current driver's `unbind` releases it, and
//! `drivers_probe` makes the PCI core probe it again, which now finds only
//! vfio-pci. All overrides come first and all probes last, so no function of
//! the group is probed while a sibling still sits on its host driver.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::group::group;
use super::host_use::{host_uses, HostUse};
use super::{Address, PciError};

/// The VFIO driver for PCI devices.
pub const VFIO_DRIVER: &str = "vfio-pci";

/// Options of `bind_vfio`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BindOptions {
    /// Move every non-bridge function of the group, not just the device.
    pub group: bool,
    /// Take the device even when the host uses it (a mounted disk, the default route).
    pub force: bool,
}

/// One function changing driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    /// The function.
    pub address: Address,
    /// The driver it leaves (None: it had none).
    pub from: Option<String>,
}

/// One write to a sysfs file; `path` is relative to the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysfsWrite {
    /// The file, relative to the root (`sys/bus/pci/drivers_probe`).
    pub path: PathBuf,
    /// What is written (no newline: sysfs takes the bare value).
    pub value: String,
}

/// A host use that `force = true` overrode, kept in the plan to be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forced {
    /// The function.
    pub address: Address,
    /// How the host uses it.
    #[serde(rename = "use")]
    pub host_use: HostUse,
}

/// What binding a device (and maybe its group) to vfio-pci would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindPlan {
    /// The device asked for.
    pub address: Address,
    /// Its IOMMU group.
    pub group: u32,
    /// The driver the functions move to.
    pub driver: String,
    /// The functions that change driver, in address order (empty: nothing to do).
    pub moves: Vec<Move>,
    /// Host uses overridden with `force`.
    pub forced: Vec<Forced>,
}

impl BindPlan {
    /// The sysfs writes, in order: every override, every unbind, every probe.
    pub fn writes(&self) -> Vec<SysfsWrite> {
        let dev =
            |a: &Address, file: &str| PathBuf::from(format!("sys/bus/pci/devices/{a}/{file}"));
        let mut out = Vec::new();
        for m in &self.moves {
            out.push(SysfsWrite {
                path: dev(&m.address, "driver_override"),
                value: self.driver.clone(),
            });
        }
        for m in &self.moves {
            if let Some(from) = &m.from {
                out.push(SysfsWrite {
                    path: PathBuf::from(format!("sys/bus/pci/drivers/{from}/unbind")),
                    value: m.address.to_string(),
                });
            }
        }
        for m in &self.moves {
            out.push(SysfsWrite {
                path: PathBuf::from("sys/bus/pci/drivers_probe"),
                value: m.address.to_string(),
            });
        }
        out
    }
}

/// Plans moving the device at `address` to vfio-pci. Refuses a bridge, a
/// device whose group would stay non-viable (unless `group`: then the whole
/// group moves), and a device the host stands on (unless `force`).
pub fn plan_vfio(root: &Path, address: &Address, opts: BindOptions) -> Result<BindPlan, PciError> {
    let g = group(root, address)?;
    let me = g
        .members
        .iter()
        .find(|m| m.address == *address)
        .ok_or_else(|| PciError::Parse {
            path: root.join(format!("sys/kernel/iommu_groups/{}/devices", g.id)),
            value: address.to_string(),
            expected: "the device among its group's devices",
        })?;
    if me.bridge {
        return Err(PciError::Bridge { address: *address });
    }
    if !opts.group {
        let blockers: Vec<_> = g
            .members
            .iter()
            .filter(|m| m.address != *address && m.blocks())
            .map(|m| super::Blocker {
                address: m.address,
                driver: m.driver.clone().unwrap_or_default(),
                sibling: true,
            })
            .collect();
        if !blockers.is_empty() {
            return Err(PciError::NotViable {
                address: *address,
                group: g.id,
                blockers,
            });
        }
    }
    let moves: Vec<Move> = g
        .members
        .iter()
        .filter(|m| !m.bridge && (opts.group || m.address == *address))
        .filter(|m| m.driver.as_deref() != Some(VFIO_DRIVER))
        .map(|m| Move {
            address: m.address,
            from: m.driver.clone(),
        })
        .collect();
    let mut forced = Vec::new();
    for m in &moves {
        let uses = host_uses(root, &m.address)?;
        if !uses.is_empty() && !opts.force {
            return Err(PciError::InUse {
                address: m.address,
                uses,
            });
        }
        forced.extend(uses.into_iter().map(|u| Forced {
            address: m.address,
            host_use: u,
        }));
    }
    Ok(BindPlan {
        address: *address,
        group: g.id,
        driver: VFIO_DRIVER.to_string(),
        moves,
        forced,
    })
}

/// Performs the plan's writes under `root`, in order; stops at the first
/// failure. The files must exist (sysfs attributes are never created).
pub fn apply(root: &Path, plan: &BindPlan) -> Result<(), PciError> {
    for w in plan.writes() {
        let path = root.join(&w.path);
        let failed = |source| PciError::Write {
            path: path.clone(),
            value: w.value.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(failed)?;
        // One write(2): sysfs takes an attribute's value in a single call.
        file.write_all(w.value.as_bytes()).map_err(failed)?;
    }
    Ok(())
}
