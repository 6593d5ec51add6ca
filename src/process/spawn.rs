//! Forking a process into new namespaces, with sync pipes.
//!
//! luxc forks directly from its own process, which is single-threaded at
//! that point (checked: a fork from a multi-threaded process may deadlock on
//! locks other threads held). The tree: luxc → A (new session, unshares the
//! namespaces) → B (PID 1 of the new pid namespace). A reports B's host pid
//! and exits, so B outlives luxc and is adopted by the host's init. B runs
//! the setup closure, which waits for luxc's "go" where it needs it (luxc
//! journals B and moves it into its cgroup first), and reports: an empty pipe
//! at close means success (the pipe is close-on-exec, so exec of the
//! container's init closes it), any text is the error.
//!
//! Why luxc moves B into its cgroup, instead of A joining it before it
//! forks: on cgroup v1 a move waits for an RCU grace period (the kernel's
//! cgroup_threadgroup_rwsem, taken for writing), 1 to 15 ms on this kind of
//! machine, longer than the rest of a container's start. Done by luxc while B
//! builds its root filesystem, that wait overlaps useful work. B makes its
//! cgroup namespace only after the move (the namespace is rooted at the
//! cgroup its maker is in), just before it mounts /sys/fs/cgroup.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe2, setsid, ForkResult, Pid};

/// Why spawning failed (in luxc, before the child could report).
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// Another thread exists: forking now could deadlock the child.
    #[error("cannot fork into namespaces: luxc has {0} threads (must be 1)")]
    Threads(usize),
    /// A syscall in luxc failed.
    #[error("{step}: {source}")]
    Sys {
        step: &'static str,
        #[source]
        source: nix::Error,
    },
    /// The intermediate process failed before forking PID 1 (e.g. unshare).
    #[error("{0}")]
    Child(String),
}

fn sys(step: &'static str) -> impl FnOnce(nix::Error) -> SpawnError {
    move |source| SpawnError::Sys { step, source }
}

/// The child's end of the sync pipes.
pub struct Handshake {
    from_parent: OwnedFd,
    to_parent: OwnedFd,
    /// Make a cgroup namespace once in the cgroup (the Setup asked for one).
    cgroup_ns: bool,
}

/// What PID 1 learns from waiting for luxc's go.
#[derive(Debug, PartialEq, Eq)]
pub enum Go {
    /// Journaled and in its cgroup (with its cgroup namespace, if asked).
    Go,
    /// luxc closed the pipe without go (it failed, or died): exit quietly.
    Gone,
}

impl Handshake {
    /// Waits for luxc's go, which comes once PID 1 is journaled and in its
    /// cgroup; then makes the cgroup namespace if the Setup asked for one.
    pub fn wait_go(&mut self) -> Result<Go, String> {
        let mut b = [0u8; 1];
        if !matches!(nix::unistd::read(&self.from_parent, &mut b), Ok(1)) {
            return Ok(Go::Gone);
        }
        if self.cgroup_ns {
            unshare(CloneFlags::CLONE_NEWCGROUP)
                .map_err(|e| format!("unshare cgroup namespace: {e}"))?;
        }
        Ok(Go::Go)
    }

    /// Reports a setup error to luxc (then the child should exit).
    pub fn fail(&mut self, message: &str) {
        let _ = nix::unistd::write(&self.to_parent, message.as_bytes());
    }

    /// The fd luxc reads the report from; it is close-on-exec, so a
    /// successful exec reports success by closing it.
    pub fn report_fd(&self) -> RawFd {
        self.to_parent.as_raw_fd()
    }

    /// Closes the report pipe: success, for a child that does not exec.
    pub fn succeed(self) {}
}

/// luxc's side of a spawned namespace tree.
pub struct Spawned {
    /// Host pid of the new PID 1.
    pub pid: i32,
    to_child: Option<std::fs::File>,
    from_child: std::fs::File,
}

impl Spawned {
    /// Lets the child start its setup, then waits for its report: Ok when
    /// the setup succeeded (pipe closed empty), Err with the child's message.
    pub fn go_and_wait(mut self) -> Result<(), String> {
        // PID 1 may have failed (and said why) before its go: then the
        // write fails and its report is the error to show.
        let sent = match self.to_child.take() {
            Some(mut to) => to.write_all(b"g"),
            None => Ok(()),
        };
        let mut report = String::new();
        self.from_child
            .read_to_string(&mut report)
            .map_err(|e| format!("read the container's setup report: {e}"))?;
        match sent {
            _ if !report.is_empty() => Err(report),
            Err(e) => Err(format!("start the container: {e}")),
            Ok(()) => Ok(()),
        }
    }
}

