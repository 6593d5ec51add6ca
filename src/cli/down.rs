//! `luxc down [--force] LAB... | --all`: removes what a lab created, from its
//! journal (also after luxc was killed half-way). `--force` also takes down a
//! lab whose journal has unreadable lines, from the lines it can read.

use std::path::Path;

use crate::engine::journal::{self, Journal, JournalError};
use crate::engine::lab::{down_journal, STATE_ROOT};

/// Tears the named labs (or all) down; exit status 1 if anything remained.
pub fn run(labs: &[String], all: bool, force: bool) -> i32 {
    let root = Path::new(STATE_ROOT);
    let names: Vec<String> = if all {
        match journal::labs(root) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("luxc down: {}", crate::error::chain(&e));
                return 1;
            }
        }
    } else {
        labs.to_vec()
    };
    let mut status = 0;
    for name in &names {
        let j = match open(root, name, force) {
            Ok(j) => j,
            Err(e @ JournalError::Malformed { .. }) => {
                eprintln!(
                    "luxc down: lab '{name}': {}; `luxc down --force {name}` removes what the readable lines record",
                    crate::error::chain(&e)
                );
                status = 1;
                continue;
            }
            Err(e) => {
                if matches!(e, journal::JournalError::NoLab { .. })
                    && Journal::remove_empty_dir(root, name)
                {
                    tracing::debug!(lab = %name, "removed its empty state dir");
                }
                eprintln!("luxc down: {}", crate::error::chain(&e));
                status = 1;
                continue;
            }
        };
        match down_journal(j) {
            Ok(report) if report.failed.is_empty() => {
                println!("{name}: removed {} objects", report.removed);
            }
            Ok(report) => {
                for (obj, err) in &report.failed {
                    eprintln!("luxc down: {name}: {obj}: {err}");
                }
                status = 1;
            }
            Err(e) => {
                eprintln!("luxc down: {name}: {e}");
                status = 1;
            }
        }
    }
    status
}

/// Opens the lab's journal; with `force`, skipping unreadable lines, each
/// named on stderr.
fn open(root: &Path, name: &str, force: bool) -> Result<Journal, JournalError> {
    if !force {
        return Journal::open_existing(root, name);
    }
    let (j, skipped) = Journal::open_existing_lenient(root, name)?;
    for e in &skipped {
        eprintln!("luxc down: {name}: skipping unreadable record: {e}");
    }
    Ok(j)
}
