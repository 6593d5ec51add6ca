//! `luxc exec LAB CONTAINER [-i] [-t] [-e KEY=VAL]... [-u UID[:GID]] [-w DIR]
//! -- CMD [ARGS...]`: runs a command in a running container of a lab that is
//! up, attached to luxc's stdio or to a new pseudo-terminal.
//!
//! Parsed apart from the other subcommands: its `-e` sets a variable (as in
//! `docker exec`), where luxc's global `-e` runs Lua code, and clap cannot
//! hold both. main.rs hands the words from `exec` on to `parse`.

use std::ffi::OsString;
use std::path::Path;

use clap::{ArgAction, Parser};

use crate::engine::container::ExecRequest;
use crate::engine::lab::{Lab, STATE_ROOT};
use crate::process::attach::{self, Attach};
use crate::process::ExecError;

/// Exit status for luxc's own failures (bad arguments, no such lab or
/// container, a container that cannot be entered), as `docker exec` uses:
/// every other status is the command's.
pub const FAILED: i32 = 125;

/// Run a command in a running container of a lab that is up.
///
/// The exit status is the command's (128 + N when signal N ended it; 126 not
/// executable, 127 not found); 125 when luxc itself failed.
#[derive(Parser, Debug)]
#[command(name = "luxc exec", bin_name = "luxc exec", max_term_width = 100)]
pub struct Args {
    /// Pass luxc's stdin to the command (else it reads /dev/null).
    #[arg(short, long)]
    pub interactive: bool,
    /// Give the command a new pseudo-terminal as its controlling terminal
    /// (with -i: luxc's terminal goes to raw mode, keys such as Ctrl-C go
    /// to the command).
    #[arg(short, long)]
    pub tty: bool,
    /// Set an environment variable for the command (repeatable).
    #[arg(short = 'e', long = "env", value_name = "KEY=VAL", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Run as this uid (and gid; default: the uid) instead of the container's user.
    #[arg(short, long, value_name = "UID[:GID]", value_parser = parse_user)]
    pub user: Option<(u32, u32)>,
    /// Working directory inside the container (default: the container's).
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// More logs on stderr: -v debug, -vv trace.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
    /// The lab (made by `luxc run`, up).
    #[arg(value_name = "LAB")]
    pub lab: String,
    /// The container in the lab.
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The command and its arguments (after `--`, or after CONTAINER).
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub cmd: Vec<String>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

fn parse_user(s: &str) -> Result<(u32, u32), String> {
    let id = |t: &str| {
        t.parse::<u32>()
            .map_err(|_| format!("expected UID or UID:GID (numbers), got '{s}'"))
    };
    match s.split_once(':') {
        Some((u, g)) => Ok((id(u)?, id(g)?)),
        None => id(s).map(|u| (u, u)),
    }
}

/// Where `exec` is the subcommand of `argv` (the words before it are luxc's
/// options), the index of that word; `luxc help exec` counts too.
pub fn position(argv: &[OsString]) -> Option<usize> {
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].to_string_lossy();
        if a == "-e" {
            i += 2;
            continue;
        }
        if a.starts_with('-') && a != "-" {
            i += 1;
            continue;
        }
        return match a.as_ref() {
            "exec" => Some(i),
            "help" if argv.get(i + 1).is_some_and(|w| w == "exec") => Some(i + 1),
            _ => None,
        };
    }
    None
}

/// Parses the words from `exec` on; Err is the exit status after clap has
/// printed help (0) or a usage error (`FAILED`).
pub fn parse(words: &[OsString]) -> Result<Args, i32> {
    Args::try_parse_from(words).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            FAILED
        } else {
            0
        }
    })
}

/// Runs the command; returns luxc's exit status.
pub fn run(args: &Args) -> i32 {
    match exec(Path::new(STATE_ROOT), args) {
        Ok(code) => code,
        Err(Failure(code, msg)) => {
            eprintln!("luxc exec: {msg}");
            code
        }
    }
}

/// An exit status and the message that explains it.
struct Failure(i32, String);

