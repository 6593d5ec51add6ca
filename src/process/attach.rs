//! Running a command attached to luxc's own stdio, as `luxc exec` does:
//! output straight to luxc's stdout/stderr, or through a new pseudo-terminal
//! that the command owns (`-t`), with luxc's terminal in raw mode, the
//! window size forwarded, and signals sent to luxc passed on.
//!
//! One thread and one poll(2) loop over luxc's stdin, the pty master, a
//! pidfd that turns readable when the command ends, and a self-pipe for
//! signals (see signal_pipe.rs).

use std::io::{self, IsTerminal};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::exec::{spawn_stdio, ExecError, ExecSpec};
use super::pty::{self, RawMode};
use super::signal_pipe::SignalPipe;

/// How the command is attached.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attach {
    /// Pass luxc's stdin on (`-i`); else the command's stdin is /dev/null
    /// (or, with `tty`, a terminal nobody types into).
    pub stdin: bool,
    /// Give the command a new pseudo-terminal (`-t`).
    pub tty: bool,
}

/// The signals luxc passes on to the command (the first time; a second one
/// ends the wait, see `run`).
const FORWARDED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// The byte the line discipline reads as end of file (VEOF, Ctrl-D), sent
/// to the command's terminal when luxc's stdin, not a terminal, ends.
const EOF_BYTE: u8 = 0x04;

/// Runs `spec` attached to luxc's stdio and returns its exit status (128 +
/// signal number when a signal ended it).
///
/// Signals: SIGINT, SIGTERM and SIGHUP sent to luxc go to the command — its
/// process group, or with a pty the terminal's foreground group (in raw mode
/// a Ctrl-C is no signal for luxc at all, just byte 0x03 for the command's
/// terminal). A second one stops waiting: a plain command's group is killed,
/// a pty is hung up (closing it sends SIGHUP to the session), and the status
/// is 128 + that signal. luxc's terminal settings come back on every way out.
pub fn run(spec: &ExecSpec, how: Attach) -> Result<i32, ExecError> {
    let (stdin, stdout, stderr) = (io::stdin(), io::stdout(), io::stderr());
    let stdio = Stdio3 {
        stdin: stdin.as_fd(),
        stdout: stdout.as_fd(),
        stderr: stderr.as_fd(),
    };
    run_with(spec, how, stdio)
}

/// luxc's side: the fds the command is attached to.
#[derive(Clone, Copy)]
pub struct Stdio3<'a> {
    /// Read for the command's input (with `Attach::stdin`).
    pub stdin: BorrowedFd<'a>,
    /// The command's output (with a pty: its stdout and stderr, merged).
    pub stdout: BorrowedFd<'a>,
    /// The command's stderr, without a pty.
    pub stderr: BorrowedFd<'a>,
}

/// `run` with the given fds in place of luxc's stdin, stdout and stderr.
pub fn run_with(spec: &ExecSpec, how: Attach, stdio: Stdio3<'_>) -> Result<i32, ExecError> {
    let program = spec
        .argv
        .first()
        .ok_or(ExecError::Empty)?
        .to_string_lossy()
        .into_owned();
    let io_err = |step: &'static str| {
        let program = program.clone();
        move |source: io::Error| ExecError::Io {
            program,
            step,
            source,
        }
    };
    let mut signals = vec![Signal::SIGWINCH];
    signals.extend(FORWARDED);
    let sigpipe = SignalPipe::install(&signals).map_err(io_err("catch signals"))?;
    let result = if how.tty {
        run_pty(spec, how, stdio, &sigpipe)
    } else {
        run_plain(spec, how, stdio, &sigpipe)
    };
    result.map_err(|e| match e {
        Failure::Exec(e) => e,
        Failure::Io(step, source) => io_err(step)(source),
    })
}

