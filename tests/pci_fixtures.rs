//! PCI discovery, IOMMU group viability and the vfio-pci bind plan, on sysfs
//! trees written here in the shape the kernel gives them (links where sysfs has
//! links): a GPU with its audio function in one group, a multi-function NIC
//! with SR-IOV, a group holding a PCI bridge, a disk controller the host is
//! mounted from, and a host without IOMMU. No root needed.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use luxc::pci::{
    self, apply, group, host_uses, iommu_enabled, plan_vfio, vfio_status, Address, BindOptions,
    Filter, HostUse, Move, Names, PciError,
};

/// A fixture host: `ROOT/sys`, `ROOT/proc` as the kernel lays them out.
struct Host {
    dir: tempfile::TempDir,
}

/// One PCI function to create.
struct Dev<'a> {
    addr: &'a str,
    /// The bridge it sits behind (created before it), or None for bus 0.
    parent: Option<&'a str>,
    vendor: u16,
    device: u16,
    class: u32,
    driver: Option<&'a str>,
    group: Option<u32>,
}

impl Host {
    fn new() -> Host {
        let h = Host {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        h.write("sys/bus/pci/drivers_probe", "");
        fs::create_dir_all(h.path("sys/devices/pci0000:00")).unwrap();
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

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn link(&self, rel: &str, target: &Path) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
    }

    /// The real directory of a device (under sys/devices, nested behind its bridge).
    fn real_dir(&self, addr: &str) -> PathBuf {
        fs::canonicalize(self.path(&format!("sys/bus/pci/devices/{addr}"))).unwrap()
    }

    fn device(&self, d: Dev) -> &Host {
        let parent = match d.parent {
            Some(p) => self.real_dir(p),
            None => self.path("sys/devices/pci0000:00"),
        };
        let dir = parent.join(d.addr);
        fs::create_dir_all(&dir).unwrap();
        for (file, value) in [
            ("vendor", format!("0x{:04x}", d.vendor)),
            ("device", format!("0x{:04x}", d.device)),
            ("subsystem_vendor", format!("0x{:04x}", d.vendor)),
            ("subsystem_device", "0x0000".to_string()),
            ("class", format!("0x{:06x}", d.class)),
            ("revision", "0xa1".to_string()),
            ("numa_node", "-1".to_string()),
            ("driver_override", "(null)".to_string()),
        ] {
            fs::write(dir.join(file), format!("{value}\n")).unwrap();
        }
        self.link(&format!("sys/bus/pci/devices/{}", d.addr), &dir);
        if let Some(drv) = d.driver {
            let drv_dir = self.path(&format!("sys/bus/pci/drivers/{drv}"));
            fs::create_dir_all(&drv_dir).unwrap();
            fs::write(drv_dir.join("unbind"), "").unwrap();
            symlink(&drv_dir, dir.join("driver")).unwrap();
        }
        if let Some(g) = d.group {
            let gdir = self.path(&format!("sys/kernel/iommu_groups/{g}"));
            fs::create_dir_all(gdir.join("devices")).unwrap();
            symlink(&gdir, dir.join("iommu_group")).unwrap();
            symlink(&dir, gdir.join("devices").join(d.addr)).unwrap();
        }
        self
    }

    /// A file of a device's directory.
    fn attr(&self, addr: &str, file: &str, value: &str) -> &Host {
        fs::write(self.real_dir(addr).join(file), format!("{value}\n")).unwrap();
        self
    }

    /// A class entry (`net/eth0`, `drm/card0`) for a device: its directory at
    /// `sub` below the device's, with a `device` link to `device_of` there.
    fn class_entry(&self, class: &str, name: &str, addr: &str, sub: &str, device_of: &str) {
        let dev = self.real_dir(addr);
        let dir = dev.join(sub).join(name);
        fs::create_dir_all(&dir).unwrap();
        symlink(dev.join(device_of), dir.join("device")).unwrap();
        self.link(&format!("sys/class/{class}/{name}"), &dir);
    }

    fn mount(&self, devnum: &str, mountpoint: &str) {
        let mut text = self.read("proc/self/mountinfo");
        text.push_str(&format!(
            "30 1 {devnum} / {mountpoint} rw,relatime - ext4 /dev/x rw\n"
        ));
        self.write("proc/self/mountinfo", &text);
    }

    fn default_route(&self, iface: &str) {
        let mut text = self.read("proc/net/route");
        text.push_str(&format!(
            "{iface}\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        ));
        self.write("proc/net/route", &text);
    }
}

fn a(s: &str) -> Address {
    Address::parse(s).unwrap()
}

/// Root port 00:01.0 (own group), GPU 01:00.0 + HDMI audio 01:00.1 in group 1.
fn gpu_host(gpu_driver: Option<&str>, audio_driver: Option<&str>) -> Host {
    let h = Host::new();
    h.device(Dev {
        addr: "0000:00:01.0",
        parent: None,
        vendor: 0x8086,
        device: 0x1901,
        class: 0x060400,
        driver: Some("pcieport"),
        group: Some(0),
    })
    .device(Dev {
        addr: "0000:01:00.0",
        parent: Some("0000:00:01.0"),
        vendor: 0x10de,
        device: 0x1eb8,
        class: 0x030000,
        driver: gpu_driver,
        group: Some(1),
    })
    .device(Dev {
        addr: "0000:01:00.1",
        parent: Some("0000:00:01.0"),
        vendor: 0x10de,
        device: 0x10f8,
        class: 0x040300,
        driver: audio_driver,
        group: Some(1),
    });
    h.class_entry("drm", "card0", "0000:01:00.0", "drm", "");
    h.class_entry("drm", "renderD128", "0000:01:00.0", "drm", "");
    // A connector: its device link leads to card0, not to the GPU.
    h.class_entry(
        "drm",
        "card0-DP-1",
        "0000:01:00.0",
        "drm/card0",
        "drm/card0",
    );
    h
}

#[test]
fn gpu_and_audio_share_a_group_and_the_gpu_has_its_drm_nodes() {
    let h = gpu_host(Some("nvidia"), Some("snd_hda_intel"));
    let g = group(h.root(), &a("0000:01:00.0")).unwrap();
    assert_eq!(g.id, 1);
    let members: Vec<String> = g.members.iter().map(|m| m.address.to_string()).collect();
    assert_eq!(members, ["0000:01:00.0", "0000:01:00.1"]);

    let gpu = pci::get(h.root(), &a("01:00.0")).unwrap();
    assert_eq!(
        gpu.drm,
        ["card0", "renderD128"],
        "connectors are not the GPU's nodes"
    );
    assert_eq!(gpu.parent, Some(a("0000:00:01.0")));
    assert_eq!(gpu.driver.as_deref(), Some("nvidia"));
    assert_eq!(
        (gpu.vendor, gpu.device, gpu.class),
        (0x10de, 0x1eb8, 0x030000)
    );
    assert_eq!(gpu.revision, Some(0xa1));
    assert_eq!(gpu.numa_node, None, "sysfs -1 means no node");
    assert!(!gpu.bridge);
    assert!(pci::get(h.root(), &a("00:01.0")).unwrap().bridge);
}

#[test]
fn a_gpu_group_with_its_audio_on_a_host_driver_is_not_viable() {
    let h = gpu_host(Some("nvidia"), Some("snd_hda_intel"));
    let st = vfio_status(h.root(), &a("0000:01:00.0")).unwrap();
    assert!(!st.viable && !st.bound);
    assert_eq!(
        st.message,
        "IOMMU group 1 is not viable: 0000:01:00.0 itself is bound to nvidia, \
         sibling 0000:01:00.1 is bound to snd_hda_intel"
    );

    // GPU moved to vfio-pci by hand, audio left behind: the classic mistake.
    let h = gpu_host(Some("vfio-pci"), Some("snd_hda_intel"));
    let st = vfio_status(h.root(), &a("0000:01:00.0")).unwrap();
    assert!(st.bound && !st.viable);
    assert_eq!(st.blockers.len(), 1);
    assert!(st.blockers[0].sibling);
    assert_eq!(st.blockers[0].driver, "snd_hda_intel");
}

#[test]
fn vfio_pci_pci_stub_and_no_driver_make_a_viable_group() {
    let h = gpu_host(Some("vfio-pci"), Some("pci-stub"));
    let st = vfio_status(h.root(), &a("0000:01:00.0")).unwrap();
    assert!(st.viable && st.bound, "{}", st.message);
    assert_eq!(
        st.message,
        "IOMMU group 1 is viable and 0000:01:00.0 is bound to vfio-pci"
    );
    let h = gpu_host(None, None);
    let st = vfio_status(h.root(), &a("0000:01:00.1")).unwrap();
    assert!(st.viable && !st.bound);
    assert!(
        st.message.contains("not bound to vfio-pci"),
        "{}",
        st.message
    );
}

#[test]
fn binding_only_the_gpu_is_refused_naming_the_sibling() {
    let h = gpu_host(Some("nvidia"), Some("snd_hda_intel"));
    let err = plan_vfio(h.root(), &a("0000:01:00.0"), BindOptions::default()).unwrap_err();
    assert!(
        matches!(err, PciError::NotViable { group: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "IOMMU group 1 of 0000:01:00.0 is not viable for vfio-pci: sibling 0000:01:00.1 \
         is bound to snd_hda_intel; bind them too, or pass group = true to move the whole group"
    );
    // Nothing was written.
    assert_eq!(h.read("sys/bus/pci/drivers_probe"), "");
}

#[test]
fn the_group_plan_moves_gpu_and_audio_overrides_first_probes_last() {
    let h = gpu_host(Some("nvidia"), Some("snd_hda_intel"));
    let opts = BindOptions {
        group: true,
        force: false,
    };
    let plan = plan_vfio(h.root(), &a("0000:01:00.0"), opts).unwrap();
    assert_eq!(plan.group, 1);
    assert_eq!(
        plan.moves,
        [
            Move {
                address: a("0000:01:00.0"),
                from: Some("nvidia".into())
            },
            Move {
                address: a("0000:01:00.1"),
                from: Some("snd_hda_intel".into())
            },
        ],
        "the root port (another group) does not move"
    );
    let writes: Vec<(String, String)> = plan
        .writes()
        .into_iter()
        .map(|w| (w.path.display().to_string(), w.value))
        .collect();
    let w = |p: &str, v: &str| (p.to_string(), v.to_string());
    assert_eq!(
        writes,
        [
            w(
                "sys/bus/pci/devices/0000:01:00.0/driver_override",
                "vfio-pci"
            ),
            w(
                "sys/bus/pci/devices/0000:01:00.1/driver_override",
                "vfio-pci"
            ),
            w("sys/bus/pci/drivers/nvidia/unbind", "0000:01:00.0"),
            w("sys/bus/pci/drivers/snd_hda_intel/unbind", "0000:01:00.1"),
            w("sys/bus/pci/drivers_probe", "0000:01:00.0"),
            w("sys/bus/pci/drivers_probe", "0000:01:00.1"),
        ]
    );

    apply(h.root(), &plan).unwrap();
    let dev = |addr: &str, f: &str| h.read(&format!("sys/bus/pci/devices/{addr}/{f}"));
    assert_eq!(dev("0000:01:00.0", "driver_override"), "vfio-pci");
    assert_eq!(dev("0000:01:00.1", "driver_override"), "vfio-pci");
    assert_eq!(h.read("sys/bus/pci/drivers/nvidia/unbind"), "0000:01:00.0");
    assert_eq!(
        h.read("sys/bus/pci/drivers/snd_hda_intel/unbind"),
        "0000:01:00.1"
    );
    assert_eq!(h.read("sys/bus/pci/drivers_probe"), "0000:01:00.1");
    assert_eq!(
        dev("0000:00:01.0", "driver_override"),
        "(null)\n",
        "the root port is untouched"
    );
}

#[test]
fn apply_names_the_file_it_could_not_write() {
    let h = gpu_host(None, None);
    let plan = plan_vfio(h.root(), &a("0000:01:00.0"), BindOptions::default()).unwrap();
    fs::remove_file(h.path("sys/bus/pci/drivers_probe")).unwrap();
    let err = apply(h.root(), &plan).unwrap_err().to_string();
    assert!(
        err.starts_with("write '0000:01:00.0' to ") && err.contains("sys/bus/pci/drivers_probe"),
        "{err}"
    );
}

/// A two-port NIC (02:00.0, 02:00.1) with ACS: one group per function; SR-IOV
/// with one VF enabled (02:10.0, on iavf); eth0 on port 0 carries the default route.
fn nic_host() -> Host {
    let h = Host::new();
    for (addr, group) in [("0000:02:00.0", 3), ("0000:02:00.1", 4)] {
        h.device(Dev {
            addr,
            parent: None,
            vendor: 0x8086,
            device: 0x1521,
            class: 0x020000,
            driver: Some("igb"),
            group: Some(group),
        });
        h.attr(addr, "sriov_totalvfs", "7")
            .attr(addr, "sriov_numvfs", "0")
            .attr(addr, "numa_node", "0");
    }
    h.attr("0000:02:00.0", "sriov_numvfs", "1");
    h.device(Dev {
        addr: "0000:02:10.0",
        parent: None,
        vendor: 0x8086,
        device: 0x1520,
        class: 0x020000,
        driver: Some("iavf"),
        group: Some(5),
    });
    symlink(
        h.real_dir("0000:02:00.0"),
        h.real_dir("0000:02:10.0").join("physfn"),
    )
    .unwrap();
    h.class_entry("net", "eth0", "0000:02:00.0", "net", "");
    h.class_entry("net", "eth1", "0000:02:00.1", "net", "");
    h.default_route("eth0");
    h
}

#[test]
fn a_multi_function_nic_lists_its_ports_interfaces_and_sriov() {
    let h = nic_host();
    let filter = Filter {
        class: Some(Filter::parse_class("0200").unwrap()),
        ..Filter::default()
    };
    let nics = pci::list_with_names(h.root(), &filter, None).unwrap();
    let addrs: Vec<String> = nics.iter().map(|d| d.address.to_string()).collect();
    assert_eq!(addrs, ["0000:02:00.0", "0000:02:00.1", "0000:02:10.0"]);
    assert_eq!(nics[0].net, ["eth0"]);
    assert_eq!(nics[1].net, ["eth1"]);
    assert_eq!(nics[0].numa_node, Some(0));
    let sriov = nics[0].sriov.expect("PF has SR-IOV");
    assert_eq!((sriov.total, sriov.enabled), (7, 1));
    assert_eq!(nics[2].physfn, Some(a("0000:02:00.0")));
    assert_eq!(nics[2].sriov, None);

    let by_driver = Filter {
        driver: Some("iavf".into()),
        ..Filter::default()
    };
    let vfs = pci::list_with_names(h.root(), &by_driver, None).unwrap();
    assert_eq!(vfs.len(), 1);
    let by_id = Filter {
        vendor: Some(0x8086),
        device: Some(0x1521),
        ..Filter::default()
    };
    assert_eq!(
        pci::list_with_names(h.root(), &by_id, None).unwrap().len(),
        2
    );
}

#[test]
fn a_nic_port_in_its_own_group_moves_alone() {
    let h = nic_host();
    let opts = BindOptions {
        group: true,
        force: false,
    };
    let plan = plan_vfio(h.root(), &a("0000:02:00.1"), opts).unwrap();
    assert_eq!(
        plan.moves,
        [Move {
            address: a("0000:02:00.1"),
            from: Some("igb".into())
        }]
    );
    assert!(plan.forced.is_empty());
}

#[test]
fn the_port_with_the_default_route_is_refused_unless_forced() {
    let h = nic_host();
    assert_eq!(
        host_uses(h.root(), &a("0000:02:00.0")).unwrap(),
        [HostUse::DefaultRoute {
            iface: "eth0".into()
        }]
    );
    let err = plan_vfio(h.root(), &a("0000:02:00.0"), BindOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0000:02:00.0 carries the host's default route (eth0); pass force = true to bind it anyway"
    );
    let forced = BindOptions {
        group: false,
        force: true,
    };
    let plan = plan_vfio(h.root(), &a("0000:02:00.0"), forced).unwrap();
    assert_eq!(plan.moves.len(), 1);
    assert_eq!(plan.forced.len(), 1, "the plan keeps what force overrode");
}

/// Group 7: a PCIe switch port 03:00.0 (on pcieport) with an xHCI controller
/// (04:00.0, already on vfio-pci) and an NVMe drive (04:01.0, no driver) behind it.
fn bridge_host() -> Host {
    let h = Host::new();
    h.device(Dev {
        addr: "0000:03:00.0",
        parent: None,
        vendor: 0x1022,
        device: 0x43c7,
        class: 0x060400,
        driver: Some("pcieport"),
        group: Some(7),
    })
    .device(Dev {
        addr: "0000:04:00.0",
        parent: Some("0000:03:00.0"),
        vendor: 0x1912,
        device: 0x0014,
        class: 0x0c0330,
        driver: Some("vfio-pci"),
        group: Some(7),
    })
    .device(Dev {
        addr: "0000:04:01.0",
        parent: Some("0000:03:00.0"),
        vendor: 0x144d,
        device: 0xa808,
        class: 0x010802,
        driver: None,
        group: Some(7),
    });
    h
}

#[test]
fn a_bridge_in_the_group_does_not_count_against_viability() {
    let h = bridge_host();
    let st = vfio_status(h.root(), &a("0000:04:00.0")).unwrap();
    assert_eq!(st.members.len(), 3);
    assert!(st
        .members
        .iter()
        .any(|m| m.bridge && m.driver.as_deref() == Some("pcieport")));
    assert!(st.viable && st.bound, "{}", st.message);

    let err = plan_vfio(h.root(), &a("0000:03:00.0"), BindOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0000:03:00.0 is a PCI bridge: bind the endpoints behind it, not the bridge"
    );

    // The whole group: only the driverless NVMe moves; nothing to unbind.
    let opts = BindOptions {
        group: true,
        force: false,
    };
    let plan = plan_vfio(h.root(), &a("0000:04:00.0"), opts).unwrap();
    assert_eq!(
        plan.moves,
        [Move {
            address: a("0000:04:01.0"),
            from: None
        }]
    );
    let paths: Vec<String> = plan
        .writes()
        .iter()
        .map(|w| w.path.display().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "sys/bus/pci/devices/0000:04:01.0/driver_override",
            "sys/bus/pci/drivers_probe"
        ]
    );
    // Already on vfio-pci alone: nothing to do.
    let plan = plan_vfio(h.root(), &a("0000:04:00.0"), BindOptions::default()).unwrap();
    assert!(plan.moves.is_empty() && plan.writes().is_empty());
}

/// A virtio-blk controller 00:02.0 whose disk vda (under virtio1, as on this
/// host) has partition vda1 mounted on / and a dm device on vda2 mounted at
/// "/srv/my data".
fn disk_host() -> Host {
    let h = Host::new();
    h.device(Dev {
        addr: "0000:00:02.0",
        parent: None,
        vendor: 0x1af4,
        device: 0x1042,
        class: 0x018000,
        driver: Some("virtio-pci"),
        group: Some(6),
    });
    let vda = h.real_dir("0000:00:02.0").join("virtio1/block/vda");
    fs::create_dir_all(vda.join("vda1")).unwrap();
    fs::create_dir_all(vda.join("vda2/holders")).unwrap();
    fs::write(vda.join("dev"), "254:0\n").unwrap();
    for (p, dev) in [("vda1", "254:1"), ("vda2", "254:2")] {
        fs::write(vda.join(p).join("dev"), format!("{dev}\n")).unwrap();
        fs::write(vda.join(p).join("partition"), "1\n").unwrap();
    }
    symlink(
        h.real_dir("0000:00:02.0").join("virtio1"),
        vda.join("device"),
    )
    .unwrap();
    h.link("sys/block/vda", &vda);
    let dm = h.path("sys/devices/virtual/block/dm-0");
    fs::create_dir_all(&dm).unwrap();
    fs::write(dm.join("dev"), "253:0\n").unwrap();
    h.link("sys/block/dm-0", &dm);
    symlink(&dm, vda.join("vda2/holders/dm-0")).unwrap();
    h.mount("254:1", "/");
    h.mount("253:0", "/srv/my\\040data");
    h
}

#[test]
fn the_disk_controller_the_host_is_mounted_from_is_refused() {
    let h = disk_host();
    let uses = host_uses(h.root(), &a("0000:00:02.0")).unwrap();
    let text: Vec<String> = uses.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "backs the mounted filesystem /srv/my data (dm-0, 253:0)",
            "backs the mounted filesystem / (vda1, 254:1)",
        ]
    );
    let err = plan_vfio(h.root(), &a("0000:00:02.0"), BindOptions::default()).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "0000:00:02.0 backs the mounted filesystem /srv/my data (dm-0, 253:0) and "
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .ends_with("pass force = true to bind it anyway"));
}

#[test]
fn a_host_without_iommu_lists_devices_but_has_no_groups() {
    let h = Host::new();
    h.device(Dev {
        addr: "0000:00:03.0",
        parent: None,
        vendor: 0x1af4,
        device: 0x1041,
        class: 0x020000,
        driver: Some("virtio-pci"),
        group: None,
    });
    h.class_entry("net", "eth0", "0000:00:03.0", "virtio2/net", "virtio2");
    assert!(!iommu_enabled(h.root()).unwrap());
    let devs = pci::list_with_names(h.root(), &Filter::default(), None).unwrap();
    assert_eq!(devs.len(), 1);
    assert_eq!(devs[0].iommu_group, None);
    assert_eq!(
        devs[0].net,
        ["eth0"],
        "a virtio NIC's interface sits one level down"
    );
    for err in [
        group(h.root(), &a("0000:00:03.0")).unwrap_err(),
        vfio_status(h.root(), &a("0000:00:03.0")).unwrap_err(),
        plan_vfio(h.root(), &a("0000:00:03.0"), BindOptions::default()).unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(matches!(err, PciError::NoIommu { .. }), "{msg}");
        assert!(
            msg.starts_with("no IOMMU on this host")
                && msg.contains("intel_iommu=on")
                && msg.contains("amd_iommu=on"),
            "{msg}"
        );
    }
}

#[test]
fn an_address_with_nothing_there_is_named() {
    let h = gpu_host(None, None);
    let err = pci::get(h.root(), &a("0000:09:00.0"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("no PCI device 0000:09:00.0 (nothing at "),
        "{err}"
    );
    let err = vfio_status(h.root(), &a("0000:09:00.0")).unwrap_err();
    assert!(matches!(err, PciError::NotFound { .. }), "{err}");
}

const IDS: &str = "\
10de  NVIDIA Corporation
\t1eb8  TU104GL [Tesla T4]
\t10f8  TU104 HD Audio Controller
C 03  Display controller
\t00  VGA compatible controller
C 04  Multimedia controller
";

#[test]
fn names_come_from_pci_ids_and_stay_numeric_without_it() {
    let h = gpu_host(Some("nvidia"), Some("snd_hda_intel"));
    let names = Names::parse(IDS).map(std::sync::Arc::new);
    let devs = pci::list_with_names(h.root(), &Filter::default(), names).unwrap();
    let gpu = devs
        .iter()
        .find(|d| d.address == a("0000:01:00.0"))
        .unwrap();
    assert_eq!(gpu.vendor_name.as_deref(), Some("NVIDIA Corporation"));
    assert_eq!(gpu.device_name.as_deref(), Some("TU104GL [Tesla T4]"));
    assert_eq!(gpu.class_name.as_deref(), Some("VGA compatible controller"));
    let audio = devs
        .iter()
        .find(|d| d.address == a("0000:01:00.1"))
        .unwrap();
    assert_eq!(
        audio.class_name.as_deref(),
        Some("Multimedia controller"),
        "an unknown subclass falls back to the class"
    );
    let port = devs
        .iter()
        .find(|d| d.address == a("0000:00:01.0"))
        .unwrap();
    assert_eq!(port.vendor_name, None, "8086 is not in this database");

    let plain = pci::list_with_names(h.root(), &Filter::default(), None).unwrap();
    assert!(plain.iter().all(|d| d.vendor_name.is_none()));
    let json = serde_json::to_value(&plain[1]).unwrap();
    assert_eq!(json["vendor"], "10de");
    assert_eq!(json["class"], "030000");
    assert_eq!(json["address"], "0000:01:00.0");
    assert_eq!(json["vendor_name"], serde_json::Value::Null);

    // The file is looked up under the root, LUXC_PCI_IDS first.
    assert_eq!(pci::pci_ids_file(h.root(), None), None);
    h.write("usr/share/misc/pci.ids", IDS);
    assert_eq!(
        pci::pci_ids_file(h.root(), None),
        Some(h.path("usr/share/misc/pci.ids"))
    );
    let own = h.path("my.ids");
    fs::write(&own, IDS).unwrap();
    assert_eq!(
        pci::pci_ids_file(h.root(), Some(own.as_os_str())),
        Some(own.clone())
    );
}

#[test]
fn filters_check_their_values() {
    assert_eq!(Filter::parse_class("0x0C03").unwrap(), "0c03");
    assert!(Filter::parse_class("3")
        .unwrap_err()
        .contains("2, 4 or 6 hex digits"));
    assert_eq!(Filter::parse_id("10DE").unwrap(), 0x10de);
    assert!(Filter::parse_id("10de0")
        .unwrap_err()
        .contains("4 hex digits"));
}
