//! Tests of limit translation and checks on fixture layouts (v1, hybrid, v2), and the
//! fixture helpers the other cgroup tests share.
use super::*;
use crate::cgroup::CgroupMode;

/// A hierarchy mounted at /sys/fs/cgroup/<dir> carrying `controllers` (comma separated).
pub(crate) fn hierarchy(dir: &str, controllers: &str) -> Hierarchy {
    Hierarchy {
        mountpoint: PathBuf::from("/sys/fs/cgroup").join(dir),
        controllers: controllers.split(',').map(String::from).collect(),
    }
}

/// A v1 host in the usual Debian/RHEL shape: cpu and cpuacct co-mounted.
pub(crate) fn v1_layout() -> CgroupLayout {
    let v1 = [
        ("cpu,cpuacct", "cpu,cpuacct"),
        ("cpuset", "cpuset"),
        ("memory", "memory"),
        ("devices", "devices"),
        ("freezer", "freezer"),
        ("blkio", "blkio"),
        ("pids", "pids"),
        ("hugetlb", "hugetlb"),
        ("systemd", "name=systemd"),
    ];
    CgroupLayout {
        mode: CgroupMode::V1,
        v1: v1.iter().map(|(d, c)| hierarchy(d, c)).collect(),
        unified: None,
    }
}

/// A hybrid host like this one: v1 controllers, cgroup2 at unified holding only hugetlb.
pub(crate) fn hybrid_layout() -> CgroupLayout {
    let v1 = [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ];
    let mut hierarchies: Vec<Hierarchy> = v1.iter().map(|c| hierarchy(c, c)).collect();
    hierarchies.push(hierarchy("systemd", "name=systemd"));
    CgroupLayout {
        mode: CgroupMode::Hybrid,
        v1: hierarchies,
        unified: Some(hierarchy("unified", "hugetlb")),
    }
}

/// A pure cgroup2 host with every controller luxc uses.
pub(crate) fn v2_layout() -> CgroupLayout {
    CgroupLayout {
        mode: CgroupMode::V2,
        v1: Vec::new(),
        unified: Some(Hierarchy {
            mountpoint: PathBuf::from("/sys/fs/cgroup"),
            controllers: "cpuset cpu io memory hugetlb pids rdma misc"
                .split(' ')
                .map(String::from)
                .collect(),
        }),
    }
}

/// Writes `text` to `rel` under `root`, making parent directories.
pub(crate) fn put(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Makes the mountpoint directory of every hierarchy of `layout` under `root`.
pub(crate) fn mount(root: &Path, layout: &CgroupLayout) -> CgroupLayout {
    for h in layout.v1.iter().chain(layout.unified.as_ref()) {
        fs::create_dir_all(mount_dir(root, h)).unwrap();
    }
    layout.clone()
}

/// Every limit set once.
fn every_limit() -> Limits {
    let mut l = Limits {
        memory: Some(64 << 20),
        memory_high: Some(48 << 20),
        memory_swap: Some(32 << 20),
        cpus: Some(0.5),
        cpu_weight: Some(200),
        cpuset_cpus: Some("0-1".into()),
        cpuset_mems: Some("0".into()),
        pids: Some(16),
        io_weight: Some(500),
        ..Limits::default()
    };
    l.io_devices.insert(
        "8:0".into(),
        IoLimit {
            rbps: Some(1 << 20),
            wbps: Some(2 << 20),
            riops: Some(100),
            wiops: Some(200),
        },
    );
    l.hugetlb.insert("2MB".into(), 4 << 20);
    l
}

/// The plan as (dir relative to the root, file, value) rows.
fn rows(root: &Path, writes: &[Write]) -> Vec<(String, String, String)> {
    writes
        .iter()
        .map(|w| {
            let dir = w.dir.strip_prefix(root).unwrap().display().to_string();
            (dir, w.file.clone(), w.value.clone())
        })
        .collect()
}

fn expect(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(d, f, v)| (d.to_string(), f.to_string(), v.to_string()))
        .collect()
}

