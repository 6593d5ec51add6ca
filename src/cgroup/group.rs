//! A cgroup as one handle over every hierarchy of a host: a directory of the same
//! relative path in each v1 hierarchy luxc uses and in the cgroup2 mount.

use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::limits::{carries, group_dir, locate, mount_dir, no_controller, plan, Version};
use super::{CgroupError, CgroupLayout, Hierarchy, Limits};

/// v1 controllers luxc creates its groups under; a hierarchy carrying none of them (a
/// named one, like name=systemd) is left alone.
const USED_V1: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
    "rdma",
    "misc",
];

/// cgroup2 controllers luxc enables for its groups, where the parent offers them.
const USED_V2: &[&str] = &[
    "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc",
];

/// How long freeze and thaw wait for the kernel to report the new state.
const FREEZE_WAIT: Duration = Duration::from_secs(1);
/// How long kill keeps signalling before it gives up.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// How long rmdir is retried while the kernel still reports the group busy.
const RMDIR_WAIT: Duration = Duration::from_millis(500);

/// A cgroup: the same relative path in each hierarchy luxc uses.
#[derive(Debug, Clone)]
pub struct Cgroup {
    root: PathBuf,
    layout: CgroupLayout,
    path: String,
}

/// How a group is frozen: v1's freezer controller, or cgroup2's core cgroup.freeze.
enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

impl Cgroup {
    /// Creates cgroup `path` (relative, like "luxc/lab/a") with its missing ancestors in
    /// every hierarchy luxc uses, on the host whose root is `root`. On v1 each new cpuset
    /// level gets its parent's CPUs and memory nodes (the kernel leaves them empty, and an
    /// empty cpuset takes no task); on cgroup2 each ancestor's cgroup.subtree_control gets
    /// the controllers luxc uses that it offers. On failure, removes what it created.
    pub fn create(root: &Path, layout: &CgroupLayout, path: &str) -> Result<Cgroup, CgroupError> {
        let cg = Cgroup::handle(root, layout, path)?;
        let mut made = Vec::new();
        match cg.make(&mut made) {
            Ok(()) => Ok(cg),
            Err(e) => {
                for dir in made.iter().rev() {
                    let _ = fs::remove_dir(dir);
                }
                Err(e)
            }
        }
    }

    /// Opens cgroup `path`, which must exist in at least one hierarchy luxc uses.
    pub fn open(root: &Path, layout: &CgroupLayout, path: &str) -> Result<Cgroup, CgroupError> {
        let cg = Cgroup::handle(root, layout, path)?;
        if cg.dirs().is_empty() {
            return Err(CgroupError::NotFound { path: cg.path });
        }
        Ok(cg)
    }

    /// The cgroup's path, relative to each hierarchy's root.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The root of the tree this cgroup lives in (`/` for the host).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host layout this handle was made with.
    pub fn layout(&self) -> &CgroupLayout {
        &self.layout
    }

