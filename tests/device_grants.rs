//! Container device grants (`devices = { ... }`): a node path, a `{ path,
//! access }` table, a cgroup rule, and a PCI device handle (which grants the
//! VFIO nodes of its group). On this host with /dev/net/tun: a granted
//! container sees the host's node (same major:minor, mode, owner) and can
//! open it; one that has the node bound in without a grant gets EPERM from
//! its device cgroup. Bad input names the entry. Needs root.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::lab::{assert_clean, lab_name, ok, run};
use common::text;

#[test]
fn a_granted_node_is_the_hosts_and_opens_where_an_ungranted_one_is_refused() {
    let meta = std::fs::metadata("/dev/net/tun").expect("/dev/net/tun on this host");
    let want = format!(
        "{},{} {:o} {}:{}",
        nix::sys::stat::major(meta.rdev()),
        nix::sys::stat::minor(meta.rdev()),
        meta.permissions().mode() & 0o7777,
        meta.uid(),
        meta.gid()
    );
    let lab = lab_name("devgrant");
    let out = ok(
        &lab,
        &format!(
            r#"
local l = luxc.lab(LAB)
local a = l:container{{ name = "a", image = luxc.image.busybox(),
                       devices = {{ {{ path = "/dev/net/tun", access = "rw" }} }} }}
-- b has the node bound in, but no grant: its device cgroup refuses it.
local b = l:container{{ name = "b", image = luxc.image.busybox(),
                       mounts = {{ {{ source = "/dev/net/tun", target = "/dev/net/tun" }} }} }}
l:up()
record(a)
record(b)
local function sh(c, cmd) return c:exec{{ cmd, shell = true }} end
local st = sh(a, "stat -c '%t %T %a %u:%g' /dev/net/tun")
local maj, min, mode, owner = st.stdout:match("(%x+) (%x+) (%d+) (%S+)")
assert(maj, st.stdout .. st.stderr)
local got = string.format("%d,%d %s %s", tonumber(maj, 16), tonumber(min, 16), mode, owner)
assert(got == "{want}", "node inside: " .. got .. ", host: {want}")
-- Opened: reading an unattached tun fails with EBADFD, not EPERM.
local r = sh(a, "cat /dev/net/tun")
assert(r.stderr:find("bad state"), "granted: " .. r.stderr)
r = sh(b, "cat /dev/net/tun")
assert(r.stderr:find("Operation not permitted"), "not granted: " .. r.stderr)
assert(sh(a, "test -e /dev/vfio").code ~= 0)
l:down()
"#
        ),
    );
    assert_clean(&lab, &out);
}

fn refused(lab: &str, devices: &str, needle: &str) {
    let out = run(
        lab,
        &format!(
            r#"local l = luxc.lab(LAB)
local ok, err = pcall(l.container, l, {{ name = "a", image = luxc.image.busybox(), devices = {devices} }})
assert(not ok)
io.stderr:write(err)
os.exit(3)"#
        ),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{devices}: {stdout}{stderr}");
    assert!(stderr.contains(needle), "{devices}: {stderr}");
    assert!(
        !Path::new("/run/luxc").join(lab).exists(),
        "{devices}: a refused declaration left a lab"
    );
}

#[test]
fn bad_grants_name_the_entry_and_what_was_expected() {
    let lab = lab_name("devbad");
    refused(
        &lab,
        r#"{ "/dev/null", "/dev/no-such-node" }"#,
        "field 'devices[2]': /dev/no-such-node: no such device node",
    );
    refused(
        &lab,
        r#"{ { path = "/dev/dri/renderD199", access = "rw" } }"#,
        "/dev/dri/renderD199: no such device node",
    );
    refused(
        &lab,
        r#"{ { path = "/dev/null", access = "rx" } }"#,
        "field 'devices[1].access'",
    );
    refused(
        &lab,
        r#"{ "/etc/passwd" }"#,
        "expected a device node under /dev, got '/etc/passwd'",
    );
    refused(&lab, r#"{ "/dev/shm" }"#, "/dev/shm is not a device node");
    refused(
        &lab,
        r#"{ { path = "/dev/null", mode = "rw" } }"#,
        "a node grant takes only 'path' and 'access'",
    );
    refused(&lab, r#"{ 42 }"#, "or a PCI device, got number");
    // A PCI device not on vfio-pci (this host has none on it).
    let first = Command::new(common::luxc_bin())
        .args(["-e", "print(luxc.pci.list()[1].address)"])
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&first.stdout).trim().to_string();
    assert!(!first.is_empty());
    refused(
        &lab,
        &format!(r#"{{ luxc.pci.get("{first}") }}"#),
        &format!("PCI device {first} is on "),
    );
    refused(
        &lab,
        &format!(r#"{{ luxc.pci.get("{first}") }}"#),
        "call dev:bind_vfio() first",
    );
}

/// A PCI device on vfio-pci grants /dev/vfio/vfio and /dev/vfio/GROUP; in
/// a fixture tree whose device is on vfio-pci in group 42, the grant asks
/// for exactly those nodes (this host has no /dev/vfio, so it names the first).
#[test]
fn a_vfio_device_grants_its_group_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let real = root.join("sys/devices/pci0000:00/0000:00:05.0");
    std::fs::create_dir_all(&real).unwrap();
    for (f, v) in [
        ("vendor", "0x8086"),
        ("device", "0x10d3"),
        ("subsystem_vendor", "0x8086"),
        ("subsystem_device", "0x0000"),
        ("class", "0x020000"),
    ] {
        std::fs::write(real.join(f), v).unwrap();
    }
    let group = root.join("sys/kernel/iommu_groups/42/devices");
    std::fs::create_dir_all(&group).unwrap();
    std::fs::create_dir_all(root.join("sys/bus/pci/devices")).unwrap();
    std::fs::create_dir_all(root.join("sys/bus/pci/drivers/vfio-pci")).unwrap();
    let link = |to: &Path, at: std::path::PathBuf| std::os::unix::fs::symlink(to, at);
    link(&real, root.join("sys/bus/pci/devices/0000:00:05.0")).unwrap();
    link(&real, group.join("0000:00:05.0")).unwrap();
    link(group.parent().unwrap(), real.join("iommu_group")).unwrap();
    link(
        &root.join("sys/bus/pci/drivers/vfio-pci"),
        real.join("driver"),
    )
    .unwrap();
    let lab = lab_name("devvfio");
    let out = Command::new(common::luxc_bin())
        .env("LUXC_PCI_ROOT", root)
        .args([
            "-e",
            &format!(
                r#"local l = luxc.lab("{lab}")
local nic = luxc.pci.get("0000:00:05.0")
assert(nic.driver == "vfio-pci" and nic.iommu_group == 42)
local ok, err = pcall(l.container, l, {{ name = "a", image = luxc.image.busybox(), devices = {{ nic }} }})
print(err)"#
            ),
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let want = if Path::new("/dev/vfio/vfio").exists() {
        "/dev/vfio/42: no such device node"
    } else {
        "'devices[1]': /dev/vfio/vfio: no such device node"
    };
    assert!(stdout.contains(want), "{stdout}");
    assert!(!Path::new("/run/luxc").join(&lab).exists());
}
