//! GPU profiles (`luxc.pci::gpu_nodes`, `dev:gpu_nodes`, `luxc.gpu`) on
//! fixture trees written here: an NVIDIA GPU on the nvidia driver (with its
//! /proc/driver/nvidia entry, /dev nodes as plain files owned by the groups a
//! host gives them, and driver libraries in /usr/lib), the same GPU when the
//! driver does not say its minor, and an AMD GPU whose DRM nodes (card1,
//! renderD128) are found through /sys/class/drm/*/device. No root needed
//! (as root, node groups are set to distinct gids; otherwise the caller's),
//! except for `c:assign` on a real container, at the end.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::lab::{assert_clean, lab_name};
use luxc::engine::lab::Lab;
use luxc::engine::spec::ContainerSpec;
use luxc::pci::{self, Address, PciError};

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
        fs::create_dir_all(h.path("dev")).unwrap();
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

    /// A PCI function on bus 0 with a driver.
    fn device(&self, addr: &str, vendor: u16, class: u32, driver: &str) {
        let dir = self.path("sys/devices/pci0000:00").join(addr);
        fs::create_dir_all(&dir).unwrap();
        for (file, value) in [
            ("vendor", format!("0x{vendor:04x}")),
            ("device", "0x1234".to_string()),
            ("subsystem_vendor", format!("0x{vendor:04x}")),
            ("subsystem_device", "0x0000".to_string()),
            ("class", format!("0x{class:06x}")),
        ] {
            fs::write(dir.join(file), format!("{value}\n")).unwrap();
        }
        symlink(&dir, self.path(&format!("sys/bus/pci/devices/{addr}"))).unwrap();
        let drv = self.path(&format!("sys/bus/pci/drivers/{driver}"));
        fs::create_dir_all(&drv).unwrap();
        symlink(&drv, dir.join("driver")).unwrap();
    }

    /// /sys/class/drm/NAME, a directory under the device whose `device` link
    /// leads back to the PCI function, as the kernel lays it out.
    fn drm(&self, name: &str, addr: &str) {
        let dev = self.path("sys/devices/pci0000:00").join(addr);
        let dir = dev.join("drm").join(name);
        fs::create_dir_all(&dir).unwrap();
        symlink(&dev, dir.join("device")).unwrap();
        let class = self.path("sys/class/drm");
        fs::create_dir_all(&class).unwrap();
        symlink(&dir, class.join(name)).unwrap();
    }

    /// A device node stand-in under ROOT/dev, owned by `gid`.
    fn node(&self, rel: &str, gid: u32) {
        let p = self.path(&format!("dev/{rel}"));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, "").unwrap();
        std::os::unix::fs::chown(&p, None, Some(gid)).unwrap();
    }
}

/// Two distinct groups for the nodes: video and render as root, else our own.
fn gids() -> (u32, u32) {
    if nix::unistd::Uid::effective().is_root() {
        (44, 993)
    } else {
        let g = nix::unistd::Gid::effective().as_raw();
        (g, g)
    }
}

fn a(s: &str) -> Address {
    Address::parse(s).unwrap()
}

/// An NVIDIA GPU at 01:00.0 on the nvidia driver (minor 1: a second GPU's
/// nvidia0 is on the host too), its HDMI audio, DRM nodes, and libraries.
fn nvidia_host(with_information: bool) -> Host {
    let (video, render) = gids();
    let h = Host::new();
    h.device("0000:01:00.0", 0x10de, 0x030000, "nvidia");
    h.device("0000:01:00.1", 0x10de, 0x040300, "snd_hda_intel");
    h.drm("card1", "0000:01:00.0");
    h.drm("renderD129", "0000:01:00.0");
    h.drm("card1-DP-1", "0000:01:00.0");
    if with_information {
        h.write(
            "proc/driver/nvidia/gpus/0000:01:00.0/information",
            "Model: \t\t NVIDIA GeForce RTX 2080\nIRQ:   \t\t 130\nGPU UUID: \t GPU-1\nDevice Minor: \t 1\nBus Location: \t 0000:01:00.0\n",
        );
    }
    for n in [
        "nvidia0",
        "nvidia1",
        "nvidiactl",
        "nvidia-uvm",
        "nvidia-uvm-tools",
    ] {
        h.node(n, video);
    }
    // No nvidia-modeset on this host: a missing node is left out.
    h.node("nvidia-caps/nvidia-cap1", video);
    h.node("nvidia-caps/nvidia-cap2", video);
    h.node("dri/card1", video);
    h.node("dri/renderD129", render);
    h.node("dri/card0", video); // another GPU's
    h.write("usr/lib/x86_64-linux-gnu/libcuda.so.1", "");
    h.write("usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54", "");
    h.write("usr/lib/x86_64-linux-gnu/libc.so.6", "");
    h.write("usr/lib64/libnvidia-ml.so.550.54", ""); // shadowed by the first
    h.write("usr/bin/nvidia-smi", "");
    h
}

