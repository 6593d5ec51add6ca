//! Report tests on fixture kernel trees, plus one run against this host.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use super::fixture::{host_like, item, v2_full, Tree, RELEASE};
use super::*;
use crate::cgroup::CgroupMode;

#[test]
fn host_like_fixture_reads_as_this_host() {
    let report = host_like().report();
    assert_eq!(report.kernel, RELEASE);
    assert_eq!(
        report.cgroup.as_ref().map(|c| c.mode),
        Some(CgroupMode::Hybrid)
    );
    let mode = item(&report, "Cgroups", "mode");
    assert_eq!(
        mode.detail,
        "hybrid: v1 controllers + cgroup2 at /sys/fs/cgroup/unified"
    );
    assert_eq!(
        item(&report, "Cgroups", "cgroup2").detail,
        "/sys/fs/cgroup/unified: hugetlb"
    );
    assert_eq!(item(&report, "Kernel", "config").detail, "/proc/config.gz");
    assert!(report.ready(), "{}", report.render_text());
}

#[test]
fn host_like_network_verdicts() {
    let report = host_like().report();
    for name in [
        "veth",
        "bridge",
        "macvlan",
        "vxlan",
        "tc tbf",
        "nftables",
        "nftables nat",
    ] {
        assert_eq!(item(&report, "Network", name).status, Status::Ok, "{name}");
    }
    let ipvlan = item(&report, "Network", "ipvlan");
    assert_eq!(
        (ipvlan.status, ipvlan.detail.as_str()),
        (
            Status::Missing,
            "the kernel was built without CONFIG_IPVLAN"
        )
    );
    for name in ["dummy", "vlan (8021q)"] {
        assert_eq!(
            item(&report, "Network", name).status,
            Status::Missing,
            "{name}"
        );
    }
    let netem = item(&report, "Network", "tc netem");
    assert_eq!(netem.status, Status::Missing);
    assert!(
        netem
            .advice
            .as_deref()
            .unwrap()
            .contains("use the VM lab for netem"),
        "{netem:?}"
    );
}

#[test]
fn host_like_devices_are_limited_without_iommu() {
    let report = host_like().report();
    let iommu = item(&report, "Devices", "IOMMU groups");
    assert_eq!(iommu.status, Status::Limited);
    assert!(iommu
        .detail
        .starts_with("no IOMMU groups: VFIO passthrough unavailable"));
    assert!(iommu.advice.as_deref().unwrap().contains("intel_iommu=on"));
    assert_eq!(item(&report, "Devices", "vfio").status, Status::Missing);
    assert_eq!(item(&report, "Devices", "pci.ids").status, Status::Limited);
}

#[test]
fn v2_host_with_everything_is_all_ok() {
    let report = v2_full().report();
    let not_ok: Vec<String> = report
        .items
        .iter()
        .filter(|i| i.status != Status::Ok)
        .map(|i| format!("{}/{}: {}", i.section, i.name, i.detail))
        .collect();
    assert!(not_ok.is_empty(), "{not_ok:#?}");
    assert_eq!(report.cgroup.as_ref().map(|c| c.mode), Some(CgroupMode::V2));
    assert_eq!(
        item(&report, "Cgroups", "devices").detail,
        "cgroup2 via BPF (CONFIG_CGROUP_BPF=y)"
    );
    assert_eq!(
        item(&report, "Network", "veth").detail,
        "module (CONFIG_VETH=m)"
    );
    assert_eq!(
        item(&report, "Devices", "pci.ids").detail,
        "/usr/share/hwdata/pci.ids"
    );
}

#[test]
fn module_without_modules_directory_is_limited() {
    let tree = v2_full();
    fs::remove_dir(tree.root().join(format!("lib/modules/{RELEASE}"))).unwrap();
    let veth = item(&tree.report(), "Network", "veth").clone();
    assert_eq!(veth.status, Status::Limited);
    assert!(veth.detail.contains("but no modules directory"), "{veth:?}");
}

#[test]
fn no_kernel_config_cannot_tell() {
    let tree = host_like();
    tree.remove("/proc/config.gz");
    let report = tree.report();
    let veth = item(&report, "Network", "veth");
    assert_eq!(
        (veth.status, veth.detail.as_str()),
        (Status::Limited, "cannot tell: no kernel config found")
    );
    assert_eq!(item(&report, "Kernel", "config").status, Status::Limited);
    // A LIMITED network item does not make the host unready.
    assert!(report.ready(), "{}", report.render_text());
    tree.dir("/sys/module/veth");
    assert_eq!(item(&tree.report(), "Network", "veth").status, Status::Ok);
}

