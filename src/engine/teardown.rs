//! Teardown: walks a lab's journal backwards and removes exactly the objects it
//! records, through a `Remover` so tests can record instead of touching the host.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::mount::{umount2, MntFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::journal::{Journal, JournalError, Object};

/// Removes one journaled object.
pub trait Remover {
    /// Removes `object`; Ok also when it is already gone.
    fn remove(&mut self, object: &Object) -> Result<(), String>;
}

/// What a teardown did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Objects removed (or found gone) in this call.
    pub removed: usize,
    /// Objects that could not be removed, with why; they stay in the journal.
    pub failed: Vec<(Object, String)>,
}

/// Removes every object of the journal not yet marked removed — done or only intended,
/// since luxc may have died half way through creating it — newest first. Each removal
/// is recorded at once, so a teardown that is itself killed resumes where it stopped;
/// a failure is reported and the rest are still removed. A second call removes nothing.
pub fn teardown(journal: &mut Journal, remover: &mut dyn Remover) -> Result<Report, JournalError> {
    let entries = journal.entries()?;
    let mut report = Report::default();
    for entry in entries.iter().rev().filter(|e| !e.removed) {
        match remover.remove(&entry.object) {
            Ok(()) => {
                journal.removed(entry.id)?;
                report.removed += 1;
                super::progress::step(&entry.object);
            }
            Err(reason) => {
                tracing::warn!(lab = journal.lab(), object = %entry.object, %reason, "teardown failed");
                report.failed.push((entry.object.clone(), reason));
            }
        }
    }
    Ok(report)
}

/// Ends a lab whose objects are all removed: deletes the journal and the lab's
/// directory if that is now empty. With objects left it keeps both and says how many.
pub fn finish(journal: Journal) -> Result<(), JournalError> {
    let remaining = journal.entries()?.iter().filter(|e| !e.removed).count();
    if remaining > 0 {
        return Err(JournalError::Unfinished {
            lab: journal.lab().to_owned(),
            remaining,
            path: journal.path().to_owned(),
        });
    }
    let path = journal.path().to_owned();
    let dir = journal.dir().to_owned();
    // Unlinked while the lock (held through the journal's fd) is still ours:
    // another luxc can never lock this file in between and then lose it.
    let removed = fs::remove_file(&path);
    drop(journal);
    match removed {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(JournalError::Io {
                what: "remove journal",
                path,
                source,
            })
        }
    }
    match fs::remove_dir(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {
            // Something not in the journal is there; it is not ours to delete.
            tracing::warn!(dir = %dir.display(), "lab dir kept: it holds files the journal does not record");
            Ok(())
        }
        Err(source) => Err(JournalError::Io {
            what: "remove lab dir",
            path: dir,
            source,
        }),
    }
}

/// Where network namespace pins live; a lab's may be removed from there too.
const NETNS_DIR: &str = "/run/netns";

/// How long a SIGKILLed process may take to die, and how often to look.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);
const KILL_POLL: Duration = Duration::from_millis(5);

/// Removes objects from this host, refusing anything outside the lab's own places.
#[derive(Debug, Clone)]
pub struct HostRemover {
    /// The lab's state directory; dirs and files must be inside it.
    pub lab_dir: PathBuf,
    /// Where proc is mounted, normally "/proc".
    pub proc_root: PathBuf,
    /// The host's cgroup layout, read at the first cgroup removed (a lab
    /// has two or more; mountinfo need not be parsed for each).
    layout: Option<crate::cgroup::CgroupLayout>,
}

impl HostRemover {
    /// A remover for the lab whose state directory is `lab_dir`, reading /proc.
    pub fn new(lab_dir: impl Into<PathBuf>) -> HostRemover {
        HostRemover {
            lab_dir: lab_dir.into(),
            proc_root: PathBuf::from("/proc"),
            layout: None,
        }
    }

