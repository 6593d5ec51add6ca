//! Pseudo-terminals for interactive commands: the pty pair, luxc's own
//! terminal in raw mode (restored when the guard drops), window sizes.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::pty::Winsize;
use nix::sys::termios::{self, SetArg, Termios};

/// Both ends of a new pseudo-terminal.
pub struct Pair {
    /// luxc's end: what the command writes is read here, and what is
    /// written here is the command's keyboard input.
    pub master: OwnedFd,
    /// The command's end: its controlling terminal and stdio.
    pub slave: OwnedFd,
}

/// Opens a pty pair with window size `size`. Both ends are close-on-exec
/// (the command gets the slave as dups on 0/1/2) and the master is
/// non-blocking, for a poll loop.
pub fn open(size: Option<&Winsize>) -> io::Result<Pair> {
    let pty = nix::pty::openpty(size, None)?;
    for fd in [pty.master.as_fd(), pty.slave.as_fd()] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    let flags = OFlag::from_bits_truncate(fcntl(&pty.master, FcntlArg::F_GETFL)?);
    fcntl(&pty.master, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(Pair {
        master: pty.master,
        slave: pty.slave,
    })
}

/// The window size of terminal `fd`, None when it is no terminal.
pub fn size(fd: BorrowedFd<'_>) -> Option<Winsize> {
    let mut ws = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills a struct winsize we own.
    let rc = unsafe { nix::libc::ioctl(fd.as_raw_fd(), nix::libc::TIOCGWINSZ, &mut ws) };
    (rc == 0).then_some(ws)
}

/// Sets the window size of terminal `fd`; on a master, the kernel sends
/// SIGWINCH to the foreground process group of its slave when it changed.
pub fn set_size(fd: BorrowedFd<'_>, ws: &Winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads a struct winsize we own.
    let rc = unsafe { nix::libc::ioctl(fd.as_raw_fd(), nix::libc::TIOCSWINSZ, ws) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A terminal in raw mode: no echo, no line editing, no signals from
/// keys (Ctrl-C is byte 0x03 for the other side to act on). The settings
/// it found come back when it drops — on every way out of the scope that
/// holds it, a `?` error as well as a normal return.
pub struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    /// Puts terminal `fd` in raw mode.
    pub fn enter(fd: BorrowedFd<'a>) -> io::Result<RawMode<'a>> {
        let saved = termios::tcgetattr(fd)?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSADRAIN, &raw)?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        // TCSADRAIN: what luxc wrote is shown before the settings change.
        let _ = termios::tcsetattr(self.fd, SetArg::TCSADRAIN, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::termios::LocalFlags;

    fn ws(rows: u16, cols: u16) -> Winsize {
        Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }

    #[test]
    fn a_new_pair_has_the_size_asked_and_sizes_follow_set_size() {
        let pair = open(Some(&ws(31, 97))).unwrap();
        let got = size(pair.slave.as_fd()).unwrap();
        assert_eq!((got.ws_row, got.ws_col), (31, 97));
        set_size(pair.master.as_fd(), &ws(12, 40)).unwrap();
        let got = size(pair.slave.as_fd()).unwrap();
        assert_eq!((got.ws_row, got.ws_col), (12, 40));
    }

    #[test]
    fn a_pipe_has_no_size() {
        let (r, _w) = nix::unistd::pipe().unwrap();
        assert!(size(r.as_fd()).is_none());
        assert!(RawMode::enter(r.as_fd()).is_err());
    }

    #[test]
    fn raw_mode_is_undone_on_drop() {
        let pair = open(None).unwrap();
        let fd = pair.slave.as_fd();
        let before = termios::tcgetattr(fd).unwrap();
        assert!(before
            .local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ISIG));
        {
            let _raw = RawMode::enter(fd).unwrap();
            let now = termios::tcgetattr(fd).unwrap();
            assert!(!now
                .local_flags
                .intersects(LocalFlags::ICANON | LocalFlags::ISIG | LocalFlags::ECHO));
        }
        let after = termios::tcgetattr(fd).unwrap();
        assert_eq!(after.local_flags, before.local_flags);
        assert_eq!(after.input_flags, before.input_flags);
        assert_eq!(after.output_flags, before.output_flags);
    }

    #[test]
    fn master_and_slave_are_close_on_exec() {
        let pair = open(None).unwrap();
        for fd in [pair.master.as_fd(), pair.slave.as_fd()] {
            let flags = FdFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFD).unwrap());
            assert!(flags.contains(FdFlag::FD_CLOEXEC));
        }
    }
}
