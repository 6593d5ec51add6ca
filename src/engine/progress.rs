//! Progress of `lab:up()` and teardown on a terminal: one line on stderr,
//! `[#####.....] 12/40 up: container a`, redrawn at most every 50 ms and
//! erased when the work ends. Off unless the front end turns it on (it does
//! only when stderr is a terminal), so scripts, pipes and tests see nothing.

use std::cell::RefCell;
use std::io::Write;
use std::time::{Duration, Instant};

/// How often the line is redrawn at most.
const REDRAW: Duration = Duration::from_millis(50);
/// Work that ends sooner than this never shows a bar.
const DELAY: Duration = Duration::from_millis(200);
const WIDTH: usize = 24;

#[derive(Default)]
struct State {
    enabled: bool,
    what: &'static str,
    total: usize,
    done: usize,
    started: Option<Instant>,
    drawn: Option<Instant>,
    shown: bool,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Turns the bar on or off (the CLI: on when stderr is a terminal).
pub fn enable(on: bool) {
    STATE.with(|s| s.borrow_mut().enabled = on);
}

/// Starts counting `total` steps of `what` ("up", "down").
pub fn begin(what: &'static str, total: usize) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if !s.enabled {
            return;
        }
        s.what = what;
        s.total = total;
        s.done = 0;
        s.started = Some(Instant::now());
        s.drawn = None;
        s.shown = false;
    });
}

/// One step done; `object` names what it made or removed.
pub fn step(object: &dyn std::fmt::Display) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(started) = s.started else {
            return;
        };
        s.done += 1;
        let now = Instant::now();
        if now.duration_since(started) < DELAY
            || s.drawn.is_some_and(|d| now.duration_since(d) < REDRAW)
        {
            return;
        }
        s.drawn = Some(now);
        s.shown = true;
        let line = render(s.what, s.done, s.total, &object.to_string());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    });
}

/// The work ended: erases the line.
pub fn end() {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
        s.started = None;
        s.shown = false;
    });
}

/// `[#####.....] 12/40 up: container a` (the object cut to 48 characters).
fn render(what: &str, done: usize, total: usize, object: &str) -> String {
    let total = total.max(done).max(1);
    let filled = WIDTH * done / total;
    let bar: String = "#".repeat(filled) + &".".repeat(WIDTH - filled);
    let object: String = object.chars().take(48).collect();
    format!("[{bar}] {done}/{total} {what}: {object}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_bar() {
        assert_eq!(
            render("up", 12, 48, "container a"),
            "[######..................] 12/48 up: container a"
        );
        assert_eq!(
            render("down", 3, 0, "x"),
            format!("[{}] 3/3 down: x", "#".repeat(24))
        );
    }

    #[test]
    fn silent_unless_enabled() {
        begin("up", 3);
        step(&"a");
        STATE.with(|s| assert!(s.borrow().started.is_none()));
        end();
    }
}
