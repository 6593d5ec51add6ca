//! Named network namespaces compatible with iproute2: a namespace is pinned
//! by bind-mounting its nsfs file onto /run/netns/NAME, so `ip netns exec
//! NAME` and `ip netns list` see it.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use nix::libc;

use super::NetError;

/// Where iproute2 pins named network namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// Checks a netns name: 1..=100 characters of [A-Za-z0-9_.-], and not "." or "..".
pub fn validate_name(name: &str) -> Result<(), NetError> {
    let ok = (1..=100).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(NetError::InvalidNetnsName(name.to_string()))
    }
}

/// The pin file of netns `name`.
pub fn path(name: &str) -> Result<PathBuf, NetError> {
    validate_name(name)?;
    Ok(PathBuf::from(NETNS_RUN_DIR).join(name))
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in a validated path")
}

fn mount(src: &CString, target: &CString, flags: libc::c_ulong) -> io::Result<()> {
    let none = cstr("none");
    // SAFETY: valid NUL-terminated strings, null data.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            none.as_ptr(),
            flags,
            std::ptr::null(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Makes /run/netns a shared mount, as `ip netns add` does, so that pins made
/// later propagate to mount namespaces that were cloned from this one: try
/// MS_SHARED|MS_REC; if it is not a mount point yet (EINVAL), bind it onto
/// itself and try again. Done once per process.
fn prepare_run_dir() -> io::Result<()> {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    match std::fs::DirBuilder::new().mode(0o755).create(NETNS_RUN_DIR) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let dir = cstr(NETNS_RUN_DIR);
    let empty = cstr("");
    match mount(&empty, &dir, libc::MS_SHARED | libc::MS_REC) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            mount(&dir, &dir, libc::MS_BIND | libc::MS_REC)?;
            mount(&empty, &dir, libc::MS_SHARED | libc::MS_REC)?;
        }
        Err(e) => return Err(e),
    }
    DONE.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Makes the pin file of `name` (O_EXCL: an existing name is an error, as in
/// iproute2) and binds `source` (an nsfs file) onto it.
fn pin_from(name: &str, source: &CString) -> Result<PathBuf, NetError> {
    let pin = path(name)?;
    let fail = |source: io::Error| NetError::Netns {
        name: name.to_string(),
        source,
    };
    prepare_run_dir().map_err(fail)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&pin)
        .map_err(fail)?;
    let pin_c = cstr(pin.to_str().expect("validated names are ascii"));
    if let Err(e) = mount(source, &pin_c, libc::MS_BIND) {
        let _ = std::fs::remove_file(&pin);
        return Err(fail(e));
    }
    Ok(pin)
}

/// Creates a new network namespace pinned at /run/netns/NAME. The calling
/// thread unshares it, pins it and returns to its own namespace (no fork,
/// which at 1,000 namespaces is most of the cost); other threads are not
/// moved.
pub fn create(name: &str) -> Result<PathBuf, NetError> {
    create_with(name, || Ok(())).map(|(p, ())| p)
}

/// `create`, running `inside` in the new namespace before returning, with
/// its value (its error fails the creation; the pin stays, for the caller's
/// teardown).
pub fn create_with<T>(
    name: &str,
    inside: impl FnOnce() -> Result<T, String>,
) -> Result<(PathBuf, T), NetError> {
    let fail = |source: io::Error| NetError::Netns {
        name: name.to_string(),
        source,
    };
    path(name)?;
    let orig = std::fs::File::open("/proc/thread-self/ns/net").map_err(fail)?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| fail(e.into()))?;
    let pinned = pin_from(name, &cstr("/proc/thread-self/ns/net")).and_then(|p| {
        let value = inside().map_err(|e| NetError::Netns {
            name: name.to_string(),
            source: io::Error::other(e),
        })?;
        Ok((p, value))
    });
    if let Err(e) = nix::sched::setns(&orig, nix::sched::CloneFlags::CLONE_NEWNET) {
        // Staying in the new namespace would misplace every later link.
        panic!("netns: cannot return to the original namespace: {e}");
    }
    pinned
}

/// Pins the network namespace of process `pid` at /run/netns/NAME, so
/// `ip netns exec NAME` reaches a container's network.
pub fn pin_pid(name: &str, pid: i32) -> Result<PathBuf, NetError> {
    pin_from(name, &cstr(&format!("/proc/{pid}/ns/net")))
}

/// Points the existing pin /run/netns/NAME at the network namespace of
/// process `pid` (a restarted container): detach the old bind, bind anew.
pub fn repin_pid(name: &str, pid: i32) -> Result<PathBuf, NetError> {
    let pin = path(name)?;
    let pin_c = cstr(pin.to_str().expect("validated names are ascii"));
    // SAFETY: valid NUL-terminated path.
    unsafe { libc::umount2(pin_c.as_ptr(), libc::MNT_DETACH) };
    mount(&cstr(&format!("/proc/{pid}/ns/net")), &pin_c, libc::MS_BIND).map_err(|source| {
        NetError::Netns {
            name: name.to_string(),
            source,
        }
    })?;
    Ok(pin)
}

/// The inode of the namespace pinned at /run/netns/NAME, which identifies
/// it (what `ls -i` and /proc/PID/ns/net show); None when nothing is there.
pub fn inode(name: &str) -> Result<Option<u64>, NetError> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path(name)?) {
        Ok(m) => Ok(Some(m.ino())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(NetError::Netns {
            name: name.to_string(),
            source,
        }),
    }
}

/// Unpins netns `name` (lazy unmount) and removes its pin file. The
/// namespace itself lives on while a process or open fd still holds it.
pub fn delete(name: &str) -> Result<(), NetError> {
    let pin = path(name)?;
    let fail = |source: io::Error| NetError::Netns {
        name: name.to_string(),
        source,
    };
    let pin_c = cstr(pin.to_str().expect("validated names are ascii"));
    // SAFETY: valid NUL-terminated path.
    if unsafe { libc::umount2(pin_c.as_ptr(), libc::MNT_DETACH) } != 0 {
        let e = io::Error::last_os_error();
        // EINVAL: a pin file left without its mount; still remove it.
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(fail(e));
        }
    }
    std::fs::remove_file(&pin).map_err(fail)
}

/// Opens netns `name`, for `Netlink::open_in`, setns or `link::set_netns`.
pub fn open(name: &str) -> Result<File, NetError> {
    let pin = path(name)?;
    File::open(&pin).map_err(|source| NetError::Netns {
        name: name.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "luxc-t1-a", "A.b_c-9", &"x".repeat(100)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(101), "a\0"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            path("x/y").unwrap_err().to_string(),
            "netns 'x/y': invalid name (1 to 100 characters of A-Z a-z 0-9 _ . -)"
        );
    }
}
