//! Runs a host command to completion, capturing stdout and stderr.
//!
//! One thread, one `poll(2)` loop over the pipes: no helper threads, so a later
//! fork from this process stays safe, and the timeout is exact.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// What to run: the argument vector and how to start it.
#[derive(Clone, Default)]
pub struct ExecSpec {
    /// Program and arguments; the program is looked up in PATH when it has no slash.
    pub argv: Vec<OsString>,
    /// Variables to set (or override) in the child's environment.
    pub env: Vec<(OsString, OsString)>,
    /// Start from an empty environment instead of luxc's own.
    pub clear_env: bool,
    /// Working directory of the child.
    pub cwd: Option<PathBuf>,
    /// Bytes written to the child's stdin; without it stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Kill the child's process group after this long.
    pub timeout: Option<Duration>,
    /// Runs in the forked child just before exec (after stdio and the
    /// process group are set): how a command enters a container.
    pub pre_exec: Option<PreExec>,
    /// stdin, stdout and stderr are a terminal (a pty slave) that the
    /// command owns: it leads a new session with stdin as its controlling
    /// terminal, instead of getting a process group. Without `pre_exec` the
    /// child does that itself; a `pre_exec` hook that forks into a pid
    /// namespace does it in its grandchild (container::enter_spec), so the
    /// session leader lives where the command's pids are visible.
    pub tty: bool,
}

/// A hook for the forked child; it must only make syscalls (no locks).
pub type PreExec = std::sync::Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

/// How a command ended and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status; 128 + signal number when a signal ended it (the shell's convention).
    pub code: i32,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// True when luxc killed it because the timeout passed.
    pub timed_out: bool,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// Why a command could not be run.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The argument vector was empty.
    #[error("exec: empty command")]
    Empty,
    /// The program could not be started (not found, not executable, bad cwd).
    #[error("exec {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    /// The working directory is not usable.
    #[error("exec {program}: cwd {cwd}: {source}")]
    Cwd {
        program: String,
        cwd: String,
        #[source]
        source: io::Error,
    },
    /// Ctrl-C or SIGTERM reached luxc; the command's process group was killed.
    #[error("exec {program}: interrupted")]
    Interrupted { program: String },
    /// Talking to or waiting for the running child failed.
    #[error("exec {program}: {step}: {source}")]
    Io {
        program: String,
        step: &'static str,
        #[source]
        source: io::Error,
    },
}

/// After killing a timed-out command, how long to keep draining pipes held open
/// by descendants that left its process group.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(1);