#[test]
fn missing_mount_namespace_is_not_ready() {
    let tree = host_like();
    tree.remove("/proc/self/ns/mnt");
    let report = tree.report();
    assert_eq!(item(&report, "Namespaces", "mount").status, Status::Missing);
    assert!(!report.ready());
    assert!(
        report
            .render_text()
            .contains("ready: no, missing required: mount"),
        "{}",
        report.render_text()
    );
}

#[test]
fn hybrid_with_empty_cgroup2_is_limited() {
    let tree = host_like();
    tree.file("/sys/fs/cgroup/unified/cgroup.controllers", "");
    let cgroup2 = item(&tree.report(), "Cgroups", "cgroup2").clone();
    assert_eq!(cgroup2.status, Status::Limited);
    assert!(
        cgroup2.detail.contains("the v1 hierarchies carry them"),
        "{cgroup2:?}"
    );
}

#[test]
fn empty_root_is_not_ready_and_says_why() {
    let tree = Tree::new();
    let report = tree.report();
    assert!(!report.ready());
    assert_eq!(report.kernel, "unknown");
    let mode = item(&report, "Cgroups", "mode");
    assert!(
        mode.status == Status::Missing && mode.detail.contains("proc/self/mountinfo"),
        "{mode:?}"
    );
    assert_eq!(
        item(&report, "Security", "no_new_privs").status,
        Status::Limited
    );
}

#[test]
fn user_namespace_limits() {
    let tree = host_like();
    let userns = item(&tree.report(), "Security", "user namespaces").clone();
    assert_eq!(userns.status, Status::Ok);
    assert!(
        userns.detail.contains("no /etc/subuid range for root"),
        "{userns:?}"
    );
    tree.file("/proc/sys/kernel/unprivileged_userns_clone", "0\n");
    assert_eq!(
        item(&tree.report(), "Security", "user namespaces").status,
        Status::Limited
    );
    tree.file("/proc/sys/user/max_user_namespaces", "0\n");
    assert_eq!(
        item(&tree.report(), "Security", "user namespaces").status,
        Status::Missing
    );
}

#[test]
fn pci_ids_from_env_wins() {
    let tree = host_like();
    tree.file("/opt/pci.ids", "");
    let env = tree.root().join("opt/pci.ids");
    assert_eq!(
        pci_ids_path(tree.root(), Some(env.as_os_str())),
        Ok(env.clone())
    );
    let missing = pci_ids_path(tree.root(), Some(OsStr::new("/nonexistent/pci.ids"))).unwrap_err();
    assert_eq!(missing, "LUXC_PCI_IDS=/nonexistent/pci.ids is not a file");
    assert!(pci_ids_path(tree.root(), None).is_err());
}

#[test]
fn render_text_is_aligned_plain_text() {
    let text = host_like().report().render_text();
    assert!(!text.contains('\x1b'), "no ANSI escapes");
    assert!(text.contains("\n--- Network ---\n"), "{text}");
    let columns: Vec<usize> = ["  veth ", "  ipvlan ", "  IOMMU groups "]
        .iter()
        .map(|start| {
            let line = text.lines().find(|l| l.starts_with(start)).expect(start);
            line.find("OK")
                .or_else(|| line.find("MISSING"))
                .or_else(|| line.find("LIMITED"))
                .unwrap()
        })
        .collect();
    assert!(
        columns.windows(2).all(|w| w[0] == w[1]),
        "status column misaligned: {columns:?}\n{text}"
    );
    let ipvlan = text
        .lines()
        .position(|l| l.starts_with("  ipvlan "))
        .unwrap();
    assert!(
        text.lines()
            .nth(ipvlan + 1)
            .unwrap()
            .trim_start()
            .starts_with("-> "),
        "{text}"
    );
}

#[test]
fn this_host_report() {
    if !Path::new("/proc/self/mountinfo").exists() {
        eprintln!("skipped: no /proc/self/mountinfo on this machine");
        return;
    }
    let report = run(Path::new("/"));
    println!("{}", report.render_text());
    serde_json::to_string(&report).expect("report serializes");
    assert_eq!(
        report.cgroup.as_ref().map(|c| c.mode),
        Some(CgroupMode::Hybrid),
        "{}",
        report.render_text()
    );
}
