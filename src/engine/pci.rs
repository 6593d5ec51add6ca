//! Driver changes of PCI functions, journaled: a function's original driver
//! is recorded before its first change, so `restore` or the lab's teardown
//! gives it back — also after luxc died half way through.

use std::path::{Path, PathBuf};

use super::journal::{Journal, JournalError, Object};
use super::lab::LabError;
use crate::error::chain;
use crate::pci::{self, Address, BindOptions, BindPlan, Change, PciError, SysfsWrite};

type Result<T> = std::result::Result<T, LabError>;

fn jerr(e: JournalError) -> LabError {
    LabError(chain(&e))
}

/// A PCI error as the engine's.
pub fn perr(e: PciError) -> LabError {
    LabError(chain(&e))
}

/// How the journal names a sysfs root: None for the host's.
fn journal_root(root: &Path) -> Option<PathBuf> {
    (!pci::is_host(root)).then(|| root.to_path_buf())
}

/// The change of `address` under `root` the journal holds and has not undone:
/// its id and the driver the function had before.
pub fn recorded(
    journal: &Journal,
    root: &Path,
    address: &Address,
) -> Result<Option<(u64, Option<String>)>> {
    let want_root = journal_root(root);
    let want = address.to_string();
    Ok(journal
        .entries()
        .map_err(jerr)?
        .into_iter()
        .filter(|e| !e.removed)
        .find_map(|e| match e.object {
            Object::PciDriver {
                address,
                driver,
                root,
            } if address == want && root == want_root => Some((e.id, driver)),
            _ => None,
        }))
}

/// Records the original driver of every function in `moves` the journal
/// does not hold yet (the first change's original is the one to go back
/// to), writes `writes`, and marks the records done. When a write fails,
/// what this call recorded is given back at once and forgotten.
fn perform(
    journal: &mut Journal,
    root: &Path,
    moves: &[(Address, Option<String>)],
    writes: &[SysfsWrite],
) -> Result<()> {
    let mut new = Vec::new();
    for (address, from) in moves {
        if recorded(journal, root, address)?.is_some() {
            continue;
        }
        let id = journal
            .intend(&Object::PciDriver {
                address: address.to_string(),
                driver: from.clone(),
                root: journal_root(root),
            })
            .map_err(jerr)?;
        new.push((id, *address, from.clone()));
    }
    match pci::write_all(root, writes) {
        Ok(()) => {
            for (id, ..) in &new {
                journal.done(*id).map_err(jerr)?;
            }
            Ok(())
        }
        Err(e) => {
            let mut msg = chain(&e);
            for (id, address, from) in new.iter().rev() {
                match give_back(root, address, from.as_deref()) {
                    Ok(_) => journal.removed(*id).map_err(jerr)?,
                    Err(u) => {
                        msg += &format!(
                        "; giving {address} back failed too (the lab's teardown tries again): {}",
                        chain(&u)
                    )
                    }
                }
            }
            Err(LabError(msg))
        }
    }
}

/// Carries out a vfio-pci plan, journaled.
pub fn apply_plan(journal: &mut Journal, root: &Path, plan: &BindPlan) -> Result<()> {
    let moves: Vec<_> = plan
        .moves
        .iter()
        .map(|m| (m.address, m.from.clone()))
        .collect();
    perform(journal, root, &moves, &plan.writes())
}

/// Carries out a planned bind or unbind of one function, journaled.
pub fn apply_change(journal: &mut Journal, root: &Path, change: &Change) -> Result<()> {
    if change.writes.is_empty() {
        return Ok(());
    }
    perform(
        journal,
        root,
        &[(change.address, change.from.clone())],
        &change.writes,
    )
}

/// Moves the device at `address` (and, with `opts.group`, its group) to
/// vfio-pci, journaled; returns the plan it carried out.
pub fn bind_vfio(
    journal: &mut Journal,
    root: &Path,
    address: &Address,
    opts: BindOptions,
) -> Result<BindPlan> {
    let plan = pci::plan_vfio(root, address, opts).map_err(perr)?;
    apply_plan(journal, root, &plan)?;
    Ok(plan)
}

/// Binds the device at `address` to `driver`, journaled.
pub fn bind(
    journal: &mut Journal,
    root: &Path,
    address: &Address,
    driver: &str,
    force: bool,
) -> Result<Change> {
    let change = pci::plan_bind(root, address, driver, force).map_err(perr)?;
    apply_change(journal, root, &change)?;
    Ok(change)
}

/// Unbinds the device at `address` from its driver, journaled.
pub fn unbind(
    journal: &mut Journal,
    root: &Path,
    address: &Address,
    force: bool,
) -> Result<Change> {
    let change = pci::plan_unbind(root, address, force).map_err(perr)?;
    apply_change(journal, root, &change)?;
    Ok(change)
}

/// Gives the device at `address` back to the driver the journal recorded
/// for it and forgets the record. None: the journal holds no change of it.
pub fn restore(journal: &mut Journal, root: &Path, address: &Address) -> Result<Option<Change>> {
    let Some((id, original)) = recorded(journal, root, address)? else {
        return Ok(None);
    };
    let change = give_back(root, address, original.as_deref()).map_err(perr)?;
    journal.removed(id).map_err(jerr)?;
    Ok(Some(change.unwrap_or(Change {
        address: *address,
        from: None,
        to: original,
        writes: Vec::new(),
    })))
}

/// Plans and performs giving a device back; None when it is gone.
fn give_back(
    root: &Path,
    address: &Address,
    original: Option<&str>,
) -> std::result::Result<Option<Change>, PciError> {
    let change = pci::plan_restore(root, address, original)?;
    if let Some(c) = &change {
        pci::write_all(root, &c.writes)?;
    }
    Ok(change)
}

/// Teardown of a journaled `PciDriver`: gives the function back.
pub fn restore_object(
    root: Option<&Path>,
    address: &str,
    driver: Option<&str>,
) -> std::result::Result<(), String> {
    let root = root.unwrap_or(Path::new("/"));
    let a = Address::parse(address).map_err(|e| chain(&e))?;
    give_back(root, &a, driver)
        .map(drop)
        .map_err(|e| format!("give pci {address} back: {}", chain(&e)))
}
