//! The small init a container gets as PID 1 by default: it reaps every
//! process that ends in the container (orphans are reparented to PID 1),
//! and on SIGTERM/SIGINT/SIGHUP passes SIGTERM to everything else in its
//! pid namespace and exits once they are gone.
//!
//! It also relays the container's output into its init.log: its own
//! stdout and stderr (which `c:spawn` commands get too) are a pipe it reads
//! and appends to the log under a bound (`bounded_log`). PID 1 outlives
//! every other process of the container, so nothing written is lost to a
//! relay that ended first.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::bounded_log::{BoundedLog, LOG_BOUND};

/// The log relay: the read end of the pipe that is PID 1's stdout and
/// stderr, and the log file (open for reading and appending).
#[derive(Debug, Clone, Copy)]
pub struct Relay {
    pub pipe: RawFd,
    pub log: RawFd,
}

/// Runs the reaper loop; never returns.
pub fn run(relay: Option<Relay>) -> ! {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    // Blocked and taken with sigwait: no handler runs inside this process.
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
    // Only as PID 1 of its own pid namespace does "every other process" mean
    // the container's: without one, kill(-1) would reach the host's.
    let own_pid_ns = nix::unistd::getpid().as_raw() == 1;
    if let Some(relay) = relay {
        // SAFETY: the caller hands over these two fds, open and unused elsewhere.
        let (pipe, log) = unsafe {
            (
                OwnedFd::from_raw_fd(relay.pipe),
                std::fs::File::from_raw_fd(relay.log),
            )
        };
        match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(sfd) => relay_loop(sfd, pipe, BoundedLog::new(log, LOG_BOUND), own_pid_ns),
            // No signalfd (a seccomp policy denying it): the output goes
            // to the log directly, unbounded, and the plain loop runs.
            Err(_) => {
                let _ = nix::unistd::dup2_stdout(&log);
                let _ = nix::unistd::dup2_stderr(&log);
            }
        }
    }
    let mut stopping = false;
    loop {
        let sig = set.wait().unwrap_or(Signal::SIGCHLD);
        if sig != Signal::SIGCHLD && !stopping {
            stopping = true;
            if own_pid_ns {
                // -1: every process in this pid namespace except PID 1 itself.
                let _ = kill(Pid::from_raw(-1), Signal::SIGTERM);
            }
        }
        reap_all();
        if stopping && !own_pid_ns {
            // SAFETY: _exit ends this process; its own children are orphaned.
            unsafe { nix::libc::_exit(0) }
        }
        if stopping {
            // Processes started by exec are in this pid namespace but are
            // not this process's children: wait for every one to end (luxc
            // escalates to SIGKILL after its stop timeout), reaping the
            // orphans that land here meanwhile.
            while others_alive() {
                reap_all();
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            // SAFETY: _exit ends PID 1, and with it the pid namespace.
            unsafe { nix::libc::_exit(0) }
        }
    }
}

/// The reaper loop with the log relay: waits on a signalfd and the pipe.
fn relay_loop(sfd: SignalFd, pipe: OwnedFd, mut log: BoundedLog, own_pid_ns: bool) -> ! {
    let _ = nix::fcntl::fcntl(
        &pipe,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let mut stopping = false;
    loop {
        let mut fds = [
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(pipe.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            // Cannot happen with valid fds; do not spin on it.
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
        drain(pipe.as_fd(), &mut log);
        let mut got_stop = false;
        while let Ok(Some(info)) = sfd.read_signal() {
            got_stop |= info.ssi_signo != Signal::SIGCHLD as u32;
        }
        if got_stop && !stopping {
            stopping = true;
            if own_pid_ns {
                // -1: every process in this pid namespace except PID 1 itself.
                let _ = kill(Pid::from_raw(-1), Signal::SIGTERM);
            }
        }
        reap_all();
        if stopping {
            // As in `run`: wait for every other process, relaying what
            // they still write.
            while own_pid_ns && others_alive() {
                reap_all();
                drain(pipe.as_fd(), &mut log);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            drain(pipe.as_fd(), &mut log);
            // SAFETY: _exit ends PID 1, and with it the pid namespace.
            unsafe { nix::libc::_exit(0) }
        }
    }
}

/// Moves what the (non-blocking) pipe holds into the log.
fn drain(pipe: BorrowedFd<'_>, log: &mut BoundedLog) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match nix::unistd::read(pipe, &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                // A full /run: the output is dropped, the container goes on.
                let _ = log.append(&buf[..n]);
            }
            Err(Errno::EINTR) => continue,
            Err(_) => return, // EAGAIN: empty for now
        }
    }
}

/// Whether any process but PID 1 is alive in this pid namespace (from the
/// container's own /proc; without one, whether this process has children).
fn others_alive() -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return reap_all();
    };
    dir.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name != "1"
            && name.bytes().all(|b| b.is_ascii_digit())
            && std::fs::read_to_string(format!("/proc/{name}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
    })
}

/// Reaps every exited child; false when no children remain.
fn reap_all() -> bool {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return true,
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(_) => return false, // ECHILD
        }
    }
}
