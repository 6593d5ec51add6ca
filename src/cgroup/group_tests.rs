//! Tests of cgroup handles: on fixture trees for the file protocol, and on this host's
//! real hierarchies (as root) for creation, limits, membership, freezing and removal.
use super::*;
use crate::cgroup::limits::tests::{hybrid_layout, mount, put, v1_layout, v2_layout};
use crate::cgroup::CgroupMode;

fn message(e: CgroupError) -> String {
    e.to_string()
}

/// A v1 layout of hierarchies whose fixture directories need no control files: no
/// cpuset (which create fills) and no freezer.
fn plain_v1_layout() -> CgroupLayout {
    let mut layout = v1_layout();
    layout.v1.retain(|h| {
        !h.controllers
            .iter()
            .any(|c| c == "cpuset" || c == "freezer")
    });
    layout
}

fn rel(root: &Path, dirs: Vec<PathBuf>) -> Vec<String> {
    dirs.iter()
        .map(|d| d.strip_prefix(root).unwrap().display().to_string())
        .collect()
}

#[test]
fn paths_must_be_plain_and_relative() {
    let dir = tempfile::tempdir().unwrap();
    let layout = plain_v1_layout();
    for (path, reason) in [
        ("/luxc/a", "must be relative to the hierarchy roots"),
        ("", "is empty"),
        ("luxc//a", "has an empty component"),
        ("luxc/../a", "must not contain \".\" or \"..\""),
        ("./a", "must not contain \".\" or \"..\""),
    ] {
        let err = message(Cgroup::create(dir.path(), &layout, path).unwrap_err());
        assert_eq!(err, format!("cgroup path '{path}': {reason}"));
    }
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "created something"
    );
}

#[test]
fn create_makes_every_level_in_used_v1_hierarchies_only() {
    let dir = tempfile::tempdir().unwrap();
    let cg = Cgroup::create(
        dir.path(),
        &mount(dir.path(), &plain_v1_layout()),
        "luxc/lab/a/",
    )
    .unwrap();
    assert_eq!(cg.path(), "luxc/lab/a");
    assert_eq!(
        rel(dir.path(), cg.dirs()),
        [
            "sys/fs/cgroup/cpu,cpuacct/luxc/lab/a",
            "sys/fs/cgroup/memory/luxc/lab/a",
            "sys/fs/cgroup/devices/luxc/lab/a",
            "sys/fs/cgroup/blkio/luxc/lab/a",
            "sys/fs/cgroup/pids/luxc/lab/a",
            "sys/fs/cgroup/hugetlb/luxc/lab/a",
        ]
    );
    assert!(!dir.path().join("sys/fs/cgroup/systemd/luxc").exists());
    assert_eq!(
        cg.procs_files()[0],
        dir.path()
            .join("sys/fs/cgroup/cpu,cpuacct/luxc/lab/a/cgroup.procs")
    );
}

#[test]
fn open_finds_existing_groups_only() {
    let dir = tempfile::tempdir().unwrap();
    let layout = plain_v1_layout();
    fs::create_dir_all(dir.path().join("sys/fs/cgroup/pids/only-here")).unwrap();
    let cg = Cgroup::open(dir.path(), &layout, "only-here").unwrap();
    assert_eq!(rel(dir.path(), cg.dirs()), ["sys/fs/cgroup/pids/only-here"]);
    assert_eq!(
        message(Cgroup::open(dir.path(), &layout, "nowhere").unwrap_err()),
        "cgroup 'nowhere' does not exist in any hierarchy"
    );
}

