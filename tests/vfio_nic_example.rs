//! examples/vfio-nic.lua refuses, without writing anything, on hosts where it
//! must not take a NIC: run on fixture trees (`LUXC_PCI_ROOT`) with two NICs
//! and no IOMMU, with IOMMU but the default route on one NIC and a mounted
//! disk in the other's group, and with a single NIC. `dev:host_uses()` is
//! what it decides by, so that is checked here too. No root needed.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let h = Host {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        fs::create_dir_all(h.path("sys/devices/pci0000:00")).unwrap();
        fs::create_dir_all(h.path("sys/bus/pci/devices")).unwrap();
        h.write(
            "proc/self/mountinfo",
            "22 27 0:21 / /proc rw,relatime - proc proc rw\n",
        );
        h.write(
            "proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n",
        );
        h
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn append(&self, rel: &str, text: &str) {
        let mut all = fs::read_to_string(self.path(rel)).unwrap();
        all.push_str(text);
        self.write(rel, &all);
    }

    fn dev_dir(&self, addr: &str) -> PathBuf {
        self.path("sys/devices/pci0000:00").join(addr)
    }

    /// A PCI function on bus 0 with a driver, in `group` when given.
    fn device(&self, addr: &str, class: u32, driver: &str, group: Option<u32>) {
        let dir = self.dev_dir(addr);
        fs::create_dir_all(&dir).unwrap();
        for (file, value) in [
            ("vendor", "0x8086"),
            ("device", "0x10d3"),
            ("subsystem_vendor", "0x8086"),
            ("subsystem_device", "0x0000"),
            ("driver_override", "(null)"),
        ] {
            fs::write(dir.join(file), format!("{value}\n")).unwrap();
        }
        fs::write(dir.join("class"), format!("0x{class:06x}\n")).unwrap();
        symlink(&dir, self.path(&format!("sys/bus/pci/devices/{addr}"))).unwrap();
        let drv = self.path(&format!("sys/bus/pci/drivers/{driver}"));
        fs::create_dir_all(&drv).unwrap();
        fs::write(drv.join("unbind"), "").unwrap();
        symlink(&drv, dir.join("driver")).unwrap();
        if let Some(g) = group {
            let gdir = self.path(&format!("sys/kernel/iommu_groups/{g}"));
            fs::create_dir_all(gdir.join("devices")).unwrap();
            symlink(&gdir, dir.join("iommu_group")).unwrap();
            symlink(&dir, gdir.join("devices").join(addr)).unwrap();
        }
    }

    /// A network interface of a device, down (flags 0x1002) or up (0x1003).
    fn net(&self, iface: &str, addr: &str) {
        self.net_flags(iface, addr, "0x1002");
    }

    fn net_flags(&self, iface: &str, addr: &str, flags: &str) {
        let dir = self.dev_dir(addr).join("net").join(iface);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("flags"), format!("{flags}\n")).unwrap();
        symlink(self.dev_dir(addr), dir.join("device")).unwrap();
        fs::create_dir_all(self.path("sys/class/net")).unwrap();
        symlink(&dir, self.path(&format!("sys/class/net/{iface}"))).unwrap();
    }

    fn default_route(&self, iface: &str) {
        self.append(
            "proc/net/route",
            &format!("{iface}\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"),
        );
    }

    /// A disk of a storage controller, mounted at `mountpoint`.
    fn mounted_disk(&self, disk: &str, addr: &str, devnum: &str, mountpoint: &str) {
        let dir = self.path(&format!("sys/block/{disk}"));
        fs::create_dir_all(&dir).unwrap();
        symlink(self.dev_dir(addr), dir.join("device")).unwrap();
        fs::write(dir.join("dev"), format!("{devnum}\n")).unwrap();
        self.append(
            "proc/self/mountinfo",
            &format!("30 1 {devnum} / {mountpoint} rw,relatime - ext4 /dev/{disk} rw\n"),
        );
    }

    /// Every regular file's contents, to prove a run wrote nothing.
    fn snapshot(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    walk(&e.path(), out);
                } else if ft.is_file() {
                    out.push((e.path(), fs::read_to_string(e.path()).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root(), &mut out);
        out
    }
}

