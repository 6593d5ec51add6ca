//! Is a process still the one luxc started, and waiting for it to end.
//!
//! A pid alone can be reused; luxc pairs it with the process start time
//! (field 22 of /proc/PID/stat) everywhere it keeps one.

use std::path::Path;
use std::time::{Duration, Instant};

/// State of a pid as /proc shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Life {
    /// Running (or sleeping, stopped…): not a zombie.
    Alive,
    /// Gone, a zombie, or the pid now belongs to another process.
    Ended,
}

/// Start time (clock ticks after boot) and state letter of `pid`.
pub fn stat(proc_root: &Path, pid: i32) -> Option<(u64, char)> {
    let text = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    // comm (field 2) may hold spaces and ')': fields resume after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // `rest` starts at field 3, so field 22 is index 19.
    let start = fields.get(19)?.parse().ok()?;
    Some((start, state))
}

/// The start time of `pid`, to journal with it.
pub fn start_time(proc_root: &Path, pid: i32) -> Option<u64> {
    stat(proc_root, pid).map(|(t, _)| t)
}

/// Whether `pid` with `start_time` still lives.
pub fn life(proc_root: &Path, pid: i32, start_time: u64) -> Life {
    match stat(proc_root, pid) {
        Some((t, state)) if t == start_time && state != 'Z' && state != 'X' => Life::Alive,
        _ => Life::Ended,
    }
}

/// Waits until the process ends; true if it did within `timeout`. Uses a
/// pidfd (readable once the process has exited, child of ours or not) where
/// the kernel has one, else polls /proc. Returns early (false) on Ctrl-C.
pub fn wait_ended(proc_root: &Path, pid: i32, start_time: u64, timeout: Duration) -> bool {
    wait(proc_root, pid, start_time, timeout, true)
}

/// Like `wait_ended`, but Ctrl-C does not cut it short (for waits that must
/// finish, such as after a SIGKILL).
pub fn wait_ended_fully(proc_root: &Path, pid: i32, start_time: u64, timeout: Duration) -> bool {
    wait(proc_root, pid, start_time, timeout, false)
}

fn wait(
    proc_root: &Path,
    pid: i32,
    start_time: u64,
    timeout: Duration,
    interruptible: bool,
) -> bool {
    if proc_root == Path::new("/proc") {
        if let Some(done) = wait_pidfd(pid, start_time, timeout, interruptible) {
            return done;
        }
    }
    poll_ended(proc_root, pid, start_time, timeout)
}

/// The pidfd way; None when pidfds are unavailable.
fn wait_pidfd(pid: i32, start_time: u64, timeout: Duration, interruptible: bool) -> Option<bool> {
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};
    // SAFETY: pidfd_open returns a new fd or -1.
    let raw = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    if raw < 0 {
        return match nix::errno::Errno::last() {
            nix::errno::Errno::ESRCH => Some(true),
            _ => None,
        };
    }
    // SAFETY: a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    // Opened first, checked second: the fd cannot refer to a reused pid.
    if life(Path::new("/proc"), pid, start_time) == Life::Ended {
        return Some(true);
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Slices of at most 50 ms so a Ctrl-C is noticed.
        let slice = left.min(Duration::from_millis(50)).as_millis() as i32;
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(
            &mut fds,
            nix::poll::PollTimeout::try_from(slice).unwrap_or(nix::poll::PollTimeout::ZERO),
        ) {
            Ok(n) if n > 0 => return Some(true),
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return None,
        }
        if left.is_zero() || (interruptible && super::interrupt::pending()) {
            return Some(life(Path::new("/proc"), pid, start_time) == Life::Ended);
        }
    }
}

fn poll_ended(proc_root: &Path, pid: i32, start_time: u64, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        if life(proc_root, pid, start_time) == Life::Ended {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_comm() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("7")).unwrap();
        let mut fields = vec!["0"; 50];
        fields[0] = "S"; // field 3
        fields[19] = "12345"; // field 22
        std::fs::write(
            dir.path().join("7/stat"),
            format!("7 (we) ird) {}", fields.join(" ")),
        )
        .unwrap();
        assert_eq!(stat(dir.path(), 7), Some((12345, 'S')));
        assert_eq!(life(dir.path(), 7, 12345), Life::Alive);
        assert_eq!(life(dir.path(), 7, 1), Life::Ended);
        assert_eq!(life(dir.path(), 8, 12345), Life::Ended);
    }

    #[test]
    fn sees_a_real_child_end() {
        let mut child = std::process::Command::new("sleep")
            .arg("0.1")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let t = start_time(Path::new("/proc"), pid).unwrap();
        assert_eq!(life(Path::new("/proc"), pid, t), Life::Alive);
        assert!(wait_ended(
            Path::new("/proc"),
            pid,
            t,
            Duration::from_secs(5)
        ));
        child.wait().unwrap();
    }
}
