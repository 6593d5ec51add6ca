//! One vocabulary of resource limits, translated into the control files of whichever
//! hierarchy carries each controller on a host: a cgroup v1 one, or cgroup2.
//!
//! cgroups-rs is not used here: it picks v1 or v2 for a whole host, so on a hybrid host
//! (v1 controllers beside a cgroup2 mount that holds only some) it writes to the wrong
//! tree, and it cannot produce a plan of writes without touching the kernel.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::{CgroupError, CgroupLayout, Hierarchy};

/// The CFS period luxc uses for `cpus`, in microseconds: the kernel's default 100 ms.
pub const CPU_PERIOD_USEC: u64 = 100_000;

/// A v1 value at or above this means "no limit" (the kernel reports PAGE_COUNTER_MAX
/// pages in bytes, just under 2^63, rounded down to the page size).
pub(super) const V1_UNLIMITED: u64 = 1 << 62;

/// Resource limits in one vocabulary for cgroup v1 and v2; `None` leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Hard memory limit in bytes (v1 memory.limit_in_bytes, v2 memory.max).
    pub memory: Option<u64>,
    /// Memory level above which the group is reclaimed first, in bytes.
    pub memory_high: Option<u64>,
    /// Swap allowed on top of `memory`, in bytes.
    pub memory_swap: Option<u64>,
    /// CPU bandwidth in CPUs: 0.5 is half of one CPU.
    pub cpus: Option<f64>,
    /// CPU weight on the cgroup2 scale, 1 to 10000 (default 100).
    pub cpu_weight: Option<u64>,
    /// CPUs the group may run on, as a list like "0-3,5".
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the group may allocate from, as a list like "0".
    pub cpuset_mems: Option<String>,
    /// Most tasks (processes and threads) the group may hold.
    pub pids: Option<u64>,
    /// IO weight on the cgroup2 scale, 1 to 10000 (default 100).
    pub io_weight: Option<u64>,
    /// IO throttling per block device, keyed "MAJOR:MINOR" ("8:0").
    pub io_devices: BTreeMap<String, IoLimit>,
    /// Huge page limits in bytes, keyed by page size as the kernel names it ("2MB", "1GB").
    pub hugetlb: BTreeMap<String, u64>,
    /// Control files written as they are: "memory.oom.group" goes to the hierarchy of the
    /// controller before the first '.', "memory/memory.swappiness" names a v1 hierarchy.
    pub raw: BTreeMap<String, String>,
}

/// IO throttling of one block device; `None` leaves a rate as it is.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IoLimit {
    /// Bytes read per second.
    pub rbps: Option<u64>,
    /// Bytes written per second.
    pub wbps: Option<u64>,
    /// Read operations per second.
    pub riops: Option<u64>,
    /// Write operations per second.
    pub wiops: Option<u64>,
}

/// One control-file write of a plan: `value` into `dir/file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The cgroup's directory: the hierarchy's mountpoint under the root, joined with the
    /// cgroup path.
    pub dir: PathBuf,
    /// The control file's name.
    pub file: String,
    /// What is written, without a newline.
    pub value: String,
}

impl Write {
    /// The full path of the control file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.file)
    }
}

/// Which cgroup version a controller is reached through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    V1,
    V2,
}

/// Where a controller lives on a host: its version and hierarchy.
pub(super) struct Place<'a> {
    pub version: Version,
    pub hierarchy: &'a Hierarchy,
}

impl Place<'_> {
    /// The directory of cgroup `path` in this hierarchy, under `root`.
    pub fn dir(&self, root: &Path, path: &str) -> PathBuf {
        group_dir(root, self.hierarchy, path)
    }
}

/// Finds a controller: a v1 hierarchy carrying `v1` first (a controller bound to v1
/// cannot be enabled in cgroup2 at the same time), else cgroup2 if its root lists `v2`.
pub(super) fn locate<'a>(layout: &'a CgroupLayout, v1: &str, v2: &str) -> Option<Place<'a>> {
    if let Some(hierarchy) = layout.v1.iter().find(|h| carries(h, v1)) {
        return Some(Place {
            version: Version::V1,
            hierarchy,
        });
    }
    layout
        .unified
        .as_ref()
        .filter(|h| carries(h, v2))
        .map(|hierarchy| Place {
            version: Version::V2,
            hierarchy,
        })
}

