//! PCI driver changes made through a lab: journaled in the lab's journal, so
//! `down` gives every function back to its driver. Each change is planned
//! first: a refused one never creates the lab's journal.

use std::path::Path;

use super::{Lab, Result};
use crate::engine::pci::{self, perr};
use crate::pci::{plan_bind, plan_unbind, plan_vfio, Address, BindOptions, BindPlan, Change};

impl Lab {
    /// Moves a device (or its group) to vfio-pci; returns the plan carried out.
    pub fn pci_bind_vfio(
        &mut self,
        root: &Path,
        address: &Address,
        opts: BindOptions,
    ) -> Result<BindPlan> {
        let plan = plan_vfio(root, address, opts).map_err(perr)?;
        pci::apply_plan(self.journal()?, root, &plan)?;
        Ok(plan)
    }

    /// Binds a device to `driver`.
    pub fn pci_bind(
        &mut self,
        root: &Path,
        address: &Address,
        driver: &str,
        force: bool,
    ) -> Result<Change> {
        let change = plan_bind(root, address, driver, force).map_err(perr)?;
        if !change.writes.is_empty() {
            pci::apply_change(self.journal()?, root, &change)?;
        }
        Ok(change)
    }

    /// Unbinds a device from its driver.
    pub fn pci_unbind(&mut self, root: &Path, address: &Address, force: bool) -> Result<Change> {
        let change = plan_unbind(root, address, force).map_err(perr)?;
        if !change.writes.is_empty() {
            pci::apply_change(self.journal()?, root, &change)?;
        }
        Ok(change)
    }

    /// Gives a device back to the driver the lab found it on (None: the lab
    /// did not change it).
    pub fn pci_restore(&mut self, root: &Path, address: &Address) -> Result<Option<Change>> {
        let exists = self.journal.is_some()
            || self
                .dir()
                .join(super::super::journal::JOURNAL_FILE)
                .exists();
        if !exists {
            return Ok(None);
        }
        pci::restore(self.journal()?, root, address)
    }
}
