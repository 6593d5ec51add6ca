//! The host capability report behind `luxc check`: can this kernel run containers and
//! labs, and what is missing (what lxc-checkconfig answers, for luxc).

mod cgroups;
mod devices;
mod filesystems;
#[cfg(test)]
mod fixture;
mod kconfig;
mod namespaces;
mod network;
mod render;
mod security;
#[cfg(test)]
mod tests;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cgroup::{self, CgroupLayout};
pub use devices::pci_ids_path;
pub use kconfig::{KernelConfig, Tristate};

/// How far the host provides one feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Present and usable.
    Ok,
    /// Absent: what needs it fails.
    Missing,
    /// Present in part, or not provable from what the host exposes.
    Limited,
}

impl Status {
    /// The word the text report prints: "OK", "MISSING" or "LIMITED".
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Missing => "MISSING",
            Status::Limited => "LIMITED",
        }
    }
}

/// One line of the report: a feature, its status and what to do about it.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// The section it is listed under, e.g. "Namespaces".
    pub section: &'static str,
    /// The feature, e.g. "veth".
    pub name: String,
    /// Whether the host provides it.
    pub status: Status,
    /// What was found, or why it is missing.
    pub detail: String,
    /// What the user can do about a non-OK status.
    pub advice: Option<String>,
    /// Whether luxc cannot run containers without it.
    pub required: bool,
}

impl Item {
    fn new(section: &'static str, name: &str, status: Status, detail: impl Into<String>) -> Item {
        let detail = detail.into();
        Item {
            section,
            name: name.to_owned(),
            status,
            detail,
            advice: None,
            required: false,
        }
    }

    fn ok(section: &'static str, name: &str, detail: impl Into<String>) -> Item {
        Item::new(section, name, Status::Ok, detail)
    }

    fn missing(section: &'static str, name: &str, detail: impl Into<String>) -> Item {
        Item::new(section, name, Status::Missing, detail)
    }

    fn limited(section: &'static str, name: &str, detail: impl Into<String>) -> Item {
        Item::new(section, name, Status::Limited, detail)
    }

    /// Attaches advice; it is kept only on non-OK items, where it is shown.
    fn advice(mut self, advice: impl Into<String>) -> Item {
        if self.status != Status::Ok {
            self.advice = Some(advice.into());
        }
        self
    }

    /// Marks whether luxc cannot run containers without this item.
    fn require(mut self, required: bool) -> Item {
        self.required = required;
        self
    }
}

/// The whole capability report for one host.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every item, in section order.
    pub items: Vec<Item>,
    /// The cgroup layout, when it could be read.
    pub cgroup: Option<CgroupLayout>,
    /// The kernel release, or "unknown".
    pub kernel: String,
}

impl Report {
    /// True when no required item is MISSING.
    pub fn ready(&self) -> bool {
        !self
            .items
            .iter()
            .any(|i| i.required && i.status == Status::Missing)
    }
}

/// Checks the host whose root is `root` (`Path::new("/")` for this one), taking an
/// explicit pci.ids path from the `LUXC_PCI_IDS` environment variable.
pub fn run(root: &Path) -> Report {
    run_with(root, std::env::var_os("LUXC_PCI_IDS").as_deref())
}

/// Like [`run`], with the `LUXC_PCI_IDS` value passed in, so tests need no environment.
pub fn run_with(root: &Path, pci_ids_env: Option<&OsStr>) -> Report {
    let release = fs::read_to_string(root.join("proc/sys/kernel/osrelease"))
        .ok()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let host = Host {
        root,
        config: KernelConfig::load(root, release.as_deref()),
        release,
        cgroup: cgroup::detect(root).map_err(|e| crate::error::chain(&e)),
        proc_status: fs::read_to_string(root.join("proc/self/status"))
            .map_err(|e| format!("cannot read /proc/self/status: {e}")),
    };

    let mut items = vec![config_item(&host)];
    items.extend(namespaces::items(&host));
    items.extend(cgroups::items(&host));
    items.extend(filesystems::items(&host));
    items.extend(network::items(&host));
    items.extend(security::items(&host));
    items.extend(devices::items(&host, pci_ids_env));
    Report {
        items,
        cgroup: host.cgroup.ok(),
        kernel: host.release.unwrap_or_else(|| "unknown".into()),
    }
}

/// Says which config the network and device verdicts rest on, so "cannot tell" is explained.
fn config_item(host: &Host) -> Item {
    match &host.config {
        Ok(config) => Item::ok("Kernel", "config", config.source.clone()),
        Err(why) => Item::limited("Kernel", "config", format!("no kernel config found: {why}"))
            .advice(
            "enable CONFIG_IKCONFIG_PROC (or `modprobe configs`) or install /boot/config-<release>",
        ),
    }
}

/// What every probe reads once: the root, kernel release, config, cgroups, own status.
pub(crate) struct Host<'a> {
    root: &'a Path,
    release: Option<String>,
    config: Result<KernelConfig, String>,
    cgroup: Result<CgroupLayout, String>,
    proc_status: Result<String, String>,
}

impl Host<'_> {
    /// A host path (e.g. "/proc/filesystems") under the root being checked.
    fn path(&self, host_path: &str) -> PathBuf {
        self.root.join(host_path.trim_start_matches('/'))
    }

    /// Reads a host path; the error names the host path and the reason.
    fn read(&self, host_path: &str) -> Result<String, String> {
        fs::read_to_string(self.path(host_path))
            .map_err(|e| format!("cannot read {host_path}: {e}"))
    }

    fn release_or_unknown(&self) -> &str {
        self.release.as_deref().unwrap_or("<release>")
    }

    /// Whether the kernel release is at least `major.minor`; None when it is unknown.
    fn kernel_at_least(&self, major: u32, minor: u32) -> Option<bool> {
        let mut parts = self
            .release
            .as_deref()?
            .split(|c: char| !c.is_ascii_digit());
        let have = (
            parts.next()?.parse::<u32>().ok()?,
            parts.next()?.parse::<u32>().ok()?,
        );
        Some(have >= (major, minor))
    }
}
