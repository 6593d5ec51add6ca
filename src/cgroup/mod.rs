//! Cgroups: which hierarchies the host mounts, and in which mode (v1, hybrid, v2).

mod mode;

pub use mode::{detect, CgroupLayout, CgroupMode, Hierarchy};

use std::path::PathBuf;

/// Why the cgroup layout of a host could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A file of the kernel tree could not be read.
    #[error("read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of mountinfo did not have the shape the kernel documents.
    #[error("parse {} line {line}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        reason: &'static str,
    },
    /// Neither a cgroup v1 nor a cgroup2 filesystem is mounted.
    #[error("no cgroup filesystem mounted (per {})", path.display())]
    NotMounted { path: PathBuf },
}
