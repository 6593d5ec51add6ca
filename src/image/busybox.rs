//! The busybox image: a minimal rootfs built once from the host's busybox-static and
//! cached under a directory named by a hash of the binary's contents.
//!
//! `busybox()` runs for every script that asks for the image, so the common case costs
//! a few stat calls and one small read: `<cache_root>/busybox.ref` records which file
//! (device, inode, size, mtime, ctime) the current cache entry was built from, and only
//! when the binary no longer matches is it read and hashed again. A build happens in a
//! private temporary directory renamed into place, so a concurrent or crashed build
//! never leaves a half-built image under the final name.

use super::{elf, Image, ImageError};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{symlink, DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where `busybox()` keeps built images.
pub const DEFAULT_CACHE_ROOT: &str = "/var/lib/luxc/images";
/// Where `busybox()` looks for the binary; the first one that exists is used.
pub const CANDIDATES: [&str; 2] = ["/bin/busybox", "/usr/bin/busybox"];

/// Marker written last into a built image; an image directory without it is not used.
const MARKER: &str = ".complete";
/// Records which binary the current image was built from (see the module docs).
const REF_FILE: &str = "busybox.ref";
/// Version tag of the `busybox.ref` line; another tag means "rehash".
const REF_VERSION: &str = "v1";
/// Where the applet symlinks point, inside the container.
const BUSYBOX_IN_IMAGE: &str = "/bin/busybox";

/// Directories of the image besides those the applets need, with their modes.
const DIRS: [(&str, u32); 15] = [
    ("bin", 0o755),
    ("sbin", 0o755),
    ("usr", 0o755),
    ("usr/bin", 0o755),
    ("usr/sbin", 0o755),
    ("etc", 0o755),
    ("proc", 0o755),
    ("sys", 0o755),
    ("dev", 0o755),
    ("tmp", 0o1777),
    ("run", 0o755),
    ("root", 0o700),
    ("home", 0o755),
    ("var", 0o755),
    ("var/tmp", 0o1777),
];

/// Files of `/etc`; no `hostname`: the container sets its own.
const ETC_FILES: [(&str, &str); 4] = [
    (
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    ),
    ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    ("etc/hosts", "127.0.0.1 localhost\n::1 localhost\n"),
    ("etc/nsswitch.conf", "hosts: files dns\n"),
];

/// How `ensure` came by the image; tests check that a second call does not rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// `busybox.ref` matched the binary: no read, no hash.
    Fast,
    /// The binary was read and hashed, and a complete image with that hash existed.
    Hashed,
    /// This call built the image.
    Built,
    /// This call built the image but another process renamed its copy in first.
    LostRace,
}

/// The busybox image under `cache_root` (normally [`DEFAULT_CACHE_ROOT`]), built from the
/// host's busybox-static at `/bin/busybox` or `/usr/bin/busybox` if not cached yet.
pub fn busybox(cache_root: &Path) -> Result<Image, ImageError> {
    let candidates: Vec<&Path> = CANDIDATES.iter().map(Path::new).collect();
    busybox_with(cache_root, &candidates)
}

/// As [`busybox`], considering `candidates` in order; the first that exists is used,
/// and it must be statically linked.
pub fn busybox_with(cache_root: &Path, candidates: &[&Path]) -> Result<Image, ImageError> {
    ensure(cache_root, candidates).map(|(image, _)| image)
}

/// The image and how it was obtained.
pub(super) fn ensure(
    cache_root: &Path,
    candidates: &[&Path],
) -> Result<(Image, Outcome), ImageError> {
    let root = std::path::absolute(cache_root).map_err(|source| ImageError::Io {
        op: "resolve cache dir",
        path: cache_root.to_owned(),
        source,
    })?;
    let (source, meta) = find(candidates)?;

    if let Some(hash) = read_ref(&root, &Identity::of(&meta)) {
        let image = root.join(image_dir_name(hash));
        if is_complete(&image) {
            return Ok((Image::Busybox { path: image }, Outcome::Fast));
        }
    }

    let (bytes, identity) = read_binary(source)?;
    match elf::has_interpreter(&bytes) {
        Ok(false) => {}
        Ok(true) => {
            return Err(ImageError::BusyboxDynamic {
                path: source.to_owned(),
            })
        }
        Err(e) => {
            return Err(ImageError::BusyboxNotElf {
                path: source.to_owned(),
                source: e,
            })
        }
    }
    let hash = fnv1a64(&bytes);
    let image = root.join(image_dir_name(hash));
    let outcome = if is_complete(&image) {
        Outcome::Hashed
    } else {
        build(&root, &image, source, &bytes, hash)?
    };
    write_ref(&root, &identity, hash);
    Ok((Image::Busybox { path: image }, outcome))
}

