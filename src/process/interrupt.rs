//! Ctrl-C and SIGTERM while luxc works: a flag instead of sudden death, so a
//! running host command is killed with its process group, Lua code stops at
//! the next instruction check, and luxc exits cleanly (status 130).
//!
//! A second signal while the first is still pending exits at once: a stuck
//! luxc can always be stopped from the keyboard.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static PENDING: AtomicBool = AtomicBool::new(false);
static SEEN: AtomicBool = AtomicBool::new(false);

/// Exit status after an interrupt, as shells report a SIGINT death.
pub const EXIT_STATUS: i32 = 130;

extern "C" fn on_signal(_: nix::libc::c_int) {
    if PENDING.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { nix::libc::_exit(EXIT_STATUS) };
    }
    SEEN.store(true, Ordering::SeqCst);
}

/// The previous handlers, restored on drop.
pub struct Guard {
    old: Vec<(Signal, SigAction)>,
}

/// Routes SIGINT and SIGTERM to the flag until the guard drops. No SA_RESTART:
/// blocking calls (poll, sleep) return EINTR so they can notice.
pub fn install() -> Guard {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let mut old = Vec::new();
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only touches atomics and calls _exit.
        if let Ok(prev) = unsafe { sigaction(sig, &action) } {
            old.push((sig, prev));
        }
    }
    Guard { old }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for (sig, prev) in &self.old {
            // SAFETY: restores the handler that was in place before install().
            let _ = unsafe { sigaction(*sig, prev) };
        }
    }
}

/// Takes the pending interrupt, if any (the next check sees none).
pub fn take() -> bool {
    PENDING.swap(false, Ordering::SeqCst)
}

/// True while an interrupt is pending (not yet taken).
pub fn pending() -> bool {
    PENDING.load(Ordering::SeqCst)
}

/// True when any interrupt arrived since the last `reset`.
pub fn seen() -> bool {
    SEEN.load(Ordering::SeqCst)
}

/// Forgets earlier interrupts (the REPL does this before each evaluation).
pub fn reset() {
    PENDING.store(false, Ordering::SeqCst);
    SEEN.store(false, Ordering::SeqCst);
}

/// Sleeps up to `d`, returning early (false) when an interrupt is pending.
pub fn sleep(d: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + d;
    loop {
        if pending() {
            return false;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        // Short slices: a signal also interrupts nanosleep, but this bounds the
        // wait even if the signal landed just before the sleep began.
        std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
    }
}
