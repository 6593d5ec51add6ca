//! The small init a container gets as PID 1 by default: it reaps every
//! process that ends in the container (orphans are reparented to PID 1),
//! and on SIGTERM/SIGINT/SIGHUP passes SIGTERM to everything else in its
//! pid namespace and exits once they are gone.

use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Runs the reaper loop; never returns.
pub fn run() -> ! {
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
