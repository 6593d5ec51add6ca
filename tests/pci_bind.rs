//! Driver changes through a lab, on sysfs fixture trees (`LUXC_PCI_ROOT`):
//! `dev:bind_vfio`, `dev:bind`, `dev:unbind`, `dev:restore`, `luxc pci bind`
//! and `luxc pci restore` write exactly the sysfs files the kernel expects,
//! journal each function's original driver before changing it, and teardown
//! (`lab:down()`, `luxc down`) gives every function back — in the fixture
//! tree the change was made in, even when `luxc down` runs without
//! `LUXC_PCI_ROOT`. Nothing here writes to the host's /sys: its virtio
//! devices carry its disk and network. Needs root (/run/luxc).

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::lab::lab_name;
use common::{luxc_bin, text};

/// A fixture host: `ROOT/sys`, `ROOT/proc` as the kernel lays them out.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let h = Host {
            dir: tempfile::tempdir().unwrap(),
        };
        h.write("sys/bus/pci/drivers_probe", "");
        h.write(
            "proc/self/mountinfo",
            "22 27 0:21 / /proc rw,relatime - proc proc rw\n",
        );
        h.write("proc/net/route", "Iface\tDestination\tGateway\n");
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

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// A registered driver: its dir with `bind` and `unbind`.
    fn driver(&self, name: &str) -> &Host {
        self.write(&format!("sys/bus/pci/drivers/{name}/bind"), "");
        self.write(&format!("sys/bus/pci/drivers/{name}/unbind"), "");
        self
    }

    /// A function on bus 0 (or bus 1 behind nothing), on `driver`, in `group`.
    fn device(&self, addr: &str, class: &str, driver: Option<&str>, group: u32) -> &Host {
        let real = format!("sys/devices/pci0000:00/{addr}");
        for (f, v) in [
            ("vendor", "0x10de\n"),
            ("device", "0x1eb8\n"),
            ("subsystem_vendor", "0x10de\n"),
            ("subsystem_device", "0x12a2\n"),
            ("class", class),
            ("driver_override", "(null)\n"),
        ] {
            self.write(&format!("{real}/{f}"), v);
        }
        let real = self.path(&real);
        fs::create_dir_all(self.path("sys/bus/pci/devices")).unwrap();
        symlink(&real, self.path(&format!("sys/bus/pci/devices/{addr}"))).unwrap();
        let gdir = self.path(&format!("sys/kernel/iommu_groups/{group}/devices"));
        fs::create_dir_all(&gdir).unwrap();
        symlink(&real, gdir.join(addr)).unwrap();
        symlink(gdir.parent().unwrap(), real.join("iommu_group")).unwrap();
        if let Some(d) = driver {
            self.driver(d);
            self.set_driver(addr, Some(d));
        }
        self
    }

    /// Points the function's `driver` link at `driver`, as the kernel does
    /// after a bind (the fixture's files do not act on writes).
    fn set_driver(&self, addr: &str, driver: Option<&str>) {
        let link = self.path(&format!("sys/devices/pci0000:00/{addr}/driver"));
        let _ = fs::remove_file(&link);
        if let Some(d) = driver {
            symlink(self.path(&format!("sys/bus/pci/drivers/{d}")), link).unwrap();
        }
    }

    /// A GPU (01:00.0 on nvidia) and its audio function (01:00.1 on
    /// snd_hda_intel) in IOMMU group 1; vfio-pci registered.
    fn gpu() -> Host {
        let h = Host::new();
        h.driver("vfio-pci")
            .device("0000:01:00.0", "0x030000\n", Some("nvidia"), 1)
            .device("0000:01:00.1", "0x040300\n", Some("snd_hda_intel"), 1);
        h
    }
}

/// Runs `luxc ARGS` with the fixture as the PCI root (None: the host's).
fn luxc(root: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(luxc_bin());
    cmd.args(args);
    match root {
        Some(r) => cmd.env("LUXC_PCI_ROOT", r),
        None => cmd.env_remove("LUXC_PCI_ROOT"),
    };
    cmd.output().unwrap()
}

