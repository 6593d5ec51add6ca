//! Usage figures of a cgroup in one shape, read from v1 or cgroup2 files per controller.

use std::path::{Path, PathBuf};

use super::group::{keyed, read_file};
use super::limits::{no_controller, Version, V1_UNLIMITED};
use super::{Cgroup, CgroupError};

/// What a cgroup uses. A controller the host lacks leaves its part at zero (and its
/// limits at `None`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Memory use.
    pub memory: MemoryStats,
    /// CPU time.
    pub cpu: CpuStats,
    /// Tasks.
    pub pids: PidsStats,
    /// Block IO, summed over devices.
    pub io: IoStats,
}

/// Memory use of a cgroup, in bytes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MemoryStats {
    /// Memory charged now.
    pub current: u64,
    /// Most memory charged at once (the current value on kernels that do not track it).
    pub peak: u64,
    /// The hard limit; `None` when unlimited.
    pub max: Option<u64>,
    /// Processes the OOM killer killed in the group.
    pub oom_kills: u64,
}

/// CPU time of a cgroup, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CpuStats {
    /// CPU time used by the group's tasks.
    pub usage_usec: u64,
    /// Time the group was held back by its CPU bandwidth limit.
    pub throttled_usec: u64,
}

/// Tasks of a cgroup.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PidsStats {
    /// Tasks (processes and threads) in the group now.
    pub current: u64,
    /// The limit; `None` when unlimited.
    pub max: Option<u64>,
}

/// Block IO of a cgroup, summed over devices.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IoStats {
    /// Bytes read.
    pub rbytes: u64,
    /// Bytes written.
    pub wbytes: u64,
    /// Read operations.
    pub rios: u64,
    /// Write operations.
    pub wios: u64,
}

/// Memory events of a cgroup, counted since it was created (cgroup2's memory.events).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MemoryEvents {
    /// Reclaims below memory.low (always 0 on v1).
    pub low: u64,
    /// Throttling above memory.high (always 0 on v1).
    pub high: u64,
    /// Times usage hit the limit (v1: memory.failcnt).
    pub max: u64,
    /// OOM situations (v1 has only a flag: 1 while the group is under OOM).
    pub oom: u64,
    /// Processes killed by the OOM killer.
    pub oom_kill: u64,
}