    fn remove_process(&self, pid: i32, start_time: u64, name: &str) -> Result<(), String> {
        let what = format!("process {pid} ({name})");
        // kill(2) with 0 or a negative pid signals whole process groups.
        if pid <= 0 {
            return Err(format!("refusing to kill {what}: not a single process"));
        }
        if pid as u32 == std::process::id() {
            return Err(format!("refusing to kill {what}: it is luxc itself"));
        }
        // A pidfd opened before the start time is checked pins that process, so the
        // signal cannot reach a process that took over the pid in between.
        let pidfd = match pidfd_open(pid) {
            Ok(fd) => Some(fd),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(()),
            Err(_) => None, // older kernel: kill(2) after the check, a tiny window
        };
        if !self.is_alive(pid, start_time, &what)? {
            return Ok(());
        }
        let sent = match &pidfd {
            Some(fd) => pidfd_kill(fd),
            None => kill(Pid::from_raw(pid), Signal::SIGKILL).map_err(io::Error::from),
        };
        match sent {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(()),
            Err(e) => return Err(format!("kill {what}: {e}")),
        }
        let deadline = Instant::now() + KILL_TIMEOUT;
        while self.is_alive(pid, start_time, &what)? {
            if Instant::now() >= deadline {
                return Err(format!(
                    "{what} still alive {} s after SIGKILL",
                    KILL_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(KILL_POLL);
        }
        Ok(())
    }

    /// Whether the journaled process still runs: same pid, same start time, not a
    /// zombie (a zombie is dead; its parent reaps it).
    fn is_alive(&self, pid: i32, start_time: u64, what: &str) -> Result<bool, String> {
        match read_stat(&self.proc_root, pid) {
            Ok(Some(stat)) => Ok(stat.start_time == start_time && !matches!(stat.state, 'Z' | 'X')),
            Ok(None) => Ok(false),
            Err(e) => Err(format!("{what}: {e}")),
        }
    }

    fn remove_dir(&self, path: &Path) -> Result<(), String> {
        let real = match locate(path, &self.lab_dir)? {
            Place::Gone => return Ok(()),
            Place::At(real) => real,
            Place::Outside => return Err(self.refusal("dir", path, false)),
        };
        self.unmount_under(&real)?;
        match fs::remove_dir_all(&real) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("remove dir {}: {e}", real.display())),
        }
    }

    /// Detaches every mount at or below `dir`, deepest first, so removing the tree
    /// never deletes files of a mounted filesystem.
    fn unmount_under(&self, dir: &Path) -> Result<(), String> {
        // thread-self: the mount namespace this thread will unmount in.
        let mountinfo = self.proc_root.join("thread-self/mountinfo");
        let text = fs::read_to_string(&mountinfo)
            .map_err(|e| format!("read {}: {e}", mountinfo.display()))?;
        let mut points: Vec<PathBuf> = text
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .map(crate::cgroup::unescape_mountinfo)
            .filter(|point| point.starts_with(dir))
            .collect();
        points.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
        for point in points {
            match umount2(&point, MntFlags::MNT_DETACH) {
                // Gone with an earlier detach of a mount above it.
                Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
                Err(e) => {
                    return Err(format!(
                        "unmount {} before removing {}: {e}",
                        point.display(),
                        dir.display()
                    ))
                }
            }
        }
        Ok(())
    }

    fn remove_mount(&self, path: &Path) -> Result<(), String> {
        let real = match self.locate_lab_or_netns(path)? {
            Place::Gone => return Ok(()),
            Place::At(real) => real,
            Place::Outside => return Err(self.refusal("mount", path, true)),
        };
        match umount2(&real, MntFlags::MNT_DETACH) {
            // EINVAL: not a mount point (any more).
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(format!("unmount {}: {e}", real.display())),
        }
    }

    fn remove_file(&self, path: &Path) -> Result<(), String> {
        let real = match self.locate_lab_or_netns(path)? {
            Place::Gone => return Ok(()),
            Place::At(real) => real,
            Place::Outside => return Err(self.refusal("file", path, true)),
        };
        match fs::remove_file(&real) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("remove file {}: {e}", real.display())),
        }
    }

    fn locate_lab_or_netns(&self, path: &Path) -> Result<Place, String> {
        match locate(path, &self.lab_dir)? {
            Place::Outside => locate(path, Path::new(NETNS_DIR)),
            place => Ok(place),
        }
    }

    fn refusal(&self, kind: &str, path: &Path, netns: bool) -> String {
        let netns = if netns { " or /run/netns" } else { "" };
        format!(
            "refusing to remove {kind} {}: not inside the lab dir {}{netns}",
            path.display(),
            self.lab_dir.display()
        )
    }
}

