//! Signals as bytes on a pipe (the self-pipe trick), so one poll(2) loop
//! sees a signal as readiness of an fd, with no race between checking a
//! flag and going to sleep, and without blocking signals (a blocked mask
//! would be inherited by the commands luxc starts).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::fcntl::OFlag;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Write end of the installed pipe, -1 when none is installed.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: nix::libc::c_int) {
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    // SAFETY: errno access and write(2) are async-signal-safe; errno is put
    // back so the interrupted code sees its own.
    unsafe {
        let errno = *nix::libc::__errno_location();
        let byte = sig as u8;
        nix::libc::write(fd, (&byte as *const u8).cast(), 1);
        *nix::libc::__errno_location() = errno;
    }
}

/// Catches the given signals while it lives; the previous handlers come
/// back when it drops. One at a time per process.
pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
    old: Vec<(Signal, SigAction)>,
}

impl SignalPipe {
    /// Installs handlers for `signals`. Without SA_RESTART, so a blocking
    /// call returns EINTR as well.
    pub fn install(signals: &[Signal]) -> io::Result<SignalPipe> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        if WRITE_FD
            .compare_exchange(-1, write.as_raw_fd(), Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(io::Error::other("a signal pipe is already installed"));
        }
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::empty(),
            SigSet::empty(),
        );
        let mut pipe = SignalPipe {
            read,
            _write: write,
            old: Vec::new(),
        };
        for sig in signals {
            // SAFETY: the handler only writes to a pipe.
            let prev = unsafe { sigaction(*sig, &action) }?;
            pipe.old.push((*sig, prev));
        }
        Ok(pipe)
    }

    /// The fd that turns readable when a signal arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// The signals that arrived since the last call, oldest first.
    pub fn take(&self) -> Vec<Signal> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(n @ 1..) = nix::unistd::read(&self.read, &mut buf) {
            out.extend(
                buf[..n]
                    .iter()
                    .filter_map(|b| Signal::try_from(*b as i32).ok()),
            );
        }
        out
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for (sig, prev) in &self.old {
            // SAFETY: restores the handler that was in place before install().
            let _ = unsafe { sigaction(*sig, prev) };
        }
        WRITE_FD.store(-1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_becomes_a_byte_and_the_old_handler_returns() {
        // SIGURG: ignored by default, so a stray one cannot hurt the test binary.
        let pipe = SignalPipe::install(&[Signal::SIGURG]).unwrap();
        assert!(
            SignalPipe::install(&[Signal::SIGURG]).is_err(),
            "a second pipe must be refused"
        );
        assert!(pipe.take().is_empty());
        nix::sys::signal::raise(Signal::SIGURG).unwrap();
        assert_eq!(pipe.take(), vec![Signal::SIGURG]);
        drop(pipe);
        // SAFETY: reading the disposition back (installing the default again).
        let now = unsafe {
            sigaction(
                Signal::SIGURG,
                &SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty()),
            )
        }
        .unwrap();
        assert_eq!(now.handler(), SigHandler::SigDfl);
    }
}
