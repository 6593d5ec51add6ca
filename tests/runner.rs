//! The script runner: exit statuses, error output, `arg`, stdin scripts,
//! shebangs, `-e` and `require` next to the script.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{luxc, text};

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn success_exits_zero_and_prints() {
    let out = luxc(["-e", "print('hi', 1 + 1)"], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out).0, "hi\t2\n");
}

#[test]
fn lua_error_exits_one_with_file_line_and_traceback() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "boom.lua",
        "local function inner()\n  error('kaboom')\nend\n\ninner()\n",
    );
    let out = luxc(["run", &path], "");
    assert_eq!(out.status.code(), Some(1));
    let (_, err) = text(&out);
    assert!(err.contains(&format!("{path}:2: kaboom")), "{err}");
    assert!(err.contains("stack traceback:"), "{err}");
    assert!(err.contains(&format!("{path}:2: in ")), "{err}");
    assert!(err.contains(&format!("{path}:5: in main chunk")), "{err}");
    assert!(!err.contains("xpcall"), "luxc's own frames trimmed: {err}");
}

#[test]
fn errors_from_the_api_carry_the_script_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "api.lua", "local x = 1\nluxc.host.exec(5)\n");
    let out = luxc([&path], "");
    assert_eq!(out.status.code(), Some(1));
    let (_, err) = text(&out);
    assert!(
        err.contains(&format!(
            "{path}:2: luxc.host.exec: argument 1: expected a list of strings, got number"
        )),
        "{err}"
    );
}

#[test]
fn syntax_error_exits_one_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "bad.lua", "print(1)\nlocal = 2\n");
    let out = luxc([&path], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains(&format!("{path}:2:")),
        "{}",
        text(&out).1
    );
}

#[test]
fn usage_errors_exit_two() {
    for args in [
        vec!["--no-such-flag"],
        vec!["run"],
        vec!["check", "--bogus"],
    ] {
        let out = luxc(&args, "");
        assert_eq!(
            out.status.code(),
            Some(2),
            "args {args:?}: {}",
            text(&out).1
        );
    }
}

#[test]
fn missing_script_exits_one_naming_it() {
    let out = luxc(["/nonexistent/luxc-test.lua"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out)
        .1
        .contains("cannot open /nonexistent/luxc-test.lua"));
}

#[test]
fn os_exit_is_honoured() {
    for (code, want) in [
        ("os.exit(7)", 7),
        ("os.exit(true)", 0),
        ("os.exit(false)", 1),
    ] {
        let out = luxc(
            [
                "-e",
                "io.write('x')",
                "-e",
                code,
                "-e",
                "print('not reached')",
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(want), "{code}");
        assert_eq!(
            text(&out).0,
            "x",
            "buffered output is flushed, nothing after exit"
        );
    }
}

#[test]
fn arg_table_and_varargs_match_lua() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "args.lua",
        "print(arg[-1], #arg, arg[1], arg[2], arg[3], select('#', ...), ...)\nprint(arg[0])\n",
    );
    let out = luxc(["run", &path, "a", "-b", "c d"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(
        text(&out).0,
        format!("run\t3\ta\t-b\tc d\t3\ta\t-b\tc d\n{path}\n")
    );

    let out = luxc(["-v", &path, "x"], "");
    assert_eq!(text(&out).0, format!("-v\t1\tx\tnil\tnil\t1\tx\n{path}\n"));
}

#[test]
fn script_on_stdin() {
    let out = luxc(["-", "p", "q"], "print(arg[0], ...)\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out).0, "-\tp\tq\n");
    // Bare luxc with stdin not a terminal runs stdin, as lua(1) does.
    let out = luxc(Vec::<&str>::new(), "print('from stdin')\nerror('late')\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out).0, "from stdin\n");
    assert!(text(&out).1.contains("stdin:2: late"), "{}", text(&out).1);
}

#[test]
fn e_chunks_run_in_order_before_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "s.lua", "print(x + y)\n");
    let out = luxc(["-e", "x = 1", "-e", "y = x + 1", &path], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(text(&out).0, "3\n");
}

#[test]
fn shebang_scripts_run_directly_with_right_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "tool",
        "#!/usr/bin/env luxc\nprint('args', ...)\nerror('line three')\n",
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin_dir = Path::new(common::luxc_bin()).parent().unwrap();
    let path_env = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let out = Command::new(&path)
        .arg("one")
        .env("PATH", path_env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out).0, "args\tone\n");
    assert!(
        text(&out).1.contains(&format!("{path}:3: line three")),
        "{}",
        text(&out).1
    );
}