fn message(e: CgroupError) -> String {
    e.to_string()
}

#[test]
fn every_limit_on_v1() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
        "9223372036854771712\n",
    );
    let mut l = every_limit();
    l.raw.insert("memory/memory.swappiness".into(), "10".into());
    l.raw.insert("cpu.cfs_burst_us".into(), "1000".into());
    let writes = plan(&l, dir.path(), &v1_layout(), "luxc/a").unwrap();
    let m = "sys/fs/cgroup/memory/luxc/a";
    let c = "sys/fs/cgroup/cpu,cpuacct/luxc/a";
    let s = "sys/fs/cgroup/cpuset/luxc/a";
    let b = "sys/fs/cgroup/blkio/luxc/a";
    assert_eq!(
        rows(dir.path(), &writes),
        expect(&[
            (m, "memory.limit_in_bytes", "67108864"),
            (m, "memory.memsw.limit_in_bytes", "100663296"),
            (m, "memory.soft_limit_in_bytes", "50331648"),
            (c, "cpu.cfs_period_us", "100000"),
            (c, "cpu.cfs_quota_us", "50000"),
            (c, "cpu.shares", "5220"),
            (s, "cpuset.cpus", "0-1"),
            (s, "cpuset.mems", "0"),
            ("sys/fs/cgroup/pids/luxc/a", "pids.max", "16"),
            (b, "blkio.weight", "50"),
            (b, "blkio.throttle.read_bps_device", "8:0 1048576"),
            (b, "blkio.throttle.write_bps_device", "8:0 2097152"),
            (b, "blkio.throttle.read_iops_device", "8:0 100"),
            (b, "blkio.throttle.write_iops_device", "8:0 200"),
            (
                "sys/fs/cgroup/hugetlb/luxc/a",
                "hugetlb.2MB.limit_in_bytes",
                "4194304"
            ),
            (c, "cpu.cfs_burst_us", "1000"),
            (m, "memory.swappiness", "10"),
        ])
    );
}

#[test]
fn every_limit_on_v2() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = every_limit();
    l.raw.insert("memory.oom.group".into(), "1".into());
    l.raw.insert("cgroup.max.descendants".into(), "10".into());
    let writes = plan(&l, dir.path(), &v2_layout(), "luxc/a").unwrap();
    let g = "sys/fs/cgroup/luxc/a";
    assert_eq!(
        rows(dir.path(), &writes),
        expect(&[
            (g, "memory.max", "67108864"),
            (g, "memory.high", "50331648"),
            (g, "memory.swap.max", "33554432"),
            (g, "cpu.max", "50000 100000"),
            (g, "cpu.weight", "200"),
            (g, "cpuset.cpus", "0-1"),
            (g, "cpuset.mems", "0"),
            (g, "pids.max", "16"),
            (g, "io.weight", "default 500"),
            (
                g,
                "io.max",
                "8:0 rbps=1048576 wbps=2097152 riops=100 wiops=200"
            ),
            (g, "hugetlb.2MB.max", "4194304"),
            (g, "cgroup.max.descendants", "10"),
            (g, "memory.oom.group", "1"),
        ])
    );
}

