//! The root filesystem of a container as a plan of mount steps.
//!
//! `plan` is pure (so the order and contents are unit-tested); `apply` runs
//! the steps in the container's first process, inside its new mount namespace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use serde::{Deserialize, Serialize};

use super::mount::{self, FsError};

/// A mount a user asked for, relative to the container root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MountSpec {
    /// A host path bound into the container.
    Bind {
        source: PathBuf,
        target: String,
        readonly: bool,
    },
    /// A fresh tmpfs; `size` in bytes.
    Tmpfs { target: String, size: Option<u64> },
}

impl MountSpec {
    /// The path inside the container.
    pub fn target(&self) -> &str {
        match self {
            MountSpec::Bind { target, .. } | MountSpec::Tmpfs { target, .. } => target,
        }
    }
}

/// Files whose contents leak host state or control the host; replaced by
/// /dev/null (files) or an empty read-only tmpfs (directories), as Docker does.
pub const MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Kernel knobs a container may read but not change.
pub const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Host device nodes bound into the container's fresh /dev.
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// What the container's root is made of.
#[derive(Debug, Clone)]
pub struct RootfsSpec {
    /// Read-only image (the overlay's lower layer).
    pub lower: PathBuf,
    /// The container's writable layer and overlay work dir (same filesystem).
    pub upper: PathBuf,
    pub work: PathBuf,
    /// Where the overlay is mounted before pivot_root.
    pub merged: PathBuf,
    /// Remount / read-only at the end.
    pub readonly: bool,
    /// The container has its own ipc namespace (/dev/mqueue can be mounted).
    pub new_ipc: bool,
    /// Extra mounts, in order.
    pub mounts: Vec<MountSpec>,
    /// sysctl key → value, written before /proc/sys turns read-only.
    pub sysctl: BTreeMap<String, String>,
    /// Paths to mask; defaults to MASKED.
    pub masked: Vec<String>,
    /// Paths to make read-only; defaults to READONLY.
    pub readonly_paths: Vec<String>,
    /// Hostname to set (needs a uts namespace).
    pub hostname: Option<String>,
    /// The cgroup filesystems to mount at /sys/fs/cgroup (seen through the
    /// container's cgroup namespace: its own cgroup is the root).
    pub cgroups: Vec<CgroupMount>,
}

/// One cgroup hierarchy mounted inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// Where, relative to /sys/fs/cgroup ("" for cgroup2 on a v2 host).
    pub subdir: String,
    /// "cgroup2", or "cgroup" with `options` naming the v1 controllers.
    pub fstype: &'static str,
    /// Mount options, e.g. "memory" or "cpu,cpuacct".
    pub options: Option<String>,
    /// Writable: only for a delegated cgroup (a user-namespaced container).
    pub writable: bool,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Stop mount propagation to and from the host.
    Private,
    /// Mount the overlay root.
    Overlay {
        lower: PathBuf,
        upper: PathBuf,
        work: PathBuf,
        target: PathBuf,
    },
    /// Create a directory (a mount point), with parents.
    Mkdir(PathBuf),
    /// Create an empty file (a bind target), with parents.
    Touch(PathBuf),
    /// Mount a pseudo filesystem.
    Mount {
        fstype: &'static str,
        target: PathBuf,
        flags: MsFlags,
        data: Option<String>,
    },
    /// Bind a path.
    Bind {
        source: PathBuf,
        target: PathBuf,
        recursive: bool,
        readonly: bool,
    },
    /// Create a symlink `link` → `to`.
    Symlink { to: PathBuf, link: PathBuf },
    /// Switch the root (and detach the old one).
    PivotRoot(PathBuf),
    /// Write a sysctl (path under /proc/sys).
    Sysctl { path: PathBuf, value: String },
    /// Hide a path, when it exists.
    Mask(PathBuf),
    /// Make a path read-only, when it exists.
    ReadonlyPath(PathBuf),
    /// Remount / read-only.
    RootReadonly,
    /// Set the hostname.
    Hostname(String),
    /// Nothing to mount: the point where the steps that need the process in
    /// its cgroup start (the cgroup mounts, which show the cgroup namespace
    /// made there). The steps before it can run while luxc moves the
    /// process into its cgroup; see `split_at_cgroup`.
    InCgroup,
}

