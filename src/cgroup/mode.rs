//! Detects which cgroup hierarchies a host mounts, from mountinfo under a root directory.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use super::CgroupError;

/// Controller names a v1 hierarchy can carry, used when /proc/cgroups is absent
/// (kernels built without cgroup v1 support drop that file).
const KNOWN_CONTROLLERS: &str =
    "cpuset cpu cpuacct io blkio memory devices freezer net_cls perf_event \
    net_prio hugetlb pids rdma misc debug";

/// How a host lays out its cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupMode {
    /// Only cgroup v1 hierarchies are mounted.
    V1,
    /// Cgroup v1 hierarchies and a cgroup2 mount side by side.
    Hybrid,
    /// Only cgroup2 is mounted.
    V2,
}

impl CgroupMode {
    /// The mode's name as the Lua API and the check report spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupMode::V1 => "v1",
            CgroupMode::Hybrid => "hybrid",
            CgroupMode::V2 => "v2",
        }
    }
}

/// One mounted cgroup hierarchy and the controllers bound to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hierarchy {
    /// Where the hierarchy is mounted, as the host sees it.
    pub mountpoint: PathBuf,
    /// Controllers bound to it; named v1 hierarchies appear as "name=systemd".
    pub controllers: Vec<String>,
}

/// Every cgroup hierarchy a host mounts, and the mode they add up to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CgroupLayout {
    /// The mode the mounts add up to.
    pub mode: CgroupMode,
    /// The cgroup v1 hierarchies, in mount order, each hierarchy once.
    pub v1: Vec<Hierarchy>,
    /// The cgroup2 mount, with the controllers listed in its cgroup.controllers.
    pub unified: Option<Hierarchy>,
}

impl CgroupLayout {
    /// The hierarchy a controller is bound to, v1 first since a controller bound to
    /// a v1 hierarchy cannot be enabled in cgroup2 at the same time.
    pub fn hierarchy_of(&self, controller: &str) -> Option<&Hierarchy> {
        self.v1
            .iter()
            .chain(self.unified.as_ref())
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }
}

/// Reads the cgroup layout of the host whose root is `root` (`Path::new("/")` for this one).
pub fn detect(root: &Path) -> Result<CgroupLayout, CgroupError> {
    let mountinfo = root.join("proc/self/mountinfo");
    let mounts = parse_mountinfo(&mountinfo, &read(&mountinfo)?)?;
    let known = known_controllers(root)?;
    let mut v1: Vec<Hierarchy> = Vec::new();
    let mut unified: Option<Hierarchy> = None;
    let visible: Vec<Mount> = (0..mounts.len())
        .filter(|&i| mounts[i].fstype == "cgroup" || mounts[i].fstype == "cgroup2")
        .filter(|&i| !shadowed(i, &mounts))
        .map(|i| mounts[i].clone())
        .collect();
    for mount in visible {
        match mount.fstype.as_str() {
            "cgroup" => {
                let controllers = mount
                    .super_options
                    .split(',')
                    .filter(|o| o.starts_with("name=") || known.iter().any(|k| k == o))
                    .map(String::from)
                    .collect::<Vec<_>>();
                // A hierarchy bind-mounted at a second place is still one hierarchy.
                if !v1.iter().any(|h| h.controllers == controllers) {
                    v1.push(Hierarchy {
                        mountpoint: mount.mountpoint,
                        controllers,
                    });
                }
            }
            "cgroup2" if unified.is_none() => {
                let file = under(root, &mount.mountpoint).join("cgroup.controllers");
                let controllers = read(&file)?.split_whitespace().map(String::from).collect();
                unified = Some(Hierarchy {
                    mountpoint: mount.mountpoint,
                    controllers,
                });
            }
            _ => {}
        }
    }
    // The mode names the mount shapes, not where the controllers sit: any v1 hierarchy
    // beside cgroup2 is "hybrid", even a lone name=systemd one with every controller in
    // cgroup2, because tools on such a host still find and use v1 paths.
    let mode = match (v1.is_empty(), unified.is_some()) {
        (true, true) => CgroupMode::V2,
        (false, true) => CgroupMode::Hybrid,
        (false, false) => CgroupMode::V1,
        (true, false) => return Err(CgroupError::NotMounted { path: mountinfo }),
    };
    Ok(CgroupLayout { mode, v1, unified })
}

