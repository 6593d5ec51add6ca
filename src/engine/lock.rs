//! One lab, one writer: an exclusive flock(2) on the lab's journal, held for
//! as long as luxc has the journal open. The kernel drops it when luxc dies,
//! so a crash never leaves a stale lock. /proc/locks names the holder.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Takes the lock without waiting; Err(holder pid, when known) if taken.
pub fn try_lock(file: &File, path: &Path) -> Result<(), Option<i32>> {
    // SAFETY: flock on an fd we own.
    let rc = unsafe { nix::libc::flock(file.as_raw_fd(), nix::libc::LOCK_EX | nix::libc::LOCK_NB) };
    if rc == 0 {
        return Ok(());
    }
    Err(holder(Path::new("/proc/locks"), path))
}

/// How long `lock` waits for a dead luxc's children to let go of its lock.
const ORPHAN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Takes the lock; Err(holder pid, when known) if a live process holds it.
/// A flock belongs to the open file, which luxc's forked children share
/// until they exec or exit; so after luxc is killed, a container's PID 1
/// still setting up (it exits when it finds luxc gone) keeps the lock a
/// moment longer. A lock whose taker (the pid /proc/locks names) is dead is
/// waited for, up to a few seconds.
pub fn lock(file: &File, path: &Path) -> Result<(), Option<i32>> {
    let deadline = std::time::Instant::now() + ORPHAN_WAIT;
    loop {
        match try_lock(file, path) {
            Ok(()) => return Ok(()),
            Err(Some(pid)) if alive(Path::new("/proc"), pid) => return Err(Some(pid)),
            Err(holder) if std::time::Instant::now() >= deadline => return Err(holder),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

/// Whether `pid` runs (a zombie does not: it only waits to be reaped).
fn alive(proc_root: &Path, pid: i32) -> bool {
    match std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The pid holding a flock on `path`, from a /proc/locks table.
pub fn holder(locks: &Path, path: &Path) -> Option<i32> {
    let meta = std::fs::metadata(path).ok()?;
    let text = std::fs::read_to_string(locks).ok()?;
    let (major, minor) = (
        nix::sys::stat::major(meta.dev()),
        nix::sys::stat::minor(meta.dev()),
    );
    parse_holder(&text, major, minor, meta.ino())
}

/// Finds the FLOCK line for device `major:minor`, inode `ino`:
/// `1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF` (device numbers in hex).
fn parse_holder(text: &str, major: u64, minor: u64, ino: u64) -> Option<i32> {
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[1] != "FLOCK" || f[0].ends_with("->") {
            continue;
        }
        let mut id = f[5].split(':');
        let maj = u64::from_str_radix(id.next()?, 16).ok()?;
        let min = u64::from_str_radix(id.next()?, 16).ok()?;
        let i: u64 = id.next()?.parse().ok()?;
        if (maj, min, i) == (major, minor, ino) {
            return f[4].parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_holder_from_proc_locks() {
        let text = "1: POSIX  ADVISORY  WRITE 99 fd:01:5678 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF\n\
                    3: FLOCK  ADVISORY  WRITE 77 08:02:5678 0 EOF\n";
        assert_eq!(parse_holder(text, 0xfd, 1, 5678), Some(1234));
        assert_eq!(parse_holder(text, 8, 2, 5678), Some(77));
        assert_eq!(parse_holder(text, 8, 2, 1), None);
    }

    #[test]
    fn a_process_is_alive_unless_gone_or_a_zombie() {
        let dir = tempfile::tempdir().unwrap();
        for (pid, stat) in [(10, "10 (sh) S 1 2"), (11, "11 (a) b) Z 1 2")] {
            std::fs::create_dir(dir.path().join(pid.to_string())).unwrap();
            std::fs::write(dir.path().join(format!("{pid}/stat")), stat).unwrap();
        }
        assert!(alive(dir.path(), 10));
        assert!(!alive(dir.path(), 11));
        assert!(!alive(dir.path(), 12));
    }

    #[test]
    fn a_second_open_file_cannot_lock_and_names_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let a = File::create(&path).unwrap();
        let b = File::open(&path).unwrap();
        try_lock(&a, &path).unwrap();
        assert_eq!(try_lock(&b, &path), Err(Some(std::process::id() as i32)));
        drop(a);
        // Another test of this binary may have forked while `a` was open
        // (its child then shares the lock until it exits): allow a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while try_lock(&b, &path).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the lock was not released"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