/// Number of threads of this process (from /proc/self/task).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(1)
}

/// How the namespaces of the new tree are made.
pub struct Setup {
    /// Namespaces to create.
    pub flags: CloneFlags,
    /// Namespaces to join first (another container's, pod style).
    pub join: Vec<(crate::ns::Kind, std::fs::File)>,
    /// With a new user namespace: the uid_map and gid_map lines luxc writes
    /// for it ("0 100000 65536").
    pub id_maps: Option<(String, String)>,
    /// cgroup.procs files luxc writes PID 1's pid to before its go, so every
    /// process of the container is counted there and its cgroup namespace
    /// (made after the go) is rooted there.
    pub cgroup_procs: Vec<std::path::PathBuf>,
    /// With a new user namespace: work done as host root in a first private
    /// mount namespace before the user namespace exists (mounts the kernel
    /// refuses from inside one, e.g. an overlay whose lower layer is `/`).
    pub before_user: Option<Box<dyn FnOnce() -> Result<(), String>>>,
}

/// Forks into the namespaces of `setup`; the new PID 1 runs `child` once
/// luxc says go. `child` must not return: it execs or exits.
pub fn spawn<F>(setup: Setup, child: F) -> Result<Spawned, SpawnError>
where
    F: FnOnce(Handshake) -> std::convert::Infallible,
{
    let threads = thread_count();
    if threads != 1 {
        return Err(SpawnError::Threads(threads));
    }
    let (go_r, go_w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
    let (rep_r, rep_w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
    // SAFETY: luxc is single-threaded (checked above), so the child may run
    // ordinary Rust code.
    match unsafe { fork() }.map_err(sys("fork"))? {
        ForkResult::Child => {
            drop(go_w);
            drop(rep_r);
            intermediate(setup, go_r, rep_w, child)
        }
        ForkResult::Parent { child: a } => {
            drop(go_r);
            drop(rep_w);
            let mut from_child = std::fs::File::from(rep_r);
            let mut to_child = std::fs::File::from(go_w);
            let pid = read_intermediate(a, setup.id_maps.as_ref(), &mut from_child, &mut to_child);
            let _ = waitpid(a, None);
            let spawned = Spawned {
                pid: pid.map_err(SpawnError::Child)?,
                to_child: Some(to_child),
                from_child,
            };
            // PID 1 builds its root meanwhile (it needs the cgroup only at
            // its go). On failure, dropping `spawned` closes the go pipe and
            // PID 1 exits.
            for procs in &setup.cgroup_procs {
                std::fs::write(procs, spawned.pid.to_string()).map_err(|e| {
                    SpawnError::Child(format!("join cgroup {}: {e}", procs.display()))
                })?;
            }
            Ok(spawned)
        }
    }
}

/// What A tells luxc, one tagged message at a time: `U` (user namespace
/// made: luxc writes the maps and answers one byte), `P` + 4 bytes (PID 1's
/// host pid: done), `E` + text (A failed).
fn read_intermediate(
    a: Pid,
    id_maps: Option<&(String, String)>,
    from_child: &mut std::fs::File,
    to_child: &mut std::fs::File,
) -> Result<i32, String> {
    loop {
        let mut tag = [0u8; 1];
        if from_child.read_exact(&mut tag).is_err() {
            return Err("the namespace setup process died".into());
        }
        match (tag[0], id_maps) {
            (b'U', Some((uid_map, gid_map))) => {
                let proc_dir = format!("/proc/{}", a.as_raw());
                for (file, line) in [("uid_map", uid_map), ("gid_map", gid_map)] {
                    std::fs::write(format!("{proc_dir}/{file}"), line)
                        .map_err(|e| format!("write {proc_dir}/{file} ({}): {e}", line.trim()))?;
                }
                to_child
                    .write_all(b"m")
                    .map_err(|e| format!("user namespace handshake: {e}"))?;
            }
            (b'P', _) => {
                let mut pid = [0u8; 4];
                from_child
                    .read_exact(&mut pid)
                    .map_err(|e| format!("read PID 1's pid: {e}"))?;
                return Ok(i32::from_le_bytes(pid));
            }
            (b'E', _) => {
                let mut msg = String::new();
                let _ = from_child.read_to_string(&mut msg);
                return Err(msg);
            }
            (other, _) => return Err(format!("namespace setup: unexpected message {other:#x}")),
        }
    }
}

/// Process A: new session, join shared namespaces, create the user
/// namespace (and wait for its maps), create the rest, fork PID 1, report
/// its pid, exit.
fn intermediate<F>(setup: Setup, go_r: OwnedFd, rep_w: OwnedFd, child: F) -> !
where
    F: FnOnce(Handshake) -> std::convert::Infallible,
{
    let fail = |msg: String| -> ! {
        let _ = nix::unistd::write(&rep_w, format!("E{msg}").as_bytes());
        unsafe { nix::libc::_exit(1) }
    };
    // Its own session: the container does not share luxc's terminal, so a
    // Ctrl-C at luxc's terminal reaches luxc, which decides what to stop.
    if let Err(e) = setsid() {
        fail(format!("setsid: {e}"));
    }
    // Joined while still host root: after the user namespace exists, the
    // host's namespaces are out of reach.
    for (kind, fd) in &setup.join {
        if let Err(e) = crate::ns::join(fd, *kind) {
            fail(format!("share {}: {e}", kind.name()));
        }
    }
    let mut flags = setup.flags;
    if flags.contains(CloneFlags::CLONE_NEWUSER) {
        if let Some(work) = setup.before_user {
            // The mount namespace made below (owned by the user namespace)
            // starts as a copy of this one, with these mounts in it.
            if let Err(e) = unshare(CloneFlags::CLONE_NEWNS) {
                fail(format!("unshare mount namespace: {e}"));
            }
            if let Err(e) = work() {
                fail(e);
            }
        }
        if let Err(e) = unshare(CloneFlags::CLONE_NEWUSER) {
            fail(format!("unshare user namespace: {e}"));
        }
        let _ = nix::unistd::write(&rep_w, b"U");
        let mut b = [0u8; 1];
        if !matches!(nix::unistd::read(&go_r, &mut b), Ok(1)) {
            unsafe { nix::libc::_exit(1) }
        }
        // Root inside: uid/gid 0 of the new namespace (mapped by luxc).
        let root = (nix::unistd::Uid::from_raw(0), nix::unistd::Gid::from_raw(0));
        if let Err(e) = nix::unistd::setresgid(root.1, root.1, root.1)
            .and_then(|()| nix::unistd::setresuid(root.0, root.0, root.0))
        {
            fail(format!("become root in the user namespace: {e}"));
        }
        flags.remove(CloneFlags::CLONE_NEWUSER);
    }
    // The cgroup namespace comes later, from PID 1 once it is in its cgroup.
    let cgroup_ns = flags.contains(CloneFlags::CLONE_NEWCGROUP);
    flags.remove(CloneFlags::CLONE_NEWCGROUP);
    if let Err(e) = unshare(flags) {
        fail(format!("unshare namespaces ({flags:?}): {e}"));
    }
    // SAFETY: single-threaded child of a single-threaded parent.
    match unsafe { fork() } {
        Err(e) => fail(format!("fork PID 1: {e}")),
        Ok(ForkResult::Parent { child: b }) => {
            let mut msg = [b'P', 0, 0, 0, 0];
            msg[1..].copy_from_slice(&b.as_raw().to_le_bytes());
            let _ = nix::unistd::write(&rep_w, &msg);
            unsafe { nix::libc::_exit(0) }
        }
        Ok(ForkResult::Child) => {
            let hs = Handshake {
                from_parent: go_r,
                to_parent: rep_w,
                cgroup_ns,
            };
            match child(hs) {}
        }
    }
}

/// Closes every fd from `first` up, except `keep` (used before running code
/// that must not hold luxc's files: the reaper, the exec intermediate).
pub fn close_fds_from(first: RawFd, keep: &[RawFd]) {
    let mut fd = first;
    // close_range(2) in one call where no fd needs keeping.
    if keep.iter().all(|k| *k < first) {
        // SAFETY: plain syscall; closes fds this process owns.
        let rc =
            unsafe { nix::libc::syscall(nix::libc::SYS_close_range, first as u32, u32::MAX, 0) };
        if rc == 0 {
            return;
        }
    }
    let max = 4096;
    while fd < max {
        if !keep.contains(&fd) {
            // SAFETY: closing an fd number; a missing one just fails with EBADF.
            unsafe { nix::libc::close(fd) };
        }
        fd += 1;
    }
}

/// Waits for the intermediate of a namespace-entering exec: used by callers
/// that fork after setns(pid) and must mirror the grandchild's exit status.
pub fn mirror_exit(child: Pid) -> ! {
    use nix::sys::wait::WaitStatus;
    let code = loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, c)) => break c,
            Ok(WaitStatus::Signaled(_, s, _)) => break 128 + s as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break 1,
        }
    };
    // SAFETY: _exit ends this process without running luxc's destructors.
    unsafe { nix::libc::_exit(code) }
}