/// Whether a hierarchy carries a controller.
pub(super) fn carries(h: &Hierarchy, controller: &str) -> bool {
    h.controllers.iter().any(|c| c == controller)
}

/// A hierarchy's mountpoint read under `root`.
pub(super) fn mount_dir(root: &Path, h: &Hierarchy) -> PathBuf {
    root.join(h.mountpoint.strip_prefix("/").unwrap_or(&h.mountpoint))
}

/// The directory of cgroup `path` in hierarchy `h`, under `root`.
pub(super) fn group_dir(root: &Path, h: &Hierarchy, path: &str) -> PathBuf {
    let base = mount_dir(root, h);
    if path.is_empty() {
        base
    } else {
        base.join(path)
    }
}

/// The error for a controller the host lacks, listing what it has.
pub(super) fn no_controller(what: String, layout: &CgroupLayout, controller: &str) -> CgroupError {
    let v1 = if layout.v1.is_empty() {
        "none".to_owned()
    } else {
        let names: Vec<String> = layout.v1.iter().map(|h| h.controllers.join(",")).collect();
        names.join(" ")
    };
    let v2 = match &layout.unified {
        None => "not mounted".to_owned(),
        Some(h) if h.controllers.is_empty() => "no controllers".to_owned(),
        Some(h) => h.controllers.join(" "),
    };
    CgroupError::NoController {
        what,
        mode: layout.mode,
        controller: controller.to_owned(),
        available: format!("v1 hierarchies: {v1}; cgroup2: {v2}"),
    }
}

/// cgroup2 `cpu.weight` (1..=10000, default 100) as v1 `cpu.shares` (2..=262144).
///
/// The inverse of runc's `ConvertCPUSharesToCgroupV2Value`
/// (weight = 1 + (shares - 2) * 9999 / 262142). Rounding up instead of down makes the two
/// round-trip exactly (weight 100 → 2598 → 100; rounding down gives 2597 → 99). The map
/// is linear over the whole range, so the v2 default 100 is not v1's default 1024: a
/// group at weight 100 gets about 2.5 times the CPU of an untouched v1 sibling.
pub fn cpu_shares(weight: u64) -> u64 {
    2 + ((weight - 1) * 262_142).div_ceil(9999)
}

/// cgroup2 `io.weight` (1..=10000) as CFQ's v1 `blkio.weight` (10..=1000).
pub fn blkio_weight(weight: u64) -> u64 {
    (weight * 1000 / 10_000).clamp(10, 1000)
}

/// cgroup2 `io.weight` (1..=10000) as BFQ's `blkio.bfq.weight` / `io.bfq.weight`
/// (1..=1000): BFQ shares io.weight's default of 100, so the value is kept and clamped.
pub fn bfq_weight(weight: u64) -> u64 {
    weight.clamp(1, 1000)
}

/// Translates `limits` into the writes that apply them to cgroup `path` (relative to each
/// hierarchy) on a host laid out as `layout`, whose root is `root`.
///
/// Reads a few files to choose between variants (swap accounting, the io scheduler's
/// weight file, the current v1 swap limit for write order), writes nothing.
pub fn plan(
    limits: &Limits,
    root: &Path,
    layout: &CgroupLayout,
    path: &str,
) -> Result<Vec<Write>, CgroupError> {
    validate(limits)?;
    let mut p = Planner {
        root,
        layout,
        path,
        writes: Vec::new(),
    };
    p.memory(limits)?;
    p.cpu(limits)?;
    p.cpuset(limits)?;
    if let Some(n) = limits.pids {
        let at = p.place("pids", "pids", "pids")?;
        p.push(&at, "pids.max", n);
    }
    p.io(limits)?;
    for (size, bytes) in &limits.hugetlb {
        let at = p.place(&format!("hugetlb.{size}"), "hugetlb", "hugetlb")?;
        let file = match at.version {
            Version::V1 => format!("hugetlb.{size}.limit_in_bytes"),
            Version::V2 => format!("hugetlb.{size}.max"),
        };
        p.push(&at, file, bytes);
    }
    // Last, so a raw value overrides what the vocabulary wrote to the same file.
    for (key, value) in &limits.raw {
        p.raw(key, value)?;
    }
    Ok(p.writes)
}

