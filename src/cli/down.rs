//! `luxc down LAB... | --all`: removes what a lab created, from its journal
//! (also after luxc was killed half-way).

use std::path::Path;

use crate::engine::journal::{self, Journal};
use crate::engine::lab::{down_journal, STATE_ROOT};

/// Tears the named labs (or all) down; exit status 1 if anything remained.
pub fn run(labs: &[String], all: bool) -> i32 {
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
        let j = match Journal::open_existing(root, name) {
            Ok(j) => j,
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
