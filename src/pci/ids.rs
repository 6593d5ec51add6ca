//! Vendor, device and class names from the pci.ids database (pciid-parser).
//! A host without the file gets numeric ids only: names are a convenience,
//! never a reason to fail.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pciid_parser::Database;

/// The pci.ids file for `root`: `LUXC_PCI_IDS` when set, else the usual
/// distribution paths (the same search `luxc check` reports on).
pub fn pci_ids_file(root: &Path, env: Option<&OsStr>) -> Option<PathBuf> {
    match crate::check::pci_ids_path(root, env) {
        Ok(p) => Some(p),
        Err(why) => {
            // A wrong LUXC_PCI_IDS is a mistake worth seeing; a host without
            // the database is normal.
            if env.is_some_and(|e| !e.is_empty()) {
                tracing::warn!("{why}; showing numeric PCI ids");
            } else {
                tracing::debug!("{why}; showing numeric PCI ids");
            }
            None
        }
    }
}

/// A parsed pci.ids database.
#[derive(Debug)]
pub struct Names {
    db: Database,
}

/// The last database loaded, by path: the file is 1.3 MB and a script may
/// look devices up many times. luxc has no other threads; the lock is for Rust.
static CACHE: Mutex<Option<(PathBuf, Arc<Names>)>> = Mutex::new(None);

impl Names {
    /// The database for `root` (see [`pci_ids_file`]), or None when there is
    /// none or it cannot be parsed (logged: names then stay numeric).
    pub fn load(root: &Path) -> Option<Arc<Names>> {
        let env = std::env::var_os("LUXC_PCI_IDS");
        let path = pci_ids_file(root, env.as_deref())?;
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((p, names)) = cache.as_ref() {
            if *p == path {
                return Some(names.clone());
            }
        }
        match Database::read_from_file(&path) {
            Ok(db) => {
                let names = Arc::new(Names { db });
                *cache = Some((path, names.clone()));
                Some(names)
            }
            Err(e) => {
                tracing::warn!("pci.ids {}: {e}; showing numeric ids", path.display());
                None
            }
        }
    }

    /// Parses pci.ids text (for tests and callers with their own file).
    pub fn parse(text: &str) -> Option<Names> {
        Database::parse_db(text.as_bytes())
            .ok()
            .map(|db| Names { db })
    }

    /// Vendor, device and subsystem names, each when known.
    pub fn device(
        &self,
        vendor: u16,
        device: u16,
        sub_vendor: u16,
        sub_device: u16,
    ) -> (Option<String>, Option<String>, Option<String>) {
        let info = self
            .db
            .get_device_info(vendor, device, sub_vendor, sub_device);
        (
            info.vendor_name.map(str::to_string),
            info.device_name.map(str::to_string),
            info.subdevice_name.map(str::to_string),
        )
    }

    /// The class name for a 24-bit class code: the subclass's name
    /// ("VGA compatible controller"), else the base class's.
    pub fn class(&self, class: u32) -> Option<String> {
        let base = self.db.classes.get(&((class >> 16) as u8))?;
        let sub = base.subclasses.get(&((class >> 8) as u8));
        Some(sub.map_or(&base.name, |s| &s.name).clone())
    }
}