/// The std Command for `spec`, stdio not yet set.
fn command(spec: &ExecSpec) -> Result<(Command, String), ExecError> {
    let program_os = spec.argv.first().ok_or(ExecError::Empty)?;
    let program = program_os.to_string_lossy().into_owned();
    let mut cmd = Command::new(program_os);
    cmd.args(&spec.argv[1..]);
    if spec.clear_env {
        cmd.env_clear();
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(cwd) = &spec.cwd {
        // Checked first: a failed chdir in the child reads as "program not found".
        if let Err(source) = std::fs::read_dir(cwd) {
            let cwd = cwd.display().to_string();
            return Err(ExecError::Cwd {
                program,
                cwd,
                source,
            });
        }
        cmd.current_dir(cwd);
    }
    if spec.tty && spec.pre_exec.is_none() {
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe { cmd.pre_exec(take_terminal) };
    } else {
        // Its own process group, so a timeout kills the command and what it
        // started, and a Ctrl-C at luxc's terminal reaches luxc alone.
        cmd.process_group(0);
    }
    if let Some(hook) = spec.pre_exec.clone() {
        // SAFETY: the hook only makes syscalls (see PreExec).
        unsafe { cmd.pre_exec(move || hook()) };
    }
    tracing::debug!(argv = ?spec.argv, cwd = ?spec.cwd, timeout = ?spec.timeout, inside = spec.pre_exec.is_some(), "exec");
    Ok((cmd, program))
}

/// In a forked child whose stdin is a terminal: a new session, with that
/// terminal as its controlling terminal (as a login does).
pub fn take_terminal() -> io::Result<()> {
    nix::unistd::setsid()?;
    // SAFETY: TIOCSCTTY on fd 0 takes no pointer.
    if unsafe { nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Starts `spec` in the background with stdout/stderr going to the given
/// files and stdin from /dev/null; the caller waits or kills (by group).
pub fn spawn(spec: &ExecSpec, stdout: Stdio, stderr: Stdio) -> Result<Child, ExecError> {
    spawn_stdio(spec, Stdio::null(), stdout, stderr)
}

/// Starts `spec` in the background with the given stdin, stdout, stderr.
pub fn spawn_stdio(
    spec: &ExecSpec,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
) -> Result<Child, ExecError> {
    let (mut cmd, program) = command(spec)?;
    cmd.stdin(stdin).stdout(stdout).stderr(stderr);
    cmd.spawn()
        .map_err(|source| ExecError::Spawn { program, source })
}

/// Runs `spec` to completion and returns its status and output.
pub fn run(spec: &ExecSpec) -> Result<ExecOutput, ExecError> {
    let (mut cmd, program) = command(spec)?;
    cmd.stdin(if spec.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn {
        program: program.clone(),
        source,
    })?;
    let io_err = |step: &'static str| {
        let program = program.clone();
        move |source: io::Error| ExecError::Io {
            program,
            step,
            source,
        }
    };
    let pumped = pump(&mut child, spec).map_err(io_err("read output"));
    let pumped = match pumped {
        Ok(p) => p,
        Err(e) => {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
            return Err(e);
        }
    };
    let status = child.wait().map_err(io_err("wait"))?;
    if pumped.interrupted {
        return Err(ExecError::Interrupted { program });
    }
    let signal = status.signal();
    let code = status.code().unwrap_or_else(|| 128 + signal.unwrap_or(0));
    tracing::debug!(%program, code, timed_out = pumped.timed_out, "exec done");
    Ok(ExecOutput {
        code,
        signal,
        timed_out: pumped.timed_out,
        stdout: pumped.stdout,
        stderr: pumped.stderr,
    })
}

struct Pumped {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    timed_out: bool,
    interrupted: bool,
}

/// Feeds stdin and collects stdout/stderr until both close (or the drain
/// period after a timeout kill ends).
fn pump(child: &mut Child, spec: &ExecSpec) -> io::Result<Pumped> {
    let mut stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    for fd in [stdout.as_fd(), stderr.as_fd()] {
        set_nonblocking(fd)?;
    }
    if let Some(fd) = stdin.as_ref() {
        set_nonblocking(fd.as_fd())?;
    }
    let input: &[u8] = spec.stdin.as_deref().unwrap_or(&[]);
    let mut written = 0;
    if input.is_empty() {
        stdin = None; // close at once: the child sees EOF
    }
    let mut out = Pumped {
        stdout: Vec::new(),
        stderr: Vec::new(),
        timed_out: false,
        interrupted: false,
    };
    let (mut out_open, mut err_open) = (true, true);
    let mut deadline = spec.timeout.map(|t| Instant::now() + t);
    let mut buf = vec![0u8; 64 * 1024];
    while out_open || err_open {
        if !out.interrupted && super::interrupt::take() {
            // Ctrl-C: the command's group is not the terminal's foreground
            // group, so it did not get the signal; luxc ends it.
            out.interrupted = true;
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            deadline = Some(Instant::now() + DRAIN_AFTER_KILL);
        }
        let mut fds = Vec::with_capacity(3);
        if out_open {
            fds.push(PollFd::new(stdout.as_fd(), PollFlags::POLLIN));
        }
        if err_open {
            fds.push(PollFd::new(stderr.as_fd(), PollFlags::POLLIN));
        }
        if let Some(fd) = stdin.as_ref() {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLOUT));
        }
        let wait = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now()).as_millis();
                PollTimeout::try_from(left.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let ready = match poll(&mut fds, wait) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        if ready == 0 {
            if out.timed_out || out.interrupted {
                break; // descendants outside the group still hold the pipes
            }
            out.timed_out = true;
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            deadline = Some(Instant::now() + DRAIN_AFTER_KILL);
            continue;
        }
        let revents: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        let mut idx = 0;
        if out_open {
            if !revents[idx].is_empty() {
                out_open = drain(stdout.as_fd(), &mut buf, &mut out.stdout)?;
            }
            idx += 1;
        }
        if err_open {
            if !revents[idx].is_empty() {
                err_open = drain(stderr.as_fd(), &mut buf, &mut out.stderr)?;
            }
            idx += 1;
        }
        if let Some(fd) = stdin.as_ref() {
            if !revents[idx].is_empty() {
                match nix::unistd::write(fd, &input[written..]) {
                    Ok(n) => written += n,
                    Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                    // The child closed its stdin early: it does not want the rest.
                    Err(Errno::EPIPE) => written = input.len(),
                    Err(e) => return Err(e.into()),
                }
                if written >= input.len() {
                    stdin = None;
                }
            }
        }
    }
    Ok(out)
}

/// Reads what is available; returns false once the pipe reached end of file.
fn drain(fd: BorrowedFd<'_>, buf: &mut [u8], into: &mut Vec<u8>) -> io::Result<bool> {
    loop {
        match nix::unistd::read(fd, buf) {
            Ok(0) => return Ok(false),
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = fcntl(fd, FcntlArg::F_GETFL)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd, FcntlArg::F_SETFL(flags))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(argv: &[&str]) -> ExecSpec {
        ExecSpec {
            argv: argv.iter().map(OsString::from).collect(),
            ..ExecSpec::default()
        }
    }

    #[test]
    fn captures_stdout_stderr_and_code() {
        let out = run(&spec(&["sh", "-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert_eq!(out.code, 3);
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert!(!out.timed_out);
    }

    #[test]
    fn feeds_stdin_larger_than_a_pipe() {
        let data = vec![b'x'; 300_000];
        let mut s = spec(&["wc", "-c"]);
        s.stdin = Some(data);
        let out = run(&s).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "300000");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let mut s = spec(&["sh", "-c", "sleep 30; echo never"]);
        s.timeout = Some(Duration::from_millis(200));
        let started = Instant::now();
        let out = run(&s).unwrap();
        assert!(out.timed_out);
        assert_eq!(out.signal, Some(9));
        assert_eq!(out.code, 137);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sleep was not killed"
        );
    }

    #[test]
    fn env_and_cwd_reach_the_child() {
        let mut s = spec(&["sh", "-c", "echo $LUXC_T; pwd"]);
        s.env = vec![("LUXC_T".into(), "hello".into())];
        s.cwd = Some("/tmp".into());
        let out = run(&s).unwrap();
        assert_eq!(out.stdout, b"hello\n/tmp\n");
    }

    #[test]
    fn missing_program_names_it() {
        let err = run(&spec(&["/nonexistent/luxc-no-such"])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("exec /nonexistent/luxc-no-such: "),
            "{err}"
        );
    }
}
