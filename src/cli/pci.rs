//! `luxc pci ls`: the host's PCI functions, lspci-like, with driver, IOMMU
//! group and what is bound to them; `--tree` nests them behind their bridges.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::pci::{self, Address, Device, Filter, IOMMU_HINT};

/// Prints the listing (text, tree or JSON); exit status 1 when sysfs cannot be read.
pub fn ls(json: bool, tree: bool) -> i32 {
    let root = Path::new("/");
    let devices = match pci::list(root, &Filter::default()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("luxc pci ls: {}", crate::error::chain(&e));
            return 1;
        }
    };
    let mut text = if json {
        match serde_json::to_string_pretty(&devices) {
            Ok(text) => text + "\n",
            Err(e) => {
                eprintln!("luxc pci ls: cannot encode the list: {e}");
                return 1;
            }
        }
    } else {
        render(&devices, tree)
    };
    if !json && !pci::iommu_enabled(root).unwrap_or(false) {
        let _ = writeln!(text, "no IOMMU groups on this host: {IOMMU_HINT}");
    }
    emit(&text)
}

/// Writes to stdout; a reader that went away (`luxc pci ls | head`) is no error.
fn emit(text: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("luxc pci ls: write to stdout: {e}");
            1
        }
    }
}

/// The text listing: two lines per function (what it is; driver, group and
/// the rest), in address order or, with `tree`, nested behind bridges.
pub fn render(devices: &[Device], tree: bool) -> String {
    let mut out = String::new();
    if !tree {
        for d in devices {
            let _ = writeln!(out, "{}", headline(d));
            let _ = writeln!(out, "    {}", details(d));
        }
        return out;
    }
    let known: Vec<Address> = devices.iter().map(|d| d.address).collect();
    let mut children: BTreeMap<Option<Address>, Vec<&Device>> = BTreeMap::new();
    for d in devices {
        // A parent that is not listed (filtered out, or gone) makes a root.
        let parent = d.parent.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(d);
    }
    let roots = children.get(&None).cloned().unwrap_or_default();
    let last = roots.len().saturating_sub(1);
    for (i, d) in roots.iter().enumerate() {
        branch(&mut out, &children, d, "", i == last, true);
    }
    out
}

/// One device and, below it, what sits behind it.
fn branch(
    out: &mut String,
    children: &BTreeMap<Option<Address>, Vec<&Device>>,
    d: &Device,
    indent: &str,
    last: bool,
    root: bool,
) {
    let (mark, more) = match (root, last) {
        (true, _) => ("", ""),
        (false, false) => ("├─ ", "│  "),
        (false, true) => ("└─ ", "   "),
    };
    let _ = writeln!(out, "{indent}{mark}{}", headline(d));
    let below = format!("{indent}{more}");
    let kids = children.get(&Some(d.address)).cloned().unwrap_or_default();
    let bar = if kids.is_empty() { "  " } else { "│ " };
    let _ = writeln!(out, "{below}{bar}  {}", details(d));
    let n = kids.len();
    for (i, k) in kids.iter().enumerate() {
        branch(out, children, k, &below, i + 1 == n, false);
    }
}

/// `0000:00:03.0 Ethernet controller [0200]: Red Hat, Inc. Virtio 1.0 network device [1af4:1041] (rev 01)`
fn headline(d: &Device) -> String {
    let class = d.class_name.as_deref().unwrap_or("Class");
    let mut line = format!("{} {class} [{:04x}]: ", d.address, d.class >> 8);
    match (&d.vendor_name, &d.device_name) {
        (Some(v), Some(n)) => line.push_str(&format!("{v} {n} ")),
        (Some(v), None) => line.push_str(&format!("{v} Device ")),
        _ => line.push_str("Device "),
    }
    line.push_str(&format!("[{:04x}:{:04x}]", d.vendor, d.device));
    if let Some(r) = d.revision {
        line.push_str(&format!(" (rev {r:02x})"));
    }
    line
}

/// `driver: virtio-pci  group: 3  numa: 0  net: eth0`
fn details(d: &Device) -> String {
    let mut parts = vec![format!("driver: {}", d.driver.as_deref().unwrap_or("none"))];
    parts.push(match d.iommu_group {
        Some(g) => format!("group: {g}"),
        None => "group: none".to_string(),
    });
    if let Some(n) = d.numa_node {
        parts.push(format!("numa: {n}"));
    }
    if d.bridge {
        parts.push("bridge".to_string());
    }
    if let Some(s) = d.sriov {
        parts.push(format!("sriov: {}/{} VFs", s.enabled, s.total));
    }
    if let Some(pf) = d.physfn {
        parts.push(format!("vf of {pf}"));
    }
    if !d.net.is_empty() {
        parts.push(format!("net: {}", d.net.join(",")));
    }
    if !d.drm.is_empty() {
        parts.push(format!("drm: {}", d.drm.join(",")));
    }
    parts.join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(addr: &str, parent: Option<&str>, class: u32, driver: Option<&str>) -> Device {
        Device {
            address: Address::parse(addr).unwrap(),
            vendor: 0x8086,
            device: 0x1901,
            subsystem_vendor: 0x8086,
            subsystem_device: 0,
            class,
            revision: Some(7),
            vendor_name: Some("Intel Corporation".into()),
            device_name: None,
            subsystem_name: None,
            class_name: None,
            driver: driver.map(Into::into),
            iommu_group: Some(2),
            numa_node: None,
            bridge: class >> 8 == 0x0604,
            sriov: None,
            physfn: None,
            parent: parent.map(|p| Address::parse(p).unwrap()),
            net: vec![],
            drm: vec![],
        }
    }

    #[test]
    fn lines_say_what_it_is_and_what_holds_it() {
        let mut d = dev("0000:02:00.0", None, 0x020000, Some("igb"));
        d.net = vec!["eth0".into()];
        d.class_name = Some("Ethernet controller".into());
        let text = render(&[d], false);
        assert_eq!(
            text,
            "0000:02:00.0 Ethernet controller [0200]: Intel Corporation Device [8086:1901] (rev 07)\n    \
             driver: igb  group: 2  net: eth0\n"
        );
    }

    #[test]
    fn the_tree_nests_functions_behind_their_bridges() {
        let devs = [
            dev("0000:00:00.0", None, 0x060000, None),
            dev("0000:00:01.0", None, 0x060400, Some("pcieport")),
            dev(
                "0000:01:00.0",
                Some("0000:00:01.0"),
                0x030000,
                Some("nvidia"),
            ),
            dev("0000:01:00.1", Some("0000:00:01.0"), 0x040300, None),
        ];
        let text = render(&devs, true);
        let heads: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("[8086:1901]"))
            .map(|l| l.split(" Class").next().unwrap())
            .collect();
        assert_eq!(
            heads,
            [
                "0000:00:00.0",
                "0000:00:01.0",
                "├─ 0000:01:00.0",
                "└─ 0000:01:00.1"
            ],
            "{text}"
        );
        assert!(
            text.contains("│      driver: nvidia  group: 2"),
            "details stay under the branch line:\n{text}"
        );
        assert!(
            text.contains("│   driver: pcieport  group: 2  bridge"),
            "{text}"
        );
    }
}
