//! Cgroups: which hierarchies the host mounts, and in which mode (v1, hybrid, v2);
//! cgroup handles over all of them, limits translated per version, and stats.
//!
//! Why not cgroups-rs (a dependency since the foundation, for this): it picks
//! v1 or v2 for the whole host, so on a hybrid host (v1 controllers plus a
//! cgroup2 mount holding others, as here) it cannot put each controller where it
//! lives; it has no BPF device filter for v2; and its v1 kill does not freeze
//! first. luxc's own code is small, takes the filesystem root as a parameter
//! (fixture tests) and chooses per controller. cgroups-rs stays available for
//! later pieces it fits.

pub mod devices;
mod group;
pub mod limits;
mod mode;
mod stats;

pub use group::Cgroup;
pub use limits::{check, plan, IoLimit, Limits, Write};
pub use mode::{detect, unescape as unescape_mountinfo, CgroupLayout, CgroupMode, Hierarchy};
pub use stats::{CpuStats, IoStats, MemoryEvents, MemoryStats, PidsStats, Stats};

use std::path::PathBuf;
use std::time::Duration;

/// Why reading the cgroup layout, or creating, limiting, reading or removing a cgroup failed.
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
    /// A limit that is out of range, malformed, or that this host cannot apply.
    #[error("limit '{limit}': {reason}")]
    Limit { limit: String, reason: String },
    /// An operation needs a controller that no hierarchy of this host carries.
    #[error("{what}: this host ({}) has no {controller} controller ({available})", mode.as_str())]
    NoController {
        what: String,
        mode: CgroupMode,
        controller: String,
        available: String,
    },
    /// A cgroup path that is not a plain relative path.
    #[error("cgroup path '{path}': {reason}")]
    BadPath { path: String, reason: &'static str },
    /// The cgroup exists in none of the host's hierarchies.
    #[error("cgroup '{path}' does not exist in any hierarchy")]
    NotFound { path: String },
    /// Creating a cgroup directory failed.
    #[error("create {}: {source}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing a control file failed.
    #[error("write {value} to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    /// Removing a cgroup directory failed.
    #[error("remove {}: {source}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A control file held something other than what the kernel documents.
    #[error("parse {}: unexpected value '{value}'", path.display())]
    Value { path: PathBuf, value: String },
    /// Freezing, thawing or killing did not finish in time.
    #[error("{what} cgroup '{path}': not done after {} ms", waited.as_millis())]
    Timeout {
        what: &'static str,
        path: String,
        waited: Duration,
    },
    /// Signalling a member of a cgroup failed.
    #[error("kill process {pid} of cgroup '{path}': {source}")]
    Signal {
        pid: i32,
        path: String,
        #[source]
        source: nix::errno::Errno,
    },
    /// The calling process is itself a member of the cgroup it was asked to kill.
    #[error("kill cgroup '{path}': it holds this process ({pid}); move it out first")]
    HoldsSelf { path: String, pid: i32 },
}