enum Failure {
    Exec(ExecError),
    Io(&'static str, io::Error),
}

fn step(what: &'static str) -> impl Fn(io::Error) -> Failure {
    move |e| Failure::Io(what, e)
}

fn errno(what: &'static str) -> impl Fn(Errno) -> Failure {
    move |e| Failure::Io(what, e.into())
}

/// Without a pty: stdout and stderr are luxc's own fds. stdin (with -i)
/// goes through a pipe that luxc fills, not luxc's fd itself: the command
/// runs in its own process group, and a background group that reads the
/// terminal would be stopped (SIGTTIN).
fn run_plain(
    spec: &ExecSpec,
    how: Attach,
    stdio: Stdio3<'_>,
    sigpipe: &SignalPipe,
) -> Result<i32, Failure> {
    let (input, feed) = if how.stdin {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(errno("pipe"))?;
        set_nonblocking(w.as_fd()).map_err(step("pipe"))?;
        (Stdio::from(r), Some(w))
    } else {
        (Stdio::null(), None)
    };
    let dup = |fd: BorrowedFd<'_>| fd.try_clone_to_owned().map(Stdio::from);
    let out = dup(stdio.stdout).map_err(step("dup stdout"))?;
    let err = dup(stdio.stderr).map_err(step("dup stderr"))?;
    let mut child = spawn_stdio(spec, input, out, err).map_err(Failure::Exec)?;
    let group = Pid::from_raw(child.id() as i32);
    let mut relay = Relay {
        input: feed.map(|to| Input::new(stdio.stdin, Target::Owned(to), None)),
        output: None,
        sigpipe,
        forward: Forward::Group(group),
    };
    let end = relay.run(&mut child);
    drop(relay);
    finish(&mut child, end, || {
        let _ = killpg(group, Signal::SIGKILL);
    })
}

/// With a pty: the command's stdio is the slave; luxc copies its stdin to
/// the master and the master to its stdout.
fn run_pty(
    spec: &ExecSpec,
    how: Attach,
    stdio: Stdio3<'_>,
    sigpipe: &SignalPipe,
) -> Result<i32, Failure> {
    let (stdin, stdout) = (stdio.stdin, stdio.stdout);
    // The size to copy: luxc's terminal, on stdin or else on stdout.
    let sized = [stdin, stdout]
        .into_iter()
        .find(|fd| pty::size(*fd).is_some());
    let pair = pty::open(sized.and_then(pty::size).as_ref()).map_err(step("open a pty"))?;
    let stdin_is_tty = stdin.is_terminal();
    // Raw only when keys go to the command: then every key, Ctrl-C too,
    // is the command's terminal's to interpret.
    let _raw = if how.stdin && stdin_is_tty {
        Some(RawMode::enter(stdin).map_err(step("raw mode"))?)
    } else {
        None
    };
    let slave = |p: &pty::Pair| p.slave.try_clone().map(Stdio::from);
    let mut spec = spec.clone();
    spec.tty = true;
    let mut child = spawn_stdio(
        &spec,
        slave(&pair).map_err(step("dup the pty"))?,
        slave(&pair).map_err(step("dup the pty"))?,
        slave(&pair).map_err(step("dup the pty"))?,
    )
    .map_err(Failure::Exec)?;
    // Only the command holds the slave now: when it and what it started
    // are gone, the master reads EIO.
    let master = pair.master;
    drop(pair.slave);
    let mut relay = Relay {
        input: how.stdin.then(|| {
            let to = Target::Borrowed(master.as_fd());
            Input::new(stdin, to, (!stdin_is_tty).then_some(EOF_BYTE))
        }),
        output: Some(Output {
            from: master.as_fd(),
            to: stdout,
            open: true,
        }),
        sigpipe,
        forward: Forward::Terminal {
            master: master.as_fd(),
            size_from: sized,
        },
    };
    let end = relay.run(&mut child);
    drop(relay);
    // A second signal: closing the master hangs the terminal up.
    drop(master);
    finish(&mut child, end, || {})
}

/// Turns how the relay ended into the exit status.
fn finish(
    child: &mut Child,
    end: Result<End, Failure>,
    kill: impl FnOnce(),
) -> Result<i32, Failure> {
    match end {
        Ok(End::Exited) => {
            let status = child.wait().map_err(step("wait"))?;
            let signal = status.signal();
            Ok(status.code().unwrap_or_else(|| 128 + signal.unwrap_or(0)))
        }
        Ok(End::Abandoned(sig)) => {
            kill();
            // The pty's hangup or the SIGKILL ends it soon; not waited for.
            Ok(128 + sig as i32)
        }
        Err(e) => {
            kill();
            Err(e)
        }
    }
}

/// Where signals sent to luxc go.
enum Forward<'a> {
    /// A plain command: its process group.
    Group(Pid),
    /// A pty: its foreground process group; SIGWINCH copies the size of
    /// `size_from` (luxc's terminal) to the pty.
    Terminal {
        master: BorrowedFd<'a>,
        size_from: Option<BorrowedFd<'a>>,
    },
}

