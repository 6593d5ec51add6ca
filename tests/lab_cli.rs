//! `luxc ls`, `inspect`, `logs` and `down --force` on real labs (root): a
//! script leaves a lab up, the commands look at it from outside (also while
//! another luxc holds it), and `luxc down` proves nothing is left.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::lab::{assert_clean, lab_name, ok, run};
use common::{luxc, text};
use serde_json::Value;

/// Lua prelude: `bname(tag)`, a bridge name unique to this test process.
const PRE: &str = r#"
U = LAB:match("(%d+)$") % 1000000
function bname(tag) return string.format("b%06d%s", U, tag) end
"#;

/// Takes the lab down at the end of a test, also when it failed half way.
struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = luxc(["down", self.0.as_str()], "");
    }
}

/// A luxc this test started, killed (by its pid) if the test ends early;
/// declared after `Down`, so it is gone before the lab is taken down.
struct Holder(std::process::Child);

impl Drop for Holder {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs luxc with `args`: (exit status, stdout, stderr).
fn cli(args: &[&str]) -> (i32, String, String) {
    let out = luxc(args, "");
    let (stdout, stderr) = text(&out);
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// `luxc inspect LAB --json`, parsed.
fn inspect(lab: &str) -> Value {
    let (code, stdout, stderr) = cli(&["inspect", lab, "--json"]);
    assert_eq!(code, 0, "inspect failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// This lab's entry in `luxc ls --json` (other labs on the host are ignored).
fn listed(lab: &str) -> Value {
    let (_, stdout, stderr) = cli(&["ls", "--json"]);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    doc["labs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == lab)
        .unwrap_or_else(|| panic!("{lab} not listed: {stdout}\n{stderr}"))
        .clone()
}

fn container<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}: {view}"))
}

/// The `@pid` lines `record(c)` printed, in order.
fn recorded_pids(stdout: &str) -> Vec<i64> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("@pid "))
        .map(|p| p.trim().parse().unwrap())
        .collect()
}

#[test]
fn ls_inspect_and_logs_show_a_lab_left_up() {
    let lab = lab_name("clishow");
    let _down = Down(lab.clone());
    let out = ok(
        &lab,
        &format!(
            "{PRE}{}",
            r#"
local l = luxc.lab(LAB)
local img = luxc.image.host()
local br = l:bridge{ name = bname("s") }
local a = l:container{ name = "a", image = img,
  init = { "/bin/sh", "-c", "echo hello-from-init; exec sleep 1000" } }
local b = l:container{ name = "b", image = img }
l:link(a, br, { address = "10.79.0.2/24" })
l:link(b, br, { address = "10.79.0.3/24" })
l:up()
record(a)
record(b)
-- About 2.4 MiB through b's PID 1 into its log: more than the bound.
local p = b:spawn{ "sh", "-c", [[
i=0
while [ $i -lt 50000 ]; do echo "line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done
echo spawned-last]] }
assert(p:wait().code == 0)
-- No l:down(): the lab stays up.
"#
        ),
    );
    let pids = recorded_pids(&out);
    assert_eq!(pids.len(), 2, "{out}");

    let entry = listed(&lab);
    assert_eq!(entry["status"], "up", "{entry}");
    assert_eq!(entry["containers"]["running"], 2, "{entry}");
    assert_eq!(entry["containers"]["total"], 2, "{entry}");
    // The bridge and the host ends of the two veths.
    assert_eq!(entry["links"], 3, "{entry}");
    assert_eq!(entry["namespaces"], 2, "{entry}");
    assert_eq!(entry["devices"], 0, "{entry}");
    let (code, table, _) = cli(&["ls"]);
    assert!(code == 0 || code == 1, "luxc ls: {code}");
    let row = table
        .lines()
        .find(|l| l.starts_with(&format!("{lab} ")))
        .unwrap();
    assert!(row.contains(" up ") && row.contains(" 2/2 "), "{row}");

    let view = inspect(&lab);
    assert_eq!(view["status"], "up");
    for (name, pid, addr) in [
        ("a", pids[0], "10.79.0.2/24"),
        ("b", pids[1], "10.79.0.3/24"),
    ] {
        let c = container(&view, name);
        assert_eq!(c["status"], "running", "{c}");
        assert_eq!(c["pid"], pid, "{c}");
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "PID 1 of {name} ({pid}) is not in /proc"
        );
        assert_eq!(c["cgroup"], format!("luxc.{lab}/{name}"));
        assert_eq!(c["netns"], format!("/run/netns/{lab}-{name}"));
        let addrs: Vec<&Value> = c["addresses"].as_array().unwrap().iter().collect();
        assert!(
            addrs
                .iter()
                .any(|a| a["interface"] == "eth0" && a["address"] == addr),
            "{name}: {addrs:?}"
        );
    }
    let (code, human, _) = cli(&["inspect", &lab]);
    assert_eq!(code, 0);
    assert!(human.contains("address: eth0 10.79.0.2/24"), "{human}");

