//! What a container needs to use a GPU: the device nodes that belong to it,
//! the groups owning those nodes, and (optionally) the host's driver
//! libraries. Everything is read under `root`, so fixture trees test it:
//!
//! - nvidia (a device on the `nvidia` driver): `/dev/nvidiaN` for the GPU's
//!   minor (`ROOT/proc/driver/nvidia/gpus/BDF/information`, "Device Minor"),
//!   or every `/dev/nvidiaN` when the driver does not say; and the shared
//!   nodes nvidiactl, nvidia-uvm, nvidia-uvm-tools, nvidia-modeset and
//!   `/dev/nvidia-caps/*`.
//! - DRM (any driver): `/dev/dri/cardN` and `/dev/dri/renderDN` whose
//!   `ROOT/sys/class/drm/NAME/device` is this PCI function.
//!
//! Paths are returned as the host names them (`/dev/nvidia0`); only nodes
//! that exist under `ROOT/dev` are listed. Their major:minor is not needed
//! here: the container's `devices` grant stats the host node itself.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::sysfs;
use super::{Address, Device, PciError};

/// Vendor id of NVIDIA.
pub const NVIDIA_VENDOR: u16 = 0x10de;

/// The nodes every GPU on the nvidia driver needs, besides its own nvidiaN.
const NVIDIA_SHARED: &[&str] = &[
    "nvidiactl",
    "nvidia-uvm",
    "nvidia-uvm-tools",
    "nvidia-modeset",
];

/// Library name prefixes of the NVIDIA user-space driver.
const LIBRARY_PREFIXES: &[&str] = &[
    "libnvidia-",
    "libcuda.",
    "libcudadebugger.",
    "libnvcuvid.",
    "libnvoptix.",
];

/// The usual library directories, in ldconfig's order of preference.
const LIBRARY_DIRS: &[&str] = &[
    "usr/lib/x86_64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "usr/lib64",
    "usr/lib",
    "lib/x86_64-linux-gnu",
    "lib64",
];

/// The tools that come with the driver.
const DRIVER_TOOLS: &[&str] = &["usr/bin/nvidia-smi", "usr/bin/nvidia-debugdump"];

/// One device node of a GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuNode {
    /// The host path (`/dev/nvidia0`, `/dev/dri/renderD128`).
    pub path: String,
    /// The group owning it (`video`, `render` on most distributions).
    pub gid: u32,
    /// "nvidia" or "drm".
    pub kind: &'static str,
}

/// A GPU's nodes, their groups and the driver libraries to mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuNodes {
    /// The GPU's PCI address.
    pub address: Address,
    /// Its nodes, nvidia ones first, then DRM ones.
    pub nodes: Vec<GpuNode>,
    /// The distinct gids of the nodes, ascending.
    pub gids: Vec<u32>,
    /// Host paths of the driver's libraries and tools (empty unless asked for).
    pub libraries: Vec<String>,
}

/// Whether the device is a display controller (PCI base class 03).
pub fn is_gpu(d: &Device) -> bool {
    d.class >> 16 == 0x03
}

/// The nodes of the GPU `d` (read under `root`); with `libraries`, also the
/// host's NVIDIA libraries (for an nvidia GPU). An error when `d` is no GPU.
pub fn gpu_nodes(root: &Path, d: &Device, libraries: bool) -> Result<GpuNodes, PciError> {
    if !is_gpu(d) {
        return Err(PciError::NotGpu {
            address: d.address,
            class: d.class,
        });
    }
    let dev = root.join("dev");
    let mut paths = Vec::new();
    let nvidia = d.vendor == NVIDIA_VENDOR && d.driver.as_deref() == Some("nvidia");
    if nvidia {
        match nvidia_minor(root, &d.address)? {
            Some(minor) => paths.push((format!("nvidia{minor}"), "nvidia")),
            None => {
                for name in sysfs::entries(&dev)? {
                    if is_nvidia_minor_node(&name) {
                        paths.push((name, "nvidia"));
                    }
                }
            }
        }
        for name in NVIDIA_SHARED {
            paths.push((name.to_string(), "nvidia"));
        }
        for name in sysfs::entries(&dev.join("nvidia-caps"))? {
            paths.push((format!("nvidia-caps/{name}"), "nvidia"));
        }
    }
    for name in &d.drm {
        if is_drm_node(name) {
            paths.push((format!("dri/{name}"), "drm"));
        }
    }
    let mut nodes = Vec::new();
    for (rel, kind) in paths {
        let on_root = dev.join(&rel);
        match std::fs::metadata(&on_root) {
            Ok(m) => nodes.push(GpuNode {
                path: format!("/dev/{rel}"),
                gid: m.gid(),
                kind,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(PciError::Read {
                    path: on_root,
                    source,
                })
            }
        }
    }
    let gids: BTreeSet<u32> = nodes.iter().map(|n| n.gid).collect();
    let libraries = if libraries && nvidia {
        driver_libraries(root)?
    } else {
        Vec::new()
    };
    Ok(GpuNodes {
        address: d.address,
        nodes,
        gids: gids.into_iter().collect(),
        libraries,
    })
}

/// `nvidia0`, `nvidia12` (not nvidiactl, nvidia-uvm).
fn is_nvidia_minor_node(name: &str) -> bool {
    name.strip_prefix("nvidia")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `card0`, `renderD128` (not connectors such as `card0-HDMI-A-1`).
fn is_drm_node(name: &str) -> bool {
    ["card", "renderD"].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The GPU's minor from the nvidia driver's information file, when it has one.
fn nvidia_minor(root: &Path, address: &Address) -> Result<Option<u32>, PciError> {
    let path = root
        .join("proc/driver/nvidia/gpus")
        .join(address.to_string())
        .join("information");
    let Some(text) = sysfs::read_opt(&path)? else {
        return Ok(None);
    };
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(':') {
            if key.trim() == "Device Minor" {
                let value = value.trim();
                return value.parse().map(Some).map_err(|_| PciError::Parse {
                    path,
                    value: value.to_string(),
                    expected: "a device minor number",
                });
            }
        }
    }
    Ok(None)
}

/// The NVIDIA libraries and tools on the host, as host paths: the first of
/// each file name found in the usual directories (ldconfig's preference).
fn driver_libraries(root: &Path) -> Result<Vec<String>, PciError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for dir in LIBRARY_DIRS {
        for name in sysfs::entries(&root.join(dir))? {
            if LIBRARY_PREFIXES.iter().any(|p| name.starts_with(p)) && seen.insert(name.clone()) {
                out.push(host_path(dir, &name));
            }
        }
    }
    for tool in DRIVER_TOOLS {
        if root.join(tool).exists() {
            out.push(format!("/{tool}"));
        }
    }
    Ok(out)
}

fn host_path(dir: &str, name: &str) -> String {
    let p: PathBuf = Path::new("/").join(dir).join(name);
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names() {
        assert!(is_nvidia_minor_node("nvidia0"));
        assert!(is_nvidia_minor_node("nvidia15"));
        assert!(!is_nvidia_minor_node("nvidiactl"));
        assert!(!is_nvidia_minor_node("nvidia"));
        assert!(!is_nvidia_minor_node("nvidia-uvm"));
        assert!(is_drm_node("card1"));
        assert!(is_drm_node("renderD128"));
        assert!(!is_drm_node("card0-HDMI-A-1"));
        assert!(!is_drm_node("version"));
        assert!(!is_drm_node("card"));
    }
}
