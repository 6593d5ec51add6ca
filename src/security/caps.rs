//! Capabilities: names (parent side) and the raw syscalls that set them (child side).
//!
//! Name handling uses the `caps` crate. Its setters build `HashSet`s and format error
//! strings, i.e. they allocate, so the child-side calls here are raw `prctl`/`capset`
//! on precomputed `u64` masks instead.

use std::str::FromStr;

use ::caps::Capability;
use nix::errno::Errno;
use nix::libc;

use super::{ApplyCall, SecurityError};

/// Docker's default capability set, canonical names.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Where the kernel says which capability number is its highest.
pub const CAP_LAST_CAP_PATH: &str = "/proc/sys/kernel/cap_last_cap";

/// Parses a capability name: any case, with or without the `CAP_` prefix.
pub fn parse(name: &str) -> Result<Capability, SecurityError> {
    Capability::from_str(&::caps::to_canonical(name.trim()))
        .map_err(|_| SecurityError::UnknownCapability(name.to_string()))
}

/// Whether a name is the `ALL` wildcard (`all`, `ALL`, `CAP_ALL`).
fn is_all(name: &str) -> bool {
    ::caps::to_canonical(name.trim()) == "CAP_ALL"
}

/// Every capability the running kernel knows (and the `caps` crate can name) that is
/// still in luxc's own bounding set: luxc cannot give a container more than it holds
/// (inside another container some are usually gone), and `ALL` should still start.
fn kernel_known() -> Vec<Capability> {
    let set = ::caps::runtime::procfs_all_supported(None)
        .unwrap_or_else(|_| ::caps::runtime::thread_all_supported());
    set.into_iter()
        .filter(|c| ::caps::has_cap(None, ::caps::CapSet::Bounding, *c).unwrap_or(false))
        .collect()
}

/// The default set with `add` added and `drop` removed, canonical and sorted.
///
/// `ALL` in `add` starts from every capability the kernel knows; `ALL` in `drop` starts
/// from none (so `drop = {"ALL"}, add = {"NET_ADMIN"}` keeps only `CAP_NET_ADMIN`). A
/// capability both added and dropped is an error rather than a silent winner.
pub fn capabilities_with(add: &[String], drop: &[String]) -> Result<Vec<String>, SecurityError> {
    let add_all = add.iter().any(|n| is_all(n));
    let drop_all = drop.iter().any(|n| is_all(n));
    if add_all && drop_all {
        return Err(SecurityError::CapabilityConflict("ALL".to_string()));
    }
    let added = parse_all(add)?;
    let dropped = parse_all(drop)?;
    if let Some(both) = added.iter().find(|c| dropped.contains(c)) {
        return Err(SecurityError::CapabilityConflict(both.to_string()));
    }

    let mut kept: Vec<Capability> = if add_all {
        kernel_known()
    } else if drop_all {
        Vec::new()
    } else {
        DEFAULT_CAPABILITIES
            .iter()
            .map(|n| parse(n))
            .collect::<Result<_, _>>()?
    };
    kept.retain(|c| !dropped.contains(c));
    kept.extend(added);
    let mut names: Vec<String> = kept.iter().map(|c| c.to_string()).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Parses every name except the `ALL` wildcard.
fn parse_all(names: &[String]) -> Result<Vec<Capability>, SecurityError> {
    names
        .iter()
        .filter(|n| !is_all(n))
        .map(|n| parse(n))
        .collect()
}

/// The bitmask of the named capabilities, checked against the kernel's highest number.
pub fn mask(names: &[String], last_cap: u32) -> Result<u64, SecurityError> {
    let mut mask = 0u64;
    for name in names {
        let cap = parse(name)?;
        if u32::from(cap.index()) > last_cap {
            return Err(SecurityError::CapabilityNotInKernel {
                name: cap.to_string(),
                last_cap,
            });
        }
        mask |= cap.bitmask();
    }
    Ok(mask)
}

/// Reads the kernel's highest capability number.
pub fn read_last_cap() -> Result<u32, SecurityError> {
    let text = std::fs::read_to_string(CAP_LAST_CAP_PATH).map_err(|source| {
        SecurityError::ReadLastCap {
            path: CAP_LAST_CAP_PATH,
            source,
        }
    })?;
    parse_last_cap(&text)
}

/// Parses the content of `cap_last_cap`; more than 63 would not fit the `u64` masks.
pub fn parse_last_cap(text: &str) -> Result<u32, SecurityError> {
    match text.trim().parse::<u32>() {
        Ok(n) if n <= 63 => Ok(n),
        _ => Err(SecurityError::BadLastCap {
            path: CAP_LAST_CAP_PATH,
            text: text.trim().to_string(),
        }),
    }
}

fn prctl(option: libc::c_int, arg: libc::c_ulong) -> Result<libc::c_int, Errno> {
    // SAFETY: the options used here take integer arguments only.
    let rc = unsafe { libc::prctl(option, arg, 0 as libc::c_ulong, 0 as libc::c_ulong, 0) };
    Errno::result(rc)
}

/// Drops from the bounding set every capability 0..=last_cap not in `keep`.
///
/// One already gone is skipped, so this also works in a process that lacks
/// CAP_SETPCAP but was already reduced enough. No allocation.
pub fn drop_bounding(keep: u64, last_cap: u32) -> Result<(), SecurityError> {
    for cap in 0..=last_cap {
        if keep & (1u64 << cap) != 0 {
            continue;
        }
        let call = ApplyCall::CapbsetDrop(cap);
        let present = prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap))
            .map_err(|errno| SecurityError::Apply { call, errno })?;
        if present == 1 {
            prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap))
                .map_err(|errno| SecurityError::Apply { call, errno })?;
        }
    }
    Ok(())
}

