//! Small readers for sysfs attribute files and links, with errors that name the path.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Address, PciError};

/// `ROOT/sys/bus/pci/devices`: one link per PCI function.
pub(super) fn devices_dir(root: &Path) -> PathBuf {
    root.join("sys/bus/pci/devices")
}

/// `ROOT/sys/kernel/iommu_groups`.
pub(super) fn groups_dir(root: &Path) -> PathBuf {
    root.join("sys/kernel/iommu_groups")
}

/// The directory of the device at `address`.
pub(super) fn device_dir(root: &Path, address: &Address) -> PathBuf {
    devices_dir(root).join(address.to_string())
}

/// A file's contents without the trailing newline.
pub(super) fn read(path: &Path) -> Result<String, PciError> {
    fs::read_to_string(path)
        .map(|s| s.trim_end().to_string())
        .map_err(|source| PciError::Read {
            path: path.to_path_buf(),
            source,
        })
}

/// A file's contents, or None when it does not exist (an optional attribute).
pub(super) fn read_opt(path: &Path) -> Result<Option<String>, PciError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim_end().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PciError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A `0x1af4`-style hex attribute, at most `max`.
pub(super) fn read_hex(path: &Path, max: u32, expected: &'static str) -> Result<u32, PciError> {
    let text = read(path)?;
    parse_hex(&text, max).ok_or(PciError::Parse {
        path: path.to_path_buf(),
        value: text,
        expected,
    })
}

/// Hex with or without `0x`, at most `max`.
pub(super) fn parse_hex(text: &str, max: u32) -> Option<u32> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    u32::from_str_radix(digits, 16).ok().filter(|v| *v <= max)
}

/// A decimal attribute, or None when the file is absent.
pub(super) fn read_dec_opt(path: &Path, expected: &'static str) -> Result<Option<i64>, PciError> {
    match read_opt(path)? {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| PciError::Parse {
            path: path.to_path_buf(),
            value: text,
            expected,
        }),
    }
}

/// The last component of the target of the link at `path` (a driver name, a
/// group number), or None when there is no link.
pub(super) fn link_name(path: &Path) -> Result<Option<String>, PciError> {
    match fs::read_link(path) {
        Ok(target) => Ok(target.file_name().map(|n| n.to_string_lossy().into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PciError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The names in a directory, sorted; an absent directory is empty.
pub(super) fn entries(dir: &Path) -> Result<Vec<String>, PciError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PciError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|source| PciError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The addresses named in a directory (the devices dir, a group's devices dir).
pub(super) fn addresses(dir: &Path) -> Result<Vec<Address>, PciError> {
    let mut out: Vec<Address> = entries(dir)?
        .iter()
        .filter_map(|n| Address::parse(n).ok())
        .collect();
    out.sort();
    Ok(out)
}

/// Where a link or directory really is, or None when it does not exist.
pub(super) fn real(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}