/// Whether a later mount hides `mounts[index]`: mountinfo still lists a mount that
/// another was mounted over (a tmpfs over /sys/fs/cgroup in a private mount namespace,
/// say), and such a hierarchy cannot be reached by its path. It is hidden when a mount
/// listed after it (mountinfo lists a namespace's mounts in the order they were made)
/// sits at its mountpoint or above it without being one of its ancestors (which it
/// was mounted on); a mount stacked at the very same point counts too.
fn shadowed(index: usize, mounts: &[Mount]) -> bool {
    let m = &mounts[index];
    let mut ancestors = Vec::new();
    let mut parent = m.parent_id;
    while let Some(p) = mounts
        .iter()
        .find(|x| x.id == parent && x.id != x.parent_id)
    {
        if ancestors.contains(&p.id) {
            break; // a malformed file; cycles are not worth more than stopping
        }
        ancestors.push(p.id);
        parent = p.parent_id;
    }
    mounts[index + 1..]
        .iter()
        .any(|n| !ancestors.contains(&n.id) && m.mountpoint.starts_with(&n.mountpoint))
}

/// The fields of one mountinfo line that cgroup detection needs.
#[derive(Clone)]
struct Mount {
    id: u64,
    parent_id: u64,
    mountpoint: PathBuf,
    fstype: String,
    super_options: String,
}

/// Parses mountinfo as proc(5) documents it: six fixed fields, optional fields ended by
/// a lone "-", then filesystem type, source and super options.
fn parse_mountinfo(path: &Path, text: &str) -> Result<Vec<Mount>, CgroupError> {
    let parse = |(index, line): (usize, &str)| {
        let fields: Vec<&str> = line.split(' ').collect();
        // The number of optional fields varies, so the separator is searched for.
        let sep = (6..fields.len()).find(|&i| fields[i] == "-");
        let error = |reason| CgroupError::Parse {
            path: path.to_owned(),
            line: index + 1,
            reason,
        };
        let sep = sep.ok_or_else(|| error("no \" - \" separator after six fields"))?;
        let fstype = fields
            .get(sep + 1)
            .ok_or_else(|| error("no filesystem type"))?;
        let number = |i: usize| fields[i].parse::<u64>().map_err(|_| error("bad mount id"));
        Ok(Mount {
            id: number(0)?,
            parent_id: number(1)?,
            mountpoint: unescape(fields[4]),
            fstype: (*fstype).to_owned(),
            super_options: fields.get(sep + 3).copied().unwrap_or("").to_owned(),
        })
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(parse)
        .collect()
}

/// Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134`
/// backslash) so paths with those bytes can be opened.
/// Decodes mountinfo's octal escapes (`\040` for a space) in a path field;
/// also used by teardown, which reads mountinfo too.
pub fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match digits {
            Some(d) if bytes[i] == b'\\' && d[0] <= b'3' => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// The controller names the kernel knows, from /proc/cgroups, or a built-in list
/// when the kernel has no such file.
fn known_controllers(root: &Path) -> Result<Vec<String>, CgroupError> {
    let path = root.join("proc/cgroups");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_whitespace().next())
            .map(String::from)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KNOWN_CONTROLLERS
            .split_whitespace()
            .map(String::from)
            .collect()),
        Err(source) => Err(CgroupError::Read { path, source }),
    }
}

/// A host path read under the root of the tree being inspected.
fn under(root: &Path, host_path: &Path) -> PathBuf {
    root.join(host_path.strip_prefix("/").unwrap_or(host_path))
}

fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
#[path = "mode_tests.rs"]
mod tests;
