//! The command line: argument shapes that clap cannot express alone, and the
//! subcommands. `main.rs` parses with clap and calls into here.

pub mod check;
pub mod complete;
pub mod down;
pub mod exec;
pub mod graph;
pub mod inspect;
pub mod logs;
pub mod ls;
pub mod pci;
pub mod pci_bind;
pub mod repl;
pub mod run;

use std::ffi::{OsStr, OsString};

/// Subcommand names; any other first word is a script (`luxc FILE` = `luxc run FILE`).
pub const SUBCOMMANDS: &[&str] = &[
    "run", "repl", "check", "down", "exec", "graph", "ls", "inspect", "logs", "pci", "help",
];

/// The command line after shorthand expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// Arguments for clap, with `run` inserted for the `luxc FILE` shorthand,
    /// ending at the script: what follows belongs to the script alone, so
    /// `./tool.lua --help -v` reaches the script instead of luxc.
    pub argv: Vec<OsString>,
    /// Index of the script in the original argv, for Lua's `arg` table.
    pub script: Option<usize>,
}

/// Inserts `run` before a script given without a subcommand (also what a
/// `#!/usr/bin/env luxc` shebang produces) and finds where the script sits.
pub fn expand(argv: &[OsString]) -> Expanded {
    let mut i = 1;
    let mut explicit_run = false;
    while i < argv.len() {
        let a = argv[i].to_string_lossy();
        if a == "-e" {
            i += 2;
            continue;
        }
        if a == "--" {
            i += 1;
            continue;
        }
        if a.starts_with('-') && a != "-" {
            i += 1;
            continue;
        }
        if !explicit_run && a == "run" {
            explicit_run = true;
            i += 1;
            continue;
        }
        if !explicit_run && SUBCOMMANDS.contains(&a.as_ref()) {
            return Expanded {
                argv: argv.to_vec(),
                script: None,
            };
        }
        let mut out = argv[..=i].to_vec();
        if !explicit_run {
            out.insert(i, OsString::from("run"));
        }
        return Expanded {
            argv: out,
            script: Some(i),
        };
    }
    Expanded {
        argv: argv.to_vec(),
        script: None,
    }
}

/// True when `s` is the stdin placeholder `-`.
pub fn is_stdin(s: &OsStr) -> bool {
    s == "-"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn shorthand_inserts_run() {
        let e = expand(&os(&["luxc", "-v", "lab.lua", "-x", "1"]));
        assert_eq!(e.argv, os(&["luxc", "-v", "run", "lab.lua"]));
        assert_eq!(e.script, Some(2));
    }

    #[test]
    fn explicit_run_and_e_values_are_skipped() {
        let e = expand(&os(&["luxc", "-e", "x=1", "run", "a.lua", "--help", "-v"]));
        assert_eq!(e.argv, os(&["luxc", "-e", "x=1", "run", "a.lua"]));
        assert_eq!(e.script, Some(4));
    }

    #[test]
    fn subcommands_and_stdin() {
        assert_eq!(expand(&os(&["luxc", "check", "--json"])).script, None);
        let e = expand(&os(&["luxc", "-"]));
        assert_eq!(e.argv, os(&["luxc", "run", "-"]));
        assert_eq!(e.script, Some(1));
        assert_eq!(expand(&os(&["luxc", "-e", "print(1)"])).script, None);
    }
}
