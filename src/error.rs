//! The crate error: one enum per module, rolled up here with `#[from]`.

use std::fmt::Write as _;

/// Every error a luxc library call can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting, feeding or waiting for a host command failed.
    #[error(transparent)]
    Exec(#[from] crate::process::ExecError),
    /// Reading the cgroup layout failed.
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),
    /// Reading PCI devices or binding a driver failed.
    #[error(transparent)]
    Pci(#[from] crate::pci::PciError),
}

/// The result type of the luxc library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Formats an error with its whole chain of causes, `outer: inner: innermost`,
/// so nothing is lost when it crosses into Lua or reaches the terminal.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // `#[error(transparent)]` and `{0}` wrappers repeat their cause; skip repeats.
        if !out.ends_with(&text) {
            let _ = write!(out, ": {text}");
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer step")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_lists_every_cause() {
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ));
        assert_eq!(chain(&err), "outer step: no such file");
    }
}
