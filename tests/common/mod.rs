//! Helpers shared by the integration tests: run the luxc binary, drive it on a
//! real pseudo-terminal.
#![allow(dead_code)]

pub mod lab;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The luxc binary cargo built for these tests.
pub fn luxc_bin() -> &'static str {
    env!("CARGO_BIN_EXE_luxc")
}

/// Runs luxc with `args` and `stdin`, returning its output.
pub fn luxc<I, S>(args: I, stdin: &str) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(luxc_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start luxc");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait for luxc")
}

/// stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A luxc process on a pseudo-terminal, as a person at a terminal runs it.
pub struct Pty {
    master: std::fs::File,
    child: Child,
    seen: String,
}

impl Pty {
    /// Starts luxc with `args` on a new pty, with extra environment variables.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Pty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let slave: OwnedFd = pty.slave;
        let slave_fd = slave.as_raw_fd();
        let mut cmd = Command::new(luxc_bin());
        cmd.args(args)
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        for (k, v) in env {
            cmd.env(k, v);
        }
        // SAFETY: setsid and ioctl are async-signal-safe; they make the pty
        // the controlling terminal of the child, as a login shell has.
        unsafe {
            cmd.pre_exec(move || {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if nix::libc::ioctl(slave_fd, nix::libc::TIOCSCTTY as _, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start luxc on a pty");
        drop(cmd);
        let master = std::fs::File::from(pty.master);
        let flags = nix::fcntl::fcntl(&master, nix::fcntl::FcntlArg::F_GETFL).unwrap();
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&master, nix::fcntl::FcntlArg::F_SETFL(flags)).unwrap();
        Pty {
            master,
            child,
            seen: String::new(),
        }
    }

    /// The terminal's master end, for ioctls: its window size
    /// (TIOCSWINSZ), and the settings luxc gave the terminal (on Linux a
    /// termios read on the master reports the slave's).
    pub fn master(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.master.as_fd()
    }

    /// Types `keys` (raw bytes: "\r" is Enter, "\t" Tab, "\x04" Ctrl-D).
    pub fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
    }

    /// Reads until `needle` appears in the output after what earlier expects
    /// consumed; panics with the screen so far after 10 s.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = self.seen.find(needle) {
                let upto = i + needle.len();
                let consumed: String = self.seen.drain(..upto).collect();
                return consumed;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {needle:?}; output so far:\n{}",
                    self.seen
                );
            }
            let mut buf = [0u8; 4096];
            match self.master.read(&mut buf) {
                Ok(0) => std::thread::sleep(Duration::from_millis(20)),
                Ok(n) => self
                    .seen
                    .push_str(&strip_ansi(&String::from_utf8_lossy(&buf[..n]))),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                // EIO: the child closed the terminal (exited).
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Waits for the next prompt, then sends Ctrl-D (typeahead sent before the
    /// prompt is discarded by the line editor) and returns the exit status.
    pub fn quit(mut self) -> i32 {
        self.expect("> ");
        self.send("\x04");
        self.wait()
    }

    /// Waits for the process to exit and returns its status code.
    pub fn wait(mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("luxc did not exit; output:\n{}", self.seen);
            }
            let mut buf = [0u8; 4096];
            let _ = self.master.read(&mut buf);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Removes terminal escape sequences (CSI `ESC [ … final`), so expectations
/// match the text a person sees and not digits inside control codes.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}
