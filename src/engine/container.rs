//! Starting a container (namespaces, root, security, PID 1), running
//! commands inside it, and stopping it. The lab (lab.rs) journals around these.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::{fork, ForkResult, Gid, Pid, Uid};

use super::spec::ContainerSpec;
use crate::fs::rootfs::{self, RootfsSpec};
use crate::ns::{self, Kind};
use crate::process::lifetime::{self, Life};
use crate::process::spawn::{self, Handshake};
use crate::process::{self as proc_exec, ExecOutput, ExecSpec};
use crate::security;

const PROC: &str = "/proc";

/// Where a container's files live on the host: `<lab dir>/<name>/`.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The container's state dir.
    pub dir: PathBuf,
}

impl Paths {
    /// Overlay upper layer: everything the container wrote.
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    /// Overlay work dir.
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    /// Mount point of the merged root (mounted only inside the container).
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    /// Output of PID 1.
    pub fn log(&self) -> PathBuf {
        self.dir.join("init.log")
    }
}

/// A started container's PID 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pid1 {
    /// Host pid.
    pub pid: i32,
    /// Start time, so a reused pid is never mistaken for it.
    pub start_time: u64,
}

impl Pid1 {
    /// Whether it still runs.
    pub fn alive(&self) -> bool {
        lifetime::life(Path::new(PROC), self.pid, self.start_time) == Life::Alive
    }
}

/// Everything PID 1 needs, prepared in luxc before the fork.
struct Prepared {
    steps: Vec<rootfs::Step>,
    security: security::Prepared,
    init: Option<(Vec<CString>, Vec<CString>)>,
    path_dirs: Vec<String>,
    cwd: CString,
    log: File,
    /// With luxc's reaper as PID 1: the pipe (read, write) that is its
    /// stdout and stderr, which it relays into `log` under a bound.
    relay: Option<(OwnedFd, OwnedFd)>,
    /// The container has a network namespace of its own: bring `lo` up.
    new_net: bool,
}

/// Forks the container's PID 1 into its namespaces. Returns once the pid is
/// known; `journal` is called with it before PID 1 may do anything, then the
/// setup runs and its outcome is returned.
///
/// `shared` are the PID 1s of the containers named in `spec.share`;
/// `cgroup_procs` the cgroup.procs files of its cgroup.
pub fn start(
    spec: &ContainerSpec,
    paths: &Paths,
    shared: &BTreeMap<Kind, Pid1>,
    cgroup_procs: Vec<PathBuf>,
    cgroup_mounts: Vec<rootfs::CgroupMount>,
    journal: impl FnOnce(Pid1) -> Result<(), String>,
) -> Result<Pid1, String> {
    let mut prepared = prepare(spec, paths, cgroup_mounts)?;
    let before_user = match spec.idmap {
        // Inside a user namespace the kernel will not overlay `/` (its
        // submounts are locked): mount the root first, as host root.
        Some(_) => {
            let split = prepared
                .steps
                .iter()
                .position(|s| matches!(s, rootfs::Step::Overlay { .. }))
                .map_or(0, |i| i + 1);
            let first: Vec<rootfs::Step> = prepared.steps.drain(..split).collect();
            // Mounts copied into the user namespace's mount namespace are
            // locked, and pivot_root refuses a locked new root: bind the
            // root onto itself there to get a mount of its own.
            let merged = paths.rootfs();
            prepared.steps.splice(
                0..0,
                [
                    rootfs::Step::Private,
                    rootfs::Step::Bind {
                        source: merged.clone(),
                        target: merged,
                        recursive: true,
                        readonly: false,
                    },
                ],
            );
            let work = move || rootfs::apply(&first).map_err(|e| crate::error::chain(&e));
            Some(Box::new(work) as Box<dyn FnOnce() -> Result<(), String>>)
        }
        None => None,
    };
    let mut join = Vec::new();
    for (kind, p) in shared {
        join.push((
            *kind,
            ns::open(Path::new(PROC), p.pid, *kind).map_err(|e| e.to_string())?,
        ));
    }
    let setup = spawn::Setup {
        flags: ns::flags(&spec.namespaces),
        join,
        cgroup_procs,
        id_maps: spec.idmap.map(|m| {
            (
                format!("0 {} {}\n", m.uid, m.count),
                format!("0 {} {}\n", m.gid, m.count),
            )
        }),
        before_user,
    };
    let spawned = spawn::spawn(setup, move |hs| pid1(hs, prepared)).map_err(|e| e.to_string())?;
    let pid = spawned.pid;
    let start_time = lifetime::start_time(Path::new(PROC), pid)
        .ok_or_else(|| format!("PID 1 ({pid}) vanished before it started"))?;
    let pid1 = Pid1 { pid, start_time };
    if let Err(e) = journal(pid1) {
        // Dropping `spawned` closes the go pipe: PID 1 exits without setup.
        drop(spawned);
        return Err(e);
    }
    match spawned.go_and_wait() {
        Ok(()) => Ok(pid1),
        Err(msg) => {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            lifetime::wait_ended_fully(Path::new(PROC), pid, start_time, Duration::from_secs(5));
            Err(msg)
        }
    }
}

