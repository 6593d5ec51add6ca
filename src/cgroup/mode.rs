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
    for mount in mounts {
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

/// The fields of one mountinfo line that cgroup detection needs.
struct Mount {
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
        Ok(Mount {
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
fn unescape(field: &str) -> PathBuf {
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
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime shared:7 - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const PROC_CGROUPS: &str = "#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1\ncpu\t1\t1\t1\nmemory\t4\t50\t1\npids\t8\t1\t1\nhugetlb\t0\t1\t1\n";

    /// A tree holding mountinfo, optionally /proc/cgroups, and cgroup.controllers files.
    fn tree(
        mountinfo: &str,
        proc_cgroups: Option<&str>,
        controllers: &[(&str, &str)],
    ) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("proc/self/mountinfo", mountinfo);
        if let Some(text) = proc_cgroups {
            write("proc/cgroups", text);
        }
        for (mountpoint, list) in controllers {
            write(&format!("{mountpoint}/cgroup.controllers"), list);
        }
        dir
    }

    fn names(h: &Hierarchy) -> String {
        h.controllers.join(" ")
    }

    #[test]
    fn pure_v2_host() {
        let info = "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let list = "cpuset cpu io memory hugetlb pids rdma misc\n";
        let dir = tree(info, None, &[("sys/fs/cgroup", list)]);
        let layout = detect(dir.path()).unwrap();
        assert_eq!(layout.mode, CgroupMode::V2);
        assert!(layout.v1.is_empty());
        let unified = layout.unified.as_ref().unwrap();
        assert_eq!(unified.mountpoint, Path::new("/sys/fs/cgroup"));
        assert_eq!(
            names(unified),
            "cpuset cpu io memory hugetlb pids rdma misc"
        );
        assert_eq!(layout.hierarchy_of("memory"), Some(unified));
    }

    #[test]
    fn hybrid_host_like_this_one() {
        let dir = tree(
            HYBRID,
            Some(PROC_CGROUPS),
            &[("sys/fs/cgroup/unified", "hugetlb\n")],
        );
        let layout = detect(dir.path()).unwrap();
        assert_eq!(layout.mode, CgroupMode::Hybrid);
        let v1: Vec<String> = layout.v1.iter().map(names).collect();
        assert_eq!(v1, ["cpu", "cpuset", "memory", "pids", "name=systemd"]);
        assert_eq!(
            layout.hierarchy_of("memory").unwrap().mountpoint,
            Path::new("/sys/fs/cgroup/memory")
        );
        assert_eq!(names(layout.unified.as_ref().unwrap()), "hugetlb");
    }

    #[test]
    fn named_v1_beside_full_cgroup2_is_still_hybrid() {
        let info = "\
40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
";
        let dir = tree(
            info,
            Some(PROC_CGROUPS),
            &[("sys/fs/cgroup/unified", "cpu memory pids")],
        );
        assert_eq!(detect(dir.path()).unwrap().mode, CgroupMode::Hybrid);
    }

    #[test]
    fn pure_v1_host_dedupes_bind_mounts() {
        let info = "\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
50 31 0:32 / /mnt/memory-again rw - cgroup cgroup rw,memory
";
        let dir = tree(info, None, &[]);
        let layout = detect(dir.path()).unwrap();
        assert_eq!(layout.mode, CgroupMode::V1);
        assert_eq!(
            layout.v1.iter().map(names).collect::<Vec<_>>(),
            ["cpu cpuacct", "memory"]
        );
        assert!(layout.unified.is_none());
    }

    #[test]
    fn escaped_space_in_mount_point() {
        let info = "41 31 0:38 / /run/my\\040cgroup rw - cgroup2 cgroup2 rw\n";
        let dir = tree(info, None, &[("run/my cgroup", "memory pids")]);
        let layout = detect(dir.path()).unwrap();
        let unified = layout.unified.unwrap();
        assert_eq!(unified.mountpoint, Path::new("/run/my cgroup"));
        assert_eq!(names(&unified), "memory pids");
        assert_eq!(unescape("a\\134b\\011c\\9"), Path::new("a\\b\tc\\9"));
    }

    #[test]
    fn missing_mountinfo_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = detect(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("read ") && text.contains("proc/self/mountinfo"),
            "{text}"
        );
        assert!(
            std::error::Error::source(&err).is_some(),
            "io error kept as source"
        );
    }

    #[test]
    fn malformed_line_and_no_cgroup_mount_are_errors() {
        let dir = tree("1 2 3 4\n", None, &[]);
        let text = detect(dir.path()).unwrap_err().to_string();
        assert!(
            text.contains("mountinfo line 1: no \" - \" separator"),
            "{text}"
        );
        let dir = tree("31 23 0:28 / /tmp rw - tmpfs tmpfs rw\n", None, &[]);
        let text = detect(dir.path()).unwrap_err().to_string();
        assert!(text.starts_with("no cgroup filesystem mounted"), "{text}");
    }

    #[test]
    fn this_host_is_hybrid() {
        if !Path::new("/proc/self/mountinfo").exists() {
            eprintln!("skipped: no /proc/self/mountinfo on this machine");
            return;
        }
        let layout = detect(Path::new("/")).unwrap();
        assert_eq!(layout.mode, CgroupMode::Hybrid, "{layout:?}");
        assert!(
            layout
                .hierarchy_of("memory")
                .is_some_and(|h| layout.v1.contains(h)),
            "{layout:?}"
        );
        let unified = layout.unified.as_ref().unwrap();
        assert_eq!(unified.mountpoint, Path::new("/sys/fs/cgroup/unified"));
    }
}
