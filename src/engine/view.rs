//! A read-only view of labs, for `luxc ls` and `luxc inspect`: what a lab's
//! journal records, whether its processes still run (/proc) and, for
//! containers, their addresses (the kernel, over netlink).
//!
//! Nothing here takes the lab's lock or writes anything, so a lab can be
//! looked at while the luxc that holds it is still running. The journal is
//! replayed from the file as it is: a record being appended at that moment
//! is a truncated last line, which replay ignores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::journal::{self, Entry, JournalError, Object, JOURNAL_FILE};
use super::names::check_lab_name;
use crate::process::lifetime::{self, Life};

/// Where pinned network namespaces live (a container's: /run/netns/LAB-NAME).
const NETNS_DIR: &str = "/run/netns";

/// The host trees a view reads; tests point them at fixtures.
#[derive(Debug, Clone)]
pub struct Host {
    /// Where labs keep their state, normally /run/luxc.
    pub state_root: PathBuf,
    /// Where proc is mounted, normally /proc.
    pub proc_root: PathBuf,
}

impl Host {
    /// The real host: /run/luxc and /proc.
    pub fn real() -> Host {
        Host {
            state_root: PathBuf::from(super::lab::STATE_ROOT),
            proc_root: PathBuf::from("/proc"),
        }
    }

    fn journal(&self, lab: &str) -> PathBuf {
        self.state_root.join(lab).join(JOURNAL_FILE)
    }
}

/// Why a lab cannot be viewed.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// Not a valid lab name.
    #[error("{0}")]
    Name(String),
    /// No journal for that name; `labs` are the ones there are.
    #[error("no lab '{lab}' ({})", known(.labs))]
    NoLab { lab: String, labs: Vec<String> },
    /// The lab has no (live) container of that name; `containers` it has.
    #[error("lab '{lab}' has no container '{name}' ({})", containers_known(.containers))]
    NoContainer {
        lab: String,
        name: String,
        containers: Vec<String>,
    },
    /// The journal cannot be read or replayed (a corrupt line).
    #[error("lab '{lab}' is unreadable: {source}")]
    Unreadable {
        lab: String,
        #[source]
        source: JournalError,
    },
}

/// "labs: a, b" or "there are no labs".
fn known(labs: &[String]) -> String {
    if labs.is_empty() {
        "there are no labs".to_string()
    } else {
        format!("labs: {}", labs.join(", "))
    }
}

/// "containers: a, b" or "it has none".
fn containers_known(names: &[String]) -> String {
    if names.is_empty() {
        "it has none".to_string()
    } else {
        format!("containers: {}", names.join(", "))
    }
}

/// A lab's state as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabStatus {
    /// Everything it records was created, and no luxc holds it.
    Up,
    /// A running luxc holds its lock (a script that has not ended).
    InUse,
    /// Some objects were announced and never finished: luxc failed or died
    /// while creating them (`luxc down` removes them too).
    Partial,
    /// Its journal records nothing that still exists.
    Empty,
}

impl LabStatus {
    /// The word `luxc ls` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            LabStatus::Up => "up",
            LabStatus::InUse => "in use",
            LabStatus::Partial => "partial",
            LabStatus::Empty => "empty",
        }
    }
}

/// How many of something run, of how many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub running: usize,
    pub total: usize,
}

/// One line of `luxc ls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub name: String,
    pub status: LabStatus,
    /// The pid of the luxc holding the lab, when in use.
    pub holder: Option<i32>,
    pub containers: Counts,
    /// Links the lab created (host ends, bridges, links in its namespaces).
    pub links: usize,
    /// Network namespaces: plain ones and containers' own.
    pub namespaces: usize,
    /// Host devices moved into the lab (links of the host).
    pub devices: usize,
    /// Objects announced and never finished.
    pub unfinished: usize,
}

/// A lab's name and its summary, or why it cannot be read.
pub type Listed = (String, Result<Summary, ViewError>);

