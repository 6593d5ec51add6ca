//! A log file held under a size bound: appended to, and once it grows past
//! the bound, cut to its newest half (from a line start), so the newest
//! output is always there and the file never holds more than the bound plus
//! one write. Used by a container's PID 1 for its init.log.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

/// How much of a container's output its init.log keeps: 1 MiB.
pub const LOG_BOUND: u64 = 1 << 20;

/// The line a cut log starts with.
pub const CUT_MARK: &[u8] = b"[luxc: older output cut; init.log keeps at most 1 MiB]\n";

/// An append-only log file with a size bound.
#[derive(Debug)]
pub struct BoundedLog {
    file: File,
    bound: u64,
}

impl BoundedLog {
    /// Wraps `file`, which must be open for reading and appending.
    pub fn new(file: File, bound: u64) -> BoundedLog {
        BoundedLog { file, bound }
    }

    /// Appends `data`; then, if the file is longer than the bound (also
    /// through other writers), keeps only its newest half.
    pub fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)?;
        let len = self.file.metadata()?.len();
        if len > self.bound {
            self.cut(len)?;
        }
        Ok(())
    }

    /// Rewrites the file as the cut mark and its last `bound / 2` bytes,
    /// starting after the first newline in them (no half line), if any.
    fn cut(&mut self, len: u64) -> io::Result<()> {
        let keep = (self.bound / 2).min(len);
        let mut tail = vec![0u8; keep as usize];
        self.file.read_exact_at(&mut tail, len - keep)?;
        let from = match tail.iter().position(|&b| b == b'\n') {
            Some(i) if i + 1 < tail.len() => i + 1,
            _ => 0,
        };
        self.file.set_len(0)?;
        // O_APPEND: both writes land at the (new) end.
        self.file.write_all(CUT_MARK)?;
        self.file.write_all(&tail[from..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    fn open(path: &std::path::Path) -> File {
        OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .unwrap()
    }

    #[test]
    fn below_the_bound_everything_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("init.log");
        let mut log = BoundedLog::new(open(&path), 100);
        log.append(b"one\n").unwrap();
        log.append(b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\n");
    }

    #[test]
    fn past_the_bound_the_newest_half_is_kept_from_a_line_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("init.log");
        let mut log = BoundedLog::new(open(&path), 100);
        for i in 0..30 {
            log.append(format!("line {i:02}\n").as_bytes()).unwrap();
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(
                len <= 100 + CUT_MARK.len() as u64,
                "{len} bytes after line {i}"
            );
        }
        let text = std::fs::read(&path).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.starts_with(std::str::from_utf8(CUT_MARK).unwrap()),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert!(lines.iter().all(|l| l.len() == 7), "a half line: {lines:?}");
        assert_eq!(lines.last(), Some(&"line 29"));
        assert!(!text.contains("line 00"), "{text}");
    }

    #[test]
    fn other_writers_growing_the_file_are_cut_at_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("init.log");
        let mut log = BoundedLog::new(open(&path), 100);
        open(&path).write_all(&[b'x'; 500]).unwrap();
        log.append(b"\nlast\n").unwrap();
        let text = std::fs::read(&path).unwrap();
        assert!(text.len() <= 100, "{} bytes", text.len());
        assert!(text.ends_with(b"\nlast\n") || text.ends_with(b"last\n"));
    }
}
