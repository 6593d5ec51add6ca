//! Tests of cgroup layout detection on fixture trees and on this host.
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

/// A private mount namespace that hid the host's tree under a fresh tmpfs and mounted
/// only the cpu hierarchy again: mountinfo still lists the hidden mounts.
#[test]
fn hierarchies_hidden_by_a_later_mount_are_ignored() {
    let info = format!(
        "{HYBRID}\
50 23 0:60 / /sys/fs/cgroup rw,relatime - tmpfs cgroup rw,mode=755
51 50 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
"
    );
    let dir = tree(&info, Some(PROC_CGROUPS), &[]);
    let layout = detect(dir.path()).unwrap();
    assert_eq!(layout.mode, CgroupMode::V1);
    assert!(layout.unified.is_none(), "{layout:?}");
    assert_eq!(layout.v1.len(), 1, "{layout:?}");
    assert_eq!(names(&layout.v1[0]), "cpu");
    assert_eq!(layout.hierarchy_of("memory"), None);
}

/// A mount stacked on the very mountpoint of a hierarchy hides it too; a mount below
/// a hierarchy's mountpoint (its child) does not.
#[test]
fn stacked_mounts_hide_and_child_mounts_do_not() {
    let info = format!(
        "{HYBRID}\
60 35 0:70 / /sys/fs/cgroup/memory rw,relatime - tmpfs none rw
61 36 0:71 / /sys/fs/cgroup/pids/sub rw,relatime - tmpfs none rw
"
    );
    let list = "hugetlb\n";
    let dir = tree(
        &info,
        Some(PROC_CGROUPS),
        &[("sys/fs/cgroup/unified", list)],
    );
    let layout = detect(dir.path()).unwrap();
    assert_eq!(layout.mode, CgroupMode::Hybrid);
    assert_eq!(layout.hierarchy_of("memory"), None, "{layout:?}");
    assert!(layout.hierarchy_of("pids").is_some(), "{layout:?}");
    assert!(layout.hierarchy_of("cpu").is_some());
}