/// Checks `limits` against this host: `host_cpus` CPUs, and the CPUs and memory nodes
/// (lists like "0-1") a new cgroup may use.
pub fn check(
    limits: &Limits,
    host_cpus: usize,
    allowed_cpus: &str,
    allowed_mems: &str,
) -> Result<(), CgroupError> {
    validate(limits)?;
    if let Some(cpus) = limits.cpus {
        if cpus > host_cpus as f64 {
            return Err(limit(
                "cpus",
                format!("{cpus} is more than this host's {host_cpus} CPUs (allowed 0.01 to {host_cpus})"),
            ));
        }
    }
    let sets = [
        ("cpuset.cpus", "CPU", &limits.cpuset_cpus, allowed_cpus),
        (
            "cpuset.mems",
            "memory node",
            &limits.cpuset_mems,
            allowed_mems,
        ),
    ];
    for (name, unit, wanted, allowed) in sets {
        let Some(wanted) = wanted else { continue };
        let Some(allowed_set) = parse_list(allowed) else {
            return Err(limit(
                name,
                format!("the allowed set '{allowed}' is not a list like \"0-3,5\""),
            ));
        };
        // validate() has parsed the wanted list already.
        let wanted_set = parse_list(wanted).unwrap_or_default();
        if let Some(outside) = first_outside(&wanted_set, &allowed_set) {
            return Err(limit(
                name,
                format!(
                    "{unit} {outside} is outside the allowed set {}",
                    allowed.trim()
                ),
            ));
        }
    }
    Ok(())
}

/// The CPUs and memory nodes a new top-level cgroup may use on this host, or `None`
/// when the host has no cpuset controller.
pub fn allowed_cpuset(
    root: &Path,
    layout: &CgroupLayout,
) -> Result<Option<(String, String)>, CgroupError> {
    let Some(at) = locate(layout, "cpuset", "cpuset") else {
        return Ok(None);
    };
    let dir = mount_dir(root, at.hierarchy);
    // v1 names the effective sets cpuset.effective_*, v2 cpuset.*.effective; the plain
    // files are the fallback for old v1 kernels.
    let names: [[&str; 2]; 2] = match at.version {
        Version::V1 => [
            ["cpuset.effective_cpus", "cpuset.cpus"],
            ["cpuset.effective_mems", "cpuset.mems"],
        ],
        Version::V2 => [
            ["cpuset.cpus.effective", "cpuset.cpus.effective"],
            ["cpuset.mems.effective", "cpuset.mems.effective"],
        ],
    };
    let read_first = |files: [&str; 2]| -> Result<String, CgroupError> {
        let path = if dir.join(files[0]).exists() {
            dir.join(files[0])
        } else {
            dir.join(files[1])
        };
        fs::read_to_string(&path)
            .map(|t| t.trim().to_owned())
            .map_err(|source| CgroupError::Read { path, source })
    };
    Ok(Some((read_first(names[0])?, read_first(names[1])?)))
}

/// Builds a plan, one limit at a time.
struct Planner<'a> {
    root: &'a Path,
    layout: &'a CgroupLayout,
    path: &'a str,
    writes: Vec<Write>,
}