fn fail(msg: impl std::fmt::Display) -> Failure {
    Failure(FAILED, msg.to_string())
}

fn exec(state_root: &Path, args: &Args) -> Result<i32, Failure> {
    let lab = open(state_root, &args.lab)?;
    // Checked first for the message: "exec: container 'a' is stopped, not running".
    lab.running(&args.container, "exec").map_err(fail)?;
    let req = ExecRequest {
        argv: args.cmd.clone(),
        env: args.env.iter().cloned().collect(),
        cwd: args.workdir.clone(),
        user: args.user,
        stdin: None,
        timeout: None,
        tty: args.tty,
    };
    let spec = lab.enter_spec(&args.container, &req).map_err(fail)?;
    let how = Attach {
        stdin: args.interactive,
        tty: args.tty,
    };
    match attach::run(&spec, how) {
        Ok(code) => Ok(code),
        // As a shell reports them (and as c:exec does): 127, 126.
        Err(ExecError::Spawn { program, source }) => {
            let (code, why) = match source.kind() {
                std::io::ErrorKind::NotFound => (127, "not found"),
                std::io::ErrorKind::PermissionDenied => (126, "permission denied"),
                _ => return Err(fail(format!("{program}: {source}"))),
            };
            Err(Failure(
                code,
                format!("{program}: {why} in container '{}'", args.container),
            ))
        }
        Err(e) => Err(fail(crate::error::chain(&e))),
    }
}

/// The lab, opened to enter its containers: read-only, without the lab's
/// lock, so a script still running the lab is not blocked (exec changes
/// nothing the journal records).
fn open(state_root: &Path, name: &str) -> Result<Lab, Failure> {
    Lab::open_read_only(name, state_root).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_exec_after_luxcs_options_only() {
        assert_eq!(position(&os(&["luxc", "exec", "l", "c", "sh"])), Some(1));
        assert_eq!(
            position(&os(&["luxc", "-v", "-e", "exec", "exec"])),
            Some(4)
        );
        assert_eq!(position(&os(&["luxc", "help", "exec"])), Some(2));
        assert_eq!(position(&os(&["luxc", "run", "exec"])), None);
        assert_eq!(position(&os(&["luxc", "exec.lua"])), None);
        assert_eq!(position(&os(&["luxc"])), None);
    }

    #[test]
    fn parses_docker_style_options_and_the_command() {
        let a = parse(&os(&[
            "exec", "-it", "-e", "A=1", "-e", "B=x=y", "-u", "1000:50", "-w", "/tmp", "lab", "c",
            "--", "sh", "-c", "echo hi",
        ]))
        .unwrap();
        assert!(a.interactive && a.tty);
        assert_eq!(
            a.env,
            vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
        assert_eq!(a.user, Some((1000, 50)));
        assert_eq!(a.workdir.as_deref(), Some("/tmp"));
        assert_eq!((a.lab.as_str(), a.container.as_str()), ("lab", "c"));
        assert_eq!(a.cmd, vec!["sh", "-c", "echo hi"]);
        // Without `--`, options after the command are the command's.
        let a = parse(&os(&["exec", "lab", "c", "ls", "-l"])).unwrap();
        assert_eq!(a.cmd, vec!["ls", "-l"]);
        assert_eq!(
            parse(&os(&["exec", "-u", "7", "l", "c", "id"]))
                .unwrap()
                .user,
            Some((7, 7))
        );
    }

    #[test]
    fn bad_options_are_usage_errors() {
        assert_eq!(
            parse_env("novalue"),
            Err("expected KEY=VALUE, got 'novalue'".into())
        );
        assert!(parse_env("=v").is_err());
        assert!(parse_user("root").unwrap_err().contains("got 'root'"));
        assert!(parse_user("1:x").is_err());
        for argv in [
            &["exec", "lab", "c"][..],
            &["exec", "lab"],
            &["exec", "-e", "X", "lab", "c", "sh"],
            &["exec", "-u", "bob", "lab", "c", "sh"],
        ] {
            assert_eq!(parse(&os(argv)).err(), Some(FAILED), "{argv:?}");
        }
    }
}