/// The first candidate that exists, with its metadata (symlinks followed).
fn find<'a>(candidates: &[&'a Path]) -> Result<(&'a Path, fs::Metadata), ImageError> {
    for &candidate in candidates {
        match fs::metadata(candidate) {
            Ok(meta) if meta.is_file() => return Ok((candidate, meta)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ImageError::Io {
                    op: "stat",
                    path: candidate.to_owned(),
                    source,
                })
            }
        }
    }
    Err(ImageError::BusyboxNotFound {
        candidates: candidates.iter().map(|c| c.to_path_buf()).collect(),
    })
}

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    fn of(meta: &fs::Metadata) -> Identity {
        let ns = |secs: i64, nsec: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsec);
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    fn ref_line(&self, hash: u64) -> String {
        let Identity {
            dev,
            ino,
            len,
            mtime_ns,
            ctime_ns,
        } = self;
        format!("{REF_VERSION} {dev} {ino} {len} {mtime_ns} {ctime_ns} {hash:016x}\n")
    }
}

/// The hash recorded in `busybox.ref` if it was recorded for `identity`.
fn read_ref(root: &Path, identity: &Identity) -> Option<u64> {
    let text = fs::read_to_string(root.join(REF_FILE)).ok()?;
    let hash = text.trim_end().rsplit_once(' ')?.1;
    let hash = u64::from_str_radix(hash, 16).ok()?;
    (text == identity.ref_line(hash)).then_some(hash)
}

/// Records that the binary `identity` has contents `hash`. Best effort: without the
/// record the next call only rehashes, so a failure is logged, not returned.
fn write_ref(root: &Path, identity: &Identity, hash: u64) {
    let line = identity.ref_line(hash);
    if fs::read_to_string(root.join(REF_FILE)).is_ok_and(|old| old == line) {
        return;
    }
    let tmp = root.join(format!(".tmp-ref-{}-{:x}", std::process::id(), nonce()));
    let written = fs::write(&tmp, &line).and_then(|()| fs::rename(&tmp, root.join(REF_FILE)));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        tracing::warn!(
            "busybox image: cannot record {}: {e}",
            root.join(REF_FILE).display()
        );
    }
}

/// The binary's contents and identity, read through one open file so they match.
fn read_binary(path: &Path) -> Result<(Vec<u8>, Identity), ImageError> {
    let io_err = |op| {
        move |source| ImageError::Io {
            op,
            path: path.to_owned(),
            source,
        }
    };
    let mut file = File::open(path).map_err(io_err("open"))?;
    let meta = file.metadata().map_err(io_err("stat"))?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(io_err("read"))?;
    Ok((bytes, Identity::of(&meta)))
}

/// FNV-1a, 64 bits: stable across Rust versions and builds, unlike `DefaultHasher`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn image_dir_name(hash: u64) -> String {
    format!("busybox-{hash:016x}")
}

