//! The seccomp deny list: names resolved and compiled to BPF in the parent, installed
//! in the child by one raw syscall.

use std::collections::BTreeMap;

use nix::errno::Errno;
use nix::libc;
use seccompiler::{sock_filter, BpfProgram, SeccompAction, SeccompFilter, TargetArch};

use super::syscall_table::{ABSENT, NATIVE};
use super::{ApplyCall, SecurityError};

/// Syscalls a default container may not make, grouped by why.
///
/// Mount, unshare, setns, pivot_root, ptrace and the like are left to capabilities
/// (CAP_SYS_ADMIN, CAP_SYS_PTRACE), which the default set does not keep. Names Linux
/// has only on another ABI (vm86, vm86old on i386; iopl, ioperm on aarch64) are
/// skipped where they do not exist.
const DEFAULT_DENY: &[&str] = &[
    // Module loading: kernel code chosen by the container.
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    // kexec: replaces the host kernel.
    "kexec_load",
    "kexec_file_load",
    // Keyring: not namespaced, so keys would be shared with the host.
    "keyctl",
    "add_key",
    "request_key",
    // bpf and perf: large kernel attack surface, and they observe the whole host.
    "bpf",
    "perf_event_open",
    // File handles: open_by_handle_at opens host files past the container's root
    // (the "shocker" escape); name_to_handle_at finds the handles.
    "open_by_handle_at",
    "name_to_handle_at",
    // Host clock: the clock is not namespaced (time namespaces cover only offsets).
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    // Swap: host memory management.
    "swapon",
    "swapoff",
    // Reboot: the host's (or the pid namespace's) power switch.
    "reboot",
    // Process accounting: host-wide, writes where the container says.
    "acct",
    // Raw I/O ports and vm86 mode: direct hardware access.
    "iopl",
    "ioperm",
    "vm86",
    "vm86old",
    // Quotas: host filesystems' quota state.
    "quotactl",
    "quotactl_fd",
    // Obsolete interfaces that only ever exposed the host: profiling cookies, the nfsd
    // control call, sysctl by number, a.out library loading, filesystem type and
    // superblock info.
    "lookup_dcookie",
    "nfsservctl",
    "_sysctl",
    "uselib",
    "ustat",
    "sysfs",
    // userfaultfd: stalls kernel page faults, the usual tool to win kernel races.
    "userfaultfd",
];

/// The default deny list (every architecture's names; absent ones are skipped).
pub fn default_deny_list() -> &'static [&'static str] {
    DEFAULT_DENY
}

/// What a name is on the compile target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// A native syscall with this number.
    Number(i64),
    /// A Linux syscall this architecture does not have: nothing to deny.
    Absent,
}

/// Resolves a syscall name (any case) on the compile target.
pub fn resolve(name: &str) -> Result<Resolved, SecurityError> {
    let lower = name.trim().to_ascii_lowercase();
    if let Ok(i) = NATIVE.binary_search_by(|(n, _)| n.cmp(&lower.as_str())) {
        return Ok(Resolved::Number(NATIVE[i].1));
    }
    if ABSENT.binary_search(&lower.as_str()).is_ok() {
        return Ok(Resolved::Absent);
    }
    Err(SecurityError::UnknownSyscall(name.to_string()))
}

/// The compile target's architecture, as seccompiler names it.
fn target_arch() -> Result<TargetArch, SecurityError> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(TargetArch::x86_64),
        "aarch64" => Ok(TargetArch::aarch64),
        other => Err(SecurityError::UnsupportedArch(other)),
    }
}

/// Syscalls on x86_64 with this bit set use the x32 ABI. They pass the filter's
/// architecture check (x32 reports AUDIT_ARCH_X86_64) but have other numbers, so
/// they would slip past every rule of a deny list.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// BPF_LD | BPF_W | BPF_ABS (classic BPF opcodes, linux/bpf_common.h).
const BPF_LD_W_ABS: u16 = 0x20;
/// BPF_JMP | BPF_JGE | BPF_K.
const BPF_JMP_JGE_K: u16 = 0x35;
/// BPF_RET | BPF_K.
const BPF_RET_K: u16 = 0x06;
/// Offset of `nr` in `struct seccomp_data`.
const SECCOMP_DATA_NR: u32 = 0;

