//! `luxc.pci` through the real binding, on this host's own PCI devices (read
//! only: nothing is bound or unbound). Expected values come from reading
//! /sys/bus/pci directly here, not from luxc's reader.

use std::fs;

use luxc::lua::{runtime, RuntimeOptions};
use mlua::{Lua, Table};

fn lua() -> Lua {
    runtime(&RuntimeOptions::default()).expect("runtime")
}

/// The error message of `call`, made from a Lua line and caught with pcall.
fn error_of(lua: &Lua, call: &str) -> String {
    let code = format!(
        "local ok, e = pcall(function() local _ = {call} end) assert(not ok, 'no error') return e"
    );
    lua.load(&code)
        .set_name("=t")
        .eval::<String>()
        .unwrap_or_else(|e| panic!("{call}: {e}"))
}

fn rejects(lua: &Lua, call: &str, want: &str) {
    assert_eq!(error_of(lua, call), format!("t:1: {want}"), "for {call}");
}

/// (address, vendor, device, class) of one function, hex without `0x`.
type Ids = (String, String, String, String);

/// The ids of every function, as sysfs has them, in address order.
fn sysfs_devices() -> Vec<Ids> {
    let dir = "/sys/bus/pci/devices";
    let mut out: Vec<_> = fs::read_dir(dir)
        .expect("read /sys/bus/pci/devices")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|addr| {
            let attr = |f: &str| {
                let v = fs::read_to_string(format!("{dir}/{addr}/{f}")).unwrap();
                v.trim().trim_start_matches("0x").to_string()
            };
            (addr.clone(), attr("vendor"), attr("device"), attr("class"))
        })
        .collect();
    out.sort();
    out
}

