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