/// `luxc ls`: every lab with a journal under the state root, sorted by
/// name, each summarized or with why it cannot be read.
pub fn list(host: &Host) -> Result<Vec<Listed>, JournalError> {
    let labs = journal::labs(&host.state_root)?;
    Ok(labs
        .into_iter()
        .map(|name| {
            let summary = view(host, &name).map(|v| v.summary());
            (name, summary)
        })
        .collect())
}

/// The whole view of one lab (`luxc inspect`), without addresses: see
/// `read_addresses`.
pub fn view(host: &Host, lab: &str) -> Result<LabView, ViewError> {
    check_lab_name(lab).map_err(ViewError::Name)?;
    let path = host.journal(lab);
    if !path.is_file() {
        return Err(ViewError::NoLab {
            lab: lab.to_owned(),
            labs: journal::labs(&host.state_root).unwrap_or_default(),
        });
    }
    let entries = journal::replay(&path).map_err(|source| ViewError::Unreadable {
        lab: lab.to_owned(),
        source,
    })?;
    let holder = super::lock::holder(&host.proc_root.join("locks"), &path);
    Ok(LabView::from_entries(lab, &path, holder, &entries, host))
}

/// The state dir of container `name` of lab `lab` (where its init.log is),
/// for `luxc logs`. Only the journal's readable lines are needed, so a lab
/// with a corrupt journal still shows its containers' logs.
pub fn container_dir(host: &Host, lab: &str, name: &str) -> Result<PathBuf, ViewError> {
    check_lab_name(lab).map_err(ViewError::Name)?;
    let path = host.journal(lab);
    if !path.is_file() {
        return Err(ViewError::NoLab {
            lab: lab.to_owned(),
            labs: journal::labs(&host.state_root).unwrap_or_default(),
        });
    }
    let (entries, _) = journal::replay_lenient(&path).map_err(|source| ViewError::Unreadable {
        lab: lab.to_owned(),
        source,
    })?;
    let mut containers: Vec<String> = entries
        .iter()
        .filter(|e| !e.removed)
        .filter_map(|e| match &e.object {
            Object::Process { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    containers.sort();
    containers.dedup();
    if !containers.iter().any(|c| c == name) {
        return Err(ViewError::NoContainer {
            lab: lab.to_owned(),
            name: name.to_owned(),
            containers,
        });
    }
    Ok(host.state_root.join(lab).join(name))
}

/// A container, as its journal records it and /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerView {
    pub name: String,
    /// Host pid of its PID 1 (the newest one journaled).
    pub pid: i32,
    /// "running" while that pid still has the journaled start time, else "stopped".
    pub status: &'static str,
    /// Its cgroup, relative to each hierarchy's root (`luxc.LAB/NAME`).
    pub cgroup: Option<String>,
    /// Its network namespace's pin (/run/netns/LAB-NAME), when it has its own.
    pub netns: Option<PathBuf>,
    /// Its state dir (writable layer, init.log).
    pub dir: PathBuf,
    /// Addresses of its interfaces (not `lo`), filled by `read_addresses`.
    pub addresses: Vec<Address>,
    /// Why the addresses could not be read, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses_error: Option<String>,
    /// Host devices moved into its namespace.
    pub devices: Vec<DeviceView>,
}

/// An address on an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub interface: String,
    /// CIDR, e.g. 10.0.0.2/24.
    pub address: String,
}

/// A link the lab created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkView {
    /// Its name in its namespace.
    pub name: String,
    /// The namespace it is in; None: the host's.
    pub netns: Option<PathBuf>,
    /// The namespace of its other end (a veth into one of the lab's).
    pub peer: Option<PathBuf>,
    /// The alias that marks it as the lab's.
    pub alias: String,
}

/// A host link moved into one of the lab's namespaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceView {
    /// Its name on the host, where teardown moves it back.
    pub host_name: String,
    /// Its name in the namespace.
    pub name: String,
    pub netns: PathBuf,
}

/// An nftables table the lab created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NftView {
    /// `inet NAME`.
    pub table: String,
    pub netns: Option<PathBuf>,
}