#[test]
fn hybrid_host_uses_v1_files_and_cgroup2_for_hugetlb() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Limits {
        memory: Some(1 << 30),
        cpus: Some(1.25),
        ..Limits::default()
    };
    l.hugetlb.insert("1GB".into(), 1 << 30);
    l.raw.insert("cgroup.max.depth".into(), "2".into());
    l.raw.insert("memory.oom.group".into(), "1".into());
    let writes = plan(&l, dir.path(), &hybrid_layout(), "lab/x").unwrap();
    assert_eq!(
        rows(dir.path(), &writes),
        expect(&[
            (
                "sys/fs/cgroup/memory/lab/x",
                "memory.limit_in_bytes",
                "1073741824"
            ),
            ("sys/fs/cgroup/cpu/lab/x", "cpu.cfs_period_us", "100000"),
            ("sys/fs/cgroup/cpu/lab/x", "cpu.cfs_quota_us", "125000"),
            (
                "sys/fs/cgroup/unified/lab/x",
                "hugetlb.1GB.max",
                "1073741824"
            ),
            ("sys/fs/cgroup/unified/lab/x", "cgroup.max.depth", "2"),
            // The memory controller is v1 here, so its raw files go there.
            ("sys/fs/cgroup/memory/lab/x", "memory.oom.group", "1"),
        ])
    );
}

#[test]
fn io_device_with_some_rates_writes_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Limits::default();
    l.io_devices.insert(
        "253:1".into(),
        IoLimit {
            wbps: Some(4096),
            ..IoLimit::default()
        },
    );
    let v1 = plan(&l, dir.path(), &v1_layout(), "g").unwrap();
    assert_eq!(
        rows(dir.path(), &v1),
        expect(&[(
            "sys/fs/cgroup/blkio/g",
            "blkio.throttle.write_bps_device",
            "253:1 4096"
        )])
    );
    let v2 = plan(&l, dir.path(), &v2_layout(), "g").unwrap();
    assert_eq!(
        rows(dir.path(), &v2),
        expect(&[("sys/fs/cgroup/g", "io.max", "253:1 wbps=4096")])
    );
}

#[test]
fn empty_limits_plan_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for layout in [v1_layout(), hybrid_layout(), v2_layout()] {
        assert_eq!(
            plan(&Limits::default(), dir.path(), &layout, "g").unwrap(),
            []
        );
    }
}

#[test]
fn missing_controller_names_mode_and_what_the_host_has() {
    let dir = tempfile::tempdir().unwrap();
    let mut layout = hybrid_layout();
    layout.v1.retain(|h| h.controllers != ["memory"]);
    let l = Limits {
        memory: Some(1 << 20),
        ..Limits::default()
    };
    assert_eq!(
        message(plan(&l, dir.path(), &layout, "g").unwrap_err()),
        "limit 'memory': this host (hybrid) has no memory controller (v1 hierarchies: \
         cpu cpuacct cpuset devices freezer blkio pids name=systemd; cgroup2: hugetlb)"
    );
}

#[test]
fn missing_io_controller_on_v2_names_both_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut layout = v2_layout();
    layout.unified.as_mut().unwrap().controllers = vec!["cpu".into(), "memory".into()];
    let l = Limits {
        io_weight: Some(100),
        ..Limits::default()
    };
    assert_eq!(
        message(plan(&l, dir.path(), &layout, "g").unwrap_err()),
        "limit 'io.weight': this host (v2) has no blkio or io controller \
         (v1 hierarchies: none; cgroup2: cpu memory)"
    );
}

#[test]
fn hugetlb_on_v1_without_its_hierarchy_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut layout = v1_layout();
    layout.v1.retain(|h| h.controllers != ["hugetlb"]);
    let mut l = Limits::default();
    l.hugetlb.insert("2MB".into(), 1 << 21);
    let err = message(plan(&l, dir.path(), &layout, "g").unwrap_err());
    assert!(
        err.starts_with("limit 'hugetlb.2MB': this host (v1) has no hugetlb controller"),
        "{err}"
    );
}

#[test]
fn v1_swap_is_written_after_memory_for_a_fresh_group() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
        "",
    );
    put(
        dir.path(),
        "sys/fs/cgroup/memory/g/memory.memsw.limit_in_bytes",
        "9223372036854771712\n",
    );
    let l = Limits {
        memory: Some(100),
        memory_swap: Some(50),
        ..Limits::default()
    };
    let files: Vec<String> = plan(&l, dir.path(), &v1_layout(), "g")
        .unwrap()
        .into_iter()
        .map(|w| format!("{}={}", w.file, w.value))
        .collect();
    assert_eq!(
        files,
        [
            "memory.limit_in_bytes=100",
            "memory.memsw.limit_in_bytes=150"
        ]
    );
}