fn prepare(
    spec: &ContainerSpec,
    paths: &Paths,
    cgroups: Vec<rootfs::CgroupMount>,
) -> Result<Prepared, String> {
    // Made here, as host root: inside a user namespace PID 1 could not create
    // them under the lab dir. Its writable layer belongs to its root.
    for d in [paths.upper(), paths.work(), paths.rootfs()] {
        std::fs::create_dir_all(&d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    // A restart after stop reuses the layers of the volatile overlay.
    crate::fs::mount::clear_volatile_marker(&paths.work())
        .map_err(|e| format!("clear {}: {e}", paths.work().display()))?;
    if let Some(m) = spec.idmap {
        for d in [paths.upper(), paths.work()] {
            std::os::unix::fs::chown(&d, Some(m.uid), Some(m.gid))
                .map_err(|e| format!("chown {} to {}:{}: {e}", d.display(), m.uid, m.gid))?;
        }
    }
    let rootfs_spec = RootfsSpec {
        lower: spec.image.lower().to_path_buf(),
        upper: paths.upper(),
        work: paths.work(),
        merged: paths.rootfs(),
        readonly: spec.readonly,
        new_ipc: spec.namespaces.contains(&Kind::Ipc),
        mounts: spec.mounts.clone(),
        sysctl: spec.sysctl.clone(),
        masked: spec.masked.clone(),
        readonly_paths: spec.readonly_paths.clone(),
        hostname: spec
            .namespaces
            .contains(&Kind::Uts)
            .then(|| spec.hostname.clone()),
        // Only with its own cgroup namespace does the container see its own
        // cgroup (and not the host's tree) there.
        cgroups: if spec.namespaces.contains(&Kind::Cgroup) {
            cgroups
        } else {
            Vec::new()
        },
    };
    let env = spec.base_env();
    let init = match &spec.init {
        None => None,
        Some(argv) => Some((cstrings(argv)?, env_cstrings(&env)?)),
    };
    // Readable too: the reaper cuts it to its newest half past the bound.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(paths.log())
        .map_err(|e| format!("open {}: {e}", paths.log().display()))?;
    let relay = match &init {
        None => Some(
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| format!("pipe for the log relay: {e}"))?,
        ),
        Some(_) => None,
    };
    Ok(Prepared {
        steps: rootfs::plan(&rootfs_spec),
        security: security::prepare(&spec.security).map_err(|e| e.to_string())?,
        init,
        path_dirs: env["PATH"].split(':').map(str::to_string).collect(),
        cwd: CString::new(spec.cwd.as_str()).map_err(|_| "cwd: contains a NUL byte".to_string())?,
        log,
        relay,
        new_net: spec.namespaces.contains(&Kind::Net),
    })
}

fn cstrings(items: &[String]) -> Result<Vec<CString>, String> {
    items
        .iter()
        .map(|s| CString::new(s.as_str()).map_err(|_| format!("'{s}' contains a NUL byte")))
        .collect()
}

fn env_cstrings(env: &BTreeMap<String, String>) -> Result<Vec<CString>, String> {
    cstrings(
        &env.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
    )
}

/// PID 1 of the new container: build the root up to the cgroup mounts, wait
/// for go (luxc has journaled it and moved it into its cgroup meanwhile),
/// finish the root, lock down, then become the reaper or exec the init
/// command. Never returns.
fn pid1(mut hs: Handshake, p: Prepared) -> std::convert::Infallible {
    let die = |hs: &mut Handshake, msg: &str| -> ! {
        hs.fail(msg);
        unsafe { nix::libc::_exit(1) }
    };
    let out = match &p.relay {
        Some((_, write)) => write.as_fd(),
        None => p.log.as_fd(),
    };
    if let Err(e) = stdio_to(out) {
        die(&mut hs, &format!("stdio: {e}"));
    }
    reset_signals();
    // Only inside its own mount namespace, which ends with it if luxc never
    // says go: nothing of this outlives a failed start.
    let (before, after) = rootfs::split_at_cgroup(p.steps);
    if let Err(e) = rootfs::apply(&before) {
        die(&mut hs, &crate::error::chain(&e));
    }
    match hs.wait_go() {
        Ok(spawn::Go::Go) => {}
        Ok(spawn::Go::Gone) => unsafe { nix::libc::_exit(1) },
        Err(e) => die(&mut hs, &e),
    }
    if let Err(e) = rootfs::apply(&after) {
        die(&mut hs, &crate::error::chain(&e));
    }
    if p.new_net {
        if let Err(e) = crate::net::loopback::up() {
            die(&mut hs, &e);
        }
    }
    if let Err(e) = nix::unistd::chdir(p.cwd.as_c_str()) {
        die(&mut hs, &format!("cwd {}: {e}", p.cwd.to_string_lossy()));
    }
    if let Err(e) = security::apply(&p.security) {
        die(&mut hs, &e.to_string());
    }
    match &p.init {
        None => {
            // Closing the report pipe says the setup succeeded; then no fd
            // of luxc's stays open in the container (`p` is never dropped:
            // the reaper does not return).
            drop(hs);
            let relay = p
                .relay
                .as_ref()
                .and_then(|(read, _)| relay_fds(read, &p.log));
            if relay.is_none() {
                // Nobody will read the pipe: write to the log directly.
                let _ = stdio_to(p.log.as_fd());
            }
            spawn::close_fds_from(if relay.is_some() { 5 } else { 3 }, &[]);
            crate::process::reaper::run(relay)
        }
        Some((argv, env)) => {
            let program = resolve(&argv[0], &p.path_dirs);
            let err = nix::unistd::execve(&program, argv, env).unwrap_err();
            die(
                &mut hs,
                &format!("exec init {}: {err}", program.to_string_lossy()),
            )
        }
    }
}

/// Where a command started in the container (`c:spawn`) writes its output:
/// the pipe PID 1 relays into the bounded init.log (reopened through
/// /proc/PID/fd/1), or, where PID 1 is the container's own init and that is
/// no pipe, init.log itself, appended to (unbounded; see containers.md).
pub fn log_writer(pid1: Option<Pid1>, paths: &Paths) -> Result<File, String> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    if let Some(p) = pid1 {
        let relay = Path::new(PROC).join(p.pid.to_string()).join("fd/1");
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&relay) {
            let is_pipe = f.metadata().is_ok_and(|m| m.file_type().is_fifo());
            // Checked after the open: the pipe is then that PID 1's.
            if is_pipe && p.alive() {
                return Ok(f);
            }
        }
    }
    let log = paths.log();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log)
        .map_err(|e| format!("open {}: {e}", log.display()))
}