    let (code, log_a, stderr) = cli(&["logs", &lab, "a"]);
    assert_eq!((code, log_a.as_str()), (0, "hello-from-init\n"), "{stderr}");
    // b's log went past 1 MiB: its newest half is kept.
    let (code, log_b, _) = cli(&["logs", &lab, "b"]);
    assert_eq!(code, 0);
    assert!(log_b.len() <= 1 << 20, "{} bytes kept", log_b.len());
    assert!(log_b.len() >= 1 << 18, "only {} bytes kept", log_b.len());
    assert!(
        log_b.starts_with("[luxc: older output cut;"),
        "{}",
        &log_b[..80]
    );
    assert!(!log_b.contains("line-0-"), "the oldest output was kept");
    assert!(log_b.ends_with("line-49999-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nspawned-last\n"));
    let (code, last, _) = cli(&["logs", &lab, "b", "--tail", "1"]);
    assert_eq!((code, last.as_str()), (0, "spawned-last\n"));
    let (code, _, stderr) = cli(&["logs", &lab, "zz"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr.trim_end(),
        format!("luxc logs: lab '{lab}' has no container 'zz' (containers: a, b)")
    );

    // a's PID 1 killed (by its pid): inspect says stopped, b still runs.
    let status = Command::new("kill")
        .args(["-9", &pids[0].to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let view = loop {
        let view = inspect(&lab);
        if container(&view, "a")["status"] == "stopped" || std::time::Instant::now() > deadline {
            break view;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(container(&view, "a")["status"], "stopped", "{view}");
    assert_eq!(container(&view, "b")["status"], "running", "{view}");
    assert_eq!(listed(&lab)["containers"]["running"], 1);

    let (code, stdout, stderr) = cli(&["down", &lab]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_clean(&lab, &out);
}

#[test]
fn inspect_works_while_a_script_holds_the_lab() {
    let lab = lab_name("clibusy");
    let _down = Down(lab.clone());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("lab.lua");
    std::fs::write(
        &script,
        r#"
LAB = ...
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.host() }
l:up()
print("@pid " .. a:pid())
for kind, id in pairs(a:ns()) do print("@ns " .. kind .. " " .. id) end
print("ready")
io.stdout:flush()
luxc.sleep(60)
"#,
    )
    .unwrap();
    let mut child = Holder(
        Command::new(common::luxc_bin())
            .arg(&script)
            .arg(&lab)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut recorded = String::new();
    for line in BufReader::new(child.0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        recorded.push_str(&line);
        recorded.push('\n');
    }
    let holder = child.0.id();
    let view = inspect(&lab);
    assert_eq!(view["status"], "in_use", "{view}");
    assert_eq!(view["holder"], holder, "{view}");
    assert_eq!(container(&view, "a")["status"], "running");
    let (_, table, _) = cli(&["ls"]);
    assert!(
        table.contains(&format!("in use by luxc pid {holder}")),
        "{table}"
    );
    // Looking took no lock: the holder is still the only one, and down is refused.
    let (code, _, stderr) = cli(&["down", &lab]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("in use by luxc pid {holder}")),
        "{stderr}"
    );
    // End the script (ours, by its pid); the lab stays for luxc down.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let (code, stdout, stderr) = cli(&["down", &lab]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_clean(&lab, &recorded);
}

#[test]
fn a_corrupt_journal_is_named_and_down_force_removes_what_it_records() {
    let lab = lab_name("clicorrupt");
    let _down = Down(lab.clone());
    let out = ok(
        &lab,
        &format!(
            "{PRE}{}",
            r#"
local l = luxc.lab(LAB)
local br = l:bridge{ name = bname("c") }
local a = l:container{ name = "a", image = luxc.image.host() }
l:link(a, br, { address = "10.79.1.2/24" })
l:up()
record(a)
"#
        ),
    );
    // A bad line in the middle, not a truncated last one.
    let path = format!("/run/luxc/{lab}/journal");
    let journal = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = journal.lines().collect();
    assert!(lines.len() > 6, "{journal}");
    lines.insert(3, "{\"id\":999,\"op\":\"intend\",\"obj");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let named = format!("{path} line 4: not a journal record");

    let entry = listed(&lab);
    assert_eq!(entry["status"], "unreadable", "{entry}");
    assert!(entry["error"].as_str().unwrap().contains(&named), "{entry}");
    let (code, _, stderr) = cli(&["ls"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("lab '{lab}' is unreadable: {named}")),
        "{stderr}"
    );

    let (code, _, stderr) = cli(&["inspect", &lab]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&named) && stderr.contains("--force"),
        "{stderr}"
    );
    // logs needs only the readable lines.
    assert_eq!(cli(&["logs", &lab, "a"]).0, 0);

    let (code, _, stderr) = cli(&["down", &lab]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(&format!("luxc down: lab '{lab}': {named}"))
            && stderr.contains(&format!("`luxc down --force {lab}`")),
        "{stderr}"
    );
    assert!(
        std::path::Path::new(&path).exists(),
        "plain down removed the journal"
    );

    let (code, stdout, stderr) = cli(&["down", "--force", &lab]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("skipping unreadable record: {named}")),
        "{stderr}"
    );
    assert!(stdout.starts_with(&format!("{lab}: removed ")), "{stdout}");
    assert_clean(&lab, &out);
}

#[test]
fn unknown_labs_and_containers_and_usage_errors() {
    let lab = lab_name("clinone");
    let (code, _, stderr) = cli(&["inspect", &lab]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(&format!("luxc inspect: no lab '{lab}' (")),
        "{stderr}"
    );
    let (code, _, stderr) = cli(&["logs", &lab, "a"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(&format!("luxc logs: no lab '{lab}' (")),
        "{stderr}"
    );
    let (code, _, stderr) = cli(&["inspect", "a/b"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("luxc inspect: lab name 'a/b': use"),
        "{stderr}"
    );
    let (code, _, stderr) = cli(&["down", "--force", &lab]);
    assert_eq!(code, 1);
    assert!(stderr.contains(&format!("no lab '{lab}'")), "{stderr}");
    // Usage errors: exit 2.
    for args in [
        &["-e", "print(1)", "ls"][..],
        &["-e", "print(1)", "inspect", "x"],
        &["logs", "x"],
        &["inspect"],
        &["logs", "x", "a", "--tail", "many"],
    ] {
        let (code, _, stderr) = cli(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
    // A script that fails half way leaves a lab that ls shows.
    let out = run(
        &lab,
        r#"
local l = luxc.lab(LAB)
l:container{ name = "a", image = luxc.image.host() }
l:up()
error("half way")
"#,
    );
    assert_eq!(out.status.code(), Some(1));
    let _down = Down(lab.clone());
    assert_eq!(listed(&lab)["containers"]["total"], 1);
    let (code, _, stderr) = cli(&["down", &lab]);
    assert_eq!(code, 0, "{stderr}");
    assert_clean(&lab, "");
}
