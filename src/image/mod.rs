//! Images: the read-only lower layer of a container's root filesystem (`luxc.image`).
//!
//! An image is only a directory: the host's `/`, any rootfs directory, or a busybox
//! rootfs built once from the host's busybox-static. Each container puts its own
//! writable upper layer over it, so many containers share one image.

mod busybox;
mod elf;

pub use busybox::{busybox, busybox_with, CANDIDATES, DEFAULT_CACHE_ROOT};
pub use elf::ElfError;

use std::io;
use std::path::{Path, PathBuf};

/// Why an image could not be found, checked or built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The path given to `dir()` could not be resolved (missing, no permission, loop).
    #[error("image dir {}: {source}", path.display())]
    DirResolve {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The path given to `dir()` is not a directory.
    #[error("image dir {}: not a directory", path.display())]
    NotADirectory { path: PathBuf },
    /// The path given to `dir()` is the host's root, which `host()` already is.
    #[error(
        "image dir {}: this is the host's root /; use image.host() to run on it read-only",
        path.display()
    )]
    HostRoot { path: PathBuf },
    /// None of the busybox candidates exists.
    #[error(
        "busybox image: no busybox-static found (looked in {}); apt-get install busybox-static",
        list(candidates)
    )]
    BusyboxNotFound { candidates: Vec<PathBuf> },
    /// The busybox found needs a dynamic loader, which the busybox rootfs does not have.
    #[error("busybox image: {} is dynamically linked; install busybox-static", path.display())]
    BusyboxDynamic { path: PathBuf },
    /// The busybox found is not an ELF64 little-endian executable.
    #[error("busybox image: {}: {source}", path.display())]
    BusyboxNotElf {
        path: PathBuf,
        #[source]
        source: ElfError,
    },
    /// Running `busybox --list-full` failed or printed something unusable.
    #[error("busybox image: {} --list-full: {reason}", path.display())]
    BusyboxApplets { path: PathBuf, reason: String },
    /// A file operation on the busybox binary or the image cache failed.
    #[error("busybox image: {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// `a, b, c` for an error message.
fn list(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// A container image: the directory used as the read-only lower layer of its rootfs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Image {
    /// The host's `/`, read-only as the overlay lower layer (needs nothing downloaded).
    Host,
    /// A rootfs directory used as a read-only lower layer.
    Dir { path: PathBuf },
    /// The busybox rootfs built from the host's busybox-static, cached.
    Busybox { path: PathBuf },
}

impl Image {
    /// The directory that becomes the overlay's lower layer; `/` for `Host`.
    pub fn lower(&self) -> &Path {
        match self {
            Image::Host => Path::new("/"),
            Image::Dir { path } | Image::Busybox { path } => path,
        }
    }

    /// A short name for tables and `info()`: `host`, `dir:/srv/rootfs`, `busybox`.
    pub fn name(&self) -> String {
        match self {
            Image::Host => "host".to_owned(),
            Image::Dir { path } => format!("dir:{}", path.display()),
            Image::Busybox { .. } => "busybox".to_owned(),
        }
    }

    /// Where the container's default shell is, for exec convenience: `/bin/sh`.
    pub fn shell(&self) -> &'static Path {
        Path::new("/bin/sh")
    }
}

/// The host's `/` as a read-only lower layer; the default image.
pub fn host() -> Image {
    Image::Host
}

/// A rootfs directory as a read-only lower layer. The path must exist and be a
/// directory (symlinks followed); the image holds its canonical absolute path, so a
/// later change of the current directory or of a symlink does not move it.
pub fn dir(path: &Path) -> Result<Image, ImageError> {
    let canonical = std::fs::canonicalize(path).map_err(|source| ImageError::DirResolve {
        path: path.to_owned(),
        source,
    })?;
    // canonicalize() has followed every symlink, so this stat is of the target itself.
    let meta = std::fs::metadata(&canonical).map_err(|source| ImageError::DirResolve {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ImageError::NotADirectory {
            path: path.to_owned(),
        });
    }
    if canonical == Path::new("/") {
        return Err(ImageError::HostRoot {
            path: path.to_owned(),
        });
    }
    Ok(Image::Dir { path: canonical })
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
