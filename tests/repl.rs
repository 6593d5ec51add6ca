//! The REPL, driven through a real pseudo-terminal.

mod common;

use common::Pty;

fn repl(state: &std::path::Path) -> Pty {
    let dir = state.to_str().unwrap();
    let mut p = Pty::spawn(&["repl"], &[("XDG_STATE_HOME", dir)]);
    p.expect("> ");
    p
}

#[test]
fn multi_line_for_block_runs() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send("for i=1,3 do\r");
    p.expect(">> ");
    p.send("io.write('n', i*10, ';')\r");
    p.expect(">> ");
    p.send("end\r");
    p.expect("n10;n20;n30;");
    assert_eq!(p.quit(), 0);
}

#[test]
fn tables_print_nested_and_sorted() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send("{ b = { z = 1, y = 'two' }, a = 3 }\r");
    p.expect("{\r\n  a = 3,\r\n  b = {\r\n    y = \"two\",\r\n    z = 1\r\n  }\r\n}");
    assert_eq!(p.quit(), 0);
}

#[test]
fn tab_completes_through_dots() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send("luxc.ve\t");
    p.expect("luxc.version");
    p.send("\r");
    p.expect(&format!("\"{}\"", env!("CARGO_PKG_VERSION")));
    assert_eq!(p.quit(), 0);
}

#[test]
fn help_prints_the_doc_from_the_stubs() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send(":help luxc.host.exec\r");
    p.expect("luxc.host.exec(cmd)");
    p.expect("Runs a host command to completion");
    p.expect("timeout? number");
    assert_eq!(p.quit(), 0);
}

#[test]
fn history_survives_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send("marker_value = 4242\r");
    assert_eq!(p.quit(), 0);
    let file = state.path().join("luxc/history");
    let saved = std::fs::read_to_string(&file).expect("history file written");
    assert!(saved.contains("marker_value = 4242"), "{saved}");

    let mut p = repl(state.path());
    p.send("\x1b[A"); // Up: the previous session's line comes back
    p.expect("marker_value = 4242");
    p.send("\r");
    // rustyline flushes typeahead when it enters raw mode: wait for the prompt.
    p.expect("> ");
    p.send("marker_value + 1\r");
    p.expect("\n4243\r\n");
    assert_eq!(p.quit(), 0);
}

#[test]
fn ctrl_c_cancels_the_line_and_ctrl_d_exits_zero() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send("for i = 1, 2 do\r");
    p.expect(">> ");
    p.send("\x03"); // Ctrl-C drops the unfinished block
    p.expect("> ");
    p.send("1 + 1\r");
    p.expect("\n2\r\n");
    assert_eq!(p.quit(), 0);
}

#[test]
fn ctrl_c_interrupts_running_code() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send("while true do end\r");
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send("\x03");
    p.expect("interrupted");
    p.send("'still here'\r");
    p.expect("\"still here\"");
    assert_eq!(p.quit(), 0);
}

#[test]
fn errors_show_and_the_session_goes_on() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send("luxc.host.exec(5)\r");
    p.expect("luxc.host.exec: argument 1: expected a list of strings, got number");
    p.send("1 + 2\r");
    p.expect("\n3\r\n");
    assert_eq!(p.quit(), 0);
}

#[test]
fn bare_luxc_on_a_terminal_starts_the_repl() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let mut p = Pty::spawn(&[], &[("XDG_STATE_HOME", dir)]);
    p.expect("> ");
    p.send("40 + 2\r");
    p.expect("\n42\r\n");
    assert_eq!(p.quit(), 0);
}

#[test]
fn e_chunks_run_before_the_prompt() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let mut p = Pty::spawn(&["-e", "preset = 99", "repl"], &[("XDG_STATE_HOME", dir)]);
    p.expect("> ");
    p.send("preset\r");
    p.expect("\n99\r\n");
    assert_eq!(p.quit(), 0);
}

#[test]
fn ctrl_c_interrupts_a_sleep() {
    let state = tempfile::tempdir().unwrap();
    let mut p = repl(state.path());
    p.send("luxc.sleep(60)\r");
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.send("\x03");
    p.expect("luxc.sleep: interrupted");
    assert_eq!(p.quit(), 0);
}

#[test]
fn containers_from_the_repl_with_method_completion() {
    let state = tempfile::tempdir().unwrap();
    let lab = format!("trepl-{}", std::process::id());
    let mut p = repl(state.path());
    p.send(&format!("l = luxc.lab('{lab}')\r"));
    p.expect("> ");
    p.send("c = l:container{ name = 'a', image = luxc.image.busybox() }\r");
    p.expect("> ");
    p.send("l:up()\r");
    p.expect(&format!("lab {lab} (1 container)"));
    p.expect("> ");
    p.send("c:ex\t");
    p.expect("c:exec(");
    p.send("{ 'hostname' }).stdout\r");
    p.expect("\"a\\n\"");
    p.expect("> ");
    p.send("l:down().removed\r");
    // The lab's cgroup, the container's dir, tmpfs, cgroup and PID 1, its
    // netns pin (file and bind mount), the lab's saved topology and its
    // saved model (the file and its temporary).
    p.expect("\n10\r\n");
    assert_eq!(p.quit(), 0);
    assert!(!std::path::Path::new(&format!("/run/luxc/{lab}")).exists());
}