impl<'a> Planner<'a> {
    /// Where the controller of `limit` lives, or the error naming mode and controller.
    fn place(&self, limit: &str, v1: &str, v2: &str) -> Result<Place<'a>, CgroupError> {
        locate(self.layout, v1, v2).ok_or_else(|| {
            let controller = if v1 == v2 {
                v1.to_owned()
            } else {
                format!("{v1} or {v2}")
            };
            no_controller(format!("limit '{limit}'"), self.layout, &controller)
        })
    }

    fn push(&mut self, at: &Place, file: impl Into<String>, value: impl ToString) {
        self.writes.push(Write {
            dir: at.dir(self.root, self.path),
            file: file.into(),
            value: value.to_string(),
        });
    }

    fn memory(&mut self, l: &Limits) -> Result<(), CgroupError> {
        if let Some(bytes) = l.memory {
            let at = self.place("memory", "memory", "memory")?;
            match at.version {
                Version::V1 => self.v1_memory_and_swap(&at, bytes, l.memory_swap)?,
                Version::V2 => self.push(&at, "memory.max", bytes),
            }
        }
        if let Some(bytes) = l.memory_high {
            let at = self.place("memory_high", "memory", "memory")?;
            match at.version {
                // v1 has no throttling threshold; the soft limit, toward which the group
                // is reclaimed first under memory pressure, is the closest it has.
                Version::V1 => self.push(&at, "memory.soft_limit_in_bytes", bytes),
                Version::V2 => self.push(&at, "memory.high", bytes),
            }
        }
        if let Some(bytes) = l.memory_swap {
            let at = self.place("memory_swap", "memory", "memory")?;
            match at.version {
                Version::V1 if l.memory.is_none() => {
                    return Err(limit(
                        "memory_swap",
                        "cgroup v1 limits memory and swap together \
                         (memory.memsw.limit_in_bytes = memory + swap), so set 'memory' too"
                            .to_owned(),
                    ));
                }
                Version::V1 => {} // written with memory above
                Version::V2 => self.push(&at, "memory.swap.max", bytes),
            }
        }
        Ok(())
    }

    /// v1 memory.limit_in_bytes, and memory.memsw.limit_in_bytes = memory + swap when swap
    /// is given, in the order the kernel accepts: it refuses any write that would leave
    /// memory above memory+swap, so memsw goes first when it is below the new memory.
    fn v1_memory_and_swap(
        &mut self,
        at: &Place,
        memory: u64,
        swap: Option<u64>,
    ) -> Result<(), CgroupError> {
        let Some(swap) = swap else {
            self.push(at, "memory.limit_in_bytes", memory);
            return Ok(());
        };
        if !mount_dir(self.root, at.hierarchy)
            .join("memory.memsw.limit_in_bytes")
            .exists()
        {
            return Err(limit(
                "memory_swap",
                "swap accounting is off on this host (no memory.memsw.limit_in_bytes; \
                 boot with swapaccount=1)"
                    .to_owned(),
            ));
        }
        // validate() has checked that the sum fits.
        let memsw = memory.saturating_add(swap);
        let current = fs::read_to_string(
            at.dir(self.root, self.path)
                .join("memory.memsw.limit_in_bytes"),
        )
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
        let memsw_first = current.is_some_and(|c| c < memory);
        if memsw_first {
            self.push(at, "memory.memsw.limit_in_bytes", memsw);
            self.push(at, "memory.limit_in_bytes", memory);
        } else {
            self.push(at, "memory.limit_in_bytes", memory);
            self.push(at, "memory.memsw.limit_in_bytes", memsw);
        }
        Ok(())
    }

    fn cpu(&mut self, l: &Limits) -> Result<(), CgroupError> {
        if let Some(cpus) = l.cpus {
            let at = self.place("cpus", "cpu", "cpu")?;
            let quota = (cpus * CPU_PERIOD_USEC as f64).round() as u64;
            match at.version {
                Version::V1 => {
                    self.push(&at, "cpu.cfs_period_us", CPU_PERIOD_USEC);
                    self.push(&at, "cpu.cfs_quota_us", quota);
                }
                Version::V2 => self.push(&at, "cpu.max", format!("{quota} {CPU_PERIOD_USEC}")),
            }
        }
        if let Some(weight) = l.cpu_weight {
            let at = self.place("cpu_weight", "cpu", "cpu")?;
            match at.version {
                Version::V1 => self.push(&at, "cpu.shares", cpu_shares(weight)),
                Version::V2 => self.push(&at, "cpu.weight", weight),
            }
        }
        Ok(())
    }

    fn cpuset(&mut self, l: &Limits) -> Result<(), CgroupError> {
        // The same file names in v1 and v2.
        for (name, value) in [
            ("cpuset.cpus", &l.cpuset_cpus),
            ("cpuset.mems", &l.cpuset_mems),
        ] {
            if let Some(list) = value {
                let at = self.place(name, "cpuset", "cpuset")?;
                self.push(&at, name, list.trim());
            }
        }
        Ok(())
    }

    fn io(&mut self, l: &Limits) -> Result<(), CgroupError> {
        if let Some(weight) = l.io_weight {
            let at = self.place("io.weight", "blkio", "io")?;
            let (file, value) = self.io_weight_file(&at, weight)?;
            self.push(&at, file, value);
        }
        for (device, rates) in &l.io_devices {
            let at = self.place(&format!("io.{device}"), "blkio", "io")?;
            let fields = [
                ("rbps", "read_bps_device", rates.rbps),
                ("wbps", "write_bps_device", rates.wbps),
                ("riops", "read_iops_device", rates.riops),
                ("wiops", "write_iops_device", rates.wiops),
            ];
            match at.version {
                Version::V1 => {
                    for (_, file, rate) in fields {
                        if let Some(n) = rate {
                            self.push(
                                &at,
                                format!("blkio.throttle.{file}"),
                                format!("{device} {n}"),
                            );
                        }
                    }
                }
                Version::V2 => {
                    let set: Vec<String> = fields
                        .iter()
                        .filter_map(|(key, _, rate)| rate.map(|n| format!("{key}={n}")))
                        .collect();
                    if !set.is_empty() {
                        self.push(&at, "io.max", format!("{device} {}", set.join(" ")));
                    }
                }
            }
        }
        Ok(())
    }

    /// The weight file of the io scheduler in use and the value for it. CFQ (gone since
    /// Linux 5.0) had blkio.weight, BFQ has blkio.bfq.weight / io.bfq.weight, and cgroup2's
    /// io.weight belongs to blk-iocost. Weight files exist only below the hierarchy root,
    /// so the group's directory decides; before it exists, the documented name is planned.
    fn io_weight_file(&self, at: &Place, weight: u64) -> Result<(String, String), CgroupError> {
        let dir = at.dir(self.root, self.path);
        let (main, bfq) = match at.version {
            Version::V1 => ("blkio.weight", "blkio.bfq.weight"),
            Version::V2 => ("io.weight", "io.bfq.weight"),
        };
        let main_value = match at.version {
            Version::V1 => blkio_weight(weight).to_string(),
            Version::V2 => format!("default {weight}"),
        };
        if !dir.is_dir() || dir.join(main).exists() {
            return Ok((main.to_owned(), main_value));
        }
        if dir.join(bfq).exists() {
            return Ok((bfq.to_owned(), bfq_weight(weight).to_string()));
        }
        Err(limit(
            "io.weight",
            format!(
                "no io scheduler with weights serves {} (neither {main} nor {bfq}; \
                 select bfq for the device)",
                dir.display()
            ),
        ))
    }

    fn raw(&mut self, key: &str, value: &str) -> Result<(), CgroupError> {
        let name = format!("raw.{key}");
        let (hierarchy, file) = match key.split_once('/') {
            Some((controller, file)) => {
                let h = self
                    .layout
                    .v1
                    .iter()
                    .find(|h| carries(h, controller))
                    .ok_or_else(|| {
                        no_controller(
                            format!("limit '{name}'"),
                            self.layout,
                            &format!("v1 {controller}"),
                        )
                    })?;
                (h, file)
            }
            None => {
                let prefix = key.split('.').next().unwrap_or(key);
                if prefix == "cgroup" {
                    let h = self.layout.unified.as_ref().ok_or_else(|| {
                        limit(
                            &name,
                            "cgroup.* files of cgroup2 need a cgroup2 mount, and this host has \
                             none; name a v1 hierarchy as \"controller/file\""
                                .to_owned(),
                        )
                    })?;
                    (h, key)
                } else {
                    (self.place(&name, prefix, prefix)?.hierarchy, key)
                }
            }
        };
        self.writes.push(Write {
            dir: group_dir(self.root, hierarchy, self.path),
            file: file.to_owned(),
            value: value.to_owned(),
        });
        Ok(())
    }
}