#[test]
fn v1_swap_is_raised_first_when_below_the_new_memory() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
        "",
    );
    // The kernel refuses memory 200 while memory+swap is still 150.
    put(
        dir.path(),
        "sys/fs/cgroup/memory/g/memory.memsw.limit_in_bytes",
        "150\n",
    );
    let l = Limits {
        memory: Some(200),
        memory_swap: Some(50),
        ..Limits::default()
    };
    let files: Vec<String> = plan(&l, dir.path(), &v1_layout(), "g")
        .unwrap()
        .into_iter()
        .map(|w| format!("{}={}", w.file, w.value))
        .collect();
    assert_eq!(
        files,
        [
            "memory.memsw.limit_in_bytes=250",
            "memory.limit_in_bytes=200"
        ]
    );
}

#[test]
fn v1_swap_without_accounting_fails() {
    let dir = tempfile::tempdir().unwrap();
    let l = Limits {
        memory: Some(100),
        memory_swap: Some(50),
        ..Limits::default()
    };
    let err = message(plan(&l, dir.path(), &v1_layout(), "g").unwrap_err());
    assert!(
        err.starts_with("limit 'memory_swap': swap accounting is off on this host"),
        "{err}"
    );
}

#[test]
fn v1_swap_without_memory_fails_but_v2_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let l = Limits {
        memory_swap: Some(50),
        ..Limits::default()
    };
    let err = message(plan(&l, dir.path(), &v1_layout(), "g").unwrap_err());
    assert!(err.contains("so set 'memory' too"), "{err}");
    let v2 = plan(&l, dir.path(), &v2_layout(), "g").unwrap();
    assert_eq!(
        rows(dir.path(), &v2),
        expect(&[("sys/fs/cgroup/g", "memory.swap.max", "50")])
    );
}

#[test]
fn io_weight_goes_to_bfq_where_only_bfq_serves() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "sys/fs/cgroup/blkio/g/blkio.bfq.weight",
        "100\n",
    );
    put(dir.path(), "sys/fs/cgroup/g/io.bfq.weight", "default 100\n");
    let l = Limits {
        io_weight: Some(2000),
        ..Limits::default()
    };
    let v1 = plan(&l, dir.path(), &v1_layout(), "g").unwrap();
    assert_eq!(
        rows(dir.path(), &v1),
        expect(&[("sys/fs/cgroup/blkio/g", "blkio.bfq.weight", "1000")])
    );
    let v2 = plan(&l, dir.path(), &v2_layout(), "g").unwrap();
    assert_eq!(
        rows(dir.path(), &v2),
        expect(&[("sys/fs/cgroup/g", "io.bfq.weight", "1000")])
    );
}

#[test]
fn io_weight_without_a_weighted_scheduler_fails() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("sys/fs/cgroup/blkio/g")).unwrap();
    let l = Limits {
        io_weight: Some(100),
        ..Limits::default()
    };
    let err = message(plan(&l, dir.path(), &v1_layout(), "g").unwrap_err());
    assert!(
        err.starts_with("limit 'io.weight': no io scheduler with weights"),
        "{err}"
    );
}

#[test]
fn raw_cgroup_file_needs_cgroup2() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Limits::default();
    l.raw.insert("cgroup.max.depth".into(), "1".into());
    let err = message(plan(&l, dir.path(), &v1_layout(), "g").unwrap_err());
    assert!(
        err.starts_with("limit 'raw.cgroup.max.depth': cgroup.* files"),
        "{err}"
    );
}