    /// Every directory of this group that exists, v1 hierarchies first.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.hierarchies()
            .into_iter()
            .map(|h| group_dir(&self.root, h, &self.path))
            .filter(|d| d.is_dir())
            .collect()
    }

    /// The cgroup.procs file of each directory; writing a pid to one moves that process
    /// in that hierarchy.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// Applies `limits`, translated for the hierarchy of each controller.
    pub fn set(&self, limits: &Limits) -> Result<(), CgroupError> {
        for write in plan(limits, &self.root, &self.layout, &self.path)? {
            write_file(&write.path(), &write.value)?;
        }
        Ok(())
    }

    /// Moves process `pid` (with all its threads) into this group in every hierarchy.
    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        for file in self.procs_files() {
            write_file(&file, &pid.to_string())?;
        }
        Ok(())
    }

    /// The processes in this group (not its children), from every hierarchy, sorted.
    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        for file in self.procs_files() {
            pids.extend(read_pids(&file)?);
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Freezes every process of the group and its children, and waits (up to 1 s) until
    /// the kernel reports them frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true, FREEZE_WAIT)
    }

    /// Thaws the group, and waits (up to 1 s) until the kernel reports it thawed.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false, FREEZE_WAIT)
    }

    /// Whether the group is frozen (v1: freezer.state reads FROZEN; v2: cgroup.events
    /// says frozen 1).
    pub fn frozen(&self) -> Result<bool, CgroupError> {
        match self.freezer("frozen")? {
            Freezer::V1(dir) => Ok(read_file(&dir.join("freezer.state"))?.trim() == "FROZEN"),
            Freezer::V2(dir) => {
                let events = dir.join("cgroup.events");
                Ok(keyed(&read_file(&events)?, "frozen") == Some(1))
            }
        }
    }

    /// Kills every process of the group and its children with SIGKILL, and returns once
    /// none is left (up to 5 s). Uses cgroup.kill where cgroup2 has it; then, for what v1
    /// hierarchies still hold, freezes (so nothing forks), signals every member, thaws,
    /// and repeats until the group is empty.
    pub fn kill(&self) -> Result<(), CgroupError> {
        if self.tree_procs()?.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.unified_dir() {
            let file = dir.join("cgroup.kill");
            if file.exists() {
                write_file(&file, "1")?;
            }
        }
        let me = std::process::id() as i32;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let pids = self.tree_procs()?;
            if pids.is_empty() {
                return Ok(());
            }
            if pids.contains(&me) {
                return Err(CgroupError::HoldsSelf {
                    path: self.path.clone(),
                    pid: me,
                });
            }
            if start.elapsed() > KILL_WAIT {
                return Err(CgroupError::Timeout {
                    what: "kill",
                    path: self.path.clone(),
                    waited: KILL_WAIT,
                });
            }
            // Freezing is best effort: a group with no freezer is still killed, only with
            // a window for forks, which the next round catches.
            let froze = self.set_frozen(true, Duration::from_millis(100)).is_ok();
            for pid in pids {
                match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(source) => {
                        if froze {
                            let _ = self.set_frozen(false, FREEZE_WAIT);
                        }
                        return Err(CgroupError::Signal {
                            pid,
                            path: self.path.clone(),
                            source,
                        });
                    }
                }
            }
            // A frozen task acts on SIGKILL only once thawed (v1 keeps it in the
            // refrigerator until then).
            if froze {
                self.set_frozen(false, FREEZE_WAIT)?;
            }
            sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Kills the group's processes, then removes its directories (children first) from
    /// every hierarchy. Directories already gone are fine; a busy one is retried briefly.
    pub fn destroy(self) -> Result<(), CgroupError> {
        self.kill()?;
        for h in self.hierarchies() {
            remove_tree(&group_dir(&self.root, h, &self.path))?;
        }
        Ok(())
    }

    /// This group's directory in the hierarchy that carries `v1` (on v1) or `v2` (in
    /// cgroup2), with the version, whether or not it exists.
    /// (A group opened with `open` may exist in some hierarchies only: where
    /// its directory is missing, the controller counts as absent for it.)
    pub(super) fn dir_for(&self, v1: &str, v2: &str) -> Option<(Version, PathBuf)> {
        locate(&self.layout, v1, v2)
            .map(|at| (at.version, at.dir(&self.root, &self.path)))
            .filter(|(_, dir)| dir.is_dir())
    }

    /// This group's directory in the cgroup2 mount, if the host has one.
    pub(super) fn unified_dir(&self) -> Option<PathBuf> {
        self.layout
            .unified
            .as_ref()
            .map(|h| group_dir(&self.root, h, &self.path))
    }

    /// A handle after checking the path; touches nothing.
    fn handle(root: &Path, layout: &CgroupLayout, path: &str) -> Result<Cgroup, CgroupError> {
        Ok(Cgroup {
            root: root.to_owned(),
            layout: layout.clone(),
            path: clean_path(path)?,
        })
    }

    /// The hierarchies this group lives in: v1 ones carrying a controller luxc uses, then
    /// the cgroup2 mount.
    fn hierarchies(&self) -> Vec<&Hierarchy> {
        self.layout
            .v1
            .iter()
            .filter(|h| USED_V1.iter().any(|c| carries(h, c)))
            .chain(self.layout.unified.as_ref())
            .collect()
    }

    /// Creates every missing level in every hierarchy, recording what it made.
    fn make(&self, made: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        let parts: Vec<&str> = self.path.split('/').collect();
        for h in &self.layout.v1 {
            if !USED_V1.iter().any(|c| carries(h, c)) {
                continue;
            }
            let mut dir = mount_dir(&self.root, h);
            for part in &parts {
                let parent = dir.clone();
                dir.push(part);
                let created = make_dir(&dir, made)?;
                if carries(h, "cpuset") {
                    fill_cpuset(&parent, &dir)?;
                }
                if created && carries(h, "memory") {
                    // Always 1 on kernels since 6.0, and refused once a group has
                    // children on older ones; either way not worth failing over.
                    let _ = write_file(&dir.join("memory.use_hierarchy"), "1");
                }
            }
        }
        if let Some(h) = &self.layout.unified {
            let mut dir = mount_dir(&self.root, h);
            for part in &parts {
                enable_controllers(&dir)?;
                dir.push(part);
                make_dir(&dir, made)?;
            }
        }
        Ok(())
    }

    /// The freezer of this group, or the error for a host without one.
    fn freezer(&self, what: &str) -> Result<Freezer, CgroupError> {
        // v1's freezer first, as for any controller; cgroup2's freeze is core (Linux 5.2)
        // and needs no controller, only the file.
        if let Some(h) = self.layout.v1.iter().find(|h| carries(h, "freezer")) {
            return Ok(Freezer::V1(group_dir(&self.root, h, &self.path)));
        }
        if let Some(dir) = self.unified_dir() {
            if dir.join("cgroup.freeze").exists() {
                return Ok(Freezer::V2(dir));
            }
        }
        Err(no_controller(
            format!("{what} cgroup '{}'", self.path),
            &self.layout,
            "freezer",
        ))
    }

    /// Freezes or thaws, and waits up to `wait` for the kernel to report it. A freeze
    /// that does not finish is undone, so no group is left half frozen.
    fn set_frozen(&self, frozen: bool, wait: Duration) -> Result<(), CgroupError> {
        let what = if frozen { "freeze" } else { "thaw" };
        let freezer = self.freezer(what)?;
        let (file, value, done) = match &freezer {
            Freezer::V1(dir) => (
                dir.join("freezer.state"),
                if frozen { "FROZEN" } else { "THAWED" },
                dir.join("freezer.state"),
            ),
            Freezer::V2(dir) => (
                dir.join("cgroup.freeze"),
                if frozen { "1" } else { "0" },
                dir.join("cgroup.events"),
            ),
        };
        let reached = || -> Result<bool, CgroupError> {
            let text = read_file(&done)?;
            Ok(match freezer {
                Freezer::V1(_) => text.trim() == value,
                Freezer::V2(_) => keyed(&text, "frozen") == Some(u64::from(frozen)),
            })
        };
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            // v1 moves tasks that were busy when FROZEN was first written only when it is
            // written again (runc does the same).
            write_file(&file, value)?;
            if reached()? {
                return Ok(());
            }
            if start.elapsed() >= wait {
                if frozen {
                    let _ = self.set_frozen(false, FREEZE_WAIT);
                }
                return Err(CgroupError::Timeout {
                    what,
                    path: self.path.clone(),
                    waited: wait,
                });
            }
            sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// The processes of this group and of every group below it, in every hierarchy.
    fn tree_procs(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        for dir in self.dirs() {
            collect_tree_procs(&dir, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }
}

impl std::fmt::Display for Cgroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cgroup {}", self.path)
    }
}

