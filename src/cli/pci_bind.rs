//! `luxc pci bind ADDR DRIVER`, `luxc pci restore ADDR` and `luxc pci
//! vfio-check GROUP`. Bind and restore journal in a small lab (`pci` unless
//! `--lab` names another), so a later restore — or `luxc down pci` — knows
//! the driver each device had.

use std::path::Path;

use crate::engine::journal::{Journal, JournalError};
use crate::engine::lab::STATE_ROOT;
use crate::engine::teardown;
use crate::pci::{self, Address, BindOptions};

/// The lab `luxc pci bind` journals in unless told otherwise.
pub const DEFAULT_LAB: &str = "pci";

fn address(cmd: &str, text: &str) -> Result<Address, i32> {
    Address::parse(text).map_err(|e| {
        eprintln!("luxc pci {cmd}: {e}");
        2
    })
}

/// Ends the journal when nothing in it is left to give back.
fn close(cmd: &str, journal: Journal) -> i32 {
    if journal.live() > 0 {
        return 0;
    }
    match teardown::finish(journal) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("luxc pci {cmd}: {}", crate::error::chain(&e));
            1
        }
    }
}

/// Binds the device at ADDR to DRIVER (vfio-pci: with the group checks of
/// `bind_vfio`; `group` moves the whole IOMMU group), journaled in `lab`.
pub fn bind(addr: &str, driver: &str, group: bool, force: bool, lab: &str) -> i32 {
    let a = match address("bind", addr) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if group && driver != pci::VFIO_DRIVER {
        eprintln!(
            "luxc pci bind: --group moves an IOMMU group to vfio-pci only, not to '{driver}'"
        );
        return 2;
    }
    let root = pci::host_root();
    // Checked before the journal exists, so bad input leaves no lab behind.
    if let Err(e) = pci::get(&root, &a) {
        eprintln!("luxc pci bind: {}", crate::error::chain(&e));
        return 1;
    }
    let mut journal = match Journal::create_or_open(Path::new(STATE_ROOT), lab) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("luxc pci bind: {}", crate::error::chain(&e));
            return 1;
        }
    };
    let done = if driver == pci::VFIO_DRIVER {
        crate::engine::pci::bind_vfio(&mut journal, &root, &a, BindOptions { group, force }).map(
            |plan| {
                for m in &plan.moves {
                    let from = m.from.as_deref().unwrap_or("no driver");
                    println!("{}: {from} -> {}", m.address, plan.driver);
                }
                if plan.moves.is_empty() {
                    println!("{a}: already on {}", plan.driver);
                }
            },
        )
    } else {
        crate::engine::pci::bind(&mut journal, &root, &a, driver, force).map(|c| {
            let from = c.from.as_deref().unwrap_or("no driver");
            if c.writes.is_empty() {
                println!("{a}: already on {driver}");
            } else {
                println!("{a}: {from} -> {driver}");
            }
        })
    };
    let status = match done {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("luxc pci bind: {}", e.0);
            1
        }
    };
    status.max(close("bind", journal))
}

/// Gives the device at ADDR back to the driver `lab`'s journal recorded.
pub fn restore(addr: &str, lab: &str) -> i32 {
    let a = match address("restore", addr) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let mut journal = match Journal::open_existing(Path::new(STATE_ROOT), lab) {
        Ok(j) => j,
        Err(JournalError::NoLab { .. }) => {
            eprintln!(
                "luxc pci restore: no driver change of {a} recorded (lab '{lab}' has no journal)"
            );
            return 1;
        }
        Err(e) => {
            eprintln!("luxc pci restore: {}", crate::error::chain(&e));
            return 1;
        }
    };
    let status = match crate::engine::pci::restore(&mut journal, &pci::host_root(), &a) {
        Ok(Some(c)) => {
            let to = c.to.as_deref().unwrap_or("no driver");
            println!("{a}: back on {to}");
            0
        }
        Ok(None) => {
            eprintln!("luxc pci restore: lab '{lab}' has not changed the driver of {a}: nothing to restore");
            1
        }
        Err(e) => {
            eprintln!("luxc pci restore: {}", e.0);
            1
        }
    };
    status.max(close("restore", journal))
}

/// Runs the VFIO ioctls on /dev/vfio/vfio and /dev/vfio/GROUP; exit 0 when
/// a VFIO user could take the group now.
pub fn vfio_check(group: &str, json: bool) -> i32 {
    let Ok(n) = group.parse::<u32>() else {
        eprintln!("luxc pci vfio-check: expected an IOMMU group number (as in /sys/kernel/iommu_groups), got '{group}'");
        return 2;
    };
    let check = match pci::vfio_check(Path::new("/dev"), n) {
        Ok(c) => c,
        Err(e) => {
            let mut msg = crate::error::chain(&e);
            if !Path::new("/sys/kernel/iommu_groups")
                .join(n.to_string())
                .exists()
                && !pci::iommu_enabled(Path::new("/")).unwrap_or(false)
            {
                msg += &format!("; no IOMMU on this host: {}", pci::IOMMU_HINT);
            }
            eprintln!("luxc pci vfio-check: {msg}");
            return 1;
        }
    };
    if json {
        match serde_json::to_string_pretty(&check) {
            Ok(t) => println!("{t}"),
            Err(e) => {
                eprintln!("luxc pci vfio-check: {e}");
                return 1;
            }
        }
    } else {
        let yes = |b: bool| if b { "yes" } else { "no" };
        println!("group {n}");
        println!(
            "  api version     {} (expected {})",
            check.api_version,
            pci::VFIO_API_VERSION
        );
        println!("  type1v2 iommu   {}", yes(check.type1v2));
        println!("  viable          {}", yes(check.viable));
        println!("  container set   {}", yes(check.container_set));
        println!(
            "{}",
            if check.usable() {
                "usable: a VFIO user can take the group now".to_string()
            } else if !check.viable {
                format!("not usable: the group is not viable (luxc pci ls shows which device of group {n} is on a host driver)")
            } else if check.container_set {
                "not usable: a container is set on the group (it is in use)".to_string()
            } else {
                "not usable: the VFIO API or the Type1v2 IOMMU is missing".to_string()
            }
        );
    }
    i32::from(!check.usable())
}