#[test]
fn raw_names_an_unknown_v1_hierarchy() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Limits::default();
    l.raw
        .insert("rdma/rdma.max".into(), "mlx4_0 hca_handle=2".into());
    let err = message(plan(&l, dir.path(), &v1_layout(), "g").unwrap_err());
    assert!(
        err.starts_with("limit 'raw.rdma/rdma.max': this host (v1) has no v1 rdma controller"),
        "{err}"
    );
}

#[test]
fn raw_controller_form_reaches_a_v1_file_without_a_dot() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Limits::default();
    l.raw.insert("cpuset/notify_on_release".into(), "0".into());
    let writes = plan(&l, dir.path(), &v1_layout(), "g").unwrap();
    assert_eq!(
        rows(dir.path(), &writes),
        expect(&[("sys/fs/cgroup/cpuset/g", "notify_on_release", "0")])
    );
}

#[test]
fn cpu_shares_round_trip_with_runcs_conversion() {
    // runc's ConvertCPUSharesToCgroupV2Value, the direction this one inverts.
    let runc = |shares: u64| 1 + ((shares - 2) * 9999) / 262_142;
    assert_eq!(cpu_shares(1), 2);
    assert_eq!(cpu_shares(100), 2598);
    assert_eq!(cpu_shares(10_000), 262_144);
    for weight in 1..=10_000 {
        assert_eq!(runc(cpu_shares(weight)), weight, "weight {weight}");
    }
}

#[test]
fn io_weights_map_into_v1_ranges() {
    assert_eq!(blkio_weight(1), 10);
    assert_eq!(blkio_weight(500), 50);
    assert_eq!(blkio_weight(10_000), 1000);
    assert_eq!(bfq_weight(100), 100);
    assert_eq!(bfq_weight(10_000), 1000);
}

fn check_err(l: &Limits) -> String {
    message(check(l, 2, "0-1", "0").unwrap_err())
}

#[test]
fn check_accepts_what_fits_the_host() {
    let mut l = every_limit();
    l.cpus = Some(2.0);
    l.cpuset_cpus = Some("1".into());
    check(&l, 2, "0-1", "0").unwrap();
}

#[test]
fn check_rejects_more_cpus_than_the_host_has() {
    let l = Limits {
        cpus: Some(3.0),
        ..Limits::default()
    };
    assert_eq!(
        check_err(&l),
        "limit 'cpus': 3 is more than this host's 2 CPUs (allowed 0.01 to 2)"
    );
}

#[test]
fn check_rejects_a_cpu_share_below_the_kernels_minimum() {
    let l = Limits {
        cpus: Some(0.001),
        ..Limits::default()
    };
    assert!(check_err(&l).starts_with("limit 'cpus': 0.001 is below 0.01"));
}

#[test]
fn check_rejects_a_cpuset_outside_the_allowed_set() {
    let l = Limits {
        cpuset_cpus: Some("0,1-3".into()),
        ..Limits::default()
    };
    assert_eq!(
        check_err(&l),
        "limit 'cpuset.cpus': CPU 2 is outside the allowed set 0-1"
    );
    let l = Limits {
        cpuset_mems: Some("1".into()),
        ..Limits::default()
    };
    assert_eq!(
        check_err(&l),
        "limit 'cpuset.mems': memory node 1 is outside the allowed set 0"
    );
}

#[test]
fn check_rejects_malformed_and_empty_cpusets() {
    let l = Limits {
        cpuset_cpus: Some("0-x".into()),
        ..Limits::default()
    };
    assert_eq!(
        check_err(&l),
        "limit 'cpuset.cpus': '0-x' is not a list like \"0-3,5\""
    );
    let l = Limits {
        cpuset_mems: Some(" ".into()),
        ..Limits::default()
    };
    assert!(check_err(&l).starts_with("limit 'cpuset.mems': is empty"));
}

