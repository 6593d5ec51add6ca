//! Plan and reconcile (root): `luxc run --plan` touches nothing; running a
//! script again against its live lab changes nothing and says so; a changed
//! limit or link address changes just that, in place; a container the
//! script no longer declares is removed; `luxc.lab.open` and `luxc repl
//! --lab` drive the live lab. Everything is removed at the end.

mod common;

use std::path::Path;
use std::process::Output;

use common::lab::{assert_clean, lab_name};
use common::{luxc_bin, text};

/// Held by the tests that change the host while another compares host
/// snapshots: the tests of one file run in parallel.
static HOST: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn host_lock() -> std::sync::MutexGuard<'static, ()> {
    HOST.lock().unwrap_or_else(|e| e.into_inner())
}

/// The lab: a bridge, containers a (with a memory limit) and b (unless
/// DROP_B), each linked to the bridge with an address.
const SCRIPT: &str = r#"
local LAB, MEM, ADDR, DROP_B, BR = ...
local lab = luxc.lab(LAB)
local br = lab:bridge{ name = BR, address = "10.62.0.1/24" }
local a = lab:container{ name = "a", image = luxc.image.busybox(), limits = { memory = MEM } }
lab:link(a, br, { address = ADDR })
if DROP_B ~= "drop" then
  local b = lab:container{ name = "b", image = luxc.image.busybox() }
  lab:link(b, br, { address = "10.62.0.3/24" })
end
lab:up()
for _, c in ipairs(lab:containers()) do
  print("@pid " .. c.name .. " " .. c:pid())
  for kind, id in pairs(c:ns()) do print("@ns " .. kind .. " " .. id) end
end
print("@addr " .. a:exec{ "ip", "-o", "-4", "addr", "show", "eth0" }.stdout)
"#;

struct Lab {
    name: String,
    bridge: String,
    script: tempfile::TempDir,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let script = tempfile::tempdir().unwrap();
        std::fs::write(script.path().join("lab.lua"), SCRIPT).unwrap();
        Lab {
            name: lab_name(tag),
            bridge: format!("rb{}", std::process::id() % 1_000_000),
            script,
        }
    }

    fn run(&self, plan: bool, mem: &str, addr: &str, drop_b: bool) -> Output {
        let mut cmd = std::process::Command::new(luxc_bin());
        cmd.arg("run");
        if plan {
            cmd.arg("--plan");
        }
        cmd.arg(self.script.path().join("lab.lua")).args([
            self.name.as_str(),
            mem,
            addr,
            if drop_b { "drop" } else { "keep" },
            self.bridge.as_str(),
        ]);
        cmd.output().unwrap()
    }

    fn ok(&self, mem: &str, addr: &str, drop_b: bool) -> (String, String) {
        let out = self.run(false, mem, addr, drop_b);
        let (o, e) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{o}\n{e}");
        (o, e)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::process::Command::new(luxc_bin())
            .args(["down", &self.name])
            .output();
    }
}

/// PIDs by container name, from `@pid NAME PID` lines.
fn pids(stdout: &str) -> Vec<(String, i32)> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("@pid "))
        .map(|l| {
            let (n, p) = l.split_once(' ').unwrap();
            (n.to_string(), p.parse().unwrap())
        })
        .collect()
}

/// What the host has that a lab could touch: links, netns pins, lab state
/// dirs, mounts, luxc cgroups.
fn snapshot() -> String {
    let links = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let mut out = String::new();
    for l in String::from_utf8_lossy(&links.stdout).lines() {
        out.push_str(l.split(':').nth(1).unwrap_or_default());
        out.push('\n');
    }
    for dir in [
        "/run/netns",
        "/run/luxc",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/pids",
    ] {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        out.push_str(&format!("{dir}: {names:?}\n"));
    }
    out.push_str(&std::fs::read_to_string("/proc/self/mountinfo").unwrap());
    out
}

fn memory_limit(lab: &str) -> String {
    std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/luxc.{lab}/a/memory.limit_in_bytes"
    ))
    .unwrap()
    .trim()
    .to_string()
}