/// Runs Lua `code` with `LAB` set to `lab` and the fixture as the PCI root.
fn lua(root: &Path, lab: &str, code: &str) -> Output {
    let code = format!("LAB = luxc.lab({lab:?})\n{code}");
    luxc(Some(root), &["-e", &code])
}

fn journal(lab: &str) -> PathBuf {
    Path::new("/run/luxc").join(lab).join("journal")
}

fn assert_ok(out: &Output) -> String {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    stdout
}

fn assert_fails(out: &Output) -> String {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    stderr
}

#[test]
fn bind_vfio_journals_the_group_and_luxc_down_gives_it_back_in_the_fixture() {
    let h = Host::gpu();
    let lab = lab_name("pcivfio");
    // Alone, the GPU is refused: its audio sibling stays on a host driver.
    let out = lua(
        h.root(),
        &lab,
        r#"local d = luxc.pci.get("0000:01:00.0")
           local ok, err = pcall(d.bind_vfio, d, { lab = LAB })
           assert(not ok)
           io.stderr:write(tostring(err))
           os.exit(1)"#,
    );
    let err = assert_fails(&out);
    assert!(
        err.contains("pci_device:bind_vfio")
            && err.contains("sibling 0000:01:00.1 is bound to snd_hda_intel")
            && err.contains("group = true"),
        "{err}"
    );
    assert_eq!(h.read("sys/bus/pci/drivers_probe"), "", "nothing written");
    assert!(!journal(&lab).exists(), "a refused bind leaves no lab");

    let out = lua(
        h.root(),
        &lab,
        r#"local d = luxc.pci.get("0000:01:00.0")
           local plan = d:bind_vfio{ group = true, lab = LAB }
           print(plan.group, #plan.moves, plan.moves[1].from, plan.moves[2].from)"#,
    );
    assert_eq!(assert_ok(&out).trim(), "1\t2\tnvidia\tsnd_hda_intel");
    let dev = |a: &str, f: &str| h.read(&format!("sys/devices/pci0000:00/{a}/{f}"));
    assert_eq!(dev("0000:01:00.0", "driver_override"), "vfio-pci");
    assert_eq!(dev("0000:01:00.1", "driver_override"), "vfio-pci");
    assert_eq!(h.read("sys/bus/pci/drivers/nvidia/unbind"), "0000:01:00.0");
    assert_eq!(
        h.read("sys/bus/pci/drivers/snd_hda_intel/unbind"),
        "0000:01:00.1"
    );
    assert_eq!(h.read("sys/bus/pci/drivers_probe"), "0000:01:00.1");
    // The originals are in the journal, with the tree they were changed in.
    let j = fs::read_to_string(journal(&lab)).unwrap();
    let root = h.root().display().to_string();
    for (addr, driver) in [
        ("0000:01:00.0", "nvidia"),
        ("0000:01:00.1", "snd_hda_intel"),
    ] {
        let rec = format!(
            r#""kind":"pci_driver","address":"{addr}","driver":"{driver}","root":"{root}""#
        );
        assert!(j.contains(&rec), "{rec} not in\n{j}");
    }

    let out = luxc(None, &["inspect", &lab]);
    let shown = assert_ok(&out);
    assert!(
        shown.contains("pci drivers")
            && shown.contains(&format!(
                "0000:01:00.1 (back to snd_hda_intel, under {root})"
            )),
        "{shown}"
    );

    // The kernel would now show both on vfio-pci; `luxc down` (without
    // LUXC_PCI_ROOT) gives them back in the fixture, newest first.
    h.set_driver("0000:01:00.0", Some("vfio-pci"));
    h.set_driver("0000:01:00.1", Some("vfio-pci"));
    let out = luxc(None, &["down", &lab]);
    let stdout = assert_ok(&out);
    assert!(stdout.contains(&format!("{lab}: removed ")), "{stdout}");
    assert_eq!(
        h.read("sys/bus/pci/drivers/vfio-pci/unbind"),
        "0000:01:00.0",
        "01:00.1 first, then 01:00.0"
    );
    assert_eq!(dev("0000:01:00.0", "driver_override"), "\n", "cleared");
    assert_eq!(dev("0000:01:00.1", "driver_override"), "\n", "cleared");
    assert_eq!(h.read("sys/bus/pci/drivers/nvidia/bind"), "0000:01:00.0");
    assert_eq!(
        h.read("sys/bus/pci/drivers/snd_hda_intel/bind"),
        "0000:01:00.1"
    );
    assert!(!journal(&lab).exists(), "the lab is gone");
}

#[test]
fn lab_down_restores_and_restore_needs_a_change_of_the_lab() {
    let h = Host::gpu();
    h.driver("e1000e");
    let lab = lab_name("pcirest");
    let out = lua(
        h.root(),
        &lab,
        r#"local d = luxc.pci.get("0000:01:00.1")
           local ok, err = pcall(d.restore, d, { lab = LAB })
           assert(not ok and err:find("has not changed the driver of 0000:01:00.1"), err)
           local c = d:unbind{ lab = LAB }
           assert(c.from == "snd_hda_intel" and c.to == nil and c.changed, c.from)
           -- a second change keeps the first original
           c = d:bind("e1000e")
           assert(c.to == "e1000e" and c.changed)
           c = d:restore()
           assert(c.to == "snd_hda_intel", tostring(c.to))
           ok, err = pcall(d.bind, d, "no_such_drv")
           assert(not ok and err:find("no PCI driver 'no_such_drv'") and err:find("modprobe no_such_drv"), err)
           ok, err = pcall(d.bind, d, "../x")
           assert(not ok and err:find("is not a driver name"), err)
           d:unbind()
           LAB:down()
           print("ok")"#,
    );
    assert_eq!(assert_ok(&out).trim(), "ok");
    // unbind, then bind(e1000e): an override and a probe; restore cleared it
    // and bound snd_hda_intel again (the fixture's link never moved, so the
    // last restore, in down, only clears the override).
    assert_eq!(
        h.read("sys/bus/pci/drivers/snd_hda_intel/unbind"),
        "0000:01:00.1"
    );
    assert_eq!(
        h.read("sys/devices/pci0000:00/0000:01:00.1/driver_override"),
        "\n"
    );
    assert!(!journal(&lab).exists(), "down removed the lab");
}

#[test]
fn cli_bind_and_restore_use_a_small_lab_and_fall_back_to_drivers_probe() {
    let h = Host::gpu();
    let lab = lab_name("pcicli");
    let out = luxc(
        Some(h.root()),
        &["pci", "bind", "01:00.1", "vfio-pci", "--lab", &lab],
    );
    let err = assert_fails(&out);
    assert!(
        err.contains("sibling 0000:01:00.0 is bound to nvidia"),
        "{err}"
    );
    assert!(!journal(&lab).exists());
    let out = luxc(
        Some(h.root()),
        &[
            "pci", "bind", "01:00.1", "vfio-pci", "--group", "--lab", &lab,
        ],
    );
    let stdout = assert_ok(&out);
    assert!(
        stdout.contains("0000:01:00.0: nvidia -> vfio-pci")
            && stdout.contains("0000:01:00.1: snd_hda_intel -> vfio-pci"),
        "{stdout}"
    );
    // The nvidia module went away meanwhile: restore probes instead of binding.
    fs::remove_dir_all(h.path("sys/bus/pci/drivers/nvidia")).unwrap();
    h.set_driver("0000:01:00.0", Some("vfio-pci"));
    h.write("sys/bus/pci/drivers_probe", "");
    let out = luxc(
        Some(h.root()),
        &["pci", "restore", "0000:01:00.0", "--lab", &lab],
    );
    assert_eq!(assert_ok(&out).trim(), "0000:01:00.0: back on nvidia");
    assert_eq!(h.read("sys/bus/pci/drivers_probe"), "0000:01:00.0");
    assert_eq!(
        h.read("sys/bus/pci/drivers/vfio-pci/unbind"),
        "0000:01:00.0"
    );
    let out = luxc(
        Some(h.root()),
        &["pci", "restore", "0000:01:00.0", "--lab", &lab],
    );
    let err = assert_fails(&out);
    assert!(err.contains("nothing to restore"), "{err}");
    assert!(journal(&lab).exists(), "01:00.1 is still recorded");
    let out = luxc(
        Some(h.root()),
        &["pci", "restore", "0000:01:00.1", "--lab", &lab],
    );
    assert!(assert_ok(&out).contains("back on snd_hda_intel"));
    assert!(
        !journal(&lab).exists(),
        "the last restore ends the small lab"
    );
    let out = luxc(
        Some(h.root()),
        &["pci", "restore", "0000:01:00.1", "--lab", &lab],
    );
    let err = assert_fails(&out);
    assert!(
        err.contains(&format!("lab '{lab}' has no journal")),
        "{err}"
    );
}

#[test]
fn cli_bad_input_names_what_is_wrong_and_leaves_no_lab() {
    let h = Host::gpu();
    let lab = lab_name("pcibad");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["pci", "bind", "01:00", "vfio-pci"],
            2,
            "malformed PCI address '01:00'",
        ),
        (
            &["pci", "bind", "0000:07:00.0", "vfio-pci"],
            1,
            "no PCI device 0000:07:00.0",
        ),
        (
            &["pci", "bind", "01:00.0", "e1000e", "--group"],
            2,
            "--group moves an IOMMU group to vfio-pci only",
        ),
        (
            &["pci", "bind", "01:00.0", "nouveau"],
            1,
            "no PCI driver 'nouveau'",
        ),
        (&["pci", "restore", "zz"], 2, "malformed PCI address 'zz'"),
        (
            &["pci", "vfio-check", "one"],
            2,
            "expected an IOMMU group number",
        ),
    ];
    for (args, code, msg) in cases {
        let mut args = args.to_vec();
        args.extend(["--lab", &lab]);
        if args[1] == "vfio-check" {
            args.truncate(3);
        }
        let out = luxc(Some(h.root()), &args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(stderr.contains(msg), "{args:?}: {stderr}");
        assert!(!journal(&lab).exists(), "{args:?} left a lab");
    }
}

/// This host has no IOMMU: binding to vfio-pci says how to enable one,
/// before anything is written. (Skipped where an IOMMU exists: the test
/// must never move a real device.)
#[test]
fn on_a_host_without_iommu_bind_vfio_gives_the_hint() {
    let groups = fs::read_dir("/sys/kernel/iommu_groups").map_or(0, |d| d.count());
    if groups > 0 {
        eprintln!("skipped: this host has IOMMU groups");
        return;
    }
    let lab = lab_name("pcinoiommu");
    let code = r#"local d = luxc.pci.list()[1]
                  local ok, err = pcall(d.bind_vfio, d, { lab = LAB })
                  print(err)"#;
    let out = luxc(None, &["-e", &format!("LAB = luxc.lab({lab:?})\n{code}")]);
    let stdout = assert_ok(&out);
    assert!(
        stdout.contains("no IOMMU on this host") && stdout.contains("intel_iommu=on"),
        "{stdout}"
    );
    assert!(!journal(&lab).exists());
    let out = luxc(None, &["pci", "vfio-check", "0"]);
    let err = assert_fails(&out);
    assert!(
        err.contains("/dev/vfio/vfio") && err.contains("amd_iommu=on"),
        "{err}"
    );
}
