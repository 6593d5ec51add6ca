//! VFIO checks through the kernel's own ioctls (numbers from linux/vfio.h):
//! the container device's API version and whether it offers the Type1v2
//! IOMMU, and a group's status — viable (every device of the group on a
//! VFIO-safe driver) and whether a container is set on it already.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use serde::Serialize;

use super::PciError;

/// `VFIO_TYPE` and `VFIO_BASE` of linux/vfio.h.
const VFIO_TYPE: u8 = b';';
const VFIO_BASE: u8 = 100;
/// The API version this code speaks (`VFIO_API_VERSION`).
pub const VFIO_API_VERSION: i32 = 0;
/// `VFIO_TYPE1v2_IOMMU`: the extension QEMU and DPDK use.
const VFIO_TYPE1V2_IOMMU: i32 = 3;
/// `VFIO_GROUP_FLAGS_VIABLE`, `VFIO_GROUP_FLAGS_CONTAINER_SET`.
const GROUP_VIABLE: u32 = 1 << 0;
const GROUP_CONTAINER_SET: u32 = 1 << 1;

/// `struct vfio_group_status`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct GroupStatus {
    argsz: u32,
    flags: u32,
}

nix::ioctl_none_bad!(
    vfio_get_api_version,
    nix::request_code_none!(VFIO_TYPE, VFIO_BASE)
);
nix::ioctl_write_int_bad!(
    vfio_check_extension,
    nix::request_code_none!(VFIO_TYPE, VFIO_BASE + 1)
);
nix::ioctl_readwrite_bad!(
    vfio_group_get_status,
    nix::request_code_none!(VFIO_TYPE, VFIO_BASE + 3),
    GroupStatus
);

/// What the checks found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VfioCheck {
    /// The group checked.
    pub group: u32,
    /// `VFIO_GET_API_VERSION` of /dev/vfio/vfio.
    pub api_version: i32,
    /// `VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU)`.
    pub type1v2: bool,
    /// `VFIO_GROUP_GET_STATUS`: the group can be used.
    pub viable: bool,
    /// `VFIO_GROUP_GET_STATUS`: a container is set on it (someone uses it).
    pub container_set: bool,
}

impl VfioCheck {
    /// Whether a VFIO user (QEMU, DPDK) can take the group now.
    pub fn usable(&self) -> bool {
        self.api_version == VFIO_API_VERSION && self.type1v2 && self.viable && !self.container_set
    }
}

fn open(path: &Path, hint: &str) -> Result<File, PciError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|error| {
            let hint = match error.raw_os_error() {
                Some(e) if e == Errno::ENOENT as i32 => hint.to_string(),
                Some(e) if e == Errno::EPERM as i32 => {
                    "no access to the device node (a device cgroup without a grant for it?)".into()
                }
                Some(e) if e == Errno::EBUSY as i32 => {
                    "another process has the group open (a VM, DPDK)".into()
                }
                _ => String::new(),
            };
            PciError::Vfio {
                op: "open",
                path: path.to_path_buf(),
                hint,
                error,
            }
        })
}

fn ioctl_err(op: &'static str, path: &Path, e: Errno) -> PciError {
    PciError::Vfio {
        op,
        path: path.to_path_buf(),
        hint: String::new(),
        error: e.into(),
    }
}

/// The device nodes under `dev` (normally `/dev`): the container
/// `dev/vfio/vfio` and the group `dev/vfio/GROUP`.
pub fn vfio_nodes(dev: &Path, group: u32) -> (PathBuf, PathBuf) {
    (
        dev.join("vfio/vfio"),
        dev.join("vfio").join(group.to_string()),
    )
}

/// Runs the checks on the nodes under `dev` (normally `/dev`).
pub fn vfio_check(dev: &Path, group: u32) -> Result<VfioCheck, PciError> {
    let (container_path, group_path) = vfio_nodes(dev, group);
    let container = open(
        &container_path,
        "the vfio module is not loaded (modprobe vfio-pci)",
    )?;
    let fd = container.as_raw_fd();
    // SAFETY: an ioctl without argument on a descriptor we own.
    let api_version = unsafe { vfio_get_api_version(fd) }
        .map_err(|e| ioctl_err("VFIO_GET_API_VERSION on", &container_path, e))?;
    // SAFETY: the extension number is passed by value.
    let type1v2 = unsafe { vfio_check_extension(fd, VFIO_TYPE1V2_IOMMU) }
        .map_err(|e| ioctl_err("VFIO_CHECK_EXTENSION on", &container_path, e))?
        > 0;
    let group_file = open(
        &group_path,
        &format!(
            "no device of IOMMU group {group} is bound to vfio-pci (luxc pci bind ADDR vfio-pci)"
        ),
    )?;
    let mut status = GroupStatus {
        argsz: std::mem::size_of::<GroupStatus>() as u32,
        flags: 0,
    };
    // SAFETY: `status` is a valid vfio_group_status with argsz set, as the
    // kernel reads and fills it.
    unsafe { vfio_group_get_status(group_file.as_raw_fd(), &mut status) }
        .map_err(|e| ioctl_err("VFIO_GROUP_GET_STATUS on", &group_path, e))?;
    Ok(VfioCheck {
        group,
        api_version,
        type1v2,
        viable: status.flags & GROUP_VIABLE != 0,
        container_set: status.flags & GROUP_CONTAINER_SET != 0,
    })
}
