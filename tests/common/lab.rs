//! Running Lua lab scripts through the luxc binary, and proving afterwards
//! that nothing of the lab is left on the host.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::process::Output;

/// A lab name unique to this test run (at most 32 bytes).
pub fn lab_name(tag: &str) -> String {
    let tag: String = tag.chars().take(18).collect();
    format!("t{tag}-{}", std::process::id())
}

/// Lua prelude: `LAB` is the lab name; `record(c)` prints what cleanup
/// checks need (PID 1 and namespace ids) on stdout as `@ns kind id` lines.
const PRELUDE: &str = r#"
LAB = ...
function record(c)
  print("@pid " .. c:pid())
  for kind, id in pairs(c:ns()) do print("@ns " .. kind .. " " .. id) end
end
"#;

/// Runs `body` (Lua) as a script with `LAB` set; returns its output.
pub fn run(lab: &str, body: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.lua");
    std::fs::write(&path, format!("{PRELUDE}\n{body}")).unwrap();
    std::process::Command::new(super::luxc_bin())
        .arg(&path)
        .arg(lab)
        .output()
        .unwrap()
}

/// Runs `body` and asserts it exited 0; returns stdout.
pub fn ok(lab: &str, body: &str) -> String {
    let out = run(lab, body);
    let (stdout, stderr) = super::text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "lab script failed:\n{stdout}\n{stderr}"
    );
    stdout
}

/// The namespace ids this (test) process is in: never "left over".
fn own_namespaces() -> BTreeSet<u64> {
    namespaces_of("self")
}

fn namespaces_of(pid: &str) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/ns")) {
        for e in dir.flatten() {
            if let Ok(link) = std::fs::read_link(e.path()) {
                if let Some(id) = luxc::ns::parse_link(&link.to_string_lossy()) {
                    out.insert(id);
                }
            }
        }
    }
    out
}

/// Asserts that nothing of `lab` remains: its state dir, mounts naming it,
/// and any process in a namespace the script recorded with `record(c)`.
pub fn assert_clean(lab: &str, stdout: &str) {
    let dir = format!("/run/luxc/{lab}");
    assert!(!std::path::Path::new(&dir).exists(), "{dir} left behind");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(&dir), "a mount under {dir} left behind");
    // The lab's cgroup (luxc.LAB) in every hierarchy.
    for h in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let cg = h.path().join(format!("luxc.{lab}"));
        assert!(!cg.exists(), "cgroup {} left behind", cg.display());
    }
    assert!(!std::path::Path::new(&format!("/sys/fs/cgroup/luxc.{lab}")).exists());
    assert_net_clean(lab);
    let own = own_namespaces();
    let recorded: BTreeSet<u64> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("@ns "))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .filter(|id| !own.contains(id))
        .collect();
    // Namespaces live while a process is in them: scan every process.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let mut holders = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let stat = std::fs::read_to_string(format!("/proc/{name}/stat")).unwrap_or_default();
            if stat.contains(") Z ") {
                continue;
            }
            if namespaces_of(&name).iter().any(|id| recorded.contains(id)) {
                holders.push(name);
            }
        }
        if holders.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "processes still in the lab's namespaces: {holders:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Asserts that no network object of `lab` remains: netns pins named
/// LAB-*, host links carrying the lab's alias (luxc:LAB:ID), its nft table.
/// Host ends of veths whose namespace died are removed by the kernel a
/// moment later: waited for, briefly.
pub fn assert_net_clean(lab: &str) {
    let prefix = format!("{lab}-");
    let pins: Vec<String> = std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(pins.is_empty(), "netns pins left behind: {pins:?}");
    let alias = format!("luxc:{lab}:");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let out = std::process::Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let left: Vec<&str> = text.lines().filter(|l| l.contains(&alias)).collect();
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "links of lab {lab} left behind: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if let Ok(out) = std::process::Command::new("nft")
        .args(["list", "tables"])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains(&format!("luxc-{lab}")),
            "nft table of lab {lab} left behind: {text}"
        );
    }
}

