//! Policies applied for real, each in a forked child that reports back over a pipe.
//!
//! The test process has other threads, so the child only makes syscalls: apply, the
//! probes, a raw read of /proc/self/status into a stack buffer, one write, `_exit`.
//! These need root (dropping from the bounding set needs CAP_SETPCAP) and say so
//! when skipped.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::str::FromStr;

use nix::libc;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult};

use super::*;

/// What a child probes after applying, in report order.
#[derive(Clone, Copy)]
enum Probe {
    /// keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0): a key id unfiltered.
    Keyctl,
    /// add_key(NULL, ...): EFAULT unfiltered.
    AddKey,
    /// swapon(NULL, 0): EPERM either way once CAP_SYS_ADMIN is gone.
    Swapon,
    Getpid,
    Getppid,
}

const PROBES: [Probe; 5] = [
    Probe::Keyctl,
    Probe::AddKey,
    Probe::Swapon,
    Probe::Getpid,
    Probe::Getppid,
];

/// Report layout: per apply step (errno, ApplyCall code), per probe (ret, errno), status.
const STEPS: usize = 2;
const HEADER: usize = (STEPS + PROBES.len()) * 16;
const STATUS_MAX: usize = 8192;

/// A probe's raw result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ret {
    ret: i64,
    errno: i32,
}

impl Ret {
    fn eperm(self) -> bool {
        self == Ret {
            ret: -1,
            errno: libc::EPERM,
        }
    }
}

/// What the child saw.
struct Report {
    /// Per applied policy: 0 or the failing call's errno, and `call_code` of the call.
    applied: Vec<(i64, i64)>,
    probes: Vec<Ret>,
    status: String,
}

impl Report {
    fn probe(&self, p: Probe) -> Ret {
        self.probes[p as usize]
    }

    /// The value of a /proc/self/status field, e.g. "Seccomp".
    fn field(&self, name: &str) -> &str {
        let prefix = format!("{name}:");
        self.status
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in status:\n{}", self.status))
            .trim()
    }

    fn mask(&self, name: &str) -> u64 {
        u64::from_str_radix(self.field(name), 16).unwrap()
    }
}

fn call_code(call: ApplyCall) -> i64 {
    match call {
        ApplyCall::CapbsetDrop(_) => 1,
        ApplyCall::AmbientClear => 2,
        ApplyCall::Capset(_) => 3,
        ApplyCall::NoNewPrivs => 4,
        ApplyCall::SeccompFilter => 5,
    }
}

fn raw(ret: libc::c_long) -> Ret {
    Ret {
        ret,
        errno: if ret == -1 {
            nix::errno::Errno::last_raw()
        } else {
            0
        },
    }
}

/// Runs in the child: no allocation from here to `_exit`.
fn probe(p: Probe) -> Ret {
    // SAFETY: harmless arguments; NULL pointers are only ever rejected.
    unsafe {
        match p {
            Probe::Keyctl => raw(libc::syscall(libc::SYS_keyctl, 0, -3, 0)),
            Probe::AddKey => raw(libc::syscall(
                libc::SYS_add_key,
                0usize,
                0usize,
                0usize,
                0usize,
                0,
            )),
            Probe::Swapon => raw(libc::syscall(libc::SYS_swapon, 0usize, 0)),
            Probe::Getpid => raw(libc::syscall(libc::SYS_getpid)),
            Probe::Getppid => raw(libc::syscall(libc::SYS_getppid)),
        }
    }
}

/// Runs in the child: reads /proc/self/status into `buf`, returns the length.
fn read_status(buf: &mut [u8]) -> usize {
    // SAFETY: a static C string and a stack buffer.
    unsafe {
        let fd = libc::open(c"/proc/self/status".as_ptr(), libc::O_RDONLY);
        if fd < 0 {
            return 0;
        }
        let mut len = 0;
        while len < buf.len() {
            let n = libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len);
            if n <= 0 {
                break;
            }
            len += n as usize;
        }
        libc::close(fd);
        len
    }
}

fn put(out: &mut [u8], slot: usize, a: i64, b: i64) {
    out[slot * 16..slot * 16 + 8].copy_from_slice(&a.to_ne_bytes());
    out[slot * 16 + 8..slot * 16 + 16].copy_from_slice(&b.to_ne_bytes());
}

fn get(bytes: &[u8], slot: usize) -> (i64, i64) {
    let word = |at: usize| i64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap());
    (word(slot * 16), word(slot * 16 + 8))
}

/// The child: applies each policy in turn (stopping at the first error), then
/// probes, then runs `last` (which may not return) and reports.
fn child(policies: &[&Prepared], last: fn(), fd: i32) -> ! {
    let mut out = [0u8; HEADER + STATUS_MAX];
    for (i, prepared) in policies.iter().enumerate() {
        let (errno, code) = match apply(prepared) {
            Ok(()) => (0, 0),
            Err(SecurityError::Apply { call, errno }) => (errno as i64, call_code(call)),
            Err(_) => (-1, -1),
        };
        put(&mut out, i, errno, code);
        if errno != 0 {
            break;
        }
    }
    for (i, p) in PROBES.iter().enumerate() {
        let r = probe(*p);
        put(&mut out, STEPS + i, r.ret, i64::from(r.errno));
    }
    last();
    let len = HEADER + read_status(&mut out[HEADER..]);
    // SAFETY: writes from and exits on the stack only.
    unsafe {
        libc::write(fd, out.as_ptr().cast(), len);
        libc::_exit(0)
    }
}