const NOSUID_NODEV_NOEXEC: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// The mount steps for `spec`, in the order they must run.
pub fn plan(spec: &RootfsSpec) -> Vec<Step> {
    let m = &spec.merged;
    let at = |p: &str| m.join(p.trim_start_matches('/'));
    let mut steps = vec![
        Step::Private,
        Step::Mkdir(spec.upper.clone()),
        Step::Mkdir(spec.work.clone()),
        Step::Mkdir(m.clone()),
        Step::Overlay {
            lower: spec.lower.clone(),
            upper: spec.upper.clone(),
            work: spec.work.clone(),
            target: m.clone(),
        },
    ];
    for dir in ["proc", "sys", "dev", "tmp", "run"] {
        steps.push(Step::Mkdir(at(dir)));
    }
    steps.push(Step::Mount {
        fstype: "proc",
        target: at("proc"),
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
    });
    steps.push(Step::Mount {
        fstype: "sysfs",
        target: at("sys"),
        flags: NOSUID_NODEV_NOEXEC | MsFlags::MS_RDONLY,
        data: None,
    });
    steps.extend(dev_steps(&at("dev"), spec.new_ipc));
    steps.push(Step::Mount {
        fstype: "tmpfs",
        target: at("tmp"),
        flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        data: Some("mode=1777".into()),
    });
    steps.push(Step::Mount {
        fstype: "tmpfs",
        target: at("run"),
        flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        data: Some("mode=755".into()),
    });
    // As late as possible (more to overlap with the move into the cgroup),
    // but before the user's mounts, which may go under /sys/fs/cgroup.
    steps.push(Step::InCgroup);
    steps.extend(cgroup_steps(&at("sys/fs/cgroup"), &spec.cgroups));
    for user in &spec.mounts {
        let target = at(user.target());
        match user {
            MountSpec::Bind {
                source, readonly, ..
            } => {
                steps.push(if source.is_dir() {
                    Step::Mkdir(target.clone())
                } else {
                    Step::Touch(target.clone())
                });
                steps.push(Step::Bind {
                    source: source.clone(),
                    target,
                    recursive: true,
                    readonly: *readonly,
                });
            }
            MountSpec::Tmpfs { size, .. } => {
                steps.push(Step::Mkdir(target.clone()));
                let data = size.map(|s| format!("size={s}"));
                steps.push(Step::Mount {
                    fstype: "tmpfs",
                    target,
                    flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                    data,
                });
            }
        }
    }
    steps.push(Step::PivotRoot(m.clone()));
    for (key, value) in &spec.sysctl {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        steps.push(Step::Sysctl {
            path,
            value: value.clone(),
        });
    }
    steps.extend(spec.masked.iter().map(|p| Step::Mask(p.into())));
    steps.extend(
        spec.readonly_paths
            .iter()
            .map(|p| Step::ReadonlyPath(p.into())),
    );
    if spec.readonly {
        steps.push(Step::RootReadonly);
    }
    if let Some(h) = &spec.hostname {
        steps.push(Step::Hostname(h.clone()));
    }
    steps
}

/// /sys/fs/cgroup: cgroup2 directly (v2), or a tmpfs holding one mount per
/// v1 hierarchy (v1, hybrid); read-only unless delegated.
fn cgroup_steps(base: &Path, mounts: &[CgroupMount]) -> Vec<Step> {
    let mut steps = Vec::new();
    if mounts.iter().any(|m| !m.subdir.is_empty()) {
        steps.push(Step::Mount {
            fstype: "tmpfs",
            target: base.to_path_buf(),
            flags: NOSUID_NODEV_NOEXEC,
            data: Some("mode=755".into()),
        });
    }
    for m in mounts {
        let target = if m.subdir.is_empty() {
            base.to_path_buf()
        } else {
            base.join(&m.subdir)
        };
        steps.push(Step::Mkdir(target.clone()));
        let mut flags = NOSUID_NODEV_NOEXEC;
        if !m.writable {
            flags |= MsFlags::MS_RDONLY;
        }
        steps.push(Step::Mount {
            fstype: m.fstype,
            target,
            flags,
            data: m.options.clone(),
        });
    }
    steps
}

/// A fresh /dev: tmpfs, host device nodes bound in (works in a user
/// namespace, where mknod does not), a private devpts, shm, and the links.
fn dev_steps(dev: &Path, new_ipc: bool) -> Vec<Step> {
    let mut steps = vec![Step::Mount {
        fstype: "tmpfs",
        target: dev.to_path_buf(),
        flags: MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        data: Some("mode=755,size=65536k".into()),
    }];
    for name in DEVICES {
        steps.push(Step::Touch(dev.join(name)));
        steps.push(Step::Bind {
            source: Path::new("/dev").join(name),
            target: dev.join(name),
            recursive: false,
            readonly: false,
        });
    }
    steps.push(Step::Mkdir(dev.join("pts")));
    steps.push(Step::Mount {
        fstype: "devpts",
        target: dev.join("pts"),
        flags: MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        data: Some("newinstance,ptmxmode=0666,mode=0620".into()),
    });
    steps.push(Step::Symlink {
        to: "pts/ptmx".into(),
        link: dev.join("ptmx"),
    });
    steps.push(Step::Mkdir(dev.join("shm")));
    steps.push(Step::Mount {
        fstype: "tmpfs",
        target: dev.join("shm"),
        flags: NOSUID_NODEV_NOEXEC,
        data: Some("mode=1777,size=65536k".into()),
    });
    if new_ipc {
        steps.push(Step::Mkdir(dev.join("mqueue")));
        steps.push(Step::Mount {
            fstype: "mqueue",
            target: dev.join("mqueue"),
            flags: NOSUID_NODEV_NOEXEC,
            data: None,
        });
    }
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        steps.push(Step::Symlink {
            to: to.into(),
            link: dev.join(link),
        });
    }
    steps
}