fn amd_host() -> Host {
    let (video, render) = gids();
    let h = Host::new();
    h.device("0000:00:02.0", 0x8086, 0x030000, "i915");
    h.device("0000:03:00.0", 0x1002, 0x038000, "amdgpu");
    h.device("0000:04:00.0", 0x1af4, 0x020000, "virtio-pci");
    h.drm("card0", "0000:00:02.0");
    h.drm("renderD128", "0000:00:02.0");
    h.drm("card1", "0000:03:00.0");
    h.drm("renderD129", "0000:03:00.0");
    h.drm("card1-HDMI-A-1", "0000:03:00.0");
    for n in ["card0", "card1"] {
        h.node(&format!("dri/{n}"), video);
    }
    for n in ["renderD128", "renderD129"] {
        h.node(&format!("dri/{n}"), render);
    }
    h.write("usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", "");
    h
}

fn paths(p: &pci::GpuNodes) -> Vec<&str> {
    p.nodes.iter().map(|n| n.path.as_str()).collect()
}

#[test]
fn an_nvidia_gpu_gets_its_own_minor_the_shared_nodes_caps_and_drm() {
    let (video, render) = gids();
    let h = nvidia_host(true);
    let d = pci::get(h.root(), &a("01:00.0")).unwrap();
    let p = pci::gpu_nodes(h.root(), &d, false).unwrap();
    assert_eq!(
        paths(&p),
        [
            "/dev/nvidia1",
            "/dev/nvidiactl",
            "/dev/nvidia-uvm",
            "/dev/nvidia-uvm-tools",
            "/dev/nvidia-caps/nvidia-cap1",
            "/dev/nvidia-caps/nvidia-cap2",
            "/dev/dri/card1",
            "/dev/dri/renderD129",
        ]
    );
    assert_eq!(p.nodes[0].gid, video);
    assert_eq!(p.nodes[0].kind, "nvidia");
    assert_eq!(p.nodes[7].gid, render);
    assert_eq!(p.nodes[7].kind, "drm");
    let mut want: Vec<u32> = vec![video, render];
    want.sort();
    want.dedup();
    assert_eq!(p.gids, want);
    assert!(p.libraries.is_empty(), "libraries only when asked for");

    let p = pci::gpu_nodes(h.root(), &d, true).unwrap();
    assert_eq!(
        p.libraries,
        [
            "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
            "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54",
            "/usr/bin/nvidia-smi",
        ]
    );
}

#[test]
fn without_the_drivers_minor_every_nvidia_n_node_is_listed() {
    let h = nvidia_host(false);
    let d = pci::get(h.root(), &a("01:00.0")).unwrap();
    let p = pci::gpu_nodes(h.root(), &d, false).unwrap();
    assert_eq!(
        &paths(&p)[..3],
        ["/dev/nvidia0", "/dev/nvidia1", "/dev/nvidiactl"]
    );
}

#[test]
fn a_bad_device_minor_is_named() {
    let h = nvidia_host(false);
    h.write(
        "proc/driver/nvidia/gpus/0000:01:00.0/information",
        "Device Minor: \t x\n",
    );
    let d = pci::get(h.root(), &a("01:00.0")).unwrap();
    let e = pci::gpu_nodes(h.root(), &d, false).unwrap_err().to_string();
    assert!(
        e.contains("information: expected a device minor number, got 'x'"),
        "{e}"
    );
}

#[test]
fn drm_gpus_get_their_card_and_render_nodes_only() {
    let (video, render) = gids();
    let h = amd_host();
    let amd = pci::get(h.root(), &a("03:00.0")).unwrap();
    let p = pci::gpu_nodes(h.root(), &amd, true).unwrap();
    assert_eq!(paths(&p), ["/dev/dri/card1", "/dev/dri/renderD129"]);
    assert_eq!((p.nodes[0].gid, p.nodes[1].gid), (video, render));
    assert!(p.libraries.is_empty(), "no NVIDIA libraries for an AMD GPU");
    let intel = pci::get(h.root(), &a("00:02.0")).unwrap();
    let p = pci::gpu_nodes(h.root(), &intel, false).unwrap();
    assert_eq!(paths(&p), ["/dev/dri/card0", "/dev/dri/renderD128"]);
}

