//! `luxc exec LAB CONTAINER -- CMD` on a lab that a script left up: plain
//! stdio, -i, and -it driven through a real pseudo-terminal. Needs root.

mod common;

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::lab::{self, assert_clean, lab_name};
use common::{luxc, text, Pty};
use nix::sys::termios::{self, LocalFlags};

/// Takes the lab down when the test ends, passed or not.
struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = luxc(["down", &self.0], "");
    }
}

/// A lab with container `c` running and container `s` stopped (busybox).
fn live_lab(tag: &str) -> (Down, String) {
    let name = lab_name(tag);
    let stdout = lab::ok(
        &name,
        r#"
local l = luxc.lab(LAB)
local c = l:container{ name = "c", image = luxc.image.busybox(), limits = { pids = 64 } }
local s = l:container{ name = "s", image = luxc.image.busybox() }
l:up()
record(c)
record(s)
s:stop()
"#,
    );
    (Down(name), stdout)
}

fn set_size(p: &Pty, rows: u16, cols: u16) {
    let ws = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize we own.
    let rc = unsafe { nix::libc::ioctl(p.master().as_raw_fd(), nix::libc::TIOCSWINSZ, &ws) };
    assert_eq!(rc, 0, "TIOCSWINSZ");
}

fn local_flags(p: &Pty) -> LocalFlags {
    termios::tcgetattr(p.master()).unwrap().local_flags
}