/// Where input goes: a pipe luxc made (closed when input ends, so the
/// command reads end of file), or the pty master (kept).
enum Target<'a> {
    Owned(OwnedFd),
    Borrowed(BorrowedFd<'a>),
}

impl Target<'_> {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Target::Owned(fd) => fd.as_fd(),
            Target::Borrowed(fd) => *fd,
        }
    }
}

/// Bytes from luxc's stdin on their way to the command.
struct Input<'a> {
    from: BorrowedFd<'a>,
    to: Target<'a>,
    pending: Vec<u8>,
    /// luxc's stdin is still open.
    open: bool,
    /// Written once stdin ends (pty without a terminal on luxc's side);
    /// without it the writing end is simply no longer used.
    at_eof: Option<u8>,
}

impl<'a> Input<'a> {
    fn new(from: BorrowedFd<'a>, to: Target<'a>, at_eof: Option<u8>) -> Input<'a> {
        Input {
            from,
            to,
            pending: Vec::new(),
            open: true,
            at_eof,
        }
    }
}

/// The pty master's output on its way to luxc's stdout.
struct Output<'a> {
    from: BorrowedFd<'a>,
    to: BorrowedFd<'a>,
    /// False once the master read EIO (no process holds the slave).
    open: bool,
}

struct Relay<'a> {
    input: Option<Input<'a>>,
    output: Option<Output<'a>>,
    sigpipe: &'a SignalPipe,
    forward: Forward<'a>,
}

/// How the relay loop ended.
enum End {
    /// The command exited (its output is drained).
    Exited,
    /// A second terminating signal: luxc stops waiting.
    Abandoned(Signal),
}