impl Cgroup {
    /// Reads the group's memory, CPU, task and IO figures.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        Ok(Stats {
            memory: self.memory_stats()?,
            cpu: self.cpu_stats()?,
            pids: self.pids_stats()?,
            io: self.io_stats()?,
        })
    }

    /// Reads the group's memory event counters, which a watcher compares over time.
    pub fn memory_events(&self) -> Result<MemoryEvents, CgroupError> {
        let Some((version, dir)) = self.dir_for("memory", "memory") else {
            return Err(no_controller(
                format!("memory events of cgroup '{}'", self.path()),
                self.layout(),
                "memory",
            ));
        };
        match version {
            Version::V1 => {
                let oom = read_file(&dir.join("memory.oom_control"))?;
                Ok(MemoryEvents {
                    low: 0,
                    high: 0,
                    max: read_u64(&dir.join("memory.failcnt"))?,
                    oom: keyed(&oom, "under_oom").unwrap_or(0),
                    oom_kill: keyed(&oom, "oom_kill").unwrap_or(0),
                })
            }
            Version::V2 => {
                let text = read_file(&dir.join("memory.events"))?;
                let get = |key| keyed(&text, key).unwrap_or(0);
                Ok(MemoryEvents {
                    low: get("low"),
                    high: get("high"),
                    max: get("max"),
                    oom: get("oom"),
                    oom_kill: get("oom_kill"),
                })
            }
        }
    }

    fn memory_stats(&self) -> Result<MemoryStats, CgroupError> {
        let Some((version, dir)) = self.dir_for("memory", "memory") else {
            return Ok(MemoryStats::default());
        };
        let (current, peak, max, events, oom_kill) = match version {
            Version::V1 => (
                "memory.usage_in_bytes",
                "memory.max_usage_in_bytes",
                "memory.limit_in_bytes",
                // oom_kill is there since Linux 4.13; before, no count exists.
                "memory.oom_control",
                "oom_kill",
            ),
            Version::V2 => (
                "memory.current",
                "memory.peak",
                "memory.max",
                "memory.events",
                "oom_kill",
            ),
        };
        let current = read_u64(&dir.join(current))?;
        // memory.peak arrived in Linux 5.19.
        let peak = read_optional(&dir.join(peak))?.unwrap_or(current);
        Ok(MemoryStats {
            current,
            peak,
            max: read_max(&dir.join(max))?,
            oom_kills: keyed(&read_file(&dir.join(events))?, oom_kill).unwrap_or(0),
        })
    }

    fn cpu_stats(&self) -> Result<CpuStats, CgroupError> {
        let mut stats = CpuStats::default();
        match self.dir_for("cpuacct", "cpu") {
            Some((Version::V1, dir)) => {
                stats.usage_usec = read_u64(&dir.join("cpuacct.usage"))? / 1000;
            }
            // cpu.stat's usage lines are core in cgroup2: present even where the cpu
            // controller is not enabled.
            _ => {
                if let Some(dir) = self.unified_dir() {
                    if let Some(text) = read_existing(&dir.join("cpu.stat"))? {
                        stats.usage_usec = keyed(&text, "usage_usec").unwrap_or(0);
                    }
                }
            }
        }
        match self.dir_for("cpu", "cpu") {
            Some((Version::V1, dir)) => {
                let text = read_file(&dir.join("cpu.stat"))?;
                stats.throttled_usec = keyed(&text, "throttled_time").unwrap_or(0) / 1000;
            }
            Some((Version::V2, dir)) => {
                let text = read_file(&dir.join("cpu.stat"))?;
                stats.throttled_usec = keyed(&text, "throttled_usec").unwrap_or(0);
            }
            None => {}
        }
        Ok(stats)
    }

    fn pids_stats(&self) -> Result<PidsStats, CgroupError> {
        let Some((_, dir)) = self.dir_for("pids", "pids") else {
            return Ok(PidsStats::default());
        };
        Ok(PidsStats {
            current: read_u64(&dir.join("pids.current"))?,
            max: read_max(&dir.join("pids.max"))?,
        })
    }

    fn io_stats(&self) -> Result<IoStats, CgroupError> {
        let mut stats = IoStats::default();
        match self.dir_for("blkio", "io") {
            Some((Version::V1, dir)) => {
                // The _recursive files count children too, as memory and cpuacct do and
                // as cgroup2's io.stat does.
                let (rbytes, wbytes) = blkio_sums(&dir, "blkio.throttle.io_service_bytes")?;
                let (rios, wios) = blkio_sums(&dir, "blkio.throttle.io_serviced")?;
                stats = IoStats {
                    rbytes,
                    wbytes,
                    rios,
                    wios,
                };
            }
            Some((Version::V2, dir)) => {
                let text = read_file(&dir.join("io.stat"))?;
                for line in text.lines() {
                    for field in line.split_whitespace().skip(1) {
                        let Some((key, value)) = field.split_once('=') else {
                            continue;
                        };
                        let value: u64 = value.parse().unwrap_or(0);
                        match key {
                            "rbytes" => stats.rbytes += value,
                            "wbytes" => stats.wbytes += value,
                            "rios" => stats.rios += value,
                            "wios" => stats.wios += value,
                            _ => {}
                        }
                    }
                }
            }
            None => {}
        }
        Ok(stats)
    }
}

/// Sums the "MAJ:MIN Read N" and "MAJ:MIN Write N" lines of a v1 blkio file, preferring
/// its _recursive variant.
fn blkio_sums(dir: &Path, file: &str) -> Result<(u64, u64), CgroupError> {
    let recursive = dir.join(format!("{file}_recursive"));
    let path: PathBuf = if recursive.exists() {
        recursive
    } else {
        dir.join(file)
    };
    let (mut read, mut write) = (0, 0);
    for line in read_file(&path)?.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [_device, op, n] = fields[..] {
            let n: u64 = n.parse().unwrap_or(0);
            match op {
                "Read" => read += n,
                "Write" => write += n,
                _ => {}
            }
        }
    }
    Ok((read, write))
}

/// Reads a file holding one number.
fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    let text = read_file(path)?;
    text.trim().parse().map_err(|_| CgroupError::Value {
        path: path.to_owned(),
        value: text.trim().to_owned(),
    })
}

/// Reads a limit: "max" (v2) or a value near 2^63 (v1) means none.
fn read_max(path: &Path) -> Result<Option<u64>, CgroupError> {
    let text = read_file(path)?;
    match text.trim() {
        "max" => Ok(None),
        t => match t.parse::<u64>() {
            Ok(n) if n >= V1_UNLIMITED => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(CgroupError::Value {
                path: path.to_owned(),
                value: t.to_owned(),
            }),
        },
    }
}

/// Reads a number from a file that older kernels lack.
fn read_optional(path: &Path) -> Result<Option<u64>, CgroupError> {
    if path.exists() {
        read_u64(path).map(Some)
    } else {
        Ok(None)
    }
}

/// Reads a file that older kernels lack.
fn read_existing(path: &Path) -> Result<Option<String>, CgroupError> {
    if path.exists() {
        read_file(path).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