/// Forks, runs `child`, returns its report and how it ended.
fn run(policies: &[&Prepared], last: fn()) -> (Option<Report>, WaitStatus) {
    assert!(policies.len() <= STEPS);
    let (rd, wr) = pipe().unwrap();
    // SAFETY: the child only makes syscalls (see `child`) before `_exit`.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => child(policies, last, wr.as_raw_fd()),
        ForkResult::Parent { child } => {
            drop(wr);
            let mut bytes = Vec::new();
            std::fs::File::from(rd).read_to_end(&mut bytes).unwrap();
            let status = waitpid(child, None).unwrap();
            if bytes.len() < HEADER {
                return (None, status);
            }
            let report = Report {
                applied: (0..policies.len()).map(|i| get(&bytes, i)).collect(),
                probes: (0..PROBES.len())
                    .map(|i| {
                        let (ret, errno) = get(&bytes, STEPS + i);
                        Ret {
                            ret,
                            errno: errno as i32,
                        }
                    })
                    .collect(),
                status: String::from_utf8_lossy(&bytes[HEADER..]).into_owned(),
            };
            (Some(report), status)
        }
    }
}

fn nothing() {}

/// Applies one policy in a child and returns the report; None when not root.
fn applied(policy: &Policy) -> Option<Report> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: applying a security policy needs root (CAP_SETPCAP)");
        return None;
    }
    let prepared = prepare(policy).unwrap();
    let (report, status) = run(&[&prepared], nothing);
    assert_eq!(status, WaitStatus::Exited(status.pid().unwrap(), 0));
    let report = report.expect("child sent no report");
    assert_eq!(report.applied, vec![(0, 0)], "apply failed: (errno, call)");
    Some(report)
}

/// The mask of the policy's capabilities, computed independently of `prepare`.
fn expected_mask(policy: &Policy) -> u64 {
    policy
        .capabilities
        .iter()
        .map(|n| ::caps::Capability::from_str(n).unwrap().bitmask())
        .fold(0, |m, b| m | b)
}

#[test]
fn default_policy_sets_caps_nnp_and_filter() {
    let policy = Policy::default_container();
    let Some(r) = applied(&policy) else { return };
    let expected = expected_mask(&policy);
    assert_eq!(r.field("NoNewPrivs"), "1");
    assert_eq!(r.field("Seccomp"), "2");
    assert_eq!(r.mask("CapBnd"), expected, "bounding set");
    assert_eq!(r.mask("CapEff"), expected, "effective set");
    assert_eq!(r.mask("CapPrm"), expected, "permitted set");
    assert_eq!(r.mask("CapInh"), 0, "inheritable set");
    assert_eq!(r.mask("CapAmb"), 0, "ambient set");
    assert!(
        r.probe(Probe::Keyctl).eperm(),
        "{:?}",
        r.probe(Probe::Keyctl)
    );
    assert!(
        r.probe(Probe::AddKey).eperm(),
        "{:?}",
        r.probe(Probe::AddKey)
    );
    assert!(
        r.probe(Probe::Swapon).eperm(),
        "{:?}",
        r.probe(Probe::Swapon)
    );
    assert!(
        r.probe(Probe::Getpid).ret > 0,
        "{:?}",
        r.probe(Probe::Getpid)
    );
}

#[test]
fn seccomp_off_installs_no_filter() {
    let policy = Policy {
        seccomp: Seccomp::Off,
        ..Policy::default_container()
    };
    let Some(r) = applied(&policy) else { return };
    assert_eq!(r.field("Seccomp"), "0");
    assert_eq!(r.field("NoNewPrivs"), "1");
    assert_eq!(r.mask("CapEff"), expected_mask(&policy));
    // Unfiltered, these fail (or not) for their own reasons, never EPERM.
    assert!(
        !r.probe(Probe::Keyctl).eperm(),
        "{:?}",
        r.probe(Probe::Keyctl)
    );
    assert_eq!(r.probe(Probe::AddKey).errno, libc::EFAULT);
}

#[test]
fn without_no_new_privs_the_filter_still_goes_in() {
    let policy = Policy {
        no_new_privs: false,
        ..Policy::default_container()
    };
    let Some(r) = applied(&policy) else { return };
    assert_eq!(r.field("NoNewPrivs"), "0");
    assert_eq!(r.field("Seccomp"), "2");
    assert_eq!(r.mask("CapEff"), expected_mask(&policy));
    assert_eq!(r.mask("CapBnd"), expected_mask(&policy));
    assert!(
        r.probe(Probe::Keyctl).eperm(),
        "{:?}",
        r.probe(Probe::Keyctl)
    );
}