/// Finds `name` in the container's PATH (after pivot_root, so its own files).
fn resolve(name: &CString, dirs: &[String]) -> CString {
    let s = name.to_string_lossy();
    if s.contains('/') {
        return name.clone();
    }
    for d in dirs {
        let candidate = Path::new(d).join(s.as_ref());
        if nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok() {
            if let Ok(c) = CString::new(candidate.as_os_str().as_encoded_bytes()) {
                return c;
            }
        }
    }
    name.clone()
}

/// Puts the relay's pipe and the log at fds 3 and 4, so one close_range
/// from 5 closes everything else. None (no relay) if that fails.
fn relay_fds(pipe: &OwnedFd, log: &File) -> Option<crate::process::reaper::Relay> {
    use nix::fcntl::{fcntl, FcntlArg};
    // First above both, so moving one never closes the other.
    let pipe = fcntl(pipe, FcntlArg::F_DUPFD(100)).ok()?;
    let log = fcntl(log, FcntlArg::F_DUPFD(100)).ok()?;
    // SAFETY: dup2 onto fds 3 and 4, which this process does not use.
    unsafe {
        if nix::libc::dup2(pipe, 3) != 3 || nix::libc::dup2(log, 4) != 4 {
            return None;
        }
    }
    Some(crate::process::reaper::Relay { pipe: 3, log: 4 })
}

/// stdin from /dev/null, stdout and stderr to `out` (the log, or the pipe
/// PID 1 relays into it).
fn stdio_to(out: BorrowedFd<'_>) -> nix::Result<()> {
    let null = nix::fcntl::open(
        "/dev/null",
        nix::fcntl::OFlag::O_RDONLY,
        nix::sys::stat::Mode::empty(),
    )?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(out)?;
    nix::unistd::dup2_stderr(out)?;
    Ok(())
}