#[test]
fn require_finds_modules_next_to_the_script_and_the_stdlib() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "helper_mod.lua", "return { answer = 42 }\n");
    let path = script(
        dir.path(),
        "main.lua",
        "local m = require 'helper_mod'\nassert(require('luxc') == luxc)\n\
         assert(type(require('luxc.inspect')) == 'function')\nprint(m.answer)\n",
    );
    // Run from another directory: the module is found next to the script.
    let out = Command::new(common::luxc_bin())
        .arg(&path)
        .current_dir("/")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(text(&out).0, "42\n");
}

#[test]
fn version_and_help_on_every_subcommand() {
    let out = luxc(["--version"], "");
    assert_eq!(
        text(&out).0.trim(),
        format!("luxc {}", env!("CARGO_PKG_VERSION"))
    );
    for sub in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["repl", "--help"],
        vec!["check", "--help"],
    ] {
        let out = luxc(&sub, "");
        assert_eq!(out.status.code(), Some(0), "{sub:?}");
        assert!(
            text(&out).0.contains("Usage: luxc"),
            "{sub:?}: {}",
            text(&out).0
        );
    }
}

#[test]
fn verbose_shows_debug_logs_from_scripts() {
    let code = "luxc.log.debug('dbg-msg') luxc.log.info('info-msg')";
    let quiet = luxc(["-e", code], "");
    let (_, err) = text(&quiet);
    assert!(
        err.contains("info-msg") && !err.contains("dbg-msg"),
        "{err}"
    );
    assert!(err.contains("(command line):1: info-msg"), "{err}");
    let loud = luxc(["-v", "-e", code], "");
    assert!(text(&loud).1.contains("dbg-msg"), "{}", text(&loud).1);
}

#[test]
fn options_after_the_script_belong_to_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "opts.lua",
        "print(...)\nluxc.log.debug('not shown')\n",
    );
    let out = luxc([path.as_str(), "--help", "-v", "-e", "x"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(text(&out).0, "--help\t-v\t-e\tx\n");
    assert!(
        !text(&out).1.contains("not shown"),
        "-v after the script is not luxc's"
    );
}

#[test]
fn e_with_check_is_a_usage_error() {
    let out = luxc(["-e", "x = 1", "check"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("-e"), "{}", text(&out).1);
}

/// Starts luxc running `code`, waits for `ready` to appear as a file, sends
/// `sig`, and returns luxc's exit status and stderr.
fn interrupt_while(code: &str, ready: &Path, sig: nix::sys::signal::Signal) -> (i32, String) {
    let child = Command::new(common::luxc_bin())
        .args(["-e", code])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ready.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "script never got ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), text(&out).1)
}

#[test]
fn ctrl_c_kills_a_running_host_command_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let code = format!(
        "luxc.host.exec{{'sh', '-c', 'sleep 60 & echo $! > {0}; wait'}}",
        pidfile.display()
    );
    let (status, err) = interrupt_while(&code, &pidfile, nix::sys::signal::Signal::SIGINT);
    assert_eq!(status, 130, "{err}");
    assert!(
        err.contains("luxc.host.exec: exec sh: interrupted"),
        "{err}"
    );
    // The grandchild (sleep, in the command's process group) is gone too.
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = |p: i32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "sleep {pid} survived luxc"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn sigterm_stops_a_busy_lua_loop_and_a_sleep() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let mark = format!("io.open('{}', 'w'):close()", ready.display());
    let (status, err) = interrupt_while(
        &format!("{mark} while true do end"),
        &ready,
        nix::sys::signal::Signal::SIGTERM,
    );
    assert_eq!(status, 130, "{err}");
    assert!(err.contains("interrupted"), "{err}");
    std::fs::remove_file(&ready).unwrap();
    let (status, err) = interrupt_while(
        &format!("{mark} luxc.sleep(60)"),
        &ready,
        nix::sys::signal::Signal::SIGINT,
    );
    assert_eq!(status, 130, "{err}");
    assert!(err.contains("luxc.sleep: interrupted"), "{err}");
}