/// Runs the steps; the first failure stops and is returned.
pub fn apply(steps: &[Step]) -> Result<(), FsError> {
    for step in steps {
        run(step)?;
    }
    Ok(())
}

/// Splits a plan at its `InCgroup` step: what can run before the process is
/// in its cgroup, and the rest (starting with `InCgroup`; empty when the plan
/// has none).
pub fn split_at_cgroup(mut steps: Vec<Step>) -> (Vec<Step>, Vec<Step>) {
    let at = steps
        .iter()
        .position(|s| *s == Step::InCgroup)
        .unwrap_or(steps.len());
    let rest = steps.split_off(at);
    (steps, rest)
}

fn run(step: &Step) -> Result<(), FsError> {
    match step {
        Step::InCgroup => Ok(()),
        Step::Private => mount::make_private_recursive(),
        Step::Overlay {
            lower,
            upper,
            work,
            target,
        } => mount::overlay(lower, upper, work, target),
        Step::Mkdir(p) => mount::mkdir(p),
        Step::Touch(p) => mount::touch(p),
        Step::Mount {
            fstype,
            target,
            flags,
            data,
        } => mount::fs(fstype, target, *flags, data.as_deref()),
        Step::Bind {
            source,
            target,
            recursive,
            readonly,
        } => mount::bind(source, target, *recursive, *readonly),
        Step::Symlink { to, link } => match std::os::unix::fs::symlink(to, link) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                Err(FsError::new("symlink", link, e))
            }
            _ => Ok(()),
        },
        Step::PivotRoot(root) => mount::pivot_root(root),
        Step::Sysctl { path, value } => {
            std::fs::write(path, value).map_err(|e| FsError::new("write sysctl", path, e))
        }
        Step::Mask(p) => mask(p),
        Step::ReadonlyPath(p) if p.exists() => mount::bind(p, p, true, true),
        Step::ReadonlyPath(_) => Ok(()),
        Step::RootReadonly => mount::remount_readonly(Path::new("/")),
        Step::Hostname(h) => {
            nix::unistd::sethostname(h).map_err(|e| FsError::new("sethostname", Path::new(h), e))
        }
    }
}

