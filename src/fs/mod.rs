//! Filesystems for containers: mount primitives, and the plan that turns a
//! container's spec into the mounts of its root (overlay, /proc, /sys, /dev,
//! masked and read-only paths, pivot_root).

pub mod mount;
pub mod rootfs;

pub use mount::FsError;
