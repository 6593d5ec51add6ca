//! Container security: kept capabilities, `no_new_privs` and a seccomp deny list.
//!
//! Two halves, because `apply` runs in a forked child of luxc right before execve (or
//! the PID-1 reaper loop): `prepare` (parent) parses names, reads the kernel's limits
//! and compiles the BPF program; `apply` (child) makes syscalls only, with no heap
//! allocation, so it is safe after fork and cannot fail halfway for lack of memory.

mod caps;
mod seccomp;
mod syscall_table;
#[cfg(test)]
mod tests;

use std::fmt;

use nix::errno::Errno;
use seccompiler::BpfProgram;

pub use self::caps::{capabilities_with, DEFAULT_CAPABILITIES};
pub use self::seccomp::default_deny_list;

/// Why a security policy could not be prepared or applied.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A capability name that neither luxc nor the kernel knows.
    #[error("unknown capability '{0}'")]
    UnknownCapability(String),
    /// The same capability (or `ALL`) in both `add` and `drop`.
    #[error("capability '{0}' is both added and dropped")]
    CapabilityConflict(String),
    /// A capability newer than the running kernel.
    #[error(
        "capability '{name}' is not supported by the running kernel (cap_last_cap is {last_cap})"
    )]
    CapabilityNotInKernel { name: String, last_cap: u32 },
    /// `/proc/sys/kernel/cap_last_cap` could not be read.
    #[error("read {path}: {source}")]
    ReadLastCap {
        path: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// `/proc/sys/kernel/cap_last_cap` held something else than a number up to 63.
    #[error("read {path}: expected a number from 0 to 63, found '{text}'")]
    BadLastCap { path: &'static str, text: String },
    /// A syscall name that is not a Linux syscall.
    #[error("unknown syscall '{0}' in seccomp deny list")]
    UnknownSyscall(String),
    /// A syscall luxc itself must make after the filter is installed.
    #[error("syscall '{0}' cannot be denied while no_new_privs is off: luxc installs the seccomp filter before setting capabilities then")]
    Undeniable(String),
    /// luxc has no syscall table for this architecture.
    #[error("seccomp: unsupported architecture '{0}' (luxc supports x86_64 and aarch64; use seccomp off)")]
    UnsupportedArch(&'static str),
    /// seccompiler refused the filter.
    #[error("compile seccomp filter: {0}")]
    CompileSeccomp(String),
    /// A syscall of `apply` failed (built without allocating, in the child).
    #[error("apply {}: {call}: {errno}", call.step())]
    Apply { call: ApplyCall, errno: Errno },
}

/// The syscall of `apply` that failed, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyCall {
    /// `prctl(PR_CAPBSET_DROP, cap)` (or the `PR_CAPBSET_READ` before it).
    CapbsetDrop(u32),
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`.
    AmbientClear,
    /// `capset` with this effective and permitted mask.
    Capset(u64),
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    NoNewPrivs,
    /// `seccomp(SECCOMP_SET_MODE_FILTER)`.
    SeccompFilter,
}

impl ApplyCall {
    /// Which part of the policy the call belongs to.
    pub fn step(&self) -> &'static str {
        match self {
            ApplyCall::CapbsetDrop(_) | ApplyCall::AmbientClear | ApplyCall::Capset(_) => {
                "capabilities"
            }
            ApplyCall::NoNewPrivs => "no_new_privs",
            ApplyCall::SeccompFilter => "seccomp",
        }
    }
}

impl fmt::Display for ApplyCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyCall::CapbsetDrop(cap) => write!(f, "prctl(PR_CAPBSET_DROP, {cap})"),
            ApplyCall::AmbientClear => {
                write!(f, "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)")
            }
            ApplyCall::Capset(mask) => {
                write!(f, "capset(effective=permitted={mask:#x}, inheritable=0)")
            }
            ApplyCall::NoNewPrivs => write!(f, "prctl(PR_SET_NO_NEW_PRIVS, 1)"),
            ApplyCall::SeccompFilter => write!(f, "seccomp(SECCOMP_SET_MODE_FILTER)"),
        }
    }
}

/// The seccomp part of a policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Seccomp {
    /// No filter.
    Off,
    /// The default deny list plus these syscall names.
    Default { extra_deny: Vec<String> },
}

/// What a container process may do; shown by the container's `info()`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    /// Kept capabilities, canonical (`CAP_NET_ADMIN`) and sorted; all others are dropped.
    pub capabilities: Vec<String>,
    /// Whether execve may no longer grant privileges (setuid binaries, file caps).
    pub no_new_privs: bool,
    /// The syscall filter.
    pub seccomp: Seccomp,
}

impl Policy {
    /// Docker's defaults: its capability set, `no_new_privs`, the default deny list.
    pub fn default_container() -> Policy {
        Policy {
            capabilities: DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect(),
            no_new_privs: true,
            seccomp: Seccomp::Default {
                extra_deny: Vec::new(),
            },
        }
    }
}

/// A policy made ready for `apply`: masks and the compiled filter.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Bitmask of the kept capabilities.
    keep: u64,
    /// The kernel's highest capability number.
    last_cap: u32,
    no_new_privs: bool,
    filter: Option<BpfProgram>,
    /// Install the filter before `capset` (see `apply`).
    seccomp_before_capset: bool,
}

impl Prepared {
    /// Bitmask of the capabilities kept in the bounding, effective and permitted sets.
    pub fn kept_mask(&self) -> u64 {
        self.keep
    }

    /// The kernel's highest capability number, read when prepared.
    pub fn last_cap(&self) -> u32 {
        self.last_cap
    }

    /// Number of BPF instructions of the seccomp filter, if any.
    pub fn filter_len(&self) -> Option<usize> {
        self.filter.as_ref().map(Vec::len)
    }
}

/// Syscall numbers a policy denies: the default list plus extras, names resolved.
fn denied_numbers(
    extra_deny: &[String],
    seccomp_before_capset: bool,
) -> Result<Vec<i64>, SecurityError> {
    let mut numbers = Vec::new();
    for name in default_deny_list().iter().copied() {
        if let seccomp::Resolved::Number(nr) = seccomp::resolve(name)? {
            numbers.push(nr);
        }
    }
    for name in extra_deny {
        let resolved = seccomp::resolve(name)?;
        if seccomp_before_capset && resolved == seccomp::resolve("capset")? {
            return Err(SecurityError::Undeniable(name.trim().to_string()));
        }
        if let seccomp::Resolved::Number(nr) = resolved {
            numbers.push(nr);
        }
    }
    Ok(numbers)
}

/// Parent side: checks the policy against the running kernel and compiles the filter.
pub fn prepare(p: &Policy) -> Result<Prepared, SecurityError> {
    prepare_for_kernel(p, caps::read_last_cap()?)
}

/// `prepare` with the kernel's highest capability number given.
fn prepare_for_kernel(p: &Policy, last_cap: u32) -> Result<Prepared, SecurityError> {
    let keep = caps::mask(&p.capabilities, last_cap)?;
    let seccomp_before_capset = !p.no_new_privs && matches!(p.seccomp, Seccomp::Default { .. });
    let filter = match &p.seccomp {
        Seccomp::Off => None,
        Seccomp::Default { extra_deny } => Some(seccomp::compile(&denied_numbers(
            extra_deny,
            seccomp_before_capset,
        )?)?),
    };
    Ok(Prepared {
        keep,
        last_cap,
        no_new_privs: p.no_new_privs,
        filter,
        seccomp_before_capset,
    })
}

/// Child side: applies a prepared policy to the calling thread. Syscalls only, no
/// allocation; call it single-threaded, after the mounts, right before execve.
///
/// For a non-root `user`: either setuid/setgid after `apply` (needs CAP_SETUID and
/// CAP_SETGID kept; the kernel then clears the capability sets, as Docker does for
/// non-root users), or before it with `PR_SET_KEEPCAPS` (as runc does); a plain setuid
/// before `apply` empties the permitted set and `capset` here fails with EPERM.
pub fn apply(p: &Prepared) -> Result<(), SecurityError> {
    // 1. Bounding set first: it caps what any later execve (setuid root, file caps)
    //    can grant, and dropping needs CAP_SETPCAP, which step 3 may remove.
    caps::drop_bounding(p.keep, p.last_cap)?;
    // 2. Ambient set: otherwise capabilities luxc held could survive execve.
    caps::clear_ambient()?;
    // Without no_new_privs the kernel accepts a seccomp filter only from a thread with
    // CAP_SYS_ADMIN in its effective set, which step 3 usually drops: so the filter
    // goes in before it then. `prepare` made sure the filter allows `capset`.
    if p.seccomp_before_capset {
        if let Some(filter) = &p.filter {
            seccomp::install(filter)?;
        }
    }
    // 3. Effective and permitted = kept; inheritable empty.
    caps::set(p.keep)?;
    // 4. no_new_privs: also lets an unprivileged thread install the filter.
    if p.no_new_privs {
        caps::set_no_new_privs()?;
    }
    // 5. The filter last, so none of the calls above can be filtered.
    if !p.seccomp_before_capset {
        if let Some(filter) = &p.filter {
            seccomp::install(filter)?;
        }
    }
    Ok(())
}