#[test]
fn exec_runs_commands_in_a_live_lab() {
    let (down, recorded) = live_lab("exec");
    let lab = down.0.clone();

    // Plain: output and status are the command's.
    let out = luxc(["exec", &lab, "c", "--", "sh", "-c", "echo hi; exit 3"], "");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert_eq!(stdout, "hi\n");

    // The command runs in the container's cgroup (seen from inside its cgroup
    // namespace: the root), as the container's own processes do.
    let out = luxc(["exec", &lab, "c", "cat", "/proc/self/cgroup"], "");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("pids:/\n"),
        "not in the container's cgroup: {stdout}"
    );

    // Without -i stdin is /dev/null; with -i it is luxc's.
    let out = luxc(["exec", &lab, "c", "--", "cat"], "ignored\n");
    assert_eq!(text(&out).0, "");
    let out = luxc(
        [
            "exec",
            "-i",
            &lab,
            "c",
            "--",
            "sh",
            "-c",
            "tr a-z A-Z; exit 4",
        ],
        "piped in\n",
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(text(&out).0, "PIPED IN\n");

    // -e, -u, -w.
    let out = luxc(
        [
            "exec",
            "-e",
            "GREETING=hello there",
            "-u",
            "1000:1001",
            "-w",
            "/tmp",
            &lab,
            "c",
            "--",
            "sh",
            "-c",
            "echo \"$GREETING\"; id -u; id -g; pwd",
        ],
        "",
    );
    assert_eq!(
        text(&out).0,
        "hello there\n1000\n1001\n/tmp\n",
        "{}",
        text(&out).1
    );

    // A command killed by a signal: 128 + its number.
    let out = luxc(["exec", &lab, "c", "--", "sh", "-c", "kill -KILL $$"], "");
    assert_eq!(out.status.code(), Some(137));

    // -it on a pseudo-terminal: a shell with a prompt, sizes, Ctrl-C inside.
    let mut p = Pty::spawn(
        &[
            "exec",
            "-it",
            "-e",
            "PS1=exec-test$ ",
            &lab,
            "c",
            "--",
            "sh",
        ],
        &[],
    );
    set_size(&p, 30, 100);
    p.expect("exec-test$ ");
    assert!(
        !local_flags(&p).intersects(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG),
        "luxc's terminal is not in raw mode"
    );
    p.send("echo $((6*7))\r");
    p.expect("42");
    p.expect("exec-test$ ");
    p.send("stty size\r");
    p.expect("30 100");
    p.expect("exec-test$ ");
    // A resize while it runs reaches the shell's terminal (SIGWINCH).
    set_size(&p, 41, 123);
    p.send("stty size\r");
    p.expect("41 123");
    p.expect("exec-test$ ");
    p.send("test -t 0 && test -t 1 && echo on-a-terminal\r");
    p.expect("on-a-terminal\r\n");
    p.expect("exec-test$ ");
    // Ctrl-C ends the foreground sleep, not the shell.
    let started = Instant::now();
    p.send("sleep 100; echo after-sleep\r");
    p.expect("after-sleep"); // the echo of the typed line
    std::thread::sleep(Duration::from_millis(500));
    p.send("\x03");
    p.expect("exec-test$ ");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "sleep was not interrupted"
    );
    p.send("echo still $((1+1))\r");
    p.expect("still 2");
    p.send("exit 5\r");
    // The terminal gets its settings back before luxc exits.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !local_flags(&p).contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG) {
        assert!(
            Instant::now() < deadline,
            "luxc's terminal was not restored"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(p.wait(), 5);

    // -t with piped input: no raw mode, end of input is end of file.
    let out = luxc(
        ["exec", "-it", &lab, "c", "--", "sh", "-c", "wc -l; exit 6"],
        "a\nb\nc\n",
    );
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    assert_eq!(
        stdout.lines().last().map(str::trim),
        Some("3"),
        "{stdout:?}"
    );

    // Bad input: luxc's own failures are 125, with a message naming what.
    let cases: &[(&[&str], &str)] = &[
        (&["exec", &lab, "nope", "--", "true"], "no container 'nope'"),
        (
            &["exec", &lab, "s", "--", "true"],
            "container 's' is stopped, not running",
        ),
        (
            &["exec", "tnosuchlab-exec", "c", "--", "true"],
            "no lab 'tnosuchlab-exec'",
        ),
        (&["exec", &lab, "c"], "CMD"),
        (
            &["exec", "-e", "NOEQUALS", &lab, "c", "true"],
            "expected KEY=VALUE, got 'NOEQUALS'",
        ),
        (
            &["exec", "-u", "root", &lab, "c", "true"],
            "expected UID or UID:GID",
        ),
        (
            &["exec", "-w", "/no/such/dir", &lab, "c", "true"],
            "cwd /no/such/dir",
        ),
        (
            &["-e", "x=1", "exec", &lab, "c", "true"],
            "`luxc exec` takes none",
        ),
    ];
    for (args, message) in cases {
        let out = luxc(*args, "");
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // Not found / not executable inside: 127 / 126, as a shell says.
    let out = luxc(["exec", &lab, "c", "--", "no-such-program"], "");
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out)
        .1
        .contains("no-such-program: not found in container 'c'"));
    let out = luxc(["exec", &lab, "c", "--", "/etc/passwd"], "");
    assert_eq!(out.status.code(), Some(126), "{}", text(&out).1);

    let out = luxc(["down", &lab], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_clean(&lab, &recorded);
}

#[test]
fn exec_does_not_wait_for_a_script_that_holds_the_lab() {
    let name = lab_name("exechold");
    let _down = Down(name.clone());
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("up");
    let script = dir.path().join("hold.lua");
    std::fs::write(
        &script,
        format!(
            r#"
local l = luxc.lab(...)
local c = l:container{{ name = "c", image = luxc.image.busybox() }}
l:up()
io.open("{}", "w"):close()
luxc.sleep(30)
"#,
            marker.display()
        ),
    )
    .unwrap();
    let mut holder = std::process::Command::new(common::luxc_bin())
        .arg(&script)
        .arg(&name)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the script did not bring the lab up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The script holds the lab's lock; exec only reads the lab.
    let out = luxc(["exec", &name, "c", "--", "hostname"], "");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(holder.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let status = holder.wait().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stdout.trim(), "c");
    // SIGTERM ends the script, which rolls back what it made: nothing left.
    assert_eq!(status.code(), Some(130));
    assert_clean(&name, "");
}
