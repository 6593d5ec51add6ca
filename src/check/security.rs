//! Security: user namespaces, seccomp and no_new_privs, which the container defaults use.

use super::kconfig::Tristate;
use super::{Host, Item, Status};

const SECTION: &str = "Security";

/// user namespaces, seccomp and no_new_privs.
pub(super) fn items(host: &Host) -> Vec<Item> {
    vec![
        user_namespaces(host),
        seccomp(host).require(true),
        no_new_privs(host).require(true),
    ]
}

/// The limit decides whether user namespaces can be created at all; the Debian
/// sysctl and /etc/subuid decide who can use them and how many ids they map.
fn user_namespaces(host: &Host) -> Item {
    let name = "user namespaces";
    let limit = match host.read("/proc/sys/user/max_user_namespaces") {
        Ok(text) => text.trim().to_owned(),
        Err(why) => {
            return Item::limited(SECTION, name, why)
                .advice("the kernel may lack CONFIG_USER_NS; user = true fails")
        }
    };
    if limit == "0" {
        return Item::missing(SECTION, name, "max_user_namespaces is 0")
            .advice("sysctl -w user.max_user_namespaces=15000 to allow user namespaces");
    }
    let subuid = subuid_note(host);
    let unprivileged_off = host
        .read("/proc/sys/kernel/unprivileged_userns_clone")
        .is_ok_and(|v| v.trim() == "0");
    if unprivileged_off {
        return Item::limited(
            SECTION,
            name,
            format!("limit {limit}; unprivileged_userns_clone=0: root only; {subuid}"),
        )
        .advice(
            "sysctl -w kernel.unprivileged_userns_clone=1 to let unprivileged users create them",
        );
    }
    Item::ok(SECTION, name, format!("limit {limit}; {subuid}"))
}

/// Whether root has a subordinate id range, which id-mapped containers map beyond id 0.
fn subuid_note(host: &Host) -> String {
    match host.read("/etc/subuid") {
        Ok(text) => match text
            .lines()
            .find(|l| l.starts_with("root:") || l.starts_with("0:"))
        {
            Some(line) => format!("/etc/subuid: {line}"),
            None => "no /etc/subuid range for root (user namespaces map a single id)".to_owned(),
        },
        Err(_) => "no /etc/subuid (user namespaces map a single id)".to_owned(),
    }
}

/// The default deny list needs seccomp filter mode, proven by the config or by the
/// Seccomp: line the kernel adds to /proc/<pid>/status.
fn seccomp(host: &Host) -> Item {
    let actions = host
        .read("/proc/sys/kernel/seccomp/actions_avail")
        .map(|a| format!("; actions: {}", a.trim()))
        .unwrap_or_default();
    let in_status = host
        .proc_status
        .as_ref()
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Seccomp:")));
    match host.config.as_ref().map(|c| c.get("SECCOMP_FILTER")) {
        Ok(Tristate::Builtin | Tristate::Module) => {
            Item::ok(SECTION, "seccomp", format!("filter mode (CONFIG_SECCOMP_FILTER=y){actions}"))
        }
        Ok(Tristate::NotSet) => Item::missing(SECTION, "seccomp", "the kernel was built without CONFIG_SECCOMP_FILTER")
            .advice("containers would run without the default syscall deny list; use a kernel with seccomp filters"),
        Err(_) if in_status => Item::ok(SECTION, "seccomp", format!("Seccomp: in /proc/self/status{actions}")),
        Err(_) => status_unknown(host, "seccomp", "Seccomp:"),
    }
}

/// no_new_privs exists iff the kernel reports NoNewPrivs: in /proc/<pid>/status.
fn no_new_privs(host: &Host) -> Item {
    match &host.proc_status {
        Ok(status) if status.lines().any(|l| l.starts_with("NoNewPrivs:")) => {
            Item::ok(SECTION, "no_new_privs", "NoNewPrivs: in /proc/self/status")
        }
        _ => status_unknown(host, "no_new_privs", "NoNewPrivs:"),
    }
}

/// An item for a /proc/self/status line that is absent, or could not be looked for.
fn status_unknown(host: &Host, name: &str, line: &str) -> Item {
    let (status, detail) = match &host.proc_status {
        Ok(_) => (
            Status::Missing,
            format!("no {line} line in /proc/self/status"),
        ),
        Err(why) => (Status::Limited, format!("cannot tell: {why}")),
    };
    Item::new(SECTION, name, status, detail).advice(format!(
        "{name} needs a kernel that reports {line} (3.5 or later)"
    ))
}
