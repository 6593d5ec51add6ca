//! `luxc inspect LAB [--json]`: a lab's containers (pid, status, addresses,
//! cgroup, devices), links, namespaces, nft tables, sysctls and qdiscs. Read
//! only: no lock is taken, so it works while a script holds the lab.

use std::fmt::Write as _;
use std::path::Path;

use crate::engine::view::{self, Host, LabStatus, LabView};

/// Prints the lab (text or JSON); exit status 1 with a message when there is
/// no such lab or its journal cannot be read.
pub fn run(lab: &str, json: bool) -> i32 {
    let host = Host::real();
    let mut v = match view::view(&host, lab) {
        Ok(v) => v,
        Err(e @ view::ViewError::Unreadable { .. }) => {
            eprintln!(
                "luxc inspect: {}; `luxc down --force {lab}` removes what its readable lines record",
                crate::error::chain(&e)
            );
            return 1;
        }
        Err(e) => {
            eprintln!("luxc inspect: {}", crate::error::chain(&e));
            return 1;
        }
    };
    v.read_addresses(&host);
    if json {
        match serde_json::to_string_pretty(&v) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("luxc inspect: cannot encode the view: {e}");
                return 1;
            }
        }
    } else {
        print!("{}", render(&v));
    }
    0
}

/// "host" for the host's namespace, else the pin's path.
fn ns(netns: Option<&Path>) -> String {
    netns.map_or_else(|| "host".to_string(), |p| p.display().to_string())
}

/// The text for people: a header, then one section per kind of object
/// (sections with nothing in them are left out).
pub fn render(v: &LabView) -> String {
    let mut out = String::new();
    let status = match (v.status, v.holder) {
        (LabStatus::InUse, Some(pid)) => format!("in use by luxc pid {pid}"),
        (s, _) => s.as_str().to_string(),
    };
    let _ = writeln!(out, "lab {}: {status}", v.name);
    let _ = writeln!(out, "journal: {}", v.journal.display());
    if !v.containers.is_empty() {
        let _ = writeln!(out, "containers:");
    }
    for c in &v.containers {
        let _ = writeln!(out, "  {}: {}, pid {}", c.name, c.status, c.pid);
        if let Some(cg) = &c.cgroup {
            let _ = writeln!(out, "    cgroup: {cg}");
        }
        if let Some(n) = &c.netns {
            let _ = writeln!(out, "    netns: {}", n.display());
        }
        for a in &c.addresses {
            let _ = writeln!(out, "    address: {} {}", a.interface, a.address);
        }
        if let Some(e) = &c.addresses_error {
            let _ = writeln!(out, "    addresses: cannot read: {e}");
        }
        for d in &c.devices {
            let _ = writeln!(out, "    device: {} (as {})", d.host_name, d.name);
        }
        let _ = writeln!(out, "    dir: {}", c.dir.display());
    }
    section(&mut out, "links", &v.links, |l| {
        let peer = l
            .peer
            .as_ref()
            .map(|p| format!(", peer in {}", p.display()))
            .unwrap_or_default();
        format!("{} in {}{peer}", l.name, ns(l.netns.as_deref()))
    });
    section(&mut out, "namespaces", &v.namespaces, |n| {
        n.display().to_string()
    });
    section(&mut out, "nft tables", &v.nft_tables, |t| {
        format!("{} in {}", t.table, ns(t.netns.as_deref()))
    });
    section(&mut out, "sysctls", &v.sysctls, |s| {
        format!("{} in {} (was {})", s.key, ns(s.netns.as_deref()), s.old)
    });
    section(&mut out, "qdiscs", &v.qdiscs, |q| {
        format!("root of {} in {}", q.link, ns(q.netns.as_deref()))
    });
    section(&mut out, "devices", &v.devices, |d| {
        format!("{} as {} in {}", d.host_name, d.name, d.netns.display())
    });
    section(&mut out, "pci drivers", &v.pci_drivers, |p| {
        let back = p.original.as_deref().unwrap_or("no driver");
        match &p.root {
            Some(r) => format!("{} (back to {back}, under {})", p.address, r.display()),
            None => format!("{} (back to {back})", p.address),
        }
    });
    section(&mut out, "cgroups", &v.cgroups, |c| c.clone());
    section(&mut out, "unfinished", &v.unfinished, |u| u.clone());
    out
}

fn section<T>(out: &mut String, title: &str, items: &[T], line: impl Fn(&T) -> String) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    for item in items {
        let _ = writeln!(out, "  {}", line(item));
    }
}