#[test]
fn create_fills_empty_v1_cpusets_from_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut layout = v1_layout();
    layout.v1.retain(|h| h.controllers == ["cpuset"]);
    put(root, "sys/fs/cgroup/cpuset/cpuset.cpus", "0-3\n");
    put(root, "sys/fs/cgroup/cpuset/cpuset.mems", "0-1\n");
    // A level someone already narrowed keeps its sets ...
    put(root, "sys/fs/cgroup/cpuset/luxc/cpuset.cpus", "2-3\n");
    put(root, "sys/fs/cgroup/cpuset/luxc/cpuset.mems", "1\n");
    // ... and the new one, empty as the kernel's mkdir leaves it, gets the parent's.
    put(root, "sys/fs/cgroup/cpuset/luxc/a/cpuset.cpus", "\n");
    put(root, "sys/fs/cgroup/cpuset/luxc/a/cpuset.mems", "");
    Cgroup::create(root, &layout, "luxc/a").unwrap();
    let read = |f: &str| fs::read_to_string(root.join("sys/fs/cgroup/cpuset").join(f)).unwrap();
    assert_eq!(read("luxc/cpuset.cpus"), "2-3\n");
    assert_eq!(read("luxc/a/cpuset.cpus"), "2-3");
    assert_eq!(read("luxc/a/cpuset.mems"), "1");
}

#[test]
fn create_enables_offered_controllers_in_every_v2_ancestor() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        "sys/fs/cgroup/cgroup.controllers",
        "cpuset cpu io memory hugetlb pids rdma misc\n",
    );
    put(root, "sys/fs/cgroup/cgroup.subtree_control", "\n");
    // An existing level, as the kernel shows it: offers what its parent enabled.
    put(
        root,
        "sys/fs/cgroup/luxc/cgroup.controllers",
        "cpu memory pids\n",
    );
    put(
        root,
        "sys/fs/cgroup/luxc/cgroup.subtree_control",
        "memory\n",
    );
    let cg = Cgroup::create(root, &v2_layout(), "luxc/a").unwrap();
    let read = |f: &str| fs::read_to_string(root.join("sys/fs/cgroup").join(f)).unwrap();
    assert_eq!(
        read("cgroup.subtree_control"),
        "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc"
    );
    assert_eq!(read("luxc/cgroup.subtree_control"), "+cpu +pids");
    assert_eq!(rel(root, cg.dirs()), ["sys/fs/cgroup/luxc/a"]);
}

#[test]
fn create_removes_what_it_made_when_a_later_hierarchy_fails() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // pids is the last hierarchy; a file where its group should go makes mkdir fail.
    put(root, "sys/fs/cgroup/pids/luxc", "not a directory");
    let err =
        message(Cgroup::create(root, &mount(root, &plain_v1_layout()), "luxc/a").unwrap_err());
    assert!(err.starts_with("create "), "{err}");
    assert!(err.contains("sys/fs/cgroup/pids/luxc: "), "{err}");
    for h in ["cpu,cpuacct", "memory", "devices", "blkio"] {
        assert!(
            !root.join("sys/fs/cgroup").join(h).join("luxc").exists(),
            "{h} left behind"
        );
    }
}

#[test]
fn set_writes_the_plan_and_names_file_and_value_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cg = Cgroup::create(root, &mount(root, &plain_v1_layout()), "g").unwrap();
    put(root, "sys/fs/cgroup/pids/g/pids.max", "max\n");
    let limits = Limits {
        pids: Some(12),
        ..Limits::default()
    };
    cg.set(&limits).unwrap();
    assert_eq!(
        fs::read_to_string(root.join("sys/fs/cgroup/pids/g/pids.max")).unwrap(),
        "12"
    );
    // A control file the kernel does not offer is never created.
    let limits = Limits {
        memory: Some(1 << 20),
        ..Limits::default()
    };
    let err = message(cg.set(&limits).unwrap_err());
    let file = root.join("sys/fs/cgroup/memory/g/memory.limit_in_bytes");
    assert!(
        err.starts_with(&format!(
            "write 1048576 to {}: No such file",
            file.display()
        )),
        "{err}"
    );
    assert!(!file.exists());
}

#[test]
fn add_writes_every_procs_file_and_procs_unites_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let layout = mount(root, &plain_v1_layout());
    let cg = Cgroup::create(root, &layout, "g").unwrap();
    for d in cg.dirs() {
        fs::write(d.join("cgroup.procs"), "").unwrap();
    }
    cg.add(4242).unwrap();
    for f in cg.procs_files() {
        assert_eq!(fs::read_to_string(&f).unwrap(), "4242", "{}", f.display());
    }
    put(root, "sys/fs/cgroup/memory/g/cgroup.procs", "7\n3\n4242\n");
    assert_eq!(cg.procs().unwrap(), [3, 7, 4242]);
    put(root, "sys/fs/cgroup/pids/g/cgroup.procs", "x\n");
    let err = message(cg.procs().unwrap_err());
    assert!(
        err.ends_with("pids/g/cgroup.procs: unexpected value 'x'"),
        "{err}"
    );
}

