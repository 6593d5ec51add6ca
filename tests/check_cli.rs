//! `luxc check`: the host report as text and JSON.

mod common;

use common::{luxc, text};

/// Reads the mount table directly (independently of luxc's parser): is there a
/// cgroup2 mount, and are v1 controller hierarchies mounted?
fn mounts() -> (bool, bool) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let fstypes: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(" - ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    let v2 = fstypes.contains(&"cgroup2");
    let v1 = info.lines().any(|l| {
        l.split(" - ").nth(1).is_some_and(|rest| {
            rest.starts_with("cgroup ")
                && ["memory", "cpu", "pids"].iter().any(|c| rest.contains(c))
        })
    });
    (v1, v2)
}

#[test]
fn json_report_is_valid_and_names_the_cgroup_mode() {
    let out = luxc(["check", "--json"], "");
    let (stdout, stderr) = text(&out);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let mode = report["cgroup"]["mode"].as_str().expect("cgroup.mode");
    let want = match mounts() {
        (true, true) => "hybrid",
        (true, false) => "v1",
        (false, true) => "v2",
        (false, false) => panic!("no cgroup mounted on this host"),
    };
    assert_eq!(mode, want);
    if want == "hybrid" {
        let v1: Vec<&str> = report["cgroup"]["v1"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|h| {
                h["controllers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap())
            })
            .collect();
        for c in ["memory", "cpu", "pids", "devices", "freezer"] {
            assert!(v1.contains(&c), "v1 controller {c} missing from {v1:?}");
        }
        assert_eq!(
            report["cgroup"]["unified"]["mountpoint"],
            "/sys/fs/cgroup/unified"
        );
        // Each hierarchy is reported with what it carries.
        let items = report["items"].as_array().unwrap();
        let mem = items
            .iter()
            .find(|i| i["name"] == "v1 /sys/fs/cgroup/memory")
            .expect("a line for the memory hierarchy");
        assert_eq!(mem["detail"], "memory");
    }
    let items = report["items"].as_array().unwrap();
    for name in [
        "mount",
        "net",
        "user",
        "overlay",
        "veth",
        "bridge",
        "macvlan",
        "vxlan",
        "seccomp",
        "IOMMU groups",
        "vfio",
        "pci.ids",
    ] {
        let item = items
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("no item {name}"));
        let status = item["status"].as_str().unwrap();
        assert!(
            ["OK", "MISSING", "LIMITED"].contains(&status),
            "{name}: {status}"
        );
        if status != "OK" {
            assert!(
                item["advice"].is_string(),
                "{name} is {status} without advice"
            );
        }
    }
}

#[test]
fn text_report_lists_each_section_and_exit_status_matches() {
    let out = luxc(["check"], "");
    let (stdout, _) = text(&out);
    for section in [
        "Namespaces",
        "Cgroups",
        "Filesystems",
        "Network",
        "Security",
        "Devices",
    ] {
        assert!(
            stdout.contains(section),
            "section {section} missing:\n{stdout}"
        );
    }
    let ready = stdout.contains("ready: yes");
    assert_eq!(
        out.status.code(),
        Some(if ready { 0 } else { 1 }),
        "{stdout}"
    );
}