/// A sysctl the lab changed; teardown writes `old` back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlView {
    pub key: String,
    pub old: String,
    pub netns: Option<PathBuf>,
}

/// A root qdisc the lab put on a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QdiscView {
    pub link: String,
    pub netns: Option<PathBuf>,
}

/// A PCI function whose driver the lab changed, and the driver it goes back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PciDriverView {
    pub address: String,
    /// Its driver before the lab changed it (None: none).
    pub original: Option<String>,
    /// The sysfs root it was changed under (None: the host's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
}

/// Everything `luxc inspect` shows about one lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabView {
    pub name: String,
    pub status: LabStatus,
    pub holder: Option<i32>,
    pub journal: PathBuf,
    pub containers: Vec<ContainerView>,
    pub links: Vec<LinkView>,
    /// Network namespace pins, plain namespaces and containers' own.
    pub namespaces: Vec<PathBuf>,
    pub nft_tables: Vec<NftView>,
    pub sysctls: Vec<SysctlView>,
    pub qdiscs: Vec<QdiscView>,
    /// PCI functions on another driver until teardown.
    pub pci_drivers: Vec<PciDriverView>,
    /// Moved host links (also listed under their container, if any).
    pub devices: Vec<DeviceView>,
    /// Every cgroup the lab made (its own, its containers', luxc.cgroup.create's).
    pub cgroups: Vec<String>,
    /// Objects announced and never finished, as teardown names them.
    pub unfinished: Vec<String>,
}

impl LabView {
    /// Builds the view from replayed journal entries; `host.proc_root` tells
    /// which processes still run. Removed objects are left out.
    pub fn from_entries(
        lab: &str,
        journal: &Path,
        holder: Option<i32>,
        entries: &[Entry],
        host: &Host,
    ) -> LabView {
        let live: Vec<&Entry> = entries.iter().filter(|e| !e.removed).collect();
        let mut view = LabView {
            name: lab.to_owned(),
            status: LabStatus::Up,
            holder,
            journal: journal.to_owned(),
            containers: Vec::new(),
            links: Vec::new(),
            namespaces: Vec::new(),
            nft_tables: Vec::new(),
            sysctls: Vec::new(),
            qdiscs: Vec::new(),
            pci_drivers: Vec::new(),
            devices: Vec::new(),
            cgroups: Vec::new(),
            unfinished: live
                .iter()
                .filter(|e| !e.done)
                .map(|e| e.object.to_string())
                .collect(),
        };
        // The newest PID 1 of each container (a restart journals another).
        let mut pid1: BTreeMap<&str, (i32, u64)> = BTreeMap::new();
        for e in &live {
            match &e.object {
                Object::Process {
                    pid,
                    start_time,
                    name,
                } => {
                    pid1.insert(name, (*pid, *start_time));
                }
                Object::Cgroup { path } => view.cgroups.push(path.clone()),
                Object::Netns { path } => view.namespaces.push(path.clone()),
                Object::File { path } if path.parent() == Some(Path::new(NETNS_DIR)) => {
                    view.namespaces.push(path.clone())
                }
                Object::Link {
                    netns,
                    name,
                    alias,
                    peer,
                    ..
                } => view.links.push(LinkView {
                    name: name.clone(),
                    netns: netns.clone(),
                    peer: peer.clone(),
                    alias: alias.clone(),
                }),
                Object::NftTable { netns, name } => view.nft_tables.push(NftView {
                    table: format!("inet {name}"),
                    netns: netns.clone(),
                }),
                Object::Sysctl { netns, key, old } => view.sysctls.push(SysctlView {
                    key: key.clone(),
                    old: old.clone(),
                    netns: netns.clone(),
                }),
                Object::Qdisc { netns, link } => view.qdiscs.push(QdiscView {
                    link: link.clone(),
                    netns: netns.clone(),
                }),
                Object::Moved {
                    netns,
                    name,
                    host_name,
                } => view.devices.push(DeviceView {
                    host_name: host_name.clone(),
                    name: name.clone(),
                    netns: netns.clone(),
                }),
                Object::PciDriver {
                    address,
                    driver,
                    root,
                } => view.pci_drivers.push(PciDriverView {
                    address: address.clone(),
                    original: driver.clone(),
                    root: root.clone(),
                }),
                Object::Dir { .. } | Object::Mount { .. } | Object::File { .. } => {}
            }
        }
        for (name, (pid, start_time)) in pid1 {
            let running = lifetime::life(&host.proc_root, pid, start_time) == Life::Alive;
            let cgroup = format!("luxc.{lab}/{name}");
            let pin = Path::new(NETNS_DIR).join(super::lab::pin_name(lab, name));
            let netns = view.namespaces.contains(&pin).then_some(pin);
            let devices = view
                .devices
                .iter()
                .filter(|d| Some(&d.netns) == netns.as_ref())
                .cloned()
                .collect();
            view.containers.push(ContainerView {
                name: name.to_owned(),
                pid,
                status: if running { "running" } else { "stopped" },
                cgroup: view.cgroups.contains(&cgroup).then_some(cgroup),
                netns,
                dir: host.state_root.join(lab).join(name),
                addresses: Vec::new(),
                addresses_error: None,
                devices,
            });
        }
        view.status = if holder.is_some() {
            LabStatus::InUse
        } else if !view.unfinished.is_empty() {
            LabStatus::Partial
        } else if live.is_empty() {
            LabStatus::Empty
        } else {
            LabStatus::Up
        };
        view
    }