#[test]
fn v1_freeze_and_thaw_write_freezer_state() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut layout = v1_layout();
    layout.v1.retain(|h| h.controllers == ["freezer"]);
    let cg = Cgroup::create(root, &mount(root, &layout), "g").unwrap();
    let state = root.join("sys/fs/cgroup/freezer/g/freezer.state");
    fs::write(&state, "THAWED\n").unwrap();
    assert!(!cg.frozen().unwrap());
    cg.freeze().unwrap();
    assert_eq!(fs::read_to_string(&state).unwrap(), "FROZEN");
    assert!(cg.frozen().unwrap());
    cg.thaw().unwrap();
    assert_eq!(fs::read_to_string(&state).unwrap(), "THAWED");
}

#[test]
fn v2_freeze_that_never_completes_times_out_and_is_undone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, "sys/fs/cgroup/g/cgroup.freeze", "0\n");
    // A fixture's cgroup.events never turns frozen, as a stuck kernel freeze would not.
    put(
        root,
        "sys/fs/cgroup/g/cgroup.events",
        "populated 1\nfrozen 0\n",
    );
    let cg = Cgroup::open(root, &v2_layout(), "g").unwrap();
    let err = message(cg.freeze().unwrap_err());
    assert_eq!(err, "freeze cgroup 'g': not done after 1000 ms");
    assert_eq!(
        fs::read_to_string(root.join("sys/fs/cgroup/g/cgroup.freeze")).unwrap(),
        "0"
    );
    put(
        root,
        "sys/fs/cgroup/g/cgroup.events",
        "populated 1\nfrozen 1\n",
    );
    assert!(cg.frozen().unwrap());
}

#[test]
fn freeze_without_a_freezer_names_what_the_host_has() {
    let dir = tempfile::tempdir().unwrap();
    let cg = Cgroup::create(dir.path(), &mount(dir.path(), &plain_v1_layout()), "g").unwrap();
    let err = message(cg.freeze().unwrap_err());
    assert_eq!(
        err,
        "freeze cgroup 'g': this host (v1) has no freezer controller (v1 hierarchies: \
         cpu,cpuacct memory devices blkio pids hugetlb name=systemd; cgroup2: not mounted)"
    );
}

#[test]
fn destroy_removes_children_first_and_tolerates_missing_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let layout = mount(root, &plain_v1_layout());
    let cg = Cgroup::create(root, &layout, "luxc/a").unwrap();
    fs::create_dir_all(root.join("sys/fs/cgroup/pids/luxc/a/child/grandchild")).unwrap();
    fs::remove_dir(root.join("sys/fs/cgroup/devices/luxc/a")).unwrap();
    cg.destroy().unwrap();
    for h in [
        "cpu,cpuacct",
        "memory",
        "devices",
        "blkio",
        "pids",
        "hugetlb",
    ] {
        let base = root.join("sys/fs/cgroup").join(h);
        assert!(!base.join("luxc/a").exists(), "{h} left behind");
        assert!(base.join("luxc").is_dir(), "{h} parent removed");
    }
}

#[test]
fn kill_refuses_a_group_that_holds_this_process() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cg = Cgroup::create(root, &mount(root, &plain_v1_layout()), "g").unwrap();
    let me = std::process::id();
    put(
        root,
        "sys/fs/cgroup/pids/g/cgroup.procs",
        &format!("{me}\n"),
    );
    assert_eq!(
        message(cg.kill().unwrap_err()),
        format!("kill cgroup 'g': it holds this process ({me}); move it out first")
    );
}

#[test]
fn keyed_reads_flat_keyed_files() {
    let text = "populated 1\nfrozen 0\n";
    assert_eq!(keyed(text, "frozen"), Some(0));
    assert_eq!(keyed(text, "populated"), Some(1));
    assert_eq!(keyed(text, "froze"), None);
}

