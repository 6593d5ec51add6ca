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

/// Checks a netns name: 1..=32 characters of [A-Za-z0-9_.-], and not "." or "..".
pub fn validate_name(name: &str) -> Result<(), NetError> {
    let ok = (1..=32).contains(&name.len())
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
/// itself and try again.
fn prepare_run_dir() -> io::Result<()> {
    match std::fs::DirBuilder::new().mode(0o755).create(NETNS_RUN_DIR) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let dir = cstr(NETNS_RUN_DIR);
    let empty = cstr("");
    match mount(&empty, &dir, libc::MS_SHARED | libc::MS_REC) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            mount(&dir, &dir, libc::MS_BIND | libc::MS_REC)?;
            mount(&empty, &dir, libc::MS_SHARED | libc::MS_REC)
        }
        Err(e) => Err(e),
    }
}

/// Creates a new network namespace pinned at /run/netns/NAME. The namespace
/// is unshared in a forked child, so the caller's namespace never changes.
pub fn create(name: &str) -> Result<PathBuf, NetError> {
    let pin = path(name)?;
    let fail = |source: io::Error| NetError::Netns {
        name: name.to_string(),
        source,
    };
    prepare_run_dir().map_err(fail)?;
    // The pin file; O_EXCL: an existing name is an error, as in iproute2.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&pin)
        .map_err(fail)?;
    let pin_c = cstr(pin.to_str().expect("validated names are ascii"));
    let self_ns = cstr("/proc/self/ns/net");
    let none = cstr("none");
    // SAFETY: the child only makes raw syscalls on memory prepared before
    // the fork (async-signal-safe), then _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        let _ = std::fs::remove_file(&pin);
        return Err(fail(e));
    }
    if pid == 0 {
        unsafe {
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                libc::_exit(*libc::__errno_location());
            }
            if libc::mount(
                self_ns.as_ptr(),
                pin_c.as_ptr(),
                none.as_ptr(),
                libc::MS_BIND,
                std::ptr::null(),
            ) != 0
            {
                libc::_exit(*libc::__errno_location());
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    let waited = loop {
        // SAFETY: waiting for the child we forked.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 {
            break Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            break Err(e);
        }
    };
    let result = match waited {
        Err(e) => Err(e),
        Ok(()) if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 => Ok(()),
        Ok(()) if libc::WIFEXITED(status) => {
            Err(io::Error::from_raw_os_error(libc::WEXITSTATUS(status)))
        }
        Ok(()) => Err(io::Error::other(format!(
            "namespace child died (wait status {status})"
        ))),
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&pin);
        return Err(fail(e));
    }
    Ok(pin)
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
        for ok in ["a", "luxc-t1-a", "A.b_c-9", &"x".repeat(32)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(33), "a\0"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            path("x/y").unwrap_err().to_string(),
            "netns 'x/y': invalid name (1 to 32 characters of A-Z a-z 0-9 _ . -)"
        );
    }
}