/// Checks what can be checked without the host: ranges, list and key syntax.
fn validate(l: &Limits) -> Result<(), CgroupError> {
    if l.memory == Some(0) {
        return Err(limit(
            "memory",
            "0 bytes leaves no memory; leave the limit out for none".to_owned(),
        ));
    }
    if let (Some(memory), Some(swap)) = (l.memory, l.memory_swap) {
        if memory.checked_add(swap).is_none() {
            return Err(limit(
                "memory_swap",
                format!("memory {memory} + swap {swap} overflows 64 bits"),
            ));
        }
    }
    if let Some(cpus) = l.cpus {
        // The kernel takes no CFS quota below 1 ms.
        if !cpus.is_finite() || cpus < 0.01 {
            return Err(limit(
                "cpus",
                format!(
                    "{cpus} is below 0.01, the smallest share the kernel takes (1 ms per 100 ms)"
                ),
            ));
        }
    }
    for (name, value) in [("cpu_weight", l.cpu_weight), ("io.weight", l.io_weight)] {
        if let Some(w) = value {
            if !(1..=10_000).contains(&w) {
                return Err(limit(
                    name,
                    format!("{w} is outside 1 to 10000 (default 100)"),
                ));
            }
        }
    }
    for (name, value) in [
        ("cpuset.cpus", &l.cpuset_cpus),
        ("cpuset.mems", &l.cpuset_mems),
    ] {
        if let Some(list) = value {
            match parse_list(list) {
                Some(set) if !set.is_empty() => {}
                Some(_) => {
                    return Err(limit(
                        name,
                        "is empty; leave it out to keep the parent's set".to_owned(),
                    ))
                }
                None => {
                    return Err(limit(
                        name,
                        format!("'{list}' is not a list like \"0-3,5\""),
                    ))
                }
            }
        }
    }
    for device in l.io_devices.keys() {
        let ok = device.split_once(':').is_some_and(|(major, minor)| {
            major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok()
        });
        if !ok {
            return Err(limit(
                &format!("io.{device}"),
                "a device is named \"MAJOR:MINOR\", like \"8:0\"".to_owned(),
            ));
        }
    }
    for size in l.hugetlb.keys() {
        let digits = ["KB", "MB", "GB"]
            .iter()
            .find_map(|unit| size.strip_suffix(unit));
        let ok = digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(limit(
                &format!("hugetlb.{size}"),
                "a huge page size is written as the kernel names it, like \"2MB\" or \"1GB\""
                    .to_owned(),
            ));
        }
    }
    for key in l.raw.keys() {
        let (controller, file) = match key.split_once('/') {
            Some((c, f)) => (Some(c), f),
            None => (None, key.as_str()),
        };
        // Without a controller, the part before the first '.' names it.
        let bad_file = file.is_empty()
            || file.contains('/')
            || file.starts_with('.')
            || (controller.is_none() && !file.contains('.'));
        // Controller names are like "memory" or "name=systemd".
        let bad_controller = controller.is_some_and(|c| {
            c.is_empty()
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'=')
        });
        if bad_file || bad_controller {
            return Err(limit(
                &format!("raw.{key}"),
                "a raw key is a control file (\"memory.oom.group\") or \"controller/file\" \
                 (\"memory/memory.swappiness\")"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

fn limit(name: &str, reason: String) -> CgroupError {
    CgroupError::Limit {
        limit: name.to_owned(),
        reason,
    }
}

/// Parses a kernel list ("0-3,5", "" for none) into inclusive ranges; `None` if malformed.
pub(super) fn parse_list(text: &str) -> Option<Vec<(u32, u32)>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|part| {
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            let (lo, hi) = (
                lo.trim().parse::<u32>().ok()?,
                hi.trim().parse::<u32>().ok()?,
            );
            (lo <= hi).then_some((lo, hi))
        })
        .collect()
}

/// The lowest number in `wanted` that no range of `allowed` covers.
fn first_outside(wanted: &[(u32, u32)], allowed: &[(u32, u32)]) -> Option<u32> {
    let mut candidates: Vec<u32> = Vec::new();
    for &(lo, hi) in wanted {
        let mut n = lo;
        loop {
            match allowed.iter().find(|&&(a, b)| a <= n && n <= b) {
                None => {
                    candidates.push(n);
                    break;
                }
                Some(&(_, b)) if b >= hi => break,
                Some(&(_, b)) => n = b + 1,
            }
        }
    }
    candidates.into_iter().min()
}

#[cfg(test)]
#[path = "limits_tests.rs"]
pub(super) mod tests;