#[test]
fn hybrid_layout_creates_in_unified_too() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut layout = hybrid_layout();
    layout.v1.retain(|h| h.controllers == ["pids"]);
    mount(root, &layout);
    put(
        root,
        "sys/fs/cgroup/unified/cgroup.controllers",
        "hugetlb\n",
    );
    put(root, "sys/fs/cgroup/unified/cgroup.subtree_control", "");
    let cg = Cgroup::create(root, &layout, "g").unwrap();
    assert_eq!(
        rel(root, cg.dirs()),
        ["sys/fs/cgroup/pids/g", "sys/fs/cgroup/unified/g"]
    );
    assert_eq!(
        fs::read_to_string(root.join("sys/fs/cgroup/unified/cgroup.subtree_control")).unwrap(),
        "+hugetlb"
    );
}

// ---- this host's real hierarchies ----

/// This host's layout when the real-host tests can run (root, a v1 memory hierarchy);
/// otherwise says why they are skipped.
fn host_layout(test: &str) -> Option<CgroupLayout> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("{test}: skipped, needs root");
        return None;
    }
    if !Path::new("/sys/fs/cgroup/memory").is_dir() {
        eprintln!("{test}: skipped, needs the v1 memory hierarchy of a v1 or hybrid host");
        return None;
    }
    Some(crate::cgroup::detect(Path::new("/")).expect("detect this host's cgroups"))
}

/// Removes a test's top group from every hierarchy and reaps its child, even when an
/// assertion failed halfway.
struct HostGuard {
    layout: CgroupLayout,
    top: String,
    child: Option<std::process::Child>,
}

impl HostGuard {
    fn new(layout: &CgroupLayout, tag: &str) -> HostGuard {
        HostGuard {
            layout: layout.clone(),
            top: format!("luxc-test-{}-{tag}", std::process::id()),
            child: None,
        }
    }

    /// Every place a directory of the top group could be, named hierarchies included.
    fn leftovers(&self) -> Vec<PathBuf> {
        self.layout
            .v1
            .iter()
            .chain(self.layout.unified.as_ref())
            .map(|h| h.mountpoint.join(&self.top))
            .filter(|d| d.exists())
            .collect()
    }
}