fn mask(p: &Path) -> Result<(), FsError> {
    match std::fs::metadata(p) {
        Err(_) => Ok(()), // absent on this kernel: nothing to hide
        Ok(m) if m.is_dir() => mount::fs(
            "tmpfs",
            p,
            MsFlags::MS_RDONLY | NOSUID_NODEV_NOEXEC,
            Some("size=0"),
        ),
        Ok(_) => mount::bind(Path::new("/dev/null"), p, false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RootfsSpec {
        RootfsSpec {
            lower: "/".into(),
            upper: "/s/c/upper".into(),
            work: "/s/c/work".into(),
            merged: "/s/c/rootfs".into(),
            readonly: true,
            new_ipc: true,
            mounts: vec![MountSpec::Tmpfs {
                target: "/data".into(),
                size: Some(1 << 20),
            }],
            sysctl: BTreeMap::from([("net.ipv4.ip_forward".into(), "1".into())]),
            masked: MASKED.iter().map(|s| s.to_string()).collect(),
            readonly_paths: READONLY.iter().map(|s| s.to_string()).collect(),
            hostname: Some("a".into()),
            cgroups: vec![
                CgroupMount {
                    subdir: "memory".into(),
                    fstype: "cgroup",
                    options: Some("memory".into()),
                    writable: false,
                },
                CgroupMount {
                    subdir: "unified".into(),
                    fstype: "cgroup2",
                    options: None,
                    writable: false,
                },
            ],
        }
    }

    #[test]
    fn cgroup_hierarchies_are_mounted_read_only_under_a_tmpfs() {
        let steps = plan(&spec());
        let base = Path::new("/s/c/rootfs/sys/fs/cgroup");
        let tmpfs = index(
            &steps,
            |s| matches!(s, Step::Mount { fstype: "tmpfs", target, .. } if target == base),
        );
        let mem = index(
            &steps,
            |s| matches!(s, Step::Mount { fstype: "cgroup", data: Some(d), flags, .. } if d == "memory" && flags.contains(MsFlags::MS_RDONLY)),
        );
        let sys = index(&steps, |s| {
            matches!(
                s,
                Step::Mount {
                    fstype: "sysfs",
                    ..
                }
            )
        });
        assert!(sys < tmpfs && tmpfs < mem);
        let mut v2 = spec();
        v2.cgroups = vec![CgroupMount {
            subdir: String::new(),
            fstype: "cgroup2",
            options: None,
            writable: true,
        }];
        let steps = plan(&v2);
        assert!(!steps
            .iter()
            .any(|s| matches!(s, Step::Mount { fstype: "tmpfs", target, .. } if target == base)));
        assert!(steps.iter().any(|s| matches!(s, Step::Mount { fstype: "cgroup2", flags, .. } if !flags.contains(MsFlags::MS_RDONLY))));
    }

    fn index(steps: &[Step], pred: impl Fn(&Step) -> bool) -> usize {
        steps.iter().position(pred).expect("step present")
    }

    /// The cgroup mounts come after the `InCgroup` point, and it after the
    /// root, /proc and /dev (the work that overlaps the move into the
    /// cgroup), before the user's mounts and pivot_root.
    #[test]
    fn cgroup_mounts_follow_the_in_cgroup_point() {
        let steps = plan(&spec());
        let point = index(&steps, |s| *s == Step::InCgroup);
        let dev_pts = index(&steps, |s| {
            matches!(
                s,
                Step::Mount {
                    fstype: "devpts",
                    ..
                }
            )
        });
        let first_cgroup = index(
            &steps,
            |s| matches!(s, Step::Mount { target, .. } if target.starts_with("/s/c/rootfs/sys/fs/cgroup")),
        );
        let data = index(
            &steps,
            |s| matches!(s, Step::Mount { target, .. } if target.ends_with("data")),
        );
        assert!(
            dev_pts < point && point < first_cgroup && first_cgroup < data,
            "{steps:#?}"
        );
        let n = steps.len();
        let (before, after) = split_at_cgroup(steps);
        assert_eq!((before.len(), after.len()), (point, n - point));
        assert_eq!(after[0], Step::InCgroup);
        assert!(!before.iter().any(|s| matches!(
            s,
            Step::Mount {
                fstype: "cgroup" | "cgroup2",
                ..
            }
        )));
    }

    #[test]
    fn order_overlay_mounts_pivot_then_knobs() {
        let steps = plan(&spec());
        assert_eq!(steps[0], Step::Private);
        let overlay = index(&steps, |s| matches!(s, Step::Overlay { .. }));
        let proc_ = index(&steps, |s| matches!(s, Step::Mount { fstype: "proc", .. }));
        let data = index(
            &steps,
            |s| matches!(s, Step::Mount { target, .. } if target.ends_with("data")),
        );
        let pivot = index(&steps, |s| matches!(s, Step::PivotRoot(_)));
        let sysctl = index(&steps, |s| matches!(s, Step::Sysctl { .. }));
        let ro_sys = index(&steps, |s| *s == Step::ReadonlyPath("/proc/sys".into()));
        let kcore = index(&steps, |s| *s == Step::Mask("/proc/kcore".into()));
        assert!(
            overlay < proc_ && proc_ < data && data < pivot,
            "{steps:#?}"
        );
        assert!(
            pivot < sysctl && sysctl < ro_sys,
            "sysctls are written before /proc/sys is read-only"
        );
        assert!(pivot < kcore);
        assert_eq!(steps[steps.len() - 2], Step::RootReadonly);
        assert_eq!(steps[steps.len() - 1], Step::Hostname("a".into()));
    }

    #[test]
    fn sysctl_keys_become_proc_paths_and_sys_is_readonly() {
        let steps = plan(&spec());
        assert!(steps.contains(&Step::Sysctl {
            path: "/proc/sys/net/ipv4/ip_forward".into(),
            value: "1".into()
        }));
        let sys = steps
            .iter()
            .find(|s| {
                matches!(
                    s,
                    Step::Mount {
                        fstype: "sysfs",
                        ..
                    }
                )
            })
            .unwrap();
        assert!(matches!(sys, Step::Mount { flags, .. } if flags.contains(MsFlags::MS_RDONLY)));
    }

    #[test]
    fn dev_has_nodes_pts_and_no_mqueue_without_ipc() {
        let mut s = spec();
        s.new_ipc = false;
        let steps = plan(&s);
        for dev in DEVICES {
            assert!(steps.iter().any(|st| matches!(st, Step::Bind { source, .. } if source == &Path::new("/dev").join(dev))));
        }
        assert!(steps.iter().any(|st| matches!(
            st,
            Step::Mount {
                fstype: "devpts",
                ..
            }
        )));
        assert!(!steps.iter().any(|st| matches!(
            st,
            Step::Mount {
                fstype: "mqueue",
                ..
            }
        )));
    }
}
