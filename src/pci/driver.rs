//! Driver changes other than the vfio-pci plan — bind a function to a named
//! driver, unbind it — and giving a function back to the driver it had.
//! Each is planned as a list of sysfs writes (pure, checked on fixture trees)
//! and performed by [`write_all`] under a root.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::bind::SysfsWrite;
use super::device::Context;
use super::host_use::host_uses;
use super::sysfs::{device_dir, devices_dir};
use super::{Address, PciError};

/// One function's driver change: from what, to what, and the writes that do it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The function.
    pub address: Address,
    /// Its driver before (None: none).
    pub from: Option<String>,
    /// Its driver after (None: none).
    pub to: Option<String>,
    /// The sysfs writes, in order (empty: nothing to do).
    pub writes: Vec<SysfsWrite>,
}

fn dev_file(a: &Address, file: &str) -> PathBuf {
    PathBuf::from(format!("sys/bus/pci/devices/{a}/{file}"))
}

fn driver_file(driver: &str, file: &str) -> PathBuf {
    PathBuf::from(format!("sys/bus/pci/drivers/{driver}/{file}"))
}

fn write(path: PathBuf, value: impl Into<String>) -> SysfsWrite {
    SysfsWrite {
        path,
        value: value.into(),
    }
}

/// Whether `driver` is a plain driver name (it becomes a path component).
fn check_driver_name(driver: &str) -> Result<(), PciError> {
    let ok = !driver.is_empty()
        && driver.len() <= 64
        && driver
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && driver != "."
        && driver != "..";
    if ok {
        Ok(())
    } else {
        Err(PciError::DriverName {
            driver: driver.to_string(),
        })
    }
}

/// The driver a device is on now (NotFound when there is no such device).
fn current(root: &Path, address: &Address) -> Result<Option<String>, PciError> {
    Ok(Context::new(root, None)?.device(address)?.driver)
}

/// Refuses a device the host stands on, unless forced.
fn check_host_use(root: &Path, address: &Address, force: bool) -> Result<(), PciError> {
    let uses = host_uses(root, address)?;
    if uses.is_empty() || force {
        return Ok(());
    }
    Err(PciError::InUse {
        address: *address,
        uses,
    })
}

/// Plans binding the device at `address` to `driver` (which must be
/// registered: `ROOT/sys/bus/pci/drivers/DRIVER`): driver_override names it,
/// the current driver lets go, drivers_probe binds it. Nothing to do when it
/// is on that driver already.
pub fn plan_bind(
    root: &Path,
    address: &Address,
    driver: &str,
    force: bool,
) -> Result<Change, PciError> {
    check_driver_name(driver)?;
    let from = current(root, address)?;
    let dir = root.join("sys/bus/pci/drivers").join(driver);
    if !dir.is_dir() {
        return Err(PciError::NoDriver {
            driver: driver.to_string(),
            path: dir,
        });
    }
    let mut change = Change {
        address: *address,
        from: from.clone(),
        to: Some(driver.to_string()),
        writes: Vec::new(),
    };
    if from.as_deref() == Some(driver) {
        return Ok(change);
    }
    check_host_use(root, address, force)?;
    change
        .writes
        .push(write(dev_file(address, "driver_override"), driver));
    if let Some(from) = &from {
        change
            .writes
            .push(write(driver_file(from, "unbind"), address.to_string()));
    }
    change.writes.push(write(
        PathBuf::from("sys/bus/pci/drivers_probe"),
        address.to_string(),
    ));
    Ok(change)
}

/// Plans unbinding the device at `address` from its driver (nothing to do
/// when it has none).
pub fn plan_unbind(root: &Path, address: &Address, force: bool) -> Result<Change, PciError> {
    let from = current(root, address)?;
    let mut change = Change {
        address: *address,
        from: from.clone(),
        to: None,
        writes: Vec::new(),
    };
    if let Some(from) = &from {
        check_host_use(root, address, force)?;
        change
            .writes
            .push(write(driver_file(from, "unbind"), address.to_string()));
    }
    Ok(change)
}

/// Plans giving the device at `address` back to `original` (None: no
/// driver): unbind from the driver it is on now, clear driver_override (a
/// newline clears it: the kernel cuts the value at the first one), then bind
/// the original driver — through its `bind` file while it is registered, else
/// through drivers_probe (its module is loaded again later and probes it).
/// A device that is gone (hot-unplugged) needs nothing: `None`.
pub fn plan_restore(
    root: &Path,
    address: &Address,
    original: Option<&str>,
) -> Result<Option<Change>, PciError> {
    if let Some(d) = original {
        check_driver_name(d)?;
    }
    if !device_dir(root, address).exists() {
        return Ok(None);
    }
    let now = current(root, address)?;
    let mut change = Change {
        address: *address,
        from: now.clone(),
        to: original.map(str::to_string),
        writes: Vec::new(),
    };
    let moved = now.as_deref() != original;
    if moved {
        if let Some(now) = &now {
            change
                .writes
                .push(write(driver_file(now, "unbind"), address.to_string()));
        }
    }
    if device_dir(root, address).join("driver_override").exists() {
        change
            .writes
            .push(write(dev_file(address, "driver_override"), "\n"));
    }
    if moved {
        if let Some(d) = original {
            let bind = driver_file(d, "bind");
            let path = if root.join(&bind).exists() {
                bind
            } else {
                PathBuf::from("sys/bus/pci/drivers_probe")
            };
            change.writes.push(write(path, address.to_string()));
        }
    }
    Ok(Some(change))
}

/// Performs `writes` under `root`, in order; stops at the first failure. The
/// files must exist (sysfs attributes are never created).
pub fn write_all(root: &Path, writes: &[SysfsWrite]) -> Result<(), PciError> {
    for w in writes {
        let path = root.join(&w.path);
        let failed = |source| PciError::Write {
            path: path.clone(),
            value: w.value.trim_end().to_string(),
            source,
        };
        // O_TRUNC as `echo > FILE` does: sysfs ignores it; a fixture file
        // then holds exactly the last value written.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(failed)?;
        // One write(2): sysfs takes an attribute's value in a single call.
        file.write_all(w.value.as_bytes()).map_err(failed)?;
    }
    Ok(())
}

/// Whether a device exists at `address` under `root`.
pub fn exists(root: &Path, address: &Address) -> bool {
    devices_dir(root).join(address.to_string()).exists()
}