fn is_complete(image: &Path) -> bool {
    fs::symlink_metadata(image.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// A number that makes temporary names of this process unique.
fn nonce() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (u64::from(nanos) << 16) ^ COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Builds the image in a temporary directory of `root` and renames it to `image`.
fn build(
    root: &Path,
    image: &Path,
    source: &Path,
    bytes: &[u8],
    hash: u64,
) -> Result<Outcome, ImageError> {
    // Ask for the applets first, so a broken binary leaves nothing behind.
    let applets = applets(source)?;
    create_cache_dir(root).map_err(|source| ImageError::Io {
        op: "create cache dir",
        path: root.to_owned(),
        source,
    })?;
    let tmp = create_tmp_dir(root)?;
    let tree = Tree {
        root: &tmp,
        chown: nix::unistd::geteuid().is_root(),
    };
    let marker = format!(
        "source {}\nfnv1a64 {hash:016x}\nsize {}\napplets {}\n",
        source.display(),
        bytes.len(),
        applets.len()
    );
    let populated = populate(&tree, bytes, &applets, &marker);
    if let Err(e) = populated {
        remove_quietly(&tmp);
        return Err(e);
    }
    tracing::debug!("busybox image: built {}", image.display());
    publish(root, &tmp, image)
}

/// `dir` and its missing parents, each created with mode 0755 whatever the umask.
fn create_cache_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_cache_dir(parent)?;
    }
    match DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o755)),
        // Another process created it between our stat and mkdir.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// `<root>/.tmp-busybox-<pid>-<nonce>`, created empty with mode 0755.
fn create_tmp_dir(root: &Path) -> Result<PathBuf, ImageError> {
    let pid = std::process::id();
    let mut last = None;
    for _ in 0..16 {
        let tmp = root.join(format!(".tmp-busybox-{pid}-{:x}", nonce()));
        match DirBuilder::new().mode(0o755).create(&tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some((tmp, e)),
            Err(source) => {
                return Err(ImageError::Io {
                    op: "create",
                    path: tmp,
                    source,
                })
            }
        }
    }
    let (path, source) = last.expect("the loop ran");
    Err(ImageError::Io {
        op: "create",
        path,
        source,
    })
}

/// Moves the finished `tmp` to `image`. If a complete image is already there, another
/// process won the race: ours is deleted and theirs used. An incomplete directory in
/// the way (left by hand or by an older luxc) is moved aside and deleted.
pub(super) fn publish(root: &Path, tmp: &Path, image: &Path) -> Result<Outcome, ImageError> {
    for _ in 0..4 {
        let err = match fs::rename(tmp, image) {
            Ok(()) => return Ok(Outcome::Built),
            Err(e) => e,
        };
        let occupied = matches!(
            err.raw_os_error().map(nix::errno::Errno::from_raw),
            Some(nix::errno::Errno::ENOTEMPTY | nix::errno::Errno::EEXIST)
        );
        if !occupied {
            remove_quietly(tmp);
            return Err(ImageError::Io {
                op: "rename into place",
                path: image.to_owned(),
                source: err,
            });
        }
        if is_complete(image) {
            remove_quietly(tmp);
            return Ok(Outcome::LostRace);
        }
        let aside = root.join(format!(
            ".stale-busybox-{}-{:x}",
            std::process::id(),
            nonce()
        ));
        match fs::rename(image, &aside) {
            Ok(()) => remove_quietly(&aside),
            // Someone else moved it first; try again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                remove_quietly(tmp);
                return Err(ImageError::Io {
                    op: "move aside incomplete image",
                    path: image.to_owned(),
                    source,
                });
            }
        }
    }
    remove_quietly(tmp);
    Err(ImageError::Io {
        op: "rename into place",
        path: image.to_owned(),
        source: io::Error::other("the directory kept being replaced by other processes"),
    })
}

fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_dir_all(path) {
        tracing::warn!("busybox image: cannot remove {}: {e}", path.display());
    }
}

/// The applet paths of `busybox --list-full`, relative to the image root, without
/// `bin/busybox` itself.
fn applets(source: &Path) -> Result<Vec<PathBuf>, ImageError> {
    let failed = |reason: String| ImageError::BusyboxApplets {
        path: source.to_owned(),
        reason,
    };
    let output = Command::new(source)
        .arg("--list-full")
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(format!("{}: {}", output.status, stderr.trim())));
    }
    let stdout = String::from_utf8(output.stdout)
        .map_err(|_| failed("printed something that is not UTF-8".to_owned()))?;
    let mut applets = Vec::new();
    for line in stdout.lines() {
        if let Some(path) = applet_path(line).map_err(failed)? {
            applets.push(path);
        }
    }
    if applets.is_empty() {
        return Err(failed("printed no applets".to_owned()));
    }
    Ok(applets)
}