/// Compiles the deny list (names already resolved) into a BPF program.
///
/// Default action allow, each denied syscall returns EPERM. seccompiler puts an
/// architecture check first that kills the process on any other ABI (on x86_64: the
/// i386 `int 0x80` entry, whose numbers differ and would bypass the list); on x86_64
/// an x32 check in front kills x32 calls for the same reason.
pub fn compile(denied: &[i64]) -> Result<BpfProgram, SecurityError> {
    let arch = target_arch()?;
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        denied.iter().map(|&nr| (nr, Vec::new())).collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| SecurityError::CompileSeccomp(e.to_string()))?;
    let body =
        BpfProgram::try_from(filter).map_err(|e| SecurityError::CompileSeccomp(e.to_string()))?;

    let mut program = Vec::with_capacity(body.len() + 3);
    if arch == TargetArch::x86_64 {
        // Self-contained: falls through to seccompiler's program, which starts by
        // loading the architecture, so no jump offset of its program changes.
        program.push(stmt(BPF_LD_W_ABS, SECCOMP_DATA_NR));
        program.push(sock_filter {
            code: BPF_JMP_JGE_K,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        });
        program.push(stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS));
    }
    program.extend(body);
    if program.len() > usize::from(u16::MAX) {
        return Err(SecurityError::CompileSeccomp(format!(
            "{} instructions is too many",
            program.len()
        )));
    }
    Ok(program)
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// Installs a compiled filter on the calling thread. No allocation.
///
/// Not `seccompiler::apply_filter`: it always sets `no_new_privs` first, which would
/// override a policy that turns it off. Without `no_new_privs` the kernel requires
/// CAP_SYS_ADMIN in the effective set here.
pub fn install(program: &[sock_filter]) -> Result<(), SecurityError> {
    let prog = libc::sock_fprog {
        // Checked to fit in `compile`.
        len: program.len() as libc::c_ushort,
        // seccompiler's sock_filter is #[repr(C)] with the kernel's layout; the kernel
        // only reads it.
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at a valid program that outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &prog as *const libc::sock_fprog,
        )
    };
    Errno::result(rc)
        .map(drop)
        .map_err(|errno| SecurityError::Apply {
            call: ApplyCall::SeccompFilter,
            errno,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(NATIVE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ABSENT.windows(2).all(|w| w[0] < w[1]));
        assert!(ABSENT.iter().all(|n| NATIVE.iter().all(|(m, _)| m != n)));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_numbers_match_libc() {
        let cases = [
            ("init_module", libc::SYS_init_module),
            ("finit_module", libc::SYS_finit_module),
            ("kexec_file_load", libc::SYS_kexec_file_load),
            ("keyctl", libc::SYS_keyctl),
            ("swapon", libc::SYS_swapon),
            ("bpf", libc::SYS_bpf),
            ("open_by_handle_at", libc::SYS_open_by_handle_at),
            ("ptrace", libc::SYS_ptrace),
            ("unshare", libc::SYS_unshare),
            ("setns", libc::SYS_setns),
            ("mount", libc::SYS_mount),
            ("chroot", libc::SYS_chroot),
            ("personality", libc::SYS_personality),
            ("getppid", libc::SYS_getppid),
            ("clone3", libc::SYS_clone3),
            ("_sysctl", libc::SYS__sysctl),
            ("userfaultfd", libc::SYS_userfaultfd),
            ("quotactl_fd", libc::SYS_quotactl_fd),
        ];
        for (name, nr) in cases {
            assert_eq!(resolve(name).unwrap(), Resolved::Number(nr), "{name}");
        }
        assert_eq!(resolve("vm86").unwrap(), Resolved::Absent);
        assert!(NATIVE.len() > 300, "table has {} entries", NATIVE.len());
    }

    #[test]
    fn every_default_name_resolves() {
        for name in default_deny_list() {
            assert!(resolve(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(resolve("PTRACE").unwrap(), resolve("ptrace").unwrap());
    }

    #[test]
    fn unknown_syscall_is_named() {
        let err = resolve("fooo").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown syscall 'fooo' in seccomp deny list"
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x32_check_precedes_arch_check() {
        let program = compile(&[libc::SYS_keyctl]).unwrap();
        assert_eq!(program[1].code, BPF_JMP_JGE_K);
        assert_eq!(program[1].k, X32_SYSCALL_BIT);
        assert_eq!(program[2].k, libc::SECCOMP_RET_KILL_PROCESS);
        // seccompiler's program follows, loading the architecture (offset 4).
        assert_eq!((program[3].code, program[3].k), (BPF_LD_W_ABS, 4));
        assert!(program
            .iter()
            .any(|i| i.code == BPF_RET_K && i.k == libc::SECCOMP_RET_ERRNO | libc::EPERM as u32));
    }
}