fn iommu_groups() -> usize {
    fs::read_dir("/sys/kernel/iommu_groups")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn list_returns_every_function_with_its_sysfs_ids() {
    let want = sysfs_devices();
    assert!(!want.is_empty(), "this host has PCI devices");
    let l = lua();
    let list: Table = l.load("return luxc.pci.list()").eval().unwrap();
    let got: Vec<Ids> = list
        .sequence_values::<Table>()
        .map(|d| {
            let d = d.unwrap();
            let s = |k: &str| d.get::<String>(k).unwrap();
            (s("address"), s("vendor"), s("device"), s("class"))
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn get_accepts_both_address_forms_and_returns_a_handle() {
    let (addr, vendor, device, class) = sysfs_devices().remove(0);
    let short = addr.strip_prefix("0000:").unwrap_or(&addr).to_string();
    let l = lua();
    l.globals().set("ADDR", short).unwrap();
    let (address, text, same_info, plain): (String, String, bool, bool) = l
        .load(
            "local d = luxc.pci.get(ADDR)
             local i = d:info()
             return d.address, tostring(d), i.address == d.address and i.vendor == d.vendor,
                    getmetatable(i) == nil",
        )
        .eval()
        .unwrap();
    assert_eq!(address, addr);
    assert!(
        text.starts_with(&format!("pci {addr} [{class}] {vendor}:{device} (")),
        "{text}"
    );
    assert!(same_info && plain, "info() is a fresh plain table");
}

#[test]
fn filters_select_what_sysfs_says() {
    let all = sysfs_devices();
    let (_, vendor, device, class) = all[all.len() - 1].clone();
    let count = |pred: &dyn Fn(&Ids) -> bool| all.iter().filter(|d| pred(d)).count() as i64;
    let l = lua();
    let n = |code: &str| -> i64 {
        l.load(format!("return #luxc.pci.list{code}"))
            .eval()
            .unwrap()
    };
    assert_eq!(
        n(&format!("{{ vendor = '{vendor}' }}")),
        count(&|d| d.1 == vendor)
    );
    assert_eq!(
        n(&format!("{{ vendor = 0x{vendor} }}")),
        count(&|d| d.1 == vendor),
        "an integer id selects the same"
    );
    assert_eq!(
        n(&format!("{{ vendor = '{vendor}', device = '{device}' }}")),
        count(&|d| d.1 == vendor && d.2 == device)
    );
    assert_eq!(
        n(&format!("{{ class = '{}' }}", &class[..2])),
        count(&|d| d.3.starts_with(&class[..2]))
    );
    assert_eq!(n("{ driver = 'no-such-driver' }"), 0);
}

#[test]
fn bad_input_is_named() {
    let l = lua();
    rejects(
        &l,
        "luxc.pci.get('zz')",
        "luxc.pci.get: argument 1: malformed PCI address 'zz': no '.FUNCTION' \
         (expected DOMAIN:BUS:DEVICE.FUNCTION in hex, e.g. 0000:01:00.0 or 01:00.0)",
    );
    rejects(
        &l,
        "luxc.pci.get('00:20.0')",
        "luxc.pci.get: argument 1: malformed PCI address '00:20.0': device 0x20 is out of range (0 to 0x1f)",
    );
    rejects(
        &l,
        "luxc.pci.get(3)",
        "luxc.pci.get: argument 1: expected a PCI address string (\"0000:01:00.0\"), got number",
    );
    let absent = "0000:fe:1f.7";
    assert!(!std::path::Path::new(&format!("/sys/bus/pci/devices/{absent}")).exists());
    rejects(
        &l,
        &format!("luxc.pci.get('{absent}')"),
        &format!("luxc.pci.get: no PCI device {absent} (nothing at /sys/bus/pci/devices/{absent})"),
    );
    rejects(
        &l,
        "luxc.pci.list{ class = 3 }",
        "luxc.pci.list: field 'class': expected a string of hex digits (\"03\", \"0300\", \"030000\"), got number",
    );
    rejects(
        &l,
        "luxc.pci.list{ class = '3' }",
        "luxc.pci.list: field 'class': expected 2, 4 or 6 hex digits of a class code (\"03\", \"0300\", \"030000\"), got '3'",
    );
    rejects(
        &l,
        "luxc.pci.list{ vendor = 0x10000 }",
        "luxc.pci.list: field 'vendor': expected an id from 0 to 0xffff, got 65536",
    );
    rejects(
        &l,
        "luxc.pci.list{ device = 'abc' }",
        "luxc.pci.list: field 'device': expected 4 hex digits (\"8086\"), got 'abc'",
    );
    rejects(
        &l,
        "luxc.pci.list{ vndor = '8086' }",
        "luxc.pci.list: unknown option 'vndor' (expected one of: class, device, driver, vendor)",
    );
    rejects(
        &l,
        "luxc.pci.list(5)",
        "luxc.pci.list: argument 1: expected an option table, got number",
    );
    let (addr, ..) = sysfs_devices().remove(0);
    rejects(
        &l,
        &format!("luxc.pci.get('{addr}').group()"),
        "pci_device:group: self: expected a PCI device, got nil (call it with ':')",
    );
}

#[test]
fn group_and_vfio_status_follow_the_hosts_iommu() {
    let (addr, ..) = sysfs_devices().remove(0);
    let l = lua();
    l.globals().set("ADDR", addr.clone()).unwrap();
    if iommu_groups() == 0 {
        for method in ["group", "vfio_status"] {
            let msg = error_of(&l, &format!("luxc.pci.get(ADDR):{method}()"));
            assert!(
                msg.starts_with(&format!("t:1: pci_device:{method}: no IOMMU on this host"))
                    && msg.contains("intel_iommu=on or amd_iommu=on"),
                "{msg}"
            );
        }
    } else {
        let (has_self, group_matches): (bool, bool) = l
            .load(
                "local d = luxc.pci.get(ADDR)
                 local found = false
                 for _, m in ipairs(d:group()) do found = found or m.address == d.address end
                 return found, d:vfio_status().group == d.iommu_group",
            )
            .eval()
            .unwrap();
        assert!(has_self && group_matches);
    }
}
