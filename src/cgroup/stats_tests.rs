//! Tests of stats and memory events read from v1 and cgroup2 fixture files.
use super::*;
use crate::cgroup::limits::tests::{hybrid_layout, put, v1_layout, v2_layout};
use crate::cgroup::CgroupLayout;

/// A v1 group "g" with every file stats reads.
fn v1_tree(root: &Path) {
    let m = "sys/fs/cgroup/memory/g";
    put(root, &format!("{m}/memory.usage_in_bytes"), "4096\n");
    put(root, &format!("{m}/memory.max_usage_in_bytes"), "8192\n");
    put(root, &format!("{m}/memory.limit_in_bytes"), "67108864\n");
    put(
        root,
        &format!("{m}/memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n",
    );
    put(root, &format!("{m}/memory.failcnt"), "17\n");
    let c = "sys/fs/cgroup/cpu,cpuacct/g";
    put(root, &format!("{c}/cpuacct.usage"), "2500000\n");
    put(
        root,
        &format!("{c}/cpu.stat"),
        "nr_periods 10\nnr_throttled 2\nthrottled_time 7000000\n",
    );
    put(root, "sys/fs/cgroup/pids/g/pids.current", "2\n");
    put(root, "sys/fs/cgroup/pids/g/pids.max", "max\n");
    let b = "sys/fs/cgroup/blkio/g";
    put(
        root,
        &format!("{b}/blkio.throttle.io_service_bytes_recursive"),
        "8:0 Read 1000\n8:0 Write 200\n8:0 Sync 1200\n8:16 Read 5\nTotal 1205\n",
    );
    // The non-recursive file is ignored where the recursive one exists.
    put(
        root,
        &format!("{b}/blkio.throttle.io_service_bytes"),
        "8:0 Read 1\n",
    );
    put(
        root,
        &format!("{b}/blkio.throttle.io_serviced"),
        "8:0 Read 10\n8:0 Write 2\nTotal 12\n",
    );
}

/// A cgroup2 group "g" with every file stats reads except memory.peak.
fn v2_tree(root: &Path) {
    let g = "sys/fs/cgroup/g";
    put(root, &format!("{g}/memory.current"), "12288\n");
    put(root, &format!("{g}/memory.max"), "max\n");
    put(
        root,
        &format!("{g}/memory.events"),
        "low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 0\n",
    );
    put(
        root,
        &format!("{g}/cpu.stat"),
        "usage_usec 900\nuser_usec 600\nsystem_usec 300\nnr_periods 4\nthrottled_usec 70\n",
    );
    put(root, &format!("{g}/pids.current"), "5\n");
    put(root, &format!("{g}/pids.max"), "100\n");
    put(
        root,
        &format!("{g}/io.stat"),
        "8:0 rbytes=100 wbytes=20 rios=3 wios=1 dbytes=0 dios=0\n\
         8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n",
    );
}

fn open(root: &Path, layout: &CgroupLayout) -> Cgroup {
    Cgroup::open(root, layout, "g").unwrap()
}

#[test]
fn v1_stats() {
    let dir = tempfile::tempdir().unwrap();
    v1_tree(dir.path());
    let stats = open(dir.path(), &v1_layout()).stats().unwrap();
    assert_eq!(
        stats,
        Stats {
            memory: MemoryStats {
                current: 4096,
                peak: 8192,
                max: Some(64 << 20),
                oom_kills: 3,
            },
            cpu: CpuStats {
                usage_usec: 2500,
                throttled_usec: 7000,
            },
            pids: PidsStats {
                current: 2,
                max: None,
            },
            io: IoStats {
                rbytes: 1005,
                wbytes: 200,
                rios: 10,
                wios: 2,
            },
        }
    );
}

#[test]
fn v1_unlimited_memory_reads_as_none() {
    let dir = tempfile::tempdir().unwrap();
    v1_tree(dir.path());
    put(
        dir.path(),
        "sys/fs/cgroup/memory/g/memory.limit_in_bytes",
        "9223372036854771712\n",
    );
    let stats = open(dir.path(), &v1_layout()).stats().unwrap();
    assert_eq!(stats.memory.max, None);
}

#[test]
fn v2_stats_take_current_for_a_missing_peak() {
    let dir = tempfile::tempdir().unwrap();
    v2_tree(dir.path());
    let stats = open(dir.path(), &v2_layout()).stats().unwrap();
    assert_eq!(
        stats,
        Stats {
            memory: MemoryStats {
                current: 12288,
                peak: 12288,
                max: None,
                oom_kills: 5,
            },
            cpu: CpuStats {
                usage_usec: 900,
                throttled_usec: 70,
            },
            pids: PidsStats {
                current: 5,
                max: Some(100),
            },
            io: IoStats {
                rbytes: 101,
                wbytes: 22,
                rios: 6,
                wios: 5,
            },
        }
    );
    put(dir.path(), "sys/fs/cgroup/g/memory.peak", "65536\n");
    let stats = open(dir.path(), &v2_layout()).stats().unwrap();
    assert_eq!(stats.memory.peak, 65536);
}

#[test]
fn missing_controllers_leave_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut layout = hybrid_layout();
    layout.v1.retain(|h| h.controllers == ["pids"]);
    put(root, "sys/fs/cgroup/pids/g/pids.current", "1\n");
    put(root, "sys/fs/cgroup/pids/g/pids.max", "4\n");
    // No cpuacct on v1: usage comes from cgroup2's core cpu.stat.
    put(root, "sys/fs/cgroup/unified/g/cpu.stat", "usage_usec 42\n");
    let stats = open(root, &layout).stats().unwrap();
    assert_eq!(
        stats,
        Stats {
            cpu: CpuStats {
                usage_usec: 42,
                throttled_usec: 0,
            },
            pids: PidsStats {
                current: 1,
                max: Some(4),
            },
            ..Stats::default()
        }
    );
}

#[test]
fn a_file_with_garbage_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    v2_tree(dir.path());
    put(dir.path(), "sys/fs/cgroup/g/pids.current", "lots\n");
    let err = open(dir.path(), &v2_layout())
        .stats()
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("sys/fs/cgroup/g/pids.current: unexpected value 'lots'"),
        "{err}"
    );
}

#[test]
fn memory_events_on_v1_and_v2() {
    let dir = tempfile::tempdir().unwrap();
    v1_tree(dir.path());
    v2_tree(dir.path());
    let v1 = open(dir.path(), &v1_layout()).memory_events().unwrap();
    assert_eq!(
        v1,
        MemoryEvents {
            low: 0,
            high: 0,
            max: 17,
            oom: 1,
            oom_kill: 3,
        }
    );
    let v2 = open(dir.path(), &v2_layout()).memory_events().unwrap();
    assert_eq!(
        v2,
        MemoryEvents {
            low: 1,
            high: 2,
            max: 3,
            oom: 4,
            oom_kill: 5,
        }
    );
}

#[test]
fn memory_events_without_memory_controller_fail() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "sys/fs/cgroup/pids/g/pids.max", "max\n");
    let mut layout = v1_layout();
    layout.v1.retain(|h| h.controllers == ["pids"]);
    let err = open(dir.path(), &layout)
        .memory_events()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "memory events of cgroup 'g': this host (v1) has no memory controller \
         (v1 hierarchies: pids; cgroup2: not mounted)"
    );
}