impl Remover for HostRemover {
    fn remove(&mut self, object: &Object) -> Result<(), String> {
        match object {
            Object::Process {
                pid,
                start_time,
                name,
            } => self.remove_process(*pid, *start_time, name),
            Object::Dir { path } => self.remove_dir(path),
            Object::Mount { path } => self.remove_mount(path),
            Object::File { path } => self.remove_file(path),
            Object::Cgroup { path } => self.remove_cgroup(path),
            Object::Netns { path } => {
                self.remove_mount(path)?;
                self.remove_file(path)
            }
            Object::Link {
                netns,
                name,
                alias,
                with_netns,
                mac,
                ..
            } => super::net_teardown::remove_link(
                netns.as_deref(),
                name,
                alias,
                mac.as_deref(),
                *with_netns,
            ),
            Object::NftTable { netns, name } => {
                super::net_teardown::remove_nft_table(netns.as_deref(), name)
            }
            Object::Sysctl { netns, key, old } => {
                super::net_teardown::restore_sysctl(netns.as_deref(), key, old)
            }
            Object::Qdisc { netns, link } => {
                super::net_teardown::remove_qdisc(netns.as_deref(), link)
            }
            Object::Moved {
                netns,
                name,
                host_name,
            } => super::net_teardown::move_back(netns, name, host_name),
            Object::PciDriver {
                address,
                driver,
                root,
            } => super::pci::restore_object(root.as_deref(), address, driver.as_deref()),
        }
    }
}

impl HostRemover {
    /// Kills what is left in a journaled cgroup and removes it from every
    /// hierarchy; a cgroup that is gone already is fine.
    fn remove_cgroup(&mut self, path: &str) -> Result<(), String> {
        let root = Path::new("/");
        if self.layout.is_none() {
            let layout = crate::cgroup::detect(root).map_err(|e| crate::error::chain(&e))?;
            self.layout = Some(layout);
        }
        let layout = self.layout.as_ref().expect("set above");
        remove_cgroup(root, layout, path)
    }
}

fn remove_cgroup(
    root: &Path,
    layout: &crate::cgroup::CgroupLayout,
    path: &str,
) -> Result<(), String> {
    match crate::cgroup::Cgroup::open(root, layout, path) {
        Ok(cg) => cg.destroy().map_err(|e| crate::error::chain(&e)),
        Err(crate::cgroup::CgroupError::NotFound { .. }) => Ok(()),
        Err(e) => Err(crate::error::chain(&e)),
    }
}

/// Where a journaled path really is, relative to the directory it must be inside.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// Nothing is there (any more).
    Gone,
    /// It exists at this path: its parent resolved, its last component not followed,
    /// so a symlink is removed itself and never its target.
    At(PathBuf),
    /// It is (or resolves to) somewhere outside `root`, or is `root` itself.
    Outside,
}

fn locate(path: &Path, root: &Path) -> Result<Place, String> {
    let lexically_inside = || path.starts_with(root) && path != root;
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Place::Outside);
    };
    if !path.is_absolute() {
        return Ok(Place::Outside);
    }
    let canonical = |p: &Path| match fs::canonicalize(p) {
        Ok(real) => Ok(Some(real)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("resolve {}: {e}", p.display())),
    };
    // Without the root or the parent nothing can be there; only say whether it was ours.
    let (Some(root), Some(parent)) = (canonical(root)?, canonical(parent)?) else {
        return Ok(if lexically_inside() {
            Place::Gone
        } else {
            Place::Outside
        });
    };
    let real = parent.join(name);
    if !real.starts_with(&root) || real == root {
        return Ok(Place::Outside);
    }
    match fs::symlink_metadata(&real) {
        Ok(_) => Ok(Place::At(real)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Place::Gone),
        Err(e) => Err(format!("stat {}: {e}", real.display())),
    }
}

/// What teardown needs from /proc/PID/stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 3: R, S, D, Z, …
    pub state: char,
    /// Field 22: when the process started, in clock ticks since boot.
    pub start_time: u64,
}

/// Parses /proc/PID/stat. The command name (field 2) may hold spaces and ')', so
/// fields are counted from the last ')'.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let after_comm = &text[text.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // Fields 4..=21 lie between the state (3) and the start time (22).
    let start_time = fields.nth(22 - 4)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

/// Reads /proc/PID/stat under `proc_root`; None when no such process exists. The
/// creator of a process journals its `start_time` from this.
pub fn read_stat(proc_root: &Path, pid: i32) -> io::Result<Option<ProcStat>> {
    let path = proc_root.join(pid.to_string()).join("stat");
    match fs::read_to_string(&path) {
        Ok(text) => parse_stat(&text).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: unexpected contents", path.display()),
            )
        }),
        // ESRCH: the process died between open and read.
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH) => {
            Ok(None)
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("read {}: {e}", path.display()),
        )),
    }
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just created and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn pidfd_kill(pidfd: &OwnedFd) -> io::Result<()> {
    // SAFETY: a valid pidfd, a signal number, no siginfo and no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
#[path = "teardown_tests.rs"]
mod tests;
