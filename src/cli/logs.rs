//! `luxc logs LAB CONTAINER [--tail N]`: what the container's init printed,
//! from its init.log in the lab's state dir (bounded: see
//! docs/containers.md). Read only, no lock.

use std::io::Write;

use crate::engine::container::Paths;
use crate::engine::view::{self, Host};

/// Prints the log (its last `tail` lines, if given) as it is, bytes and all;
/// exit status 1 with a message for an unknown lab or container, or a log
/// that cannot be read.
pub fn run(lab: &str, container: &str, tail: Option<usize>) -> i32 {
    let host = Host::real();
    let dir = match view::container_dir(&host, lab, container) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("luxc logs: {}", crate::error::chain(&e));
            return 1;
        }
    };
    let path = Paths { dir }.log();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "luxc logs: container '{container}' of lab '{lab}': read {}: {e}",
                path.display()
            );
            return 1;
        }
    };
    let shown = match tail {
        Some(n) => last_lines(&bytes, n),
        None => &bytes[..],
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`luxc logs … | head`) is not an error of luxc's.
    let _ = stdout.write_all(shown).and_then(|()| stdout.flush());
    0
}

/// The last `n` lines of `bytes` (a last line without its newline counts).
pub fn last_lines(bytes: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &bytes[bytes.len()..];
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &bytes[i + 1..];
            }
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::last_lines;

    #[test]
    fn last_lines_counts_from_the_end() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"a\nb\n", 0), b"");
        assert_eq!(last_lines(b"", 3), b"");
        assert_eq!(last_lines(b"\n\n", 1), b"\n");
    }
}