impl Relay<'_> {
    fn run(&mut self, child: &mut Child) -> Result<End, Failure> {
        let pidfd = pidfd_open(child.id() as i32);
        let mut forwarded = false;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // Order: signals, child, output, input (reading), input (writing).
            let mut fds = vec![PollFd::new(self.sigpipe.fd(), PollFlags::POLLIN)];
            let child_at = pidfd.as_ref().map(|fd| {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            let out_at = self.output.as_ref().filter(|o| o.open).map(|o| {
                fds.push(PollFd::new(o.from, PollFlags::POLLIN));
                fds.len() - 1
            });
            let (mut read_at, mut write_at) = (None, None);
            if let Some(inp) = &self.input {
                if inp.pending.is_empty() && inp.open {
                    fds.push(PollFd::new(inp.from, PollFlags::POLLIN));
                    read_at = Some(fds.len() - 1);
                } else if !inp.pending.is_empty() {
                    fds.push(PollFd::new(inp.to.fd(), PollFlags::POLLOUT));
                    write_at = Some(fds.len() - 1);
                }
            }
            // Without a pidfd (old kernels), look at the child every 50 ms.
            let timeout = if pidfd.is_some() {
                PollTimeout::NONE
            } else {
                PollTimeout::from(50u16)
            };
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Failure::Io("poll", e.into())),
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| !f.revents().unwrap_or(PollFlags::empty()).is_empty())
                .collect();
            drop(fds);
            if ready[0] {
                for sig in self.sigpipe.take() {
                    if sig == Signal::SIGWINCH {
                        self.copy_size();
                    } else if forwarded {
                        return Ok(End::Abandoned(sig));
                    } else {
                        forwarded = true;
                        self.pass_on(sig);
                    }
                }
            }
            if let Some(i) = out_at {
                if ready[i] {
                    self.pump_output(&mut buf)?;
                }
            }
            if let Some(i) = read_at {
                if ready[i] {
                    self.read_input(&mut buf)?;
                }
            }
            if let Some(i) = write_at {
                if ready[i] {
                    self.write_input()?;
                }
            }
            let exited = match child_at {
                Some(i) => ready[i],
                None => matches!(child.try_wait(), Ok(Some(_))),
            };
            if exited {
                // What the command wrote before it ended is still in the pty.
                if self.output.as_ref().is_some_and(|o| o.open) {
                    self.pump_output(&mut buf)?;
                }
                return Ok(End::Exited);
            }
        }
    }

    /// Copies what the master has (until it would block) to luxc's stdout.
    fn pump_output(&mut self, buf: &mut [u8]) -> Result<(), Failure> {
        let Some(out) = self.output.as_mut() else {
            return Ok(());
        };
        loop {
            match nix::unistd::read(out.from, buf) {
                Ok(0) | Err(Errno::EIO) => {
                    out.open = false;
                    return Ok(());
                }
                Ok(n) => write_all(out.to, &buf[..n]).map_err(step("write output"))?,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Failure::Io("read the pty", e.into())),
            }
        }
    }

    fn read_input(&mut self, buf: &mut [u8]) -> Result<(), Failure> {
        let Some(inp) = self.input.as_mut() else {
            return Ok(());
        };
        match nix::unistd::read(inp.from, buf) {
            // A read error on stdin (a hung-up terminal) ends input too.
            Ok(0) | Err(Errno::EIO) => {
                inp.open = false;
                if let Some(b) = inp.at_eof.take() {
                    inp.pending.push(b);
                } else {
                    self.input = None; // closes luxc's end of the pipe
                }
            }
            Ok(n) => inp.pending.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Failure::Io("read stdin", e.into())),
        }
        Ok(())
    }

    fn write_input(&mut self) -> Result<(), Failure> {
        let Some(inp) = self.input.as_mut() else {
            return Ok(());
        };
        match nix::unistd::write(inp.to.fd(), &inp.pending) {
            Ok(n) => {
                inp.pending.drain(..n);
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            // The command closed its stdin (or the pty is gone): drop the rest.
            Err(Errno::EPIPE) | Err(Errno::EIO) => self.input = None,
            Err(e) => return Err(Failure::Io("write stdin", e.into())),
        }
        if self
            .input
            .as_ref()
            .is_some_and(|i| i.pending.is_empty() && !i.open)
        {
            self.input = None;
        }
        Ok(())
    }

    fn copy_size(&self) {
        if let Forward::Terminal {
            master,
            size_from: Some(from),
        } = &self.forward
        {
            if let Some(ws) = pty::size(*from) {
                let _ = pty::set_size(*master, &ws);
            }
        }
    }

    fn pass_on(&self, sig: Signal) {
        let group = match &self.forward {
            Forward::Group(g) => Some(*g),
            Forward::Terminal { master, .. } => foreground_group(*master),
        };
        if let Some(g) = group {
            tracing::debug!(?sig, group = g.as_raw(), "passing a signal on");
            let _ = killpg(g, sig);
        }
    }
}

/// The foreground process group of the pty whose master is `master` (as a
/// pid of luxc's namespace), if it has one.
fn foreground_group(master: BorrowedFd<'_>) -> Option<Pid> {
    let mut pgrp: nix::libc::pid_t = 0;
    // SAFETY: TIOCGPGRP writes one pid_t we own; on a master it reports
    // the slave's foreground group.
    let rc = unsafe { nix::libc::ioctl(master.as_raw_fd(), nix::libc::TIOCGPGRP, &mut pgrp) };
    (rc == 0 && pgrp > 0).then(|| Pid::from_raw(pgrp))
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open returns a new fd or -1.
    let raw = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh fd we own.
    (raw >= 0).then(|| unsafe { OwnedFd::from_raw_fd(raw as i32) })
}

/// Writes all of `data`, waiting when `fd` is non-blocking and full.
fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
                let _ = poll(&mut fds, PollTimeout::from(100u16));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

#[cfg(test)]
#[path = "attach_tests.rs"]
mod tests;