/// One line of `--list-full` as a path inside the image; `None` for blank lines and the
/// binary itself; an error for anything that could leave the image root.
pub(super) fn applet_path(line: &str) -> Result<Option<PathBuf>, String> {
    let line = line.trim();
    if line.is_empty() || line == "bin/busybox" {
        return Ok(None);
    }
    let path = Path::new(line);
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!("printed an unsafe applet path {line:?}"));
    }
    Ok(Some(path.to_owned()))
}

/// Writes the image into the empty `tree`.
fn populate(
    tree: &Tree,
    bytes: &[u8],
    applets: &[PathBuf],
    marker: &str,
) -> Result<(), ImageError> {
    tree.set_mode(Path::new(""), 0o755)?;
    for (dir, mode) in DIRS {
        tree.dir(Path::new(dir), mode)?;
    }
    tree.file(Path::new("bin/busybox"), bytes, 0o755)?;
    for (path, contents) in ETC_FILES {
        tree.file(Path::new(path), contents.as_bytes(), 0o644)?;
    }
    for applet in applets {
        if let Some(parent) = applet.parent() {
            tree.dirs(parent)?;
        }
        tree.symlink(applet, Path::new(BUSYBOX_IN_IMAGE))?;
    }
    tree.file(Path::new(MARKER), marker.as_bytes(), 0o644)?;
    // The rename that publishes the image must not land before its contents.
    tree.sync_dir()
}

/// A directory being filled, owned by root when luxc runs as root.
struct Tree<'a> {
    root: &'a Path,
    chown: bool,
}

impl Tree<'_> {
    fn err(&self, op: &'static str, rel: &Path) -> impl FnOnce(io::Error) -> ImageError {
        let path = self.root.join(rel);
        move |source| ImageError::Io { op, path, source }
    }

    /// Gives `rel` to root:root; a setgid cache directory would otherwise lend its group.
    fn own(&self, rel: &Path) -> Result<(), ImageError> {
        if self.chown {
            std::os::unix::fs::lchown(self.root.join(rel), Some(0), Some(0))
                .map_err(self.err("chown", rel))?;
        }
        Ok(())
    }

    /// Sets the mode exactly, whatever the umask took away.
    fn set_mode(&self, rel: &Path, mode: u32) -> Result<(), ImageError> {
        self.own(rel)?;
        fs::set_permissions(self.root.join(rel), fs::Permissions::from_mode(mode))
            .map_err(self.err("chmod", rel))
    }

    fn dir(&self, rel: &Path, mode: u32) -> Result<(), ImageError> {
        DirBuilder::new()
            .mode(mode)
            .create(self.root.join(rel))
            .map_err(self.err("create", rel))?;
        self.set_mode(rel, mode)
    }

    /// `rel` and its missing parents, mode 0755.
    fn dirs(&self, rel: &Path) -> Result<(), ImageError> {
        if rel.as_os_str().is_empty() || self.root.join(rel).is_dir() {
            return Ok(());
        }
        if let Some(parent) = rel.parent() {
            self.dirs(parent)?;
        }
        self.dir(rel, 0o755)
    }

    fn file(&self, rel: &Path, contents: &[u8], mode: u32) -> Result<(), ImageError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(self.root.join(rel))
            .map_err(self.err("create", rel))?;
        file.write_all(contents).map_err(self.err("write", rel))?;
        file.sync_all().map_err(self.err("sync", rel))?;
        self.set_mode(rel, mode)
    }

    /// A symlink; a path listed twice keeps its first link.
    fn symlink(&self, rel: &Path, target: &Path) -> Result<(), ImageError> {
        match symlink(target, self.root.join(rel)) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(self.err("symlink", rel)(e)),
            Ok(()) => self.own(rel),
        }
    }

    fn sync_dir(&self) -> Result<(), ImageError> {
        File::open(self.root)
            .and_then(|dir| dir.sync_all())
            .map_err(self.err("sync", Path::new("")))
    }
}

#[cfg(test)]
#[path = "busybox_tests.rs"]
mod tests;