/// luxc ignores SIGPIPE and catches SIGINT/SIGTERM; a container's processes
/// start with default dispositions and nothing blocked.
fn reset_signals() {
    use nix::sys::signal::{signal, SigHandler, SigSet, SigmaskHow};
    for s in [
        Signal::SIGPIPE,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        // SAFETY: restoring default dispositions.
        let _ = unsafe { signal(s, SigHandler::SigDfl) };
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// A command to run inside a running container.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// Program and arguments (program looked up in the container's PATH).
    pub argv: Vec<String>,
    /// Extra environment on top of the container's.
    pub env: BTreeMap<String, String>,
    /// Working directory (default: the container's cwd).
    pub cwd: Option<String>,
    /// uid:gid (default: the container's user, else root).
    pub user: Option<(u32, u32)>,
    /// Bytes for stdin.
    pub stdin: Option<Vec<u8>>,
    /// Kill after this long.
    pub timeout: Option<Duration>,
    /// stdio is a pty slave that becomes the command's controlling
    /// terminal (`luxc exec -t`); see ExecSpec::tty.
    pub tty: bool,
}

/// Runs `req` inside the container whose PID 1 is `pid1`: joins each of its
/// namespaces (as nsenter does), forks so the pid namespace applies, applies
/// the container's security, then execs.
pub fn exec(
    spec: &ContainerSpec,
    pid1: Pid1,
    cgroup_procs: Vec<PathBuf>,
    req: &ExecRequest,
) -> Result<ExecOutput, String> {
    let exec_spec = enter_spec(spec, pid1, cgroup_procs, req)?;
    match proc_exec::run(&exec_spec) {
        Ok(out) => Ok(out),
        // As a shell reports them: 127 not found, 126 not executable.
        Err(proc_exec::ExecError::Spawn { program, source }) => {
            let (code, why) = match source.kind() {
                std::io::ErrorKind::NotFound => (127, "not found"),
                std::io::ErrorKind::PermissionDenied => (126, "permission denied"),
                _ => return Err(format!("exec {program}: {source}")),
            };
            Ok(ExecOutput {
                code,
                signal: None,
                timed_out: false,
                stdout: Vec::new(),
                stderr: format!("luxc: {program}: {why} in container '{}'\n", spec.name)
                    .into_bytes(),
            })
        }
        Err(e) => Err(crate::error::chain(&e)),
    }
}

/// The ExecSpec whose pre-exec hook enters the container (its cgroup, then
/// its namespaces).
pub fn enter_spec(
    spec: &ContainerSpec,
    pid1: Pid1,
    cgroup_procs: Vec<PathBuf>,
    req: &ExecRequest,
) -> Result<ExecSpec, String> {
    if req.argv.is_empty() {
        return Err("expected a command, got an empty list".into());
    }
    let proc_root = Path::new(PROC);
    let mine = ns::ids(proc_root, "self").map_err(|e| e.to_string())?;
    let theirs = ns::ids(proc_root, &pid1.pid.to_string()).map_err(|e| e.to_string())?;
    let mut fds: Vec<(Kind, File)> = Vec::new();
    for kind in ns::ALL {
        if theirs.contains_key(&kind) && theirs.get(&kind) != mine.get(&kind) {
            fds.push((
                kind,
                ns::open(proc_root, pid1.pid, kind).map_err(|e| e.to_string())?,
            ));
        }
    }
    if !pid1.alive() {
        return Err("the container is not running".into());
    }
    let pid_ns = fds.iter().any(|(k, _)| *k == Kind::Pid);
    let user_ns = fds.iter().any(|(k, _)| *k == Kind::User);
    let cwd = CString::new(req.cwd.clone().unwrap_or_else(|| spec.cwd.clone()))
        .map_err(|_| "cwd: contains a NUL byte".to_string())?;
    let user = req.user.or(spec.user);
    let tty = req.tty;
    let sec = security::prepare(&spec.security).map_err(|e| e.to_string())?;
    let mut env = spec.base_env();
    env.extend(req.env.clone());
    let enter = move || -> Result<(), String> {
        // First, while the host's /sys/fs/cgroup is still this process's view.
        for procs in &cgroup_procs {
            std::fs::write(procs, b"0")
                .map_err(|e| format!("join cgroup {}: {e}", procs.display()))?;
        }
        for (kind, fd) in &fds {
            ns::join(fd, *kind).map_err(|e| e.to_string())?;
        }
        // With a terminal the command must lead its own session, and only
        // a process that is not a group leader may start one: fork for that
        // too.
        if pid_ns || tty {
            // setns(pid) applies to children: fork, and let this process
            // mirror the child's exit status.
            // SAFETY: luxc is single-threaded; the parent only waits and exits.
            match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
                ForkResult::Parent { child } => {
                    spawn::close_fds_from(3, &[]);
                    spawn::mirror_exit(child)
                }
                ForkResult::Child => {}
            }
        }
        if tty {
            // Here, inside the pid namespace, so the session and its
            // foreground group have pids the command's shell can see.
            proc_exec::take_terminal().map_err(|e| format!("take the terminal: {e}"))?;
        }
        if user_ns {
            // Host root is unmapped in the container's user namespace: take
            // its root (mapped) before anything else.
            let (u, g) = (Uid::from_raw(0), Gid::from_raw(0));
            nix::unistd::setgroups(&[])
                .and_then(|()| nix::unistd::setresgid(g, g, g))
                .and_then(|()| nix::unistd::setresuid(u, u, u))
                .map_err(|e| format!("become root of the user namespace: {e}"))?;
        }
        nix::unistd::chdir(cwd.as_c_str())
            .map_err(|e| format!("cwd {}: {e}", cwd.to_string_lossy()))?;
        security::apply(&sec).map_err(|e| e.to_string())?;
        if let Some((uid, gid)) = user {
            let (u, g) = (Uid::from_raw(uid), Gid::from_raw(gid));
            nix::unistd::setgroups(&[])
                .and_then(|()| nix::unistd::setresgid(g, g, g))
                .and_then(|()| nix::unistd::setresuid(u, u, u))
                .map_err(|e| format!("user {uid}:{gid}: {e}"))?;
        }
        Ok(())
    };
    // A failure here is luxc's, not the program's: it is reported on the
    // command's stderr with status 125 (as `docker exec` does), so 126/127
    // keep meaning "not executable" / "not found".
    let hook = move || -> std::io::Result<()> {
        if let Err(msg) = enter() {
            let line = format!("luxc: {msg}\n");
            // SAFETY: writing to our own stderr, then ending this child.
            unsafe {
                nix::libc::write(2, line.as_ptr().cast(), line.len());
                nix::libc::_exit(125)
            }
        }
        Ok(())
    };
    Ok(ExecSpec {
        argv: req.argv.iter().map(Into::into).collect(),
        env: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        clear_env: true,
        cwd: None,
        stdin: req.stdin.clone(),
        timeout: req.timeout,
        pre_exec: Some(Arc::new(hook)),
        tty,
    })
}

