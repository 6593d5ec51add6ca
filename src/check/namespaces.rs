//! Namespaces: each kind exists iff the kernel shows its file under /proc/self/ns.

use super::{Host, Item};

const SECTION: &str = "Namespaces";

/// (item name, file under /proc/self/ns, config symbol that provides it, required).
const KINDS: &[(&str, &str, &str, bool)] = &[
    ("mount", "mnt", "NAMESPACES", true),
    ("uts", "uts", "UTS_NS", true),
    ("ipc", "ipc", "IPC_NS", true),
    ("pid", "pid", "PID_NS", true),
    ("net", "net", "NET_NS", true),
    ("cgroup", "cgroup", "CGROUP_NS", false),
    ("user", "user", "USER_NS", false),
    ("time", "time", "TIME_NS", false),
];

/// One item per namespace kind; mount, uts, ipc, pid and net are required for any container.
pub(super) fn items(host: &Host) -> Vec<Item> {
    KINDS
        .iter()
        .map(|&(name, file, symbol, required)| {
            let path = format!("/proc/self/ns/{file}");
            let item = if host.path(&path).exists() {
                Item::ok(SECTION, name, path)
            } else {
                Item::missing(SECTION, name, format!("no {path}")).advice(format!(
                    "the kernel needs CONFIG_{symbol}=y for {name} namespaces"
                ))
            };
            item.require(required)
        })
        .collect()
}