/// Empties the ambient set, so nothing luxc held leaks across execve. No allocation.
pub fn clear_ambient() -> Result<(), SecurityError> {
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes no pointers.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    match Errno::result(rc) {
        Ok(_) => Ok(()),
        // Kernels before 4.3 have no ambient set: nothing to clear.
        Err(Errno::EINVAL) => Ok(()),
        Err(errno) => Err(SecurityError::Apply {
            call: ApplyCall::AmbientClear,
            errno,
        }),
    }
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`; version 3 takes two of them (bits 0-31, 32-63).
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Sets effective = permitted = `keep` and inheritable = empty for this thread.
///
/// Inheritable stays empty, as in Docker since CVE-2022-24769: an inheritable set lets
/// a non-root program with inheritable file capabilities gain them at execve. Root
/// inside still gets `keep` across execve through the bounding set. No allocation.
pub fn set(keep: u64) -> Result<(), SecurityError> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let half = |shift: u32| CapData {
        effective: (keep >> shift) as u32,
        permitted: (keep >> shift) as u32,
        inheritable: 0,
    };
    let data = [half(0), half(32)];
    // SAFETY: header and data are valid v3 structures that outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    Errno::result(rc)
        .map(drop)
        .map_err(|errno| SecurityError::Apply {
            call: ApplyCall::Capset(keep),
            errno,
        })
}

/// Sets `no_new_privs`: execve can no longer grant privileges (setuid, file caps).
pub fn set_no_new_privs() -> Result<(), SecurityError> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1)
        .map(drop)
        .map_err(|errno| SecurityError::Apply {
            call: ApplyCall::NoNewPrivs,
            errno,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_are_docker_set_sorted() {
        let caps = capabilities_with(&[], &[]).unwrap();
        assert_eq!(caps, strings(DEFAULT_CAPABILITIES));
        assert!(caps.windows(2).all(|w| w[0] < w[1]), "not sorted: {caps:?}");
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn add_accepts_every_spelling() {
        let mut expected = strings(DEFAULT_CAPABILITIES);
        expected.push("CAP_NET_ADMIN".to_string());
        expected.sort();
        for spelling in ["net_admin", "NET_ADMIN", "CAP_NET_ADMIN", "cap_Net_Admin"] {
            let got = capabilities_with(&strings(&[spelling]), &[]).unwrap();
            assert_eq!(got, expected, "spelling {spelling:?}");
        }
    }

    #[test]
    fn drop_removes_one() {
        let got = capabilities_with(&[], &strings(&["chown"])).unwrap();
        assert!(!got.contains(&"CAP_CHOWN".to_string()));
        assert_eq!(got.len(), DEFAULT_CAPABILITIES.len() - 1);
    }

    #[test]
    fn unknown_name_is_named() {
        let err = capabilities_with(&strings(&["CAP_FOO"]), &[]).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability 'CAP_FOO'");
        let err = capabilities_with(&[], &strings(&["net_admn"])).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability 'net_admn'");
    }

    /// The names of the bits set in this process's CapBnd line of /proc/self/status.
    fn own_bounding_set() -> Vec<String> {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hex = status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .unwrap()
            .trim();
        let bits = u64::from_str_radix(hex, 16).unwrap();
        let mut names: Vec<String> = ::caps::all()
            .into_iter()
            .filter(|c| bits & c.bitmask() != 0)
            .map(|c| c.to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn add_all_is_every_capability_luxc_holds() {
        let got = capabilities_with(&strings(&["ALL"]), &[]).unwrap();
        let own = own_bounding_set();
        assert_eq!(got, own);
        assert!(got.len() > DEFAULT_CAPABILITIES.len(), "{got:?}");
        let minus = capabilities_with(&strings(&["all"]), &strings(&["kill"])).unwrap();
        assert_eq!(minus.len(), own.len() - 1);
        assert!(!minus.contains(&"CAP_KILL".to_string()));
    }

    #[test]
    fn drop_all_keeps_only_added() {
        let got = capabilities_with(&strings(&["net_admin"]), &strings(&["ALL"])).unwrap();
        assert_eq!(got, strings(&["CAP_NET_ADMIN"]));
        let none = capabilities_with(&[], &strings(&["CAP_ALL"])).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn added_and_dropped_is_an_error() {
        let err = capabilities_with(&strings(&["kill"]), &strings(&["CAP_KILL"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "capability 'CAP_KILL' is both added and dropped"
        );
    }

    #[test]
    fn mask_sets_kernel_bits() {
        let m = mask(&strings(&["CAP_CHOWN", "CAP_KILL"]), 40).unwrap();
        assert_eq!(m, (1 << 0) | (1 << 5));
        let err = mask(&strings(&["CAP_CHECKPOINT_RESTORE"]), 37).unwrap_err();
        assert_eq!(
            err.to_string(),
            "capability 'CAP_CHECKPOINT_RESTORE' is not supported by the running kernel (cap_last_cap is 37)"
        );
    }

    #[test]
    fn last_cap_is_bounded() {
        assert_eq!(parse_last_cap("40\n").unwrap(), 40);
        assert!(parse_last_cap("64").is_err());
        assert!(parse_last_cap("x").is_err());
    }
}
