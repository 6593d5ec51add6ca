//! `luxc pci ls` on this host (read only, no root needed): the JSON list
//! against /sys/bus/pci read directly, and against `lspci -n` when pciutils is
//! installed; the text and tree forms name every function.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{luxc, text};
use serde_json::Value;

const DEVICES: &str = "/sys/bus/pci/devices";

fn attr(addr: &str, file: &str) -> String {
    let v = fs::read_to_string(format!("{DEVICES}/{addr}/{file}"))
        .unwrap_or_else(|e| panic!("{addr}/{file}: {e}"));
    v.trim().trim_start_matches("0x").to_string()
}

fn link_name(path: &str) -> Option<String> {
    fs::read_link(path)
        .ok()
        .map(|t| t.file_name().unwrap().to_string_lossy().into_owned())
}

fn ls_json() -> Vec<Value> {
    let out = luxc(["pci", "ls", "--json"], "");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    v.as_array().expect("a JSON array").clone()
}

#[test]
fn json_lists_every_function_with_the_ids_sysfs_has() {
    let mut addrs: Vec<String> = fs::read_dir(DEVICES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    addrs.sort();
    let devices = ls_json();
    let listed: Vec<&str> = devices
        .iter()
        .map(|d| d["address"].as_str().unwrap())
        .collect();
    assert_eq!(listed, addrs);
    for (d, addr) in devices.iter().zip(&addrs) {
        for (field, file) in [
            ("vendor", "vendor"),
            ("device", "device"),
            ("subsystem_vendor", "subsystem_vendor"),
            ("subsystem_device", "subsystem_device"),
            ("class", "class"),
        ] {
            assert_eq!(d[field], attr(addr, file).as_str(), "{addr} {field}");
        }
        let driver = link_name(&format!("{DEVICES}/{addr}/driver"));
        assert_eq!(d["driver"].as_str(), driver.as_deref(), "{addr} driver");
        let group =
            link_name(&format!("{DEVICES}/{addr}/iommu_group")).map(|g| g.parse::<u64>().unwrap());
        assert_eq!(d["iommu_group"].as_u64(), group, "{addr} group");
    }
}

#[test]
fn json_names_the_network_interfaces_of_each_function() {
    // Independently: walk each interface's device link up to a PCI directory.
    let mut want: Vec<(String, String)> = Vec::new();
    for e in fs::read_dir("/sys/class/net").unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Ok(dev) = fs::canonicalize(format!("/sys/class/net/{name}/device")) else {
            continue;
        };
        let owner = dev.ancestors().find_map(|p| {
            let n = p.file_name()?.to_string_lossy().into_owned();
            Path::new(DEVICES).join(&n).exists().then_some(n)
        });
        if let Some(addr) = owner {
            want.push((addr, name));
        }
    }
    want.sort();
    let mut got: Vec<(String, String)> = Vec::new();
    for d in ls_json() {
        for n in d["net"].as_array().unwrap() {
            got.push((
                d["address"].as_str().unwrap().to_string(),
                n.as_str().unwrap().to_string(),
            ));
        }
    }
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn json_agrees_with_lspci_when_it_is_installed() {
    let Ok(out) = Command::new("lspci").args(["-n", "-D"]).output() else {
        eprintln!("lspci not installed (Debian: pciutils); comparison skipped");
        return;
    };
    assert!(out.status.success());
    let devices = ls_json();
    let lines = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    // `0000:00:03.0 0200: 1af4:1041 (rev 01)`
    for line in lines.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let d = devices
            .iter()
            .find(|d| d["address"] == f[0])
            .unwrap_or_else(|| panic!("lspci lists {}, luxc does not", f[0]));
        let class = d["class"].as_str().unwrap();
        assert_eq!(format!("{}:", &class[..4]), f[1], "{line}");
        let ids = format!(
            "{}:{}",
            d["vendor"].as_str().unwrap(),
            d["device"].as_str().unwrap()
        );
        assert_eq!(ids, f[2], "{line}");
        if let Some(rev) = line.split("(rev ").nth(1) {
            assert_eq!(d["revision"], rev.trim_end_matches(')'), "{line}");
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        devices.len(),
        "lspci and luxc list as many functions"
    );
}

#[test]
fn text_and_tree_name_every_function_with_its_driver() {
    let devices = ls_json();
    for args in [&["pci", "ls"][..], &["pci", "ls", "--tree"][..]] {
        let out = luxc(args, "");
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{args:?}: {stderr}");
        for d in &devices {
            let addr = d["address"].as_str().unwrap();
            let ids = format!(
                "[{}:{}]",
                d["vendor"].as_str().unwrap(),
                d["device"].as_str().unwrap()
            );
            let head = stdout
                .lines()
                .position(|l| l.contains(addr) && l.contains(&ids))
                .unwrap_or_else(|| panic!("{args:?}: no line for {addr} {ids}:\n{stdout}"));
            let details = stdout.lines().nth(head + 1).unwrap();
            let driver = d["driver"].as_str().unwrap_or("none");
            assert!(details.contains(&format!("driver: {driver}")), "{details}");
        }
        let groups = fs::read_dir("/sys/kernel/iommu_groups").map_or(0, |d| d.count());
        assert_eq!(
            stdout.contains("intel_iommu=on or amd_iommu=on"),
            groups == 0,
            "the IOMMU hint shows exactly when the host has no groups"
        );
    }
}

#[test]
fn pci_takes_no_lua_code_and_json_and_tree_exclude_each_other() {
    let out = luxc(["-e", "print(1)", "pci", "ls"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("`luxc pci` takes none"));
    let out = luxc(["pci", "ls", "--json", "--tree"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("cannot be used with"));
}