#[test]
fn check_rejects_weights_outside_their_range() {
    for (l, name, value) in [
        (
            Limits {
                cpu_weight: Some(0),
                ..Limits::default()
            },
            "cpu_weight",
            0,
        ),
        (
            Limits {
                cpu_weight: Some(10_001),
                ..Limits::default()
            },
            "cpu_weight",
            10_001,
        ),
        (
            Limits {
                io_weight: Some(20_000),
                ..Limits::default()
            },
            "io.weight",
            20_000,
        ),
    ] {
        assert_eq!(
            check_err(&l),
            format!("limit '{name}': {value} is outside 1 to 10000 (default 100)")
        );
    }
}

#[test]
fn check_rejects_bad_keys() {
    let mut l = Limits::default();
    l.io_devices.insert("sda".into(), IoLimit::default());
    assert!(check_err(&l).starts_with("limit 'io.sda': a device is named \"MAJOR:MINOR\""));
    let mut l = Limits::default();
    l.hugetlb.insert("2M".into(), 1);
    assert!(check_err(&l).starts_with("limit 'hugetlb.2M': a huge page size"));
    for key in ["../memory.max", "memory/", "/memory.max", "swappiness"] {
        let mut l = Limits::default();
        l.raw.insert(key.into(), "1".into());
        assert!(
            check_err(&l).starts_with(&format!("limit 'raw.{key}': a raw key")),
            "{key}"
        );
    }
}

#[test]
fn check_rejects_zero_memory_and_overflowing_swap() {
    let l = Limits {
        memory: Some(0),
        ..Limits::default()
    };
    assert!(check_err(&l).starts_with("limit 'memory': 0 bytes leaves no memory"));
    let l = Limits {
        memory: Some(u64::MAX),
        memory_swap: Some(1),
        ..Limits::default()
    };
    assert!(check_err(&l).starts_with("limit 'memory_swap': memory"));
}

#[test]
fn plan_rejects_what_check_rejects_without_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let l = Limits {
        cpu_weight: Some(0),
        ..Limits::default()
    };
    assert!(plan(&l, dir.path(), &v1_layout(), "g").is_err());
}

#[test]
fn lists_parse_like_the_kernel_writes_them() {
    assert_eq!(parse_list("0-3,5\n"), Some(vec![(0, 3), (5, 5)]));
    assert_eq!(parse_list(""), Some(vec![]));
    assert_eq!(parse_list("3-1"), None);
    assert_eq!(parse_list("1,,2"), None);
    assert_eq!(first_outside(&[(0, 7)], &[(0, 3), (4, 6)]), Some(7));
    assert_eq!(first_outside(&[(0, 6)], &[(4, 6), (0, 3)]), None);
}

#[test]
fn allowed_cpuset_reads_the_effective_sets() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "sys/fs/cgroup/cpuset/cpuset.effective_cpus",
        "0-1\n",
    );
    put(
        dir.path(),
        "sys/fs/cgroup/cpuset/cpuset.effective_mems",
        "0\n",
    );
    put(dir.path(), "sys/fs/cgroup/cpuset.cpus.effective", "0-7\n");
    put(dir.path(), "sys/fs/cgroup/cpuset.mems.effective", "0-1\n");
    let v1 = allowed_cpuset(dir.path(), &v1_layout()).unwrap();
    assert_eq!(v1, Some(("0-1".into(), "0".into())));
    let v2 = allowed_cpuset(dir.path(), &v2_layout()).unwrap();
    assert_eq!(v2, Some(("0-7".into(), "0-1".into())));
    let mut none = v2_layout();
    none.unified
        .as_mut()
        .unwrap()
        .controllers
        .retain(|c| c != "cpuset");
    assert_eq!(allowed_cpuset(dir.path(), &none).unwrap(), None);
}

#[test]
fn write_path_joins_dir_and_file() {
    let w = Write {
        dir: PathBuf::from("/sys/fs/cgroup/pids/g"),
        file: "pids.max".into(),
        value: "1".into(),
    };
    assert_eq!(w.path(), Path::new("/sys/fs/cgroup/pids/g/pids.max"));
}
