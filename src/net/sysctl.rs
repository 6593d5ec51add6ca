//! Network sysctls of a namespace (`net.ipv4.ip_forward`, IPv6 on/off). The
//! files under /proc/sys/net belong to the network namespace of whoever opens
//! them, so luxc enters the namespace, opens and returns.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use super::netlink::in_netns;
use super::NetError;

/// The file of sysctl `key`: "net.ipv4.ip_forward" (dots) or
/// "net/ipv4/conf/eth0.100/forwarding" (slashes, for names with dots), under
/// /proc/sys. Only `net.*` keys: the others are not per namespace.
pub fn path(key: &str) -> Result<PathBuf, NetError> {
    let rel = if key.contains('/') {
        key.to_string()
    } else {
        key.replace('.', "/")
    };
    let ok = rel.starts_with("net/")
        && !rel
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        && !rel.bytes().any(|b| b == 0 || b.is_ascii_whitespace());
    if !ok {
        return Err(NetError::Invalid(format!(
            "sysctl '{key}': expected a net.* key such as net.ipv4.ip_forward \
             (only those belong to a network namespace)"
        )));
    }
    Ok(PathBuf::from("/proc/sys").join(rel))
}

fn read_here(p: &PathBuf) -> std::io::Result<String> {
    let mut s = String::new();
    File::open(p)?.read_to_string(&mut s)?;
    Ok(s.trim_end().to_string())
}

fn write_here(p: &PathBuf, value: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(p)?
        .write_all(value.as_bytes())
}

/// Reads `key` in the namespace `netns` (None: luxc's own).
pub fn read(netns: Option<&File>, key: &str) -> Result<String, NetError> {
    let p = path(key)?;
    let r = match netns {
        Some(ns) => in_netns(ns, || read_here(&p))?,
        None => read_here(&p),
    };
    r.map_err(|e| NetError::op(format!("read sysctl {key}"), e))
}

/// Writes `value` to `key` in the namespace `netns`; returns the old value.
pub fn write(netns: Option<&File>, key: &str, value: &str) -> Result<String, NetError> {
    let p = path(key)?;
    let run = || -> std::io::Result<String> {
        let old = read_here(&p)?;
        write_here(&p, value)?;
        Ok(old)
    };
    let r = match netns {
        Some(ns) => in_netns(ns, run)?,
        None => run(),
    };
    r.map_err(|e| NetError::op(format!("write sysctl {key}={value}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_net_keys_map_to_files() {
        assert_eq!(
            path("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            path("net/ipv4/conf/eth0.100/forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/forwarding")
        );
        for bad in [
            "kernel.hostname",
            "net..ipv4",
            "net/../kernel/x",
            "",
            "net",
            "vm.swappiness",
        ] {
            assert!(path(bad).is_err(), "{bad}");
        }
    }
}
