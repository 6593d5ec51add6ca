//! Mount primitives: one syscall each, errors naming the operation and path.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// A mount operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {source}")]
pub struct FsError {
    /// What was being done, e.g. "mount overlay on".
    pub op: String,
    /// The path it was done to.
    pub path: PathBuf,
    /// The errno.
    #[source]
    pub source: std::io::Error,
}

impl FsError {
    /// An error of `op` on `path` from errno `e`.
    pub fn new(op: impl Into<String>, path: &Path, e: impl Into<std::io::Error>) -> Self {
        FsError {
            op: op.into(),
            path: path.to_path_buf(),
            source: e.into(),
        }
    }
}

type Result<T> = std::result::Result<T, FsError>;

/// Stops mount events propagating between this mount namespace and the host.
pub fn make_private_recursive() -> Result<()> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| FsError::new("make private (rprivate)", Path::new("/"), e))
}

/// Mounts an overlay of `lower` (read-only) under `upper`/`work` on `target`.
///
/// `volatile`: without it, the end of the container (its mount namespace)
/// syncs the whole filesystem the upper layer lives on, which costs more
/// than the container's whole life on a busy disk. A lab's writable layers
/// are scratch space, so skipping the sync is right; the price is that a
/// host crash may leave them inconsistent, and a restart must clear the
/// marker overlayfs leaves in the work dir (see `clear_volatile_marker`).
pub fn overlay(lower: &Path, upper: &Path, work: &Path, target: &Path) -> Result<()> {
    let data = format!(
        "lowerdir={},upperdir={},workdir={},volatile",
        escape(lower),
        escape(upper),
        escape(work)
    );
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|e| FsError::new("mount overlay on", target, e))
}

/// Removes the marker (`work/work/incompat/volatile`) a volatile overlay
/// leaves behind; overlayfs refuses to mount the same work dir again while
/// it exists.
pub fn clear_volatile_marker(work: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(work.join("work/incompat/volatile")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Overlay options separate with ',' and ':'; escape them in paths.
fn escape(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(':', "\\:")
}

/// Mounts a filesystem of type `fstype` (proc, sysfs, tmpfs, devpts, mqueue).
pub fn fs(fstype: &str, target: &Path, flags: MsFlags, data: Option<&str>) -> Result<()> {
    mount(Some(fstype), target, Some(fstype), flags, data)
        .map_err(|e| FsError::new(format!("mount {fstype} on"), target, e))
}

/// Bind-mounts `source` on `target` (recursively with `recursive`), then
/// makes the bind read-only when asked (a bind ignores MS_RDONLY at first).
pub fn bind(source: &Path, target: &Path, recursive: bool, readonly: bool) -> Result<()> {
    let mut flags = MsFlags::MS_BIND;
    if recursive {
        flags |= MsFlags::MS_REC;
    }
    mount(Some(source), target, None::<&str>, flags, None::<&str>)
        .map_err(|e| FsError::new(format!("bind {} on", source.display()), target, e))?;
    if readonly {
        remount_readonly(target)?;
    }
    Ok(())
}

/// Remounts the mount at `target` read-only, keeping its other flags
/// (nosuid, nodev, noexec must be kept or the kernel refuses in a user namespace).
pub fn remount_readonly(target: &Path) -> Result<()> {
    let current = statvfs_flags(target)?;
    let flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | current;
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
        .map_err(|e| FsError::new("remount read-only", target, e))
}

fn statvfs_flags(target: &Path) -> Result<MsFlags> {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let st = statvfs(target).map_err(|e| FsError::new("statvfs", target, e))?;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (from, to) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(from) {
            out |= to;
        }
    }
    Ok(out)
}

/// Makes `new_root` the root of this mount namespace and detaches the old
/// root, without needing a put_old directory (so a read-only image works):
/// pivot_root(".", ".") stacks the old root under the new one, and the
/// detach removes it.
pub fn pivot_root(new_root: &Path) -> Result<()> {
    nix::unistd::chdir(new_root).map_err(|e| FsError::new("chdir", new_root, e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| FsError::new("pivot_root", new_root, e))?;
    umount2(".", MntFlags::MNT_DETACH)
        .map_err(|e| FsError::new("detach the old root", Path::new("/"), e))?;
    nix::unistd::chdir("/").map_err(|e| FsError::new("chdir", Path::new("/"), e))
}

/// Creates `path` as an empty file (a bind target for a file), with parents.
pub fn touch(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| FsError::new("mkdir", parent, e))?;
    }
    if path.exists() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map(drop)
        .map_err(|e| FsError::new("create", path, e))
}

/// Creates a directory with parents.
pub fn mkdir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| FsError::new("mkdir", path, e))
}