impl Drop for HostGuard {
    fn drop(&mut self) {
        if let Ok(cg) = Cgroup::open(Path::new("/"), &self.layout, &self.top) {
            let _ = cg.destroy();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `sh -c script` waiting for one line on stdin before it runs `script`, so the
/// test can move it into a group before it allocates anything.
fn spawn_waiting(script: &str) -> std::process::Child {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("read go; {script}"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn sh")
}

fn go(child: &mut std::process::Child) {
    use std::io::Write as _;
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        sleep(Duration::from_millis(10));
    }
}

fn read_trim(path: PathBuf) -> String {
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_owned()
}

#[test]
fn host_group_lifecycle_leaves_nothing_behind() {
    let Some(layout) = host_layout("host_group_lifecycle_leaves_nothing_behind") else {
        return;
    };
    assert_ne!(layout.mode, CgroupMode::V2);
    let root = Path::new("/");
    let mut guard = HostGuard::new(&layout, "life");
    let path = format!("{}/g", guard.top);
    let cg = Cgroup::create(root, &layout, &path).unwrap();
    let expected = layout
        .v1
        .iter()
        .filter(|h| USED_V1.iter().any(|c| carries(h, c)))
        .count()
        + usize::from(layout.unified.is_some());
    assert_eq!(cg.dirs().len(), expected, "{:?}", cg.dirs());

    // The new v1 cpuset level has the root's CPUs, not the kernel's empty default.
    let cpuset = Path::new("/sys/fs/cgroup/cpuset");
    assert_eq!(
        read_trim(cpuset.join(&path).join("cpuset.cpus")),
        read_trim(cpuset.join("cpuset.cpus"))
    );

    let limits = Limits {
        memory: Some(64 << 20),
        pids: Some(16),
        cpus: Some(0.5),
        cpu_weight: Some(200),
        ..Limits::default()
    };
    cg.set(&limits).unwrap();
    let file =
        |h: &str, f: &str| read_trim(Path::new("/sys/fs/cgroup").join(h).join(&path).join(f));
    assert_eq!(file("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(file("pids", "pids.max"), "16");
    assert_eq!(file("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(file("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(
        file("cpu", "cpu.shares"),
        crate::cgroup::limits::cpu_shares(200).to_string()
    );

    guard.child = Some(spawn_waiting("exec sleep 30"));
    let child = guard.child.as_mut().unwrap();
    let pid = child.id() as i32;
    cg.add(pid).unwrap();
    go(child);
    wait_for("sleep to start", || {
        fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    assert_eq!(cg.procs().unwrap(), [pid]);
    let own = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(own.contains(&format!(":memory:/{path}\n")), "{own}");

    cg.freeze().unwrap();
    assert!(cg.frozen().unwrap());
    assert_eq!(file("freezer", "freezer.state"), "FROZEN");
    cg.thaw().unwrap();
    assert!(!cg.frozen().unwrap());
    assert_eq!(file("freezer", "freezer.state"), "THAWED");

    let stats = cg.stats().unwrap();
    assert_eq!(stats.pids.current, 1, "{stats:?}");
    assert_eq!(stats.pids.max, Some(16), "{stats:?}");
    assert!(stats.memory.current > 0, "{stats:?}");
    assert_eq!(stats.memory.max, Some(64 << 20), "{stats:?}");

    cg.kill().unwrap();
    assert_eq!(cg.procs().unwrap(), Vec::<i32>::new());
    let status = guard.child.take().unwrap().wait().unwrap();
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(status.signal(), Some(libc_sigkill()), "{status:?}");

    let dirs = cg.dirs();
    cg.destroy().unwrap();
    for d in dirs {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    Cgroup::open(root, &layout, &guard.top)
        .unwrap()
        .destroy()
        .unwrap();
    assert_eq!(guard.leftovers(), Vec::<PathBuf>::new());
}

fn libc_sigkill() -> i32 {
    Signal::SIGKILL as i32
}

#[test]
fn host_kill_empties_a_forking_group() {
    let Some(layout) = host_layout("host_kill_empties_a_forking_group") else {
        return;
    };
    let root = Path::new("/");
    let mut guard = HostGuard::new(&layout, "fork");
    let path = format!("{}/g", guard.top);
    let cg = Cgroup::create(root, &layout, &path).unwrap();
    cg.set(&Limits {
        pids: Some(32),
        ..Limits::default()
    })
    .unwrap();
    // A shell that keeps starting background sleeps, up to the pids limit.
    guard.child = Some(spawn_waiting("while :; do sleep 30 & done 2>/dev/null"));
    let child = guard.child.as_mut().unwrap();
    cg.add(child.id() as i32).unwrap();
    go(child);
    wait_for("the shell to fork", || {
        cg.procs().is_ok_and(|p| p.len() > 3)
    });
    cg.kill().unwrap();
    assert_eq!(cg.procs().unwrap(), Vec::<i32>::new());
    guard.child.take().unwrap().wait().unwrap();
    cg.destroy().unwrap();
    Cgroup::open(root, &layout, &guard.top)
        .unwrap()
        .destroy()
        .unwrap();
    assert_eq!(guard.leftovers(), Vec::<PathBuf>::new());
}

#[test]
fn host_write_error_names_file_and_value() {
    let Some(layout) = host_layout("host_write_error_names_file_and_value") else {
        return;
    };
    let root = Path::new("/");
    let guard = HostGuard::new(&layout, "badwrite");
    let path = format!("{}/g", guard.top);
    let cg = Cgroup::create(root, &layout, &path).unwrap();
    // set() passes raw values through; the kernel refuses this one.
    let mut limits = Limits::default();
    limits.raw.insert("pids.max".into(), "lots".into());
    let err = message(cg.set(&limits).unwrap_err());
    assert!(
        err.starts_with(&format!(
            "write lots to /sys/fs/cgroup/pids/{path}/pids.max: Invalid argument"
        )),
        "{err}"
    );
    cg.destroy().unwrap();
    Cgroup::open(root, &layout, &guard.top)
        .unwrap()
        .destroy()
        .unwrap();
    assert_eq!(guard.leftovers(), Vec::<PathBuf>::new());
}