/// Checks a cgroup path: relative, non-empty components, no "." or "..". Returns it
/// without a trailing '/'.
fn clean_path(path: &str) -> Result<String, CgroupError> {
    let bad = |reason| CgroupError::BadPath {
        path: path.to_owned(),
        reason,
    };
    if path.starts_with('/') {
        return Err(bad("must be relative to the hierarchy roots"));
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Err(bad("is empty"));
    }
    for part in trimmed.split('/') {
        match part {
            "" => return Err(bad("has an empty component")),
            "." | ".." => return Err(bad("must not contain \".\" or \"..\"")),
            _ if part.contains('\n') => return Err(bad("must not contain a newline")),
            _ => {}
        }
    }
    Ok(trimmed.to_owned())
}

/// Creates `dir` unless it exists; true if it made it.
fn make_dir(dir: &Path, made: &mut Vec<PathBuf>) -> Result<bool, CgroupError> {
    match fs::create_dir(dir) {
        Ok(()) => {
            made.push(dir.to_owned());
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(source) => Err(CgroupError::Create {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Copies cpuset.cpus and cpuset.mems from `parent` into `dir` where `dir`'s are empty.
fn fill_cpuset(parent: &Path, dir: &Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if read_file(&dir.join(file))?.trim().is_empty() {
            let value = read_file(&parent.join(file))?;
            write_file(&dir.join(file), value.trim())?;
        }
    }
    Ok(())
}

/// Enables in `dir`'s cgroup.subtree_control the controllers luxc uses that `dir`
/// offers (its cgroup.controllers) and that are not enabled yet.
fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let offered = read_file(&dir.join("cgroup.controllers"))?;
    let control = dir.join("cgroup.subtree_control");
    let enabled = read_file(&control)?;
    let missing: Vec<String> = offered
        .split_whitespace()
        .filter(|c| USED_V2.contains(c))
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if write_file(&control, &missing.join(" ")).is_ok() {
        return Ok(());
    }
    // One write enables all or none; one at a time names the controller refused.
    for one in &missing {
        write_file(&control, one)?;
    }
    Ok(())
}

/// Adds the pids of `dir` and of every directory below it to `pids`. A directory or
/// cgroup.procs that vanishes meanwhile (a child group removed) counts as empty.
fn collect_tree_procs(dir: &Path, pids: &mut Vec<i32>) -> Result<(), CgroupError> {
    match read_pids(&dir.join("cgroup.procs")) {
        Ok(found) => pids.extend(found),
        Err(CgroupError::Read { source, .. }) if source.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    for child in child_dirs(dir)? {
        collect_tree_procs(&child, pids)?;
    }
    Ok(())
}

/// The child groups of `dir` (its subdirectories); none if `dir` is gone.
fn child_dirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.to_owned(),
                source,
            })
        }
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CgroupError::Read {
            path: dir.to_owned(),
            source,
        })?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Removes `dir` after its child groups; gone already is fine, busy is retried.
fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    for child in child_dirs(dir)? {
        remove_tree(&child)?;
    }
    let start = Instant::now();
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            // Exiting tasks can hold a group for a moment after cgroup.procs is empty.
            Err(e)
                if e.raw_os_error() == Some(Errno::EBUSY as i32)
                    && start.elapsed() < RMDIR_WAIT =>
            {
                sleep(Duration::from_millis(10));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
}

/// Reads a cgroup.procs file: one pid a line.
fn read_pids(file: &Path) -> Result<Vec<i32>, CgroupError> {
    read_file(file)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.trim().parse::<i32>() {
            Ok(pid) if pid > 0 => Ok(pid),
            _ => Err(CgroupError::Value {
                path: file.to_owned(),
                value: l.to_owned(),
            }),
        })
        .collect()
}

/// The value of `key` in a flat-keyed file ("frozen 1\npopulated 0").
pub(super) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// Reads a control file.
pub(super) fn read_file(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Writes `value` to an existing control file in one write. The file is never created:
/// cgroupfs answers a missing file with a misleading "Permission denied".
pub(super) fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    let error = |source| CgroupError::Write {
        path: path.to_owned(),
        value: value.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(error)?;
    file.write_all(value.as_bytes()).map_err(error)
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
