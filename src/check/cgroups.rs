//! Cgroups: the mode, the hierarchies, and the controllers container limits need.

use crate::cgroup::{CgroupLayout, CgroupMode, Hierarchy};

use super::kconfig::Tristate;
use super::{Host, Item};

const SECTION: &str = "Cgroups";

/// mode, v1 controllers, cgroup2, then memory, cpu, pids, devices and freezer.
pub(super) fn items(host: &Host) -> Vec<Item> {
    let layout = match &host.cgroup {
        Ok(layout) => layout,
        Err(why) => return undetected(why),
    };
    let mut items = vec![mode(layout), v1(layout)];
    items.extend(layout.v1.iter().map(hierarchy));
    items.push(unified(layout));
    for name in ["memory", "cpu", "pids"] {
        let item = match layout.hierarchy_of(name) {
            Some(h) => Item::ok(SECTION, name, place(layout, h)),
            None => Item::missing(
                SECTION,
                name,
                format!("no hierarchy carries the {name} controller"),
            )
            .advice(format!(
                "container limits need {name}; enable it in cgroup.subtree_control or mount it"
            )),
        };
        items.push(item.require(true));
    }
    items.push(devices(host, layout).require(true));
    items.push(freezer(host, layout));
    items
}

/// Without a cgroup layout no limit can be set, so mode and every key controller are missing.
fn undetected(why: &str) -> Vec<Item> {
    let mut items = vec![Item::missing(SECTION, "mode", why)
        .advice("mount cgroup2: mount -t cgroup2 none /sys/fs/cgroup")
        .require(true)];
    for name in ["memory", "cpu", "pids", "devices"] {
        items.push(Item::missing(SECTION, name, "no cgroup hierarchy detected").require(true));
    }
    items
}

fn mode(layout: &CgroupLayout) -> Item {
    let unified = layout
        .unified
        .as_ref()
        .map(|h| h.mountpoint.display().to_string());
    let detail = match layout.mode {
        CgroupMode::V2 => format!("v2: cgroup2 at {}", unified.unwrap_or_default()),
        CgroupMode::V1 => "v1: cgroup v1 hierarchies only, no cgroup2".to_owned(),
        CgroupMode::Hybrid if layout.v1.iter().all(named_only) => {
            format!(
                "hybrid: named v1 hierarchies + cgroup2 at {}",
                unified.unwrap_or_default()
            )
        }
        CgroupMode::Hybrid => format!(
            "hybrid: v1 controllers + cgroup2 at {}",
            unified.unwrap_or_default()
        ),
    };
    Item::ok(SECTION, "mode", detail).require(true)
}

fn v1(layout: &CgroupLayout) -> Item {
    let all: Vec<&str> = layout
        .v1
        .iter()
        .flat_map(|h| h.controllers.iter().map(String::as_str))
        .collect();
    if all.is_empty() {
        return Item::ok(
            SECTION,
            "v1 controllers",
            "none mounted (not needed with cgroup2)",
        );
    }
    Item::ok(SECTION, "v1 controllers", all.join(" "))
}

/// One line per v1 hierarchy: where it is mounted and what it carries.
fn hierarchy(h: &Hierarchy) -> Item {
    let name = format!("v1 {}", h.mountpoint.display());
    Item::ok(SECTION, &name, h.controllers.join(" "))
}

fn unified(layout: &CgroupLayout) -> Item {
    let Some(h) = &layout.unified else {
        return Item::limited(SECTION, "cgroup2", "not mounted; limits go through the v1 hierarchies")
            .advice("mount -t cgroup2 none /sys/fs/cgroup/unified, or boot with systemd.unified_cgroup_hierarchy=1");
    };
    let at = h.mountpoint.display();
    if !h.controllers.is_empty() {
        return Item::ok(
            SECTION,
            "cgroup2",
            format!("{at}: {}", h.controllers.join(" ")),
        );
    }
    let detail = match layout.mode {
        CgroupMode::Hybrid => format!("{at}: no controllers; the v1 hierarchies carry them"),
        _ => format!("{at}: no controllers enabled"),
    };
    Item::limited(SECTION, "cgroup2", detail)
        .advice("for cgroup2 limits, boot with systemd.unified_cgroup_hierarchy=1 (frees the v1 controllers)")
}

/// Device control is the v1 devices controller, or on cgroup2 a BPF program.
fn devices(host: &Host, layout: &CgroupLayout) -> Item {
    if let Some(h) = layout
        .v1
        .iter()
        .find(|h| h.controllers.iter().any(|c| c == "devices"))
    {
        return Item::ok(
            SECTION,
            "devices",
            format!("v1 at {}", h.mountpoint.display()),
        );
    }
    if layout.unified.is_none() {
        return Item::missing(
            SECTION,
            "devices",
            "no v1 devices controller and no cgroup2",
        )
        .advice("mount the v1 devices controller or cgroup2");
    }
    match host.config.as_ref().map(|c| c.get("CGROUP_BPF")) {
        Ok(Tristate::NotSet) => Item::missing(
            SECTION,
            "devices",
            "cgroup2 without CONFIG_CGROUP_BPF: no device control",
        )
        .advice("use a kernel with CONFIG_CGROUP_BPF=y; device grants cannot be enforced"),
        Ok(_) => Item::ok(SECTION, "devices", "cgroup2 via BPF (CONFIG_CGROUP_BPF=y)"),
        Err(_) => Item::limited(
            SECTION,
            "devices",
            "cgroup2 needs CONFIG_CGROUP_BPF: cannot tell, no kernel config found",
        )
        .advice("expose the kernel config (CONFIG_IKCONFIG_PROC) to confirm CONFIG_CGROUP_BPF"),
    }
}

/// Freezing is the v1 freezer controller, or cgroup.freeze, which cgroup2 has since 5.2.
fn freezer(host: &Host, layout: &CgroupLayout) -> Item {
    if let Some(h) = layout
        .v1
        .iter()
        .find(|h| h.controllers.iter().any(|c| c == "freezer"))
    {
        return Item::ok(
            SECTION,
            "freezer",
            format!("v1 at {}", h.mountpoint.display()),
        );
    }
    let Some(h) = &layout.unified else {
        return Item::missing(
            SECTION,
            "freezer",
            "no v1 freezer controller and no cgroup2",
        )
        .advice("mount the v1 freezer controller or cgroup2; :freeze() will fail");
    };
    match host.kernel_at_least(5, 2) {
        Some(true) => Item::ok(
            SECTION,
            "freezer",
            format!("cgroup2 cgroup.freeze at {}", h.mountpoint.display()),
        ),
        Some(false) => Item::missing(
            SECTION,
            "freezer",
            "cgroup2 before kernel 5.2 has no cgroup.freeze",
        )
        .advice("use kernel 5.2 or later, or the v1 freezer controller"),
        None => Item::limited(
            SECTION,
            "freezer",
            "cannot tell: kernel release unknown (cgroup.freeze needs 5.2)",
        )
        .advice("check that /proc/sys/kernel/osrelease is readable"),
    }
}

/// Where a controller lives, for the detail column.
fn place(layout: &CgroupLayout, h: &Hierarchy) -> String {
    let kind = if layout.unified.as_ref() == Some(h) {
        "cgroup2"
    } else {
        "v1"
    };
    format!("{kind} at {}", h.mountpoint.display())
}

fn named_only(h: &Hierarchy) -> bool {
    h.controllers.iter().all(|c| c.starts_with("name="))
}