/// Runs luxc with the fixture as its PCI root: exit code and stdout.
fn run(root: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(common::luxc_bin())
        .env("LUXC_PCI_ROOT", root)
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = common::text(&out);
    (out.status.code(), format!("{stdout}{stderr}"))
}

fn example(h: &Host) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/vfio-nic.lua");
    let before = h.snapshot();
    let (code, out) = run(h.root(), &["run", script.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        h.snapshot(),
        before,
        "the example wrote to the fixture:\n{out}"
    );
    out
}

#[test]
fn two_nics_without_iommu_are_left_alone_with_the_hint() {
    let h = Host::new();
    h.device("0000:00:03.0", 0x020000, "e1000e", None);
    h.device("0000:00:04.0", 0x020000, "e1000e", None);
    let out = example(&h);
    assert!(out.contains("2 network controller(s)"), "{out}");
    assert!(
        out.contains("no IOMMU on this host (no IOMMU groups)")
            && out.contains("intel_iommu=on or amd_iommu=on")
            && out.contains("Nothing was bound."),
        "{out}"
    );
}

#[test]
fn the_only_nic_is_never_taken() {
    let h = Host::new();
    h.device("0000:00:03.0", 0x020000, "virtio-pci", Some(3));
    h.net("eth0", "0000:00:03.0");
    let out = example(&h);
    assert!(
        out.contains("0000:00:03.0 is the host's only NIC: it is never taken. Nothing was bound."),
        "{out}"
    );
}

#[test]
fn nics_the_host_stands_on_are_skipped_each_with_its_reason() {
    let h = Host::new();
    h.device("0000:00:03.0", 0x020000, "e1000e", Some(3));
    h.net("eth0", "0000:00:03.0");
    h.default_route("eth0");
    // The second NIC shares group 4 with the disk controller / is mounted from.
    h.device("0000:00:04.0", 0x020000, "e1000e", Some(4));
    h.device("0000:00:04.1", 0x010802, "nvme", Some(4));
    h.mounted_disk("nvme0n1", "0000:00:04.1", "259:0", "/");
    // The third is up, though it carries no default route.
    h.device("0000:00:06.0", 0x020000, "e1000e", Some(6));
    h.net_flags("eth2", "0000:00:06.0", "0x1003");
    let out = example(&h);
    assert!(
        out.contains(
            "no spare NIC: 0000:00:03.0 skipped: 0000:00:03.0 carries the host's default route (eth0); \
             0000:00:04.0 skipped: 0000:00:04.1 backs the mounted filesystem / (nvme0n1, 259:0); \
             0000:00:06.0 skipped: 0000:00:06.0 has eth2 up (ip link set eth2 down to offer it). \
             Nothing was bound."
        ),
        "{out}"
    );
}

#[test]
fn host_uses_names_each_use_and_is_empty_for_a_free_device() {
    let h = Host::new();
    h.device("0000:00:03.0", 0x020000, "e1000e", Some(3));
    h.net("eth0", "0000:00:03.0");
    h.default_route("eth0");
    h.device("0000:00:05.0", 0x020000, "e1000e", Some(5));
    let (code, out) = run(
        h.root(),
        &[
            "-e",
            "print(#luxc.pci.get('00:05.0'):host_uses(), luxc.pci.get('00:03.0'):host_uses()[1]) \
             local ok, e = pcall(function() local _ = luxc.pci.get('00:05.0').host_uses(42) end) print(e)",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0\tcarries the host's default route (eth0)");
    assert_eq!(
        lines[1],
        "(command line):1: pci_device:host_uses: self: expected a PCI device, got number (call it with ':')"
    );
}
