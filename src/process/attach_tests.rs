//! The attach loop on host commands, with a pty standing in for the
//! terminal of the person running luxc ("the user's terminal").

use super::*;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::termios::{self, LocalFlags};

/// One signal pipe per process: these tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn spec(argv: &[&str]) -> ExecSpec {
    ExecSpec {
        argv: argv.iter().map(OsString::from).collect(),
        ..ExecSpec::default()
    }
}

/// Reads `fd` (non-blocking) until `needle` shows up; panics after 10 s.
fn read_until(fd: &mut std::fs::File, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(Instant::now() < deadline, "no {needle:?} in {seen:?}");
        match fd.read(&mut buf) {
            Ok(n) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[test]
fn plain_passes_stdin_and_output_and_returns_the_status() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (in_r, in_w) = nix::unistd::pipe().unwrap();
    let (out_r, out_w) = nix::unistd::pipe().unwrap();
    let (err_r, err_w) = nix::unistd::pipe().unwrap();
    let mut w = std::fs::File::from(in_w);
    w.write_all(b"abc\nxyz\n").unwrap();
    drop(w);
    let stdio = Stdio3 {
        stdin: in_r.as_fd(),
        stdout: out_w.as_fd(),
        stderr: err_w.as_fd(),
    };
    let how = Attach {
        stdin: true,
        tty: false,
    };
    let code = run_with(
        &spec(&["sh", "-c", "cat; echo oops >&2; exit 3"]),
        how,
        stdio,
    )
    .unwrap();
    drop((out_w, err_w));
    assert_eq!(code, 3);
    let mut out = String::new();
    std::fs::File::from(out_r).read_to_string(&mut out).unwrap();
    let mut err = String::new();
    std::fs::File::from(err_r).read_to_string(&mut err).unwrap();
    assert_eq!(out, "abc\nxyz\n");
    assert_eq!(err, "oops\n");
}

#[test]
fn plain_without_stdin_reads_nothing_and_a_signal_death_is_128_plus() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (in_r, _in_w) = nix::unistd::pipe().unwrap(); // never closed: must not be read
    let (out_r, out_w) = nix::unistd::pipe().unwrap();
    let stdio = Stdio3 {
        stdin: in_r.as_fd(),
        stdout: out_w.as_fd(),
        stderr: out_w.as_fd(),
    };
    let cmd = spec(&["sh", "-c", "cat; echo done; kill -TERM $$"]);
    let code = run_with(&cmd, Attach::default(), stdio).unwrap();
    drop(out_w);
    assert_eq!(code, 128 + 15);
    let mut out = String::new();
    std::fs::File::from(out_r).read_to_string(&mut out).unwrap();
    assert_eq!(out, "done\n");
}

#[test]
fn a_signal_to_luxc_is_passed_to_the_command() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (in_r, _in_w) = nix::unistd::pipe().unwrap();
    let (out_r, out_w) = nix::unistd::pipe().unwrap();
    let stdio = Stdio3 {
        stdin: in_r.as_fd(),
        stdout: out_w.as_fd(),
        stderr: out_w.as_fd(),
    };
    let me = nix::unistd::getpid();
    let sender = std::thread::spawn(move || {
        // Once the command runs (it prints first), SIGTERM this process.
        let mut out = std::fs::File::from(out_r);
        let mut seen = String::new();
        nix::fcntl::fcntl(
            &out,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .unwrap();
        read_until(&mut out, &mut seen, "ready");
        nix::sys::signal::kill(me, Signal::SIGTERM).unwrap();
    });
    let started = Instant::now();
    let cmd = spec(&["sh", "-c", "echo ready; exec sleep 30"]);
    let code = run_with(&cmd, Attach::default(), stdio).unwrap();
    sender.join().unwrap();
    assert_eq!(
        code,
        128 + 15,
        "sleep was not ended by the forwarded SIGTERM"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// The user's terminal: a pty whose slave is luxc's stdin and stdout.
struct UserTerminal {
    master: std::fs::File,
    slave: OwnedFd,
}

fn user_terminal(rows: u16, cols: u16) -> UserTerminal {
    let ws = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pair = pty::open(Some(&ws)).unwrap();
    UserTerminal {
        master: std::fs::File::from(pair.master),
        slave: pair.slave,
    }
}

#[test]
fn tty_gives_a_controlling_terminal_of_the_users_size() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut user = user_terminal(33, 77);
    let stdio = Stdio3 {
        stdin: user.slave.as_fd(),
        stdout: user.slave.as_fd(),
        stderr: user.slave.as_fd(),
    };
    let how = Attach {
        stdin: false,
        tty: true,
    };
    let cmd = spec(&["sh", "-c", "stty size; test -t 0 && echo T0; exit 5"]);
    let code = run_with(&cmd, how, stdio).unwrap();
    assert_eq!(code, 5);
    let mut seen = String::new();
    read_until(&mut user.master, &mut seen, "T0");
    assert!(seen.contains("33 77"), "{seen:?}");
}

#[test]
fn tty_raw_mode_sends_ctrl_c_inside_and_is_restored() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let user = user_terminal(24, 80);
    let before = termios::tcgetattr(&user.slave).unwrap();
    let driver = {
        let mut master = user.master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut seen = String::new();
            read_until(&mut master, &mut seen, "sleeping");
            // Raw on luxc's side: Ctrl-C is a byte for the command's terminal,
            // whose line discipline signals its foreground group.
            master.write_all(b"\x03").unwrap();
            read_until(&mut master, &mut seen, "caught");
            master.write_all(b"exit 7\n").unwrap();
            seen
        })
    };
    let stdio = Stdio3 {
        stdin: user.slave.as_fd(),
        stdout: user.slave.as_fd(),
        stderr: user.slave.as_fd(),
    };
    let how = Attach {
        stdin: true,
        tty: true,
    };
    let script = "trap 'echo caught' INT; echo sleeping; sleep 30; read cmd; eval \"$cmd\"";
    let code = run_with(&spec(&["sh", "-c", script]), how, stdio).unwrap();
    let seen = driver.join().unwrap();
    assert_eq!(code, 7, "{seen:?}");
    let after = termios::tcgetattr(&user.slave).unwrap();
    assert_eq!(after.local_flags, before.local_flags);
    assert!(after
        .local_flags
        .contains(LocalFlags::ICANON | LocalFlags::ECHO));
    drop(user.master);
}

#[test]
fn tty_with_piped_input_ends_it_with_eof() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (in_r, in_w) = nix::unistd::pipe().unwrap();
    let mut w = std::fs::File::from(in_w);
    w.write_all(b"one\ntwo\n").unwrap();
    drop(w);
    let (out_r, out_w) = nix::unistd::pipe().unwrap();
    let stdio = Stdio3 {
        stdin: in_r.as_fd(),
        stdout: out_w.as_fd(),
        stderr: out_w.as_fd(),
    };
    let how = Attach {
        stdin: true,
        tty: true,
    };
    // `wc -l` ends only at end of file: the EOF byte reached its terminal.
    let code = run_with(&spec(&["wc", "-l"]), how, stdio).unwrap();
    drop(out_w);
    assert_eq!(code, 0);
    let mut out = String::new();
    std::fs::File::from(out_r).read_to_string(&mut out).unwrap();
    // The terminal echoes the input lines; the count comes last.
    assert_eq!(out.lines().last().map(str::trim), Some("2"), "{out:?}");
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let err = run(&spec(&["/nonexistent/luxc-nope"]), Attach::default()).unwrap_err();
    assert!(matches!(err, ExecError::Spawn { .. }), "{err}");
}
