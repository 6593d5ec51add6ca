//! Removing the network objects of a lab's journal: links (only those that
//! carry luxc's alias), nftables tables, sysctls (the old value written
//! back) and root qdiscs. An object whose namespace is gone went with it.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::net::{link, nat, sysctl, tc, NetError, Netlink};

/// How long teardown waits for links that go with a namespace: the kernel
/// removes a namespace's devices asynchronously, in batches.
const WITH_NETNS_WAIT: Duration = Duration::from_secs(10);

/// The namespace pinned at `netns`, opened; None for the host's; Err(None)
/// when the pin is gone (and with it whatever was in the namespace).
fn open_ns(netns: Option<&Path>) -> Result<Option<File>, Option<String>> {
    match netns {
        None => Ok(None),
        Some(p) => match File::open(p) {
            Ok(f) => {
                // A pin file left without its mount is not a namespace.
                if is_nsfs(&f) {
                    Ok(Some(f))
                } else {
                    Err(None)
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(None),
            Err(e) => Err(Some(format!("open netns {}: {e}", p.display()))),
        },
    }
}

fn is_nsfs(f: &File) -> bool {
    nix::sys::statfs::fstatfs(f)
        .map(|s| s.filesystem_type().0 == 0x6e73_6673)
        .unwrap_or(false)
}

fn netlink(ns: &Option<File>) -> Result<Netlink, String> {
    match ns {
        Some(f) => Netlink::open_in(f),
        None => Netlink::open(),
    }
    .map_err(|e| e.to_string())
}

/// Deletes link `name` if it still carries `alias` (or, with no alias at
/// all, the journaled `mac`: luxc died before it set the alias). A link that
/// goes with a lab namespace is left to it (deleting each veth on its own
/// costs an RCU grace period each; the kernel removes a namespace's devices
/// in batches): `settle` checks at the end of teardown that it is gone.
pub fn remove_link(
    netns: Option<&Path>,
    name: &str,
    alias: &str,
    mac: Option<&str>,
    with_netns: bool,
) -> Result<(), String> {
    if with_netns {
        return Ok(());
    }
    delete_if_ours(netns, name, alias, mac)
}

/// Whether link `l` is the one a journal record names: it carries the
/// record's alias, or it carries none and has the record's MAC.
pub fn is_ours(l: &link::LinkInfo, alias: &str, mac: Option<&str>) -> bool {
    match (&l.alias, mac) {
        (Some(a), _) => a == alias,
        (None, Some(m)) => l.mac.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(m)),
        (None, None) => false,
    }
}

fn delete_if_ours(
    netns: Option<&Path>,
    name: &str,
    alias: &str,
    mac: Option<&str>,
) -> Result<(), String> {
    let ns = match open_ns(netns) {
        Ok(ns) => ns,
        Err(None) => return Ok(()),
        Err(Some(e)) => return Err(e),
    };
    let nl = netlink(&ns)?;
    let ours = |nl: &Netlink| -> Result<Option<u32>, String> {
        Ok(link::get(nl, name)
            .map_err(|e| e.to_string())?
            .filter(|l| is_ours(l, alias, mac))
            .map(|l| l.index))
    };
    match ours(&nl)? {
        None => Ok(()),
        Some(index) => match link::delete_index(&nl, index, name) {
            Ok(()) => Ok(()),
            Err(NetError::Op { source, .. })
                if crate::net::errno(&source) == Some(nix::libc::ENODEV) =>
            {
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
    }
}

/// Deletes nft table `inet NAME` (gone already is fine).
pub fn remove_nft_table(netns: Option<&Path>, name: &str) -> Result<(), String> {
    let ns = match open_ns(netns) {
        Ok(ns) => ns,
        Err(None) => return Ok(()),
        Err(Some(e)) => return Err(e),
    };
    match nat::table_exists(ns.as_ref(), name) {
        Ok(false) => Ok(()),
        Ok(true) => nat::delete_table(ns.as_ref(), name).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes the sysctl's old value back.
pub fn restore_sysctl(netns: Option<&Path>, key: &str, old: &str) -> Result<(), String> {
    let ns = match open_ns(netns) {
        Ok(ns) => ns,
        Err(None) => return Ok(()),
        Err(Some(e)) => return Err(e),
    };
    sysctl::write(ns.as_ref(), key, old)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Removes the root qdisc of `link` (a link that is gone took it along).
pub fn remove_qdisc(netns: Option<&Path>, link_name: &str) -> Result<(), String> {
    let ns = match open_ns(netns) {
        Ok(ns) => ns,
        Err(None) => return Ok(()),
        Err(Some(e)) => return Err(e),
    };
    let nl = netlink(&ns)?;
    let Some(l) = link::get(&nl, link_name).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    match tc::clear(&nl, l.index, link_name) {
        Ok(()) => Ok(()),
        // ENOENT / EINVAL: no root qdisc of ours any more.
        Err(NetError::Op { source, .. })
            if matches!(
                crate::net::errno(&source),
                Some(nix::libc::ENOENT) | Some(nix::libc::EINVAL)
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Takes the lab's bridges on the host down before anything else of the lab
/// goes: a bridge that is down forwards nothing, so the IPv6 packets its
/// node ends still send after `up` (duplicate-address, multicast-listener,
/// router solicitations; flooded to every port without a multicast querier,
/// N² deliveries) stop at once instead of competing with the teardown. One
/// request per bridge; best effort, since teardown proper follows.
pub fn quiesce_bridges(journal: &crate::engine::journal::Journal) {
    let records: Vec<(String, String, Option<String>)> = host_links(journal)
        .into_iter()
        .map(|l| (l.name, l.alias, l.mac))
        .collect();
    if records.is_empty() {
        return;
    }
    let Ok(nl) = Netlink::open() else { return };
    let Ok(links) = link::list(&nl) else { return };
    for name in bridges_to_quiesce(&records, &links) {
        let down = link::Change {
            up: Some(false),
            ..Default::default()
        };
        let _ = link::set(&nl, name, &down);
    }
}

/// Of the host's `links`, the bridges that are up and are the lab's by a
/// journal record (name, alias, MAC).
fn bridges_to_quiesce<'a>(
    records: &[(String, String, Option<String>)],
    links: &'a [link::LinkInfo],
) -> Vec<&'a str> {
    links
        .iter()
        .filter(|l| l.up && l.kind.as_deref() == Some("bridge"))
        .filter(|l| {
            records
                .iter()
                .any(|(name, alias, mac)| *name == l.name && is_ours(l, alias, mac.as_deref()))
        })
        .map(|l| l.name.as_str())
        .collect()
}

/// A host link that goes with a lab namespace, as the journal lists it.
pub struct Settle {
    name: String,
    alias: String,
}

/// The journal's links in the host namespace that go with a lab namespace
/// and are not removed yet.
pub fn links_with_netns(journal: &crate::engine::journal::Journal) -> Vec<Settle> {
    host_links(journal)
        .into_iter()
        .filter(|l| l.with_netns)
        .map(|l| Settle {
            name: l.name,
            alias: l.alias,
        })
        .collect()
}

/// A link record of the journal in the host namespace, not removed yet.
struct HostLink {
    name: String,
    alias: String,
    mac: Option<String>,
    with_netns: bool,
}

/// The journal's links in the host namespace that are not removed yet.
fn host_links(journal: &crate::engine::journal::Journal) -> Vec<HostLink> {
    use crate::engine::journal::Object;
    let Ok(entries) = journal.entries() else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter(|e| !e.removed)
        .filter_map(|e| match e.object {
            Object::Link {
                netns: None,
                name,
                alias,
                mac,
                with_netns,
                ..
            } => Some(HostLink {
                name,
                alias,
                mac,
                with_netns,
            }),
            _ => None,
        })
        .collect()
}

/// Waits (up to 10 s) until the kernel has removed the host ends of links
/// whose namespaces are gone, then deletes any left (still carrying luxc's
/// alias).
pub fn settle(links: &[Settle]) -> Result<(), String> {
    if links.is_empty() {
        return Ok(());
    }
    let nl = Netlink::open().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + WITH_NETNS_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        let present: Vec<String> = link::list(&nl)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|l| {
                links
                    .iter()
                    .any(|s| s.name == l.name && Some(&s.alias) == l.alias.as_ref())
            })
            .map(|l| l.name)
            .collect();
        if present.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            for s in links.iter().filter(|s| present.contains(&s.name)) {
                delete_if_ours(None, &s.name, &s.alias, None)?;
            }
            return Ok(());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// Moves a host link luxc moved into a namespace back to luxc's own (the
/// host's) under its original name. A namespace that is gone already gave
/// a physical device back to the host by itself (the kernel does that);
/// then only its name is restored, if it is free.
pub fn move_back(netns: &Path, name: &str, host_name: &str) -> Result<(), String> {
    let host_ns =
        File::open("/proc/thread-self/ns/net").map_err(|e| format!("open own netns: {e}"))?;
    let host = Netlink::open().map_err(|e| e.to_string())?;
    match open_ns(Some(netns)) {
        Ok(Some(f)) => {
            let nl = Netlink::open_in(&f).map_err(|e| e.to_string())?;
            if link::get(&nl, name).map_err(|e| e.to_string())?.is_none() {
                return Ok(());
            }
            // Down first: a renamed link must be down, and it is the host's again.
            link::set(
                &nl,
                name,
                &link::Change {
                    up: Some(false),
                    netns: Some(std::os::fd::AsRawFd::as_raw_fd(&host_ns)),
                    ..Default::default()
                },
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(None) => {}
        Err(None) => {}
        Err(Some(e)) => return Err(e),
    }
    if name != host_name
        && link::get(&host, name).map_err(|e| e.to_string())?.is_some()
        && link::get(&host, host_name)
            .map_err(|e| e.to_string())?
            .is_none()
    {
        link::set(
            &host,
            name,
            &link::Change {
                rename: Some(host_name.to_string()),
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The first step of a lab's teardown: unpins the plain namespaces the lab
/// made (no process keeps them), so the kernel starts removing their links
/// (bridge ports included) in its batched namespace cleanup while teardown
/// goes on; `settle` at the end waits for what is left. Returns how many it
/// unpinned.
pub fn unpin_namespaces_first(
    journal: &mut crate::engine::journal::Journal,
    remover: &mut crate::engine::teardown::HostRemover,
) -> Result<usize, String> {
    use crate::engine::journal::Object;
    use crate::engine::teardown::Remover;
    let entries = journal.entries().map_err(|e| e.to_string())?;
    let mut n = 0;
    for e in entries.iter().rev().filter(|e| !e.removed) {
        if let Object::Netns { .. } = &e.object {
            remover.remove(&e.object)?;
            journal.removed(e.id).map_err(|e| e.to_string())?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(alias: Option<&str>, mac: &str) -> link::LinkInfo {
        link::LinkInfo {
            name: "br0".into(),
            index: 7,
            kind: Some("bridge".into()),
            up: false,
            mtu: 1500,
            mac: Some(mac.into()),
            master: None,
            alias: alias.map(str::to_string),
        }
    }

    #[test]
    fn only_the_labs_own_bridges_that_are_up_are_taken_down_first() {
        let rec = |name: &str, alias: &str| (name.to_string(), alias.to_string(), None);
        let records = vec![rec("br0", "luxc:lab:3"), rec("lxport", "luxc:lab:4")];
        let mut ours = link(Some("luxc:lab:3"), "02:00:00:00:00:01");
        ours.up = true;
        let mut down_already = ours.clone();
        down_already.up = false;
        let mut foreign = ours.clone();
        foreign.alias = Some("someone else's".into());
        let mut other_name = ours.clone();
        other_name.name = "br1".into();
        let mut port = ours.clone();
        port.name = "lxport".into();
        port.kind = Some("veth".into());
        port.alias = Some("luxc:lab:4".into());
        assert_eq!(bridges_to_quiesce(&records, &[ours.clone()]), vec!["br0"]);
        for l in [down_already, foreign, other_name, port] {
            assert!(
                bridges_to_quiesce(&records, std::slice::from_ref(&l)).is_empty(),
                "{l:?}"
            );
        }
    }

    #[test]
    fn a_link_is_the_labs_by_its_alias_or_without_one_by_its_mac() {
        let mac = Some("02:0d:8a:b1:9b:fa");
        assert!(is_ours(
            &link(Some("luxc:l:3"), "aa:aa:aa:aa:aa:aa"),
            "luxc:l:3",
            mac
        ));
        // Another alias: someone else's link of that name, whatever its MAC.
        assert!(!is_ours(
            &link(Some("theirs"), "02:0d:8a:b1:9b:fa"),
            "luxc:l:3",
            mac
        ));
        // No alias yet (luxc died before setting it): the MAC decides.
        assert!(is_ours(&link(None, "02:0D:8A:B1:9B:FA"), "luxc:l:3", mac));
        assert!(!is_ours(&link(None, "02:0d:8a:b1:9b:fb"), "luxc:l:3", mac));
        // A record without a MAC (older journals): the alias alone.
        assert!(!is_ours(&link(None, "02:0d:8a:b1:9b:fa"), "luxc:l:3", None));
    }
}