#[test]
fn extra_deny_blocks_named_syscall_only() {
    let policy = Policy {
        seccomp: Seccomp::Default {
            extra_deny: vec!["GETPPID".to_string()],
        },
        ..Policy::default_container()
    };
    let Some(r) = applied(&policy) else { return };
    assert!(
        r.probe(Probe::Getppid).eperm(),
        "{:?}",
        r.probe(Probe::Getppid)
    );
    assert!(
        r.probe(Probe::Getpid).ret > 0,
        "{:?}",
        r.probe(Probe::Getpid)
    );
}

#[test]
fn apply_reports_failing_call() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: applying a security policy needs root (CAP_SETPCAP)");
        return;
    }
    // After the default policy the permitted set is reduced; asking for more fails.
    let first = prepare(&Policy {
        seccomp: Seccomp::Off,
        ..Policy::default_container()
    })
    .unwrap();
    let second = prepare(&Policy {
        capabilities: capabilities_with(&["sys_admin".to_string()], &[]).unwrap(),
        seccomp: Seccomp::Off,
        no_new_privs: true,
    })
    .unwrap();
    let (report, _) = run(&[&first, &second], nothing);
    let report = report.expect("child sent no report");
    assert_eq!(report.applied[0], (0, 0));
    assert_eq!(
        report.applied[1],
        (
            i64::from(libc::EPERM),
            call_code(ApplyCall::Capset(second.kept_mask()))
        )
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_syscalls_kill_the_process() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: applying a security policy needs root (CAP_SETPCAP)");
        return;
    }
    fn x32_getpid() {
        // SAFETY: getpid through the x32 ABI; takes no arguments.
        unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
    }
    let prepared = prepare(&Policy::default_container()).unwrap();
    let (_, status) = run(&[&prepared], x32_getpid);
    assert!(
        matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
        "child ended with {status:?}"
    );
}

#[test]
fn prepare_names_unknown_syscall() {
    let policy = Policy {
        seccomp: Seccomp::Default {
            extra_deny: vec!["ptrace".to_string(), "fooo".to_string()],
        },
        ..Policy::default_container()
    };
    let err = prepare(&policy).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown syscall 'fooo' in seccomp deny list"
    );
}

#[test]
fn prepare_names_unknown_capability() {
    let policy = Policy {
        capabilities: vec!["CAP_FOO".to_string()],
        ..Policy::default_container()
    };
    let err = prepare(&policy).unwrap_err();
    assert_eq!(err.to_string(), "unknown capability 'CAP_FOO'");
}

#[test]
fn capset_deniable_only_with_no_new_privs() {
    let deny_capset = Seccomp::Default {
        extra_deny: vec!["capset".to_string()],
    };
    let with_nnp = Policy {
        seccomp: deny_capset.clone(),
        ..Policy::default_container()
    };
    assert!(prepare(&with_nnp).is_ok());
    let without = Policy {
        no_new_privs: false,
        ..with_nnp
    };
    let err = prepare(&without).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("syscall 'capset' cannot be denied while no_new_privs is off"),
        "{err}"
    );
}

#[test]
fn common_extra_denies_resolve() {
    let names = [
        "ptrace",
        "unshare",
        "setns",
        "mount",
        "umount2",
        "chroot",
        "pivot_root",
        "personality",
        "kcmp",
        "process_vm_readv",
        "process_vm_writev",
        "clone3",
        "fanotify_init",
        "sethostname",
        "setdomainname",
        "syslog",
        "vhangup",
        "mbind",
        "set_mempolicy",
        "move_pages",
        "migrate_pages",
        "pidfd_getfd",
        "open_tree",
        "move_mount",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "mount_setattr",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "memfd_create",
        "execveat",
        "mknodat",
        "fchownat",
        "setuid",
        "setgroups",
        "socket",
        "kill",
        "sched_setattr",
        "landlock_create_ruleset",
        "seccomp",
        "prctl",
    ];
    let policy = Policy {
        seccomp: Seccomp::Default {
            extra_deny: names.iter().map(|s| s.to_string()).collect(),
        },
        ..Policy::default_container()
    };
    let prepared = prepare(&policy).unwrap();
    let default_len = prepare(&Policy::default_container())
        .unwrap()
        .filter_len()
        .unwrap();
    // Each denied syscall adds instructions; duplicates of defaults would not.
    assert!(prepared.filter_len().unwrap() > default_len + names.len());
}

#[test]
fn apply_error_names_the_call() {
    let err = SecurityError::Apply {
        call: ApplyCall::CapbsetDrop(21),
        errno: nix::errno::Errno::EPERM,
    };
    assert_eq!(
        err.to_string(),
        "apply capabilities: prctl(PR_CAPBSET_DROP, 21): EPERM: Operation not permitted"
    );
}

#[test]
fn policy_serializes_for_info() {
    let json = serde_json::to_value(Policy::default_container()).unwrap();
    assert_eq!(json["no_new_privs"], true);
    assert_eq!(json["seccomp"]["mode"], "default");
    assert_eq!(json["capabilities"][0], "CAP_AUDIT_WRITE");
    let off = serde_json::to_value(Seccomp::Off).unwrap();
    assert_eq!(off, serde_json::json!({"mode": "off"}));
}
