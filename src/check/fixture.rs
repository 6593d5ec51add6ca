//! Fixture kernel trees for the report tests: one shaped like this host, one full v2 host.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use flate2::write::GzEncoder;

use super::{run_with, Item, Report};

pub(super) const RELEASE: &str = "6.18.44-fc-v669";

/// The kernel config values this host has for the probed symbols.
const HOST_CONFIG: &str = "\
CONFIG_CGROUP_BPF=y
CONFIG_SECCOMP_FILTER=y
CONFIG_NF_TABLES=y
CONFIG_NFT_MASQ=y
CONFIG_NFT_NAT=y
CONFIG_BRIDGE=y
# CONFIG_VLAN_8021Q is not set
CONFIG_NET_SCH_TBF=y
# CONFIG_NET_SCH_NETEM is not set
# CONFIG_DUMMY is not set
CONFIG_MACVLAN=y
# CONFIG_IPVLAN is not set
CONFIG_VXLAN=y
CONFIG_VETH=y
# CONFIG_VFIO is not set
CONFIG_OVERLAY_FS=y
";

const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

/// A kernel tree in a tempdir, written file by file.
pub(super) struct Tree(tempfile::TempDir);

impl Tree {
    pub(super) fn new() -> Tree {
        Tree(tempfile::tempdir().expect("tempdir"))
    }

    pub(super) fn root(&self) -> &Path {
        self.0.path()
    }

    pub(super) fn file(&self, host_path: &str, bytes: impl AsRef<[u8]>) -> &Tree {
        let path = self.root().join(&host_path[1..]);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
        self
    }

    pub(super) fn dir(&self, host_path: &str) -> &Tree {
        fs::create_dir_all(self.root().join(&host_path[1..])).unwrap();
        self
    }

    pub(super) fn remove(&self, host_path: &str) -> &Tree {
        fs::remove_file(self.root().join(&host_path[1..])).unwrap();
        self
    }

    pub(super) fn report(&self) -> Report {
        run_with(self.root(), None)
    }
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// Everything but cgroups and the kernel config, shaped like this host.
fn base(tree: &Tree) -> &Tree {
    for ns in ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"] {
        tree.file(&format!("/proc/self/ns/{ns}"), "");
    }
    tree.file("/proc/sys/kernel/osrelease", format!("{RELEASE}\n"))
        .file("/proc/cgroups", "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\nmemory\t4\t1\t1\ndevices\t5\t1\t1\nfreezer\t6\t1\t1\npids\t8\t1\t1\nhugetlb\t0\t1\t1\n")
        .file("/proc/filesystems", "nodev\ttmpfs\nnodev\tdevtmpfs\nnodev\toverlay\n\text4\n")
        .file("/proc/self/status", "Name:\tluxc\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n")
        .file("/proc/sys/kernel/seccomp/actions_avail", "kill_process errno allow\n")
        .file("/proc/sys/user/max_user_namespaces", "96365\n")
        .file("/etc/subuid", "")
        .dir("/sys/kernel/iommu_groups")
}

pub(super) fn host_like() -> Tree {
    let tree = Tree::new();
    base(&tree)
        .file("/proc/self/mountinfo", HYBRID_MOUNTINFO)
        .file("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
        .file("/proc/config.gz", gzip(HOST_CONFIG));
    tree
}

/// A pure cgroup2 host that has every feature, some as modules with their modules directory.
pub(super) fn v2_full() -> Tree {
    let tree = Tree::new();
    let config = "CONFIG_CGROUP_BPF=y\nCONFIG_SECCOMP_FILTER=y\nCONFIG_NF_TABLES=m\nCONFIG_NFT_NAT=m\n\
        CONFIG_NFT_MASQ=m\nCONFIG_BRIDGE=m\nCONFIG_VLAN_8021Q=m\nCONFIG_NET_SCH_TBF=m\nCONFIG_NET_SCH_NETEM=m\n\
        CONFIG_DUMMY=m\nCONFIG_MACVLAN=m\nCONFIG_IPVLAN=m\nCONFIG_VXLAN=m\nCONFIG_VETH=m\nCONFIG_VFIO_PCI=m\n";
    base(&tree)
        .file(
            "/proc/self/mountinfo",
            "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
        )
        .file(
            "/sys/fs/cgroup/cgroup.controllers",
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )
        .file(&format!("/boot/config-{RELEASE}"), config)
        .dir(&format!("/lib/modules/{RELEASE}"))
        .dir("/sys/kernel/iommu_groups/0")
        .dir("/sys/kernel/iommu_groups/1")
        .file("/dev/vfio/vfio", "")
        .file("/etc/subuid", "root:100000:65536\n")
        .file("/usr/share/hwdata/pci.ids", "8086  Intel Corporation\n");
    tree
}

pub(super) fn item<'a>(report: &'a Report, section: &str, name: &str) -> &'a Item {
    let found = report
        .items
        .iter()
        .find(|i| i.section == section && i.name == name);
    found.unwrap_or_else(|| panic!("no item {section}/{name} in:\n{}", report.render_text()))
}