#[test]
fn a_device_that_is_no_gpu_is_refused() {
    let h = amd_host();
    let nic = pci::get(h.root(), &a("04:00.0")).unwrap();
    let e = pci::gpu_nodes(h.root(), &nic, false).unwrap_err();
    assert!(matches!(e, PciError::NotGpu { .. }));
    assert_eq!(
        e.to_string(),
        "0000:04:00.0 is not a GPU (class 020000; GPUs have PCI class 03xxxx)"
    );
}

/// Runs `luxc -e CODE` on the fixture; stdout, or panics with the output.
fn luxc(root: &Path, code: &str) -> (Option<i32>, String, String) {
    let out = Command::new(common::luxc_bin())
        .env("LUXC_PCI_ROOT", root)
        .args(["-e", code])
        .output()
        .unwrap();
    let (stdout, stderr) = common::text(&out);
    (out.status.code(), stdout, stderr)
}

#[test]
fn luxc_gpu_lists_gpus_with_nodes_and_builds_grants() {
    let h = nvidia_host(true);
    let (code, stdout, stderr) = luxc(
        h.root(),
        r#"
local gpus = luxc.gpu.list()
print(#gpus, gpus[1].address, table.concat(gpus[1].nodes, " "))
local n = luxc.gpu.nodes(gpus[1], { libraries = true })
print(#n, n[1], #n.gids > 0, n.libraries[1])
local g = luxc.gpu.grant(gpus[1], { libraries = true })
print(g.devices[1].path, g.devices[1].access, g.mounts[1].source, g.mounts[1].target, g.mounts[1].readonly)
local o = luxc.gpu.assign({ name = "c", devices = { "/dev/net/tun" } }, gpus[1])
print(#o.devices, o.devices[1], o.devices[2].path, #o.mounts)
"#,
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "1\t0000:01:00.0\t/dev/nvidia1 /dev/nvidiactl /dev/nvidia-uvm /dev/nvidia-uvm-tools /dev/nvidia-caps/nvidia-cap1 /dev/nvidia-caps/nvidia-cap2 /dev/dri/card1 /dev/dri/renderD129",
            "8\t/dev/nvidia1\ttrue\t/usr/lib/x86_64-linux-gnu/libcuda.so.1",
            "/dev/nvidia1\trw\t/usr/lib/x86_64-linux-gnu/libcuda.so.1\t/usr/lib/x86_64-linux-gnu/libcuda.so.1\ttrue",
            "9\t/dev/net/tun\t/dev/nvidia1\t0",
        ]
    );
}

#[test]
fn luxc_gpu_bad_input_is_named() {
    let h = amd_host();
    let cases = [
        (
            "luxc.gpu.nodes(42)",
            "luxc.gpu.nodes: argument #1: expected a PCI device (from luxc.gpu.list or luxc.pci.get), got number",
        ),
        (
            "luxc.gpu.grant(luxc.pci.get('03:00.0'), { libs = true })",
            "luxc.gpu.grant: argument #2: unknown option 'libs' (expected: libraries)",
        ),
        (
            "luxc.gpu.assign({}, luxc.pci.get('03:00.0'), { libraries = 1 })",
            "luxc.gpu.assign: argument #3: option 'libraries': expected a boolean, got number",
        ),
        (
            "luxc.gpu.assign(nil, luxc.pci.get('03:00.0'))",
            "luxc.gpu.assign: argument #1: expected a container options table, got nil",
        ),
        (
            "luxc.gpu.nodes(luxc.pci.get('04:00.0'))",
            "luxc.gpu.nodes: argument #1: 0000:04:00.0 is not a GPU (class 020000; GPUs have PCI class 03xxxx)",
        ),
        (
            "luxc.gpu.assign({}, luxc.pci.get('04:00.0'))",
            "luxc.gpu.assign: argument #2: 0000:04:00.0 is not a GPU (class 020000; GPUs have PCI class 03xxxx)",
        ),
        (
            "luxc.pci.get('04:00.0'):gpu_nodes()",
            "pci_device:gpu_nodes: 0000:04:00.0 is not a GPU (class 020000; GPUs have PCI class 03xxxx)",
        ),
        (
            "luxc.pci.get('03:00.0'):gpu_nodes{ libraries = 'yes' }",
            "pci_device:gpu_nodes: field 'libraries': expected a boolean, got string",
        ),
    ];
    for (call, want) in cases {
        let (code, stdout, stderr) = luxc(
            h.root(),
            &format!(
                "local ok, e = pcall(function() local _ = {call} end) assert(not ok) print(e)"
            ),
        );
        assert_eq!(code, Some(0), "{call}: {stdout}{stderr}");
        // The error points at the script's line, not inside the stdlib.
        assert_eq!(stdout.trim(), format!("(command line):1: {want}"), "{call}");
    }
}

#[test]
fn a_host_without_gpus_lists_none() {
    let h = Host::new();
    h.device("0000:00:03.0", 0x1af4, 0x020000, "virtio-pci");
    let (code, stdout, stderr) = luxc(h.root(), "print(#luxc.gpu.list())");
    assert_eq!((code, stdout.trim()), (Some(0), "0"), "{stderr}");
}

#[test]
fn add_grants_extends_a_declared_container_once_per_target() {
    use luxc::cgroup::devices::DeviceRule;
    use luxc::fs::rootfs::MountSpec;
    let state = tempfile::tempdir().unwrap();
    let mut lab = Lab::new("gpugrants", state.path()).unwrap();
    lab.declare(ContainerSpec::new("a", luxc::image::Image::Host))
        .unwrap();
    let bind = |p: &str, ro: bool| MountSpec::Bind {
        source: p.into(),
        target: p.to_string(),
        readonly: ro,
    };
    let rule = DeviceRule::allow('c', Some(195), Some(0), "rw");
    lab.add_grants(
        "a",
        vec![rule.clone()],
        vec![bind("/dev/null", false), bind("/bin/sh", true)],
    )
    .unwrap();
    // The same node again (listed by hand and by a GPU profile) is bound once.
    lab.add_grants("a", vec![], vec![bind("/dev/null", false)])
        .unwrap();
    let spec = &lab.get("a").unwrap().spec;
    assert_eq!(spec.devices, [rule]);
    assert_eq!(
        spec.mounts,
        [bind("/dev/null", false), bind("/bin/sh", true)]
    );
    let e = lab
        .add_grants("a", vec![], vec![bind("relative/path", true)])
        .unwrap_err();
    assert!(
        e.0.starts_with("container 'a': mounts: target 'relative/path'"),
        "{}",
        e.0
    );
    assert_eq!(
        lab.get("a").unwrap().spec.mounts.len(),
        2,
        "a refused grant changes nothing"
    );
    let e = lab.add_grants("b", vec![], vec![]).unwrap_err();
    assert_eq!(e.0, "no container 'b' in lab 'gpugrants'");
}

#[test]
fn assign_checks_the_gpu_and_its_nodes_and_refuses_a_started_container() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let h = amd_host();
    h.device("0000:05:00.0", 0x10de, 0x030000, "vfio-pci");
    let lab = lab_name("gpuassign");
    let (code, stdout, stderr) = luxc(
        h.root(),
        &format!(
            r#"
local l = luxc.lab("{lab}")
local c = l:container{{ name = "a", image = luxc.image.busybox(), init = {{ "sleep", "100" }} }}
local function try(...) local ok, e = pcall(c.assign, c, ...) print(e) end
try(luxc.pci.get("03:00.0"))
try(luxc.pci.get("04:00.0"))
try(luxc.pci.get("05:00.0"))
try("03:00.0")
print(#c:info().devices, #c:info().mounts)
c:start()
try(luxc.pci.get("03:00.0"))
print(l:down().removed > 0)
"#
        ),
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with(
            "container:assign: field 'devices[1]': /dev/dri/card1: no such device node"
        ),
        "{stdout}"
    );
    assert_eq!(
        lines[1],
        "container:assign: 0000:04:00.0 is not a GPU (class 020000; GPUs have PCI class 03xxxx)"
    );
    assert_eq!(
        lines[2],
        "container:assign: GPU 0000:05:00.0 has no device nodes (a GPU on vfio-pci is given as a PCI device in `devices`)"
    );
    assert_eq!(
        lines[3],
        "container:assign: argument 2: expected a GPU (a PCI device from luxc.gpu.list or luxc.pci.get), got string"
    );
    assert_eq!(lines[4], "0\t0", "refused assigns add nothing");
    assert_eq!(
        lines[5],
        "container:assign: container 'a' is running: devices and mounts are given before it starts (destroy it first)"
    );
    assert_eq!(lines[6], "true");
    assert_clean(&lab, &stdout);
}