    /// The counts `luxc ls` shows.
    pub fn summary(&self) -> Summary {
        Summary {
            name: self.name.clone(),
            status: self.status,
            holder: self.holder,
            containers: Counts {
                running: self
                    .containers
                    .iter()
                    .filter(|c| c.status == "running")
                    .count(),
                total: self.containers.len(),
            },
            links: self.links.len(),
            namespaces: self.namespaces.len(),
            devices: self.devices.len(),
            unfinished: self.unfinished.len(),
        }
    }

    /// The container named `name`.
    pub fn container(&self, name: &str) -> Option<&ContainerView> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Reads each container's addresses from the kernel, inside its network
    /// namespace: the pin when it has one, else that of its running PID 1
    /// unless that is the host's (then it has none of its own). Needs root.
    pub fn read_addresses(&mut self, host: &Host) {
        for c in &mut self.containers {
            let ns = match &c.netns {
                Some(pin) => Some(pin.clone()),
                None if c.status == "running" => {
                    let own = host.proc_root.join(c.pid.to_string()).join("ns/net");
                    let host_ns = host.proc_root.join("self/ns/net");
                    (ns_id(&own).is_some() && ns_id(&own) != ns_id(&host_ns)).then_some(own)
                }
                None => None,
            };
            let Some(ns) = ns else { continue };
            match addresses_in(&ns) {
                Ok(addrs) => c.addresses = addrs,
                Err(e) => c.addresses_error = Some(e),
            }
        }
    }
}

/// The namespace a /proc/PID/ns/* link points to.
fn ns_id(link: &Path) -> Option<String> {
    std::fs::read_link(link)
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

/// Addresses of every interface but `lo` in the network namespace at `ns`.
fn addresses_in(ns: &Path) -> Result<Vec<Address>, String> {
    use crate::net::{addr, link, Netlink};
    let file = std::fs::File::open(ns).map_err(|e| format!("open {}: {e}", ns.display()))?;
    let nl = Netlink::open_in(&file).map_err(|e| crate::error::chain(&e))?;
    let names: BTreeMap<u32, String> = link::list(&nl)
        .map_err(|e| crate::error::chain(&e))?
        .into_iter()
        .map(|l| (l.index, l.name))
        .collect();
    let mut out = Vec::new();
    for (index, cidr) in addr::list(&nl, None).map_err(|e| crate::error::chain(&e))? {
        let interface = names
            .get(&index)
            .cloned()
            .unwrap_or_else(|| format!("#{index}"));
        if interface != "lo" {
            out.push(Address {
                interface,
                address: cidr.to_string(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