#[test]
fn plan_touches_nothing_and_reruns_change_only_what_differs() {
    let _host = host_lock();
    let lab = Lab::new("reconcile");
    // --plan on a new lab: the plan lists everything, the host is unchanged.
    let before = snapshot();
    let out = lab.run(true, "64M", "10.62.0.2/24", false);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{o}\n{e}");
    assert!(
        o.contains(&format!(
            "lab {}: 5 to create, 0 to change, 0 to remove",
            lab.name
        )),
        "{o}"
    );
    for line in [
        format!("+ bridge {}", lab.bridge),
        "+ container a".into(),
        "+ container b".into(),
        "+ link a:eth0".into(),
    ] {
        assert!(o.contains(&line), "plan lacks {line:?}:\n{o}");
    }
    // The script stops at the first call that needs the lab up.
    assert!(e.contains("--plan: the script stops here"), "{e}");
    assert_eq!(before, snapshot(), "--plan changed the host");
    assert!(!Path::new(&format!("/run/luxc/{}", lab.name)).exists());

    // Up for real; a second run of the same script changes nothing.
    let (first, e1) = lab.ok("64M", "10.62.0.2/24", false);
    assert!(
        !e1.contains("no changes"),
        "a new lab is not a reconcile: {e1}"
    );
    assert_eq!(memory_limit(&lab.name), "67108864");
    let (again, e2) = lab.ok("64M", "10.62.0.2/24", false);
    assert!(
        e2.contains(&format!(
            "lab {}: no changes (5 objects up to date)",
            lab.name
        )),
        "{e2}"
    );
    assert_eq!(pids(&first), pids(&again), "containers were restarted");
    assert_eq!(pids(&first).len(), 2);

    // --plan against the live lab with one changed limit: one change, and
    // nothing happens.
    let out = lab.run(true, "128M", "10.62.0.2/24", false);
    let o = text(&out).0;
    assert!(
        o.contains(&format!(
            "lab {}: 0 to create, 1 to change, 0 to remove, 4 unchanged",
            lab.name
        )),
        "{o}"
    );
    assert!(o.contains("~ container a: limits"), "{o}");
    assert_eq!(
        memory_limit(&lab.name),
        "67108864",
        "--plan changed a limit"
    );

    // The changed limit, for real: one change, in place.
    let (o, e) = lab.ok("128M", "10.62.0.2/24", false);
    assert!(
        e.contains("0 created, 1 changed, 0 removed, 4 unchanged"),
        "{e}"
    );
    assert_eq!(memory_limit(&lab.name), "134217728");
    assert_eq!(pids(&first), pids(&o));

    // One link's address: one change; the container has the new address.
    let (o, e) = lab.ok("128M", "10.62.0.9/24", false);
    assert!(
        e.contains("0 created, 1 changed, 0 removed, 4 unchanged"),
        "{e}"
    );
    assert!(e.contains("~ link a:eth0"), "{e}");
    let addr = o
        .lines()
        .find(|l| l.starts_with("@addr"))
        .unwrap_or_default();
    assert!(
        addr.contains("10.62.0.9/24") && !addr.contains("10.62.0.2/"),
        "{o}"
    );
    assert_eq!(pids(&first), pids(&o));

    // b no longer declared: it and its link are removed, a stays.
    let (o, e) = lab.ok("128M", "10.62.0.9/24", true);
    assert!(
        e.contains("0 created, 0 changed, 2 removed, 3 unchanged"),
        "{e}"
    );
    let b_pid = pids(&first).into_iter().find(|(n, _)| n == "b").unwrap().1;
    // Killed; its parent (init, once the first luxc ended) reaps it.
    let gone = (0..200).any(|_| {
        let stat = std::fs::read_to_string(format!("/proc/{b_pid}/stat")).unwrap_or_default();
        let alive = !stat.is_empty() && !stat.contains(") Z ");
        if alive {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        !alive
    });
    assert!(gone, "b still runs");
    assert_eq!(pids(&o), vec![("a".to_string(), pids(&first)[0].1)]);
    assert!(!Path::new(&format!("/run/netns/{}-b", lab.name)).exists());

    // luxc.lab.open and the REPL on the live lab.
    let out = common::lab::run(
        &lab.name,
        r#"local l = luxc.lab.open(LAB)
print(l.a:status(), l.a:exec{ "hostname" }.stdout, l.b)"#,
    );
    let (o, e) = text(&out);
    assert_eq!(o.trim(), "running\ta\n\tnil", "{e}");
    let mut repl = std::process::Command::new(luxc_bin())
        .args(["repl", "--lab", &lab.name])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    repl.stdin
        .take()
        .unwrap()
        .write_all(b"print('@' .. lab.a:exec{ 'echo', 'from-repl' }.stdout)\n")
        .unwrap();
    let out = repl.wait_with_output().unwrap();
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{o}\n{e}");
    assert!(o.contains("containers: a (running)"), "{o}");
    assert!(o.contains("@from-repl"), "{o}\n{e}");

    let down = std::process::Command::new(luxc_bin())
        .args(["down", &lab.name])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(0), "{}", text(&down).1);
    assert_clean(&lab.name, &first);
}

#[test]
fn open_and_repl_lab_errors() {
    let name = lab_name("nolab");
    let out = common::lab::run(&name, "luxc.lab.open(LAB)");
    let e = text(&out).1;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        e.contains(&format!("luxc.lab.open: no lab '{name}'")),
        "{e}"
    );
    let out = std::process::Command::new(luxc_bin())
        .args(["repl", "--lab", &name])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains(&format!("no lab '{name}'")),
        "{}",
        text(&out).1
    );
    let out = common::lab::run(&name, "luxc.lab.open(42)");
    assert!(
        text(&out)
            .1
            .contains("luxc.lab.open: argument 1: expected a string, got number"),
        "{}",
        text(&out).1
    );
}

#[test]
fn progress_line_on_a_terminal_only() {
    let _host = host_lock();
    // 300 namespaces on a bridge: long enough (> 0.2 s) for the line.
    let lab = lab_name("progress");
    let bridge = format!("pb{}", std::process::id() % 1_000_000);
    let args = [
        "benches/net-lab.lua",
        lab.as_str(),
        "300",
        bridge.as_str(),
        "63",
    ];
    let mut p = common::Pty::spawn(&args, &[]);
    let seen = p.expect("\"removed\"");
    assert_eq!(p.wait(), 0);
    assert!(
        seen.contains("/601 up: "),
        "no progress line on the terminal:\n{seen}"
    );
    let out = std::process::Command::new(luxc_bin())
        .args(args)
        .output()
        .unwrap();
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{o}\n{e}");
    assert!(
        !e.contains(" up: ") && !e.contains('\r'),
        "progress without a terminal:\n{e}"
    );
    common::lab::assert_net_clean(&lab);
}
