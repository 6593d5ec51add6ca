//! The cgroup acceptance suite (tests/lua/cgroups.lua) on this host; the VM
//! test runs the same file on a pure cgroup v2 kernel.

mod common;

use common::lab::{assert_clean, lab_name};

#[test]
fn cgroup_suite_on_this_host() {
    let lab = lab_name("cgs");
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lua/cgroups.lua");
    let out = std::process::Command::new(common::luxc_bin())
        .arg(suite)
        .arg(&lab)
        .output()
        .unwrap();
    let (stdout, stderr) = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(!stdout.contains("not ok"), "{stdout}");
    assert_clean(&lab, &stdout);
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let cg = h.path().join(format!("luxc.{lab}-kill"));
        assert!(!cg.exists(), "{} left behind", cg.display());
    }
}