/// Runs `luxc down LAB`.
pub fn down(lab: &str) -> Output {
    std::process::Command::new(super::luxc_bin())
        .args(["down", lab])
        .output()
        .unwrap()
}

/// The first 8 bytes of every bridge port name of `lab` ("lx" + 6 hex
/// digits of the lab's name).
pub fn port_prefix(lab: &str) -> String {
    luxc::engine::lab::port_name(lab, "x", "y")[..8].to_string()
}

/// What of lab `lab` is still on the host, one line per object; empty when
/// nothing is. Host links are found by the lab's alias and its port prefix
/// (a script that names a bridge should use a port name, see `port_prefix`).
/// `keep` names host links and /run/netns pins that share the lab's naming but are not its (the caller
/// made them). Processes are found by their cgroup (`luxc.LAB`) and by
/// `marker` (`VAR=VALUE`) in their environment: a script gives its
/// containers that variable, and luxc's own children (before they exec)
/// inherit it from luxc.
pub fn leftovers(lab: &str, marker: &str, keep: &[&str]) -> Vec<String> {
    let mut left = Vec::new();
    let dir = format!("/run/luxc/{lab}");
    if std::path::Path::new(&dir).exists() {
        left.push(format!("state dir {dir}"));
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let pin_prefix = format!("/run/netns/{lab}-");
    for line in mountinfo.lines() {
        let point = line.split(' ').nth(4).unwrap_or("");
        if point == dir || point.starts_with(&format!("{dir}/")) {
            left.push(format!("mount {point}"));
        }
        if let Some(name) = point.strip_prefix("/run/netns/") {
            if point.starts_with(&pin_prefix) && !keep.contains(&name) {
                left.push(format!("netns mount {point}"));
            }
        }
    }
    for e in std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{lab}-")) && !keep.contains(&name.as_str()) {
            left.push(format!("netns pin /run/netns/{name}"));
        }
    }
    for h in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let cg = h.path().join(format!("luxc.{lab}"));
        if cg.exists() {
            left.push(format!("cgroup {}", cg.display()));
        }
    }
    let alias = format!("luxc:{lab}:");
    let ports = port_prefix(lab);
    let out = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line
            .split(": ")
            .nth(1)
            .unwrap_or("")
            .split('@')
            .next()
            .unwrap_or("");
        if keep.contains(&name) {
            continue;
        }
        if line.contains(&alias) || name.starts_with(&ports) {
            left.push(format!("link {name}"));
        }
    }
    if let Ok(out) = std::process::Command::new("nft")
        .args(["list", "tables"])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains(&format!("luxc-{lab}")) {
            left.push(format!("nft table luxc-{lab}"));
        }
    }
    let cgroup_needle = format!("/luxc.{lab}");
    let mut env_needle = marker.as_bytes().to_vec();
    env_needle.push(0);
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == std::process::id().to_string() {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // A zombie is dead; whoever adopted it reaps it (this VM's init
        // takes its time).
        if stat.is_empty() || stat.contains(") Z ") || stat.contains(") X ") {
            continue;
        }
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let in_cgroup = cgroup
            .lines()
            .any(|l| l.ends_with(&cgroup_needle) || l.contains(&format!("{cgroup_needle}/")));
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let marked = environ
            .split(|b| *b == 0)
            .any(|v| v == &env_needle[..env_needle.len() - 1]);
        if in_cgroup || marked {
            left.push(format!(
                "process {pid} ({})",
                stat.split(' ').nth(1).unwrap_or("")
            ));
        }
    }
    left
}

/// Asserts that nothing of `lab` is left (see `leftovers`), allowing the
/// kernel up to 5 s for what it removes asynchronously (the host ends of
/// veths whose namespace died, processes being killed).
pub fn assert_lab_gone(lab: &str, marker: &str, keep: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = leftovers(lab, marker, keep);
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lab {lab} left behind:\n  {}",
            left.join("\n  ")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