/// Sends `signal` to PID 1, waits up to `timeout`, then kills it (and with
/// it every process of its pid namespace). True if it ended gracefully.
pub fn stop(pid1: Pid1, signal: Signal, timeout: Duration) -> Result<bool, String> {
    if !pid1.alive() {
        return Ok(true);
    }
    let proc_root = Path::new(PROC);
    let _ = kill(Pid::from_raw(pid1.pid), signal);
    if lifetime::wait_ended(proc_root, pid1.pid, pid1.start_time, timeout) {
        return Ok(true);
    }
    let _ = kill(Pid::from_raw(pid1.pid), Signal::SIGKILL);
    if lifetime::wait_ended(
        proc_root,
        pid1.pid,
        pid1.start_time,
        Duration::from_secs(10),
    ) {
        Ok(false)
    } else {
        Err(format!("PID 1 ({}) did not die after SIGKILL", pid1.pid))
    }
}

/// Opens `path` inside a running container, resolved in the container's
/// root: openat2(RESOLVE_IN_ROOT) on /proc/PID/root, so an absolute symlink
/// a container made (`/tmp/x -> /etc/shadow`) cannot reach host files.
pub fn open_inside(pid1: Pid1, path: &str, write: Option<u32>) -> Result<File, String> {
    use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
    use nix::sys::stat::Mode;
    if !path.starts_with('/') {
        return Err(format!("expected an absolute path, got '{path}'"));
    }
    let root_path = Path::new(PROC).join(pid1.pid.to_string()).join("root");
    let root = nix::fcntl::open(
        &root_path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("{}: {e}", root_path.display()))?;
    if !pid1.alive() {
        return Err("the container is not running".into());
    }
    let (flags, mode) = match write {
        None => (OFlag::O_RDONLY, 0),
        Some(m) => (OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC, m),
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOCTTY)
        .mode(Mode::from_bits_truncate(mode))
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd =
        openat2(&root, path.trim_start_matches('/'), how).map_err(|e| format!("{path}: {e}"))?;
    Ok(File::from(fd))
}
