//! Linux namespaces: the kinds, their clone flags, ids as /proc reports
//! them, and joining one by file descriptor.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sched::CloneFlags;

/// One kind of namespace.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Owns the others when present: created first, joined first.
    User,
    Mount,
    Pid,
    Uts,
    Ipc,
    Net,
    Cgroup,
    Time,
}

/// Every kind, in the order they are created and joined (user first, so it
/// owns the rest; mount last among joins so /proc paths resolve until then).
pub const ALL: [Kind; 8] = [
    Kind::User,
    Kind::Pid,
    Kind::Uts,
    Kind::Ipc,
    Kind::Net,
    Kind::Cgroup,
    Kind::Time,
    Kind::Mount,
];

/// What a container gets when it names none: all but user and time.
pub const DEFAULT: [Kind; 6] = [
    Kind::Mount,
    Kind::Pid,
    Kind::Uts,
    Kind::Ipc,
    Kind::Net,
    Kind::Cgroup,
];

/// Why a namespace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    /// A kind name that is not one of the eight.
    #[error("unknown namespace kind '{0}' (expected one of: cgroup, ipc, mount, net, pid, time, user, uts)")]
    UnknownKind(String),
    /// Reading or opening /proc/PID/ns/KIND failed.
    #[error("{path}: {source}")]
    Proc {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// setns(2) failed.
    #[error("setns {kind} namespace: {source}")]
    Join {
        kind: &'static str,
        #[source]
        source: nix::Error,
    },
}

impl Kind {
    /// The name luxc uses ("mount", "net", …).
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Mount => "mount",
            Kind::Pid => "pid",
            Kind::Uts => "uts",
            Kind::Ipc => "ipc",
            Kind::Net => "net",
            Kind::Cgroup => "cgroup",
            Kind::Time => "time",
        }
    }

    /// The file under /proc/PID/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            Kind::Mount => "mnt",
            other => other.name(),
        }
    }

    /// The clone/unshare flag.
    pub fn flag(self) -> CloneFlags {
        match self {
            Kind::User => CloneFlags::CLONE_NEWUSER,
            Kind::Mount => CloneFlags::CLONE_NEWNS,
            Kind::Pid => CloneFlags::CLONE_NEWPID,
            Kind::Uts => CloneFlags::CLONE_NEWUTS,
            Kind::Ipc => CloneFlags::CLONE_NEWIPC,
            Kind::Net => CloneFlags::CLONE_NEWNET,
            Kind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            // CLONE_NEWTIME shares its value with CSIGNAL bits in clone(2) but
            // is valid for unshare(2) and setns(2).
            Kind::Time => CloneFlags::from_bits_retain(0x80),
        }
    }

    /// Parses a kind name; "mnt" is accepted for "mount".
    pub fn parse(name: &str) -> Result<Kind, NsError> {
        Ok(match name {
            "user" => Kind::User,
            "mount" | "mnt" => Kind::Mount,
            "pid" => Kind::Pid,
            "uts" => Kind::Uts,
            "ipc" => Kind::Ipc,
            "net" => Kind::Net,
            "cgroup" => Kind::Cgroup,
            "time" => Kind::Time,
            other => return Err(NsError::UnknownKind(other.to_string())),
        })
    }
}

/// The union of the flags of `kinds`.
pub fn flags(kinds: &[Kind]) -> CloneFlags {
    kinds
        .iter()
        .fold(CloneFlags::empty(), |acc, k| acc | k.flag())
}

/// The namespace id (inode) of each kind for `pid`, read from
/// `<proc_root>/<pid>/ns/<kind>` ("net:[4026531992]" → 4026531992).
pub fn ids(proc_root: &Path, pid: &str) -> Result<BTreeMap<Kind, u64>, NsError> {
    let mut out = BTreeMap::new();
    for kind in ALL {
        let path = proc_root.join(pid).join("ns").join(kind.proc_name());
        match std::fs::read_link(&path) {
            Ok(target) => {
                if let Some(id) = parse_link(&target.to_string_lossy()) {
                    out.insert(kind, id);
                }
            }
            // A kernel without this kind: leave it out.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(NsError::Proc {
                    path: path.display().to_string(),
                    source,
                })
            }
        }
    }
    Ok(out)
}

/// "net:[4026531992]" → 4026531992.
pub fn parse_link(link: &str) -> Option<u64> {
    let start = link.find('[')? + 1;
    let end = link.rfind(']')?;
    link.get(start..end)?.parse().ok()
}

/// Opens `/proc/<pid>/ns/<kind>` for a later `join`.
pub fn open(proc_root: &Path, pid: i32, kind: Kind) -> Result<File, NsError> {
    let path = proc_root
        .join(pid.to_string())
        .join("ns")
        .join(kind.proc_name());
    File::open(&path).map_err(|source| NsError::Proc {
        path: path.display().to_string(),
        source,
    })
}

/// Joins the namespace behind `fd` (setns(2)); no allocation, so it is safe
/// in a forked child.
pub fn join(fd: &File, kind: Kind) -> Result<(), NsError> {
    nix::sched::setns(fd.as_fd(), kind.flag()).map_err(|source| NsError::Join {
        kind: kind.name(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kind_names_and_links() {
        assert_eq!(Kind::parse("mnt").unwrap(), Kind::Mount);
        assert_eq!(Kind::parse("net").unwrap().proc_name(), "net");
        let err = Kind::parse("netz").unwrap_err().to_string();
        assert!(err.starts_with("unknown namespace kind 'netz'"), "{err}");
        assert_eq!(parse_link("net:[4026531992]"), Some(4026531992));
        assert_eq!(parse_link("garbage"), None);
    }

    #[test]
    fn reads_ids_from_a_fixture_proc() {
        let dir = tempfile::tempdir().unwrap();
        let ns = dir.path().join("42/ns");
        std::fs::create_dir_all(&ns).unwrap();
        std::os::unix::fs::symlink("net:[7]", ns.join("net")).unwrap();
        std::os::unix::fs::symlink("mnt:[9]", ns.join("mnt")).unwrap();
        let ids = ids(dir.path(), "42").unwrap();
        assert_eq!(ids.get(&Kind::Net), Some(&7));
        assert_eq!(ids.get(&Kind::Mount), Some(&9));
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn this_process_has_every_default_kind() {
        let ids = ids(Path::new("/proc"), "self").unwrap();
        for k in DEFAULT {
            assert!(ids.contains_key(&k), "{k:?} missing");
        }
    }
}
