//! A lab's network: bridges, plain network-namespace nodes and links
//! between containers, namespaces and bridges, declared with their addresses
//! and created by `lab:up()`; plus the immediate primitives (NAT, port
//! forwards, sysctls, shaping) journaled in the lab. Everything the lab makes
//! is journaled first: host links carry an alias naming the lab and the
//! journal id, so teardown deletes only links luxc made.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::{Lab, LabError, Result, Status};
use crate::engine::journal::Object;
use crate::net::addr::Cidr;
use crate::net::{link, nat, netns, route, sysctl, tc, Netlink};

/// A bridge of the lab.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bridge {
    /// Interface name (at most 15 bytes).
    pub name: String,
    /// The lab node (container or netns) whose namespace holds it; None: the host.
    pub netns: Option<String>,
    /// Its own addresses: the subnets of the hosts linked to it.
    pub addresses: Vec<Cidr>,
    pub stp: bool,
    pub mtu: Option<u32>,
    /// Journal id once created.
    pub(super) created: Option<u64>,
}

/// A plain network namespace node (no processes), pinned at
/// /run/netns/LAB-NAME while the lab is up.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetnsNode {
    pub name: String,
    pub(super) created: Vec<u64>,
}

/// One end of a link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum End {
    Container(String),
    Netns(String),
    Bridge(String),
}

impl End {
    /// The node's name.
    pub fn name(&self) -> &str {
        match self {
            End::Container(n) | End::Netns(n) | End::Bridge(n) => n,
        }
    }
}

/// What `lab:link(a, b, opts)` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkOpts {
    /// Addresses of a's end / b's end.
    pub address: Vec<Cidr>,
    pub peer_address: Vec<Cidr>,
    /// Default routes of a / b (one per family).
    pub gateway: Vec<IpAddr>,
    pub peer_gateway: Vec<IpAddr>,
    pub mtu: Option<u32>,
    /// Interface names in a / b (default eth0, eth1, ... per node).
    pub ifname: Option<String>,
    pub peer_ifname: Option<String>,
}

/// A declared link (a veth pair).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinkDecl {
    pub a: End,
    pub b: End,
    /// Interface names at a and b (a bridge's end gets a derived host name).
    pub a_if: String,
    pub b_if: String,
    pub opts: LinkOpts,
    pub(super) created: Option<u64>,
}

/// The network part of a lab.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Network {
    pub bridges: Vec<Bridge>,
    pub nodes: Vec<NetnsNode>,
    pub links: Vec<LinkDecl>,
    /// nft tables made, per namespace (pin path; None: host).
    pub(super) nft: Vec<Option<PathBuf>>,
    /// The interface index the next link end in a node's (fresh) namespace
    /// gets, asked for at creation: then no lookup is needed, and a lookup
    /// right after creating a link makes the kernel settle the link's state
    /// first (an RCU grace period). None: unknown, look it up. Not saved: a
    /// lab adopted by another luxc looks indexes up.
    #[serde(skip)]
    pub(super) next_index: HashMap<String, Option<u32>>,
    /// Bridges made down by this `up`, brought up once its links are made
    /// (namespace, name).
    #[serde(skip)]
    pub(super) bridges_to_raise: Vec<(Option<PathBuf>, String)>,
}

/// FNV-1a, for names and MACs that are the same for the same script and lab.
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A locally administered unicast MAC derived from lab, node and interface.
pub fn mac_for(lab: &str, node: &str, ifname: &str) -> [u8; 6] {
    let h = fnv(&[lab, node, ifname]).to_be_bytes();
    [0x02, h[0], h[1], h[2], h[3], h[4]]
}

/// The host-side name of a bridge port: "lx" + 6 hex digits of the lab +
/// 7 of node and interface (15 bytes, deterministic, unique per host in
/// practice; creation fails rather than reuse an existing name).
pub fn port_name(lab: &str, node: &str, ifname: &str) -> String {
    format!(
        "lx{:06x}{:07x}",
        fnv(&[lab]) & 0xff_ffff,
        fnv(&[node, ifname]) & 0xfff_ffff
    )
}

/// The netns name a lab node's namespace is pinned under.
pub fn pin_name(lab: &str, node: &str) -> String {
    format!("{lab}-{node}")
}

/// A link's node end, made and addressed, still to come up.
struct EndUp {
    ns: Option<PathBuf>,
    ifname: String,
    index: u32,
    gateways: Vec<IpAddr>,
    /// The link, for errors.
    what: String,
}

/// Open netlink sockets per namespace, for one batch of work.
#[derive(Default)]
pub(super) struct Conns {
    map: HashMap<Option<PathBuf>, Netlink>,
    /// Bridge indexes, per namespace and name (looked up once, not per port).
    bridges: HashMap<(Option<PathBuf>, String), u32>,
    /// Open namespace files, for IFLA_NET_NS_FD (opened once, not per link).
    pub(super) files: HashMap<PathBuf, File>,
    /// Namespaces a helper thread is making meanwhile (lab_netns_feed.rs).
    pub(super) feed: Option<super::netns_feed::NsFeed>,
}

impl Conns {
    fn bridge_index(&mut self, ns: &Option<PathBuf>, name: &str) -> Result<u32> {
        let key = (ns.clone(), name.to_string());
        if let Some(i) = self.bridges.get(&key) {
            return Ok(*i);
        }
        let i = link::index(self.get(ns)?, name).map_err(net_err)?;
        self.bridges.insert(key, i);
        Ok(i)
    }

    fn get(&mut self, ns: &Option<PathBuf>) -> Result<&Netlink> {
        if !self.map.contains_key(ns) {
            let nl = match ns {
                None => Netlink::open(),
                Some(p) => {
                    self.fd(ns)?;
                    Netlink::open_in(&self.files[p])
                }
            }
            .map_err(net_err)?;
            self.map.insert(ns.clone(), nl);
        }
        Ok(&self.map[ns])
    }

    /// The open file of namespace `ns` (None: the host's, no file).
    fn fd(&mut self, ns: &Option<PathBuf>) -> Result<Option<std::os::fd::RawFd>> {
        let Some(p) = ns else { return Ok(None) };
        if !self.files.contains_key(p) {
            let f =
                File::open(p).map_err(|e| LabError(format!("open netns {}: {e}", p.display())))?;
            self.files.insert(p.clone(), f);
        }
        Ok(Some(self.files[p].as_raw_fd()))
    }

    /// Keeps a namespace's file and a socket opened in it (by the helper
    /// that made it).
    pub(super) fn adopt(&mut self, p: PathBuf, file: File, nl: Netlink) {
        self.map.insert(Some(p.clone()), nl);
        self.files.insert(p, file);
    }
}

fn net_err(e: crate::net::NetError) -> LabError {
    LabError(e.to_string())
}

fn open_ns(p: &Option<PathBuf>) -> Result<Option<File>> {
    p.as_ref()
        .map(|p| File::open(p).map_err(|e| LabError(format!("open netns {}: {e}", p.display()))))
        .transpose()
}

impl Lab {
    fn node_exists(&self, name: &str) -> bool {
        self.containers.iter().any(|c| c.spec.name == name)
            || self.net.nodes.iter().any(|n| n.name == name)
            || self.net.bridges.iter().any(|b| b.name == name)
    }

    /// Declares a plain network namespace node.
    pub fn declare_netns(&mut self, name: &str) -> Result<()> {
        super::super::names::check_object_name(name).map_err(LabError)?;
        netns::validate_name(&pin_name(&self.name, name)).map_err(net_err)?;
        if self.node_exists(name) {
            return Err(LabError(format!(
                "name '{name}' is already used in lab '{}'",
                self.name
            )));
        }
        let created = self.claim_netns(name);
        self.net.nodes.push(NetnsNode {
            name: name.to_string(),
            created,
        });
        Ok(())
    }

    /// Declares a bridge (created by `up`).
    pub fn declare_bridge(
        &mut self,
        name: &str,
        netns: Option<&str>,
        addresses: Vec<Cidr>,
        stp: bool,
        mtu: Option<u32>,
    ) -> Result<()> {
        link::validate_name(name).map_err(|e| LabError(format!("bridge: {e}")))?;
        if self.node_exists(name) {
            return Err(LabError(format!(
                "name '{name}' is already used in lab '{}'",
                self.name
            )));
        }
        if let Some(n) = netns {
            self.end_of(n)?;
        }
        for a in &addresses {
            self.check_unique_address(a)?;
        }
        let mut bridge = Bridge {
            name: name.to_string(),
            netns: netns.map(str::to_string),
            addresses,
            stp,
            mtu,
            created: None,
        };
        bridge.created = self.claim_bridge(&bridge);
        self.net.bridges.push(bridge);
        Ok(())
    }

    /// Takes back the declaration of container `name` and of the links that
    /// name it, none of them created yet (a `lab:router` whose interfaces
    /// failed their checks).
    pub fn undeclare(&mut self, name: &str) {
        let declared = self
            .get(name)
            .map(|c| c.status() == Status::Declared && c.ids.is_empty())
            .unwrap_or(false);
        if !declared {
            return;
        }
        self.net
            .links
            .retain(|l| l.created.is_some() || (l.a.name() != name && l.b.name() != name));
        self.containers.retain(|c| c.spec.name != name);
    }

    /// The end a node name refers to.
    pub fn end_of(&self, name: &str) -> Result<End> {
        if self.containers.iter().any(|c| c.spec.name == name) {
            Ok(End::Container(name.to_string()))
        } else if self.net.nodes.iter().any(|n| n.name == name) {
            Ok(End::Netns(name.to_string()))
        } else if self.net.bridges.iter().any(|b| b.name == name) {
            Ok(End::Bridge(name.to_string()))
        } else {
            Err(LabError(format!("no node '{name}' in lab '{}'", self.name)))
        }
    }

    /// Every address the lab's declarations use.
    fn used_addresses(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = self
            .net
            .bridges
            .iter()
            .flat_map(|b| b.addresses.iter().map(|c| c.addr))
            .collect();
        for l in &self.net.links {
            out.extend(l.opts.address.iter().map(|c| c.addr));
            out.extend(l.opts.peer_address.iter().map(|c| c.addr));
        }
        out
    }

    fn check_unique_address(&self, c: &Cidr) -> Result<()> {
        if self.used_addresses().contains(&c.addr) {
            return Err(LabError(format!(
                "address {} is already used in lab '{}'",
                c.addr, self.name
            )));
        }
        Ok(())
    }

    fn next_ifname(&self, node: &str) -> String {
        let used: Vec<&str> = self
            .net
            .links
            .iter()
            .flat_map(|l| {
                let mut v = Vec::new();
                if l.a.name() == node {
                    v.push(l.a_if.as_str());
                }
                if l.b.name() == node {
                    v.push(l.b_if.as_str());
                }
                v
            })
            .collect();
        (0..)
            .map(|i| format!("eth{i}"))
            .find(|n| !used.contains(&n.as_str()))
            .expect("an unused name")
    }

    /// Addresses on an end that links to a bridge must lie in one of the
    /// bridge's subnets (of their family), when the bridge has addresses.
    fn check_in_bridge(&self, bridge: &str, addrs: &[Cidr]) -> Result<()> {
        let b = self
            .net
            .bridges
            .iter()
            .find(|b| b.name == bridge)
            .expect("end_of found it");
        for a in addrs {
            let same_family: Vec<&Cidr> = b
                .addresses
                .iter()
                .filter(|s| s.addr.is_ipv4() == a.addr.is_ipv4())
                .collect();
            if !same_family.is_empty() && !same_family.iter().any(|s| s.contains(a.addr)) {
                let nets: Vec<String> = same_family
                    .iter()
                    .map(|s| s.network().to_string())
                    .collect();
                return Err(LabError(format!(
                    "address {a} is outside bridge {bridge}'s subnet {}",
                    nets.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Declares a link between nodes `a` and `b` (created by `up`); returns
    /// the interface names chosen at each end.
    pub fn declare_link(&mut self, a: &str, b: &str, opts: LinkOpts) -> Result<(String, String)> {
        let (ea, eb) = (self.end_of(a)?, self.end_of(b)?);
        if a == b {
            return Err(LabError(format!("link: '{a}' cannot be linked to itself")));
        }
        if matches!((&ea, &eb), (End::Bridge(_), End::Bridge(_))) {
            // Allowed: two bridges joined by a veth (an inter-switch link).
        }
        let mut seen = Vec::new();
        for c in opts.address.iter().chain(&opts.peer_address) {
            self.check_unique_address(c)?;
            if seen.contains(&c.addr) {
                return Err(LabError(format!("address {} is given twice", c.addr)));
            }
            seen.push(c.addr);
        }
        for (addrs, gws, end) in [
            (&opts.address, &opts.gateway, &ea),
            (&opts.peer_address, &opts.peer_gateway, &eb),
        ] {
            if matches!(end, End::Bridge(_)) && !addrs.is_empty() {
                return Err(LabError(format!(
                    "link: bridge '{}' gets its addresses from lab:bridge{{ address = ... }}, not from a link",
                    end.name()
                )));
            }
            for g in gws.iter() {
                if !addrs.iter().any(|c| c.contains(*g)) {
                    return Err(LabError(format!(
                        "gateway {g} of '{}' is not in the subnet of any of its addresses ({})",
                        end.name(),
                        if addrs.is_empty() {
                            "none given".to_string()
                        } else {
                            addrs
                                .iter()
                                .map(|c| c.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    )));
                }
            }
        }
        if let End::Bridge(br) = &eb {
            self.check_in_bridge(br, &opts.address)?;
        }
        if let End::Bridge(br) = &ea {
            self.check_in_bridge(br, &opts.peer_address)?;
        }
        // A node's end is named by the user or eth0, eth1, ...; a bridge's
        // end (in the bridge's namespace, often the host's) gets a derived
        // name, from the node and interface at the other end.
        let own = |lab: &Lab, end: &End, given: &Option<String>| -> Result<Option<String>> {
            match end {
                End::Bridge(_) => Ok(None),
                _ => {
                    let n = given.clone().unwrap_or_else(|| lab.next_ifname(end.name()));
                    link::validate_name(&n).map_err(net_err)?;
                    Ok(Some(n))
                }
            }
        };
        let a_own = own(self, &ea, &opts.ifname)?;
        let b_own = own(self, &eb, &opts.peer_ifname)?;
        let a_if = a_own.clone().unwrap_or_else(|| {
            port_name(&self.name, eb.name(), b_own.as_deref().unwrap_or(ea.name()))
        });
        let b_if = b_own.unwrap_or_else(|| {
            port_name(&self.name, ea.name(), a_own.as_deref().unwrap_or(eb.name()))
        });
        for l in &self.net.links {
            for (end, ifn) in [(&ea, &a_if), (&eb, &b_if)] {
                if (l.a.name() == end.name() && &l.a_if == ifn)
                    || (l.b.name() == end.name() && &l.b_if == ifn)
                {
                    return Err(LabError(format!(
                        "interface {ifn} of '{}' is already linked",
                        end.name()
                    )));
                }
            }
        }
        let mut decl = LinkDecl {
            a: ea,
            b: eb,
            a_if: a_if.clone(),
            b_if: b_if.clone(),
            opts,
            created: None,
        };
        decl.created = self.claim_link(&decl);
        self.net.links.push(decl);
        Ok((a_if, b_if))
    }

    /// The path to open for node `name`'s network namespace: a container's
    /// pin (or /proc/PID/ns/net), a netns node's pin; None for the host.
    pub fn netns_path(&self, node: &str) -> Result<Option<PathBuf>> {
        match self.end_of(node)? {
            End::Container(c) => {
                let p = self.running(&c, "network")?;
                let pin = Path::new(netns::NETNS_RUN_DIR).join(pin_name(&self.name, &c));
                if pin.exists() {
                    Ok(Some(pin))
                } else {
                    Ok(Some(PathBuf::from(format!("/proc/{}/ns/net", p.pid))))
                }
            }
            End::Netns(n) => {
                let node = self.net.nodes.iter().find(|x| x.name == n).expect("found");
                if node.created.is_empty() {
                    return Err(LabError(format!(
                        "netns '{n}' is not created yet (lab:up())"
                    )));
                }
                Ok(Some(
                    Path::new(netns::NETNS_RUN_DIR).join(pin_name(&self.name, &n)),
                ))
            }
            End::Bridge(b) => Err(LabError(format!("'{b}' is a bridge, not a namespace"))),
        }
    }

    /// The namespace a bridge lives in.
    fn bridge_ns(&self, b: &Bridge) -> Result<Option<PathBuf>> {
        match &b.netns {
            None => Ok(None),
            Some(n) => self.netns_path(n),
        }
    }

    /// Whether the namespace at `p` belongs to this lab (a node's pin or a
    /// container's), so what is in it goes with it.
    fn lab_owned_ns(&self, p: &Option<PathBuf>) -> bool {
        match p {
            None => false,
            Some(p) => {
                let s = p.to_string_lossy();
                s.starts_with("/proc/")
                    || p.file_name().is_some_and(|f| {
                        let f = f.to_string_lossy();
                        self.net
                            .nodes
                            .iter()
                            .any(|n| f == pin_name(&self.name, &n.name))
                            || self
                                .containers
                                .iter()
                                .any(|c| f == pin_name(&self.name, &c.spec.name))
                    })
            }
        }
    }

    fn create_netns_nodes(&mut self) -> Result<()> {
        for i in 0..self.net.nodes.len() {
            if !self.net.nodes[i].created.is_empty() {
                continue;
            }
            super::check_interrupt()?;
            let name = self.net.nodes[i].name.clone();
            let pin = pin_name(&self.name, &name);
            let path = Path::new(netns::NETNS_RUN_DIR).join(&pin);
            refuse_foreign_pin(&path).map_err(|e| LabError(format!("up: netns '{name}': {e}")))?;
            let j = self.journal()?;
            let id = j
                .intend(&Object::Netns { path: path.clone() })
                .map_err(|e| LabError(e.to_string()))?;
            // This thread is in the new namespace meanwhile: lo comes up
            // there, with no second trip in.
            if let Err(e) = netns::create_with(&pin, crate::net::loopback::up) {
                // The pin was not there before (checked above), so whatever
                // is there now is ours: the entry stays for up's rollback.
                self.net.nodes[i].created = vec![id];
                return Err(LabError(format!("up: netns '{name}': {e}")));
            }
            self.net.nodes[i].created = vec![id];
            crate::engine::progress::step(&format!("netns {}", self.net.nodes[i].name));
            self.journal()?
                .done(id)
                .map_err(|e| LabError(e.to_string()))?;
        }
        Ok(())
    }

    /// Journals a link whose identity is its alias (and, until the alias is
    /// on it, the MAC it is created with, when luxc gives it one).
    fn intend_link(
        &mut self,
        netns: &Option<PathBuf>,
        name: &str,
        with_netns: bool,
        peer: Option<PathBuf>,
        mac: Option<[u8; 6]>,
    ) -> Result<(u64, String)> {
        let lab = self.name.clone();
        let j = self.journal()?;
        let id = j.next_id();
        let alias = format!("luxc:{lab}:{id}");
        let got = j
            .intend(&Object::Link {
                netns: netns.clone(),
                name: name.to_string(),
                alias: alias.clone(),
                with_netns,
                peer,
                mac: mac.map(|m| link::format_mac(&m)),
            })
            .map_err(|e| LabError(e.to_string()))?;
        debug_assert_eq!(got, id);
        Ok((id, alias))
    }

    pub(super) fn create_bridges(
        &mut self,
        conns: &mut Conns,
        inside_containers: bool,
    ) -> Result<()> {
        for i in 0..self.net.bridges.len() {
            let b = self.net.bridges[i].clone();
            if b.created.is_some() {
                continue;
            }
            super::check_interrupt()?;
            let in_container = b
                .netns
                .as_deref()
                .is_some_and(|n| matches!(self.end_of(n), Ok(End::Container(_))));
            if in_container != inside_containers {
                continue;
            }
            if let Some(n) = &b.netns {
                self.await_node(conns, n)?;
            }
            let ns = self.bridge_ns(&b)?;
            let with_netns = self.lab_owned_ns(&ns);
            let mac = mac_for(&self.name, &b.name, "bridge");
            let (id, alias) = self.intend_link(&ns, &b.name, with_netns, None, Some(mac))?;
            self.net.bridges[i].created = Some(id);
            crate::engine::progress::step(&format!("bridge {}", self.net.bridges[i].name));
            let nl = conns.get(&ns)?;
            let mut nlk = link::NewLink::new(
                &b.name,
                link::Kind::Bridge {
                    stp: b.stp,
                    vlan_filtering: false,
                },
            );
            nlk.mtu = b.mtu;
            // A bridge inside a node takes that node's next interface index.
            nlk.index = b.netns.as_deref().and_then(|n| self.take_index(n));
            nlk.mac = Some(mac);
            // Down until the links are made (raised in create_links): a
            // bridge that is down forwards nothing, so the packets of the
            // node ends coming up meanwhile are not flooded to every port.
            nlk.up = false;
            self.net.bridges_to_raise.push((ns.clone(), b.name.clone()));
            nlk.alias = Some(alias);
            let fail = |e: crate::net::NetError| LabError(format!("up: bridge '{}': {e}", b.name));
            if let Err(e) = link::add_with_alias(nl, &nlk, None) {
                let taken = matches!(&e, crate::net::NetError::Op { source, .. }
                    if matches!(crate::net::errno(source), Some(nix::libc::EBUSY) | Some(nix::libc::EEXIST)));
                if !(taken && nlk.index.is_some()) {
                    return Err(fail(e));
                }
                // The index was taken: any will do (a real clash fails again).
                nlk.index = None;
                link::add_with_alias(nl, &nlk, None).map_err(fail)?;
            }
            let index = link::index(nl, &b.name).map_err(fail)?;
            for a in &b.addresses {
                crate::net::addr::add(nl, index, &b.name, a).map_err(fail)?;
            }
            self.journal()?
                .done(id)
                .map_err(|e| LabError(e.to_string()))?;
        }
        Ok(())
    }

    /// Namespace and bridge (if a bridge end) of one link end.
    fn end_place(&self, end: &End) -> Result<(Option<PathBuf>, Option<String>)> {
        match end {
            End::Bridge(b) => {
                let br = self
                    .net
                    .bridges
                    .iter()
                    .find(|x| &x.name == b)
                    .expect("declared");
                if br.created.is_none() {
                    return Err(LabError(format!("bridge '{b}' is not created")));
                }
                Ok((self.bridge_ns(br)?, Some(b.clone())))
            }
            other => Ok((self.netns_path(other.name())?, None)),
        }
    }

    pub(super) fn create_links(&mut self, conns: &mut Conns) -> Result<()> {
        // Journal ids of the links made here, done once their ends are up.
        let mut made = Vec::new();
        let mut to_raise = Vec::new();
        for i in 0..self.net.links.len() {
            let l = self.net.links[i].clone();
            if l.created.is_some() {
                continue;
            }
            super::check_interrupt()?;
            let what = format!(
                "up: link {}:{} - {}:{}",
                l.a.name(),
                l.a_if,
                l.b.name(),
                l.b_if
            );
            let fail = |e: String| LabError(format!("{what}: {e}"));
            self.await_node(conns, l.a.name())?;
            self.await_node(conns, l.b.name())?;
            let (a_ns, a_br) = self.end_place(&l.a).map_err(|e| fail(e.0))?;
            let (b_ns, b_br) = self.end_place(&l.b).map_err(|e| fail(e.0))?;
            // The bridge side is the main device, so it joins its bridge and
            // comes up in the creating message.
            let swap = a_br.is_none() && b_br.is_some();
            let (m_ns, m_br, m_if, m_node, p_ns, p_if, p_node) = if swap {
                (
                    &b_ns,
                    &b_br,
                    &l.b_if,
                    l.b.name(),
                    &a_ns,
                    &l.a_if,
                    l.a.name(),
                )
            } else {
                (
                    &a_ns,
                    &a_br,
                    &l.a_if,
                    l.a.name(),
                    &b_ns,
                    &l.b_if,
                    l.b.name(),
                )
            };
            let with_netns = self.lab_owned_ns(m_ns) || self.lab_owned_ns(p_ns);
            let peer = if self.lab_owned_ns(p_ns) {
                p_ns.clone()
            } else {
                None
            };
            let m_mac = mac_for(&self.name, m_node, m_if);
            let (id, alias) = self.intend_link(m_ns, m_if, with_netns, peer, Some(m_mac))?;
            self.net.links[i].created = Some(id);
            crate::engine::progress::step(&format!(
                "link {}:{}",
                self.net.links[i].a.name(),
                self.net.links[i].a_if
            ));
            let master = match m_br {
                Some(b) => Some(conns.bridge_index(m_ns, b).map_err(|e| fail(e.0))?),
                None => None,
            };
            let p_fd = conns.fd(p_ns)?;
            // Node ends (not bridge ports) get the next index of their node.
            let m_index = if m_br.is_none() {
                self.take_index(m_node)
            } else {
                None
            };
            let p_index = self.take_index(p_node);
            let mut nlk = link::NewLink::new(
                m_if,
                link::Kind::Veth {
                    peer: p_if.clone(),
                    peer_netns: p_fd,
                    peer_mac: Some(mac_for(&self.name, p_node, p_if)),
                    peer_index: p_index,
                },
            );
            nlk.index = m_index;
            // Sent from a socket in the main end's own namespace: the kernel
            // looks an existing name up in the sending socket's namespace
            // (6.1 does, with EEXIST for an `eth0` the host has), so the
            // name must be checked where the link will live.
            nlk.mac = Some(m_mac);
            nlk.mtu = l.opts.mtu;
            nlk.master = master;
            // A bridge port comes up below, without an IPv6 link-local
            // address: it needs none, and the duplicate-address and
            // multicast-listener packets of each new address are flooded by
            // the bridge to every other port (at 1,000 ports, a million
            // deliveries while the lab is being made).
            nlk.up = master.is_none();
            nlk.alias = Some(alias);
            let there = conns.get(m_ns)?;
            let mut known = [(m_node, m_index), (p_node, p_index)];
            match link::add_with_alias(there, &nlk, None) {
                Err(crate::net::NetError::Op { source, .. })
                    if matches!(
                        crate::net::errno(&source),
                        Some(nix::libc::EBUSY) | Some(nix::libc::EEXIST)
                    ) && (m_index.is_some() || p_index.is_some()) =>
                {
                    // An index taken (the namespace has links luxc did not
                    // make; the kernel says EEXIST, as a NEWLINK naming an
                    // index names that device): let the kernel pick, and
                    // look them up. A real name clash fails again below.
                    let mut any = nlk.clone();
                    any.index = None;
                    if let link::Kind::Veth { peer_index, .. } = &mut any.kind {
                        *peer_index = None;
                    }
                    link::add_with_alias(there, &any, None).map_err(|e| fail(e.to_string()))?;
                    known = [(m_node, None), (p_node, None)];
                    self.net.next_index.insert(m_node.to_string(), None);
                    self.net.next_index.insert(p_node.to_string(), None);
                }
                r => r.map_err(|e| fail(e.to_string()))?,
            }
            if master.is_some() {
                let nl = conns.get(m_ns)?;
                link::set(
                    nl,
                    m_if,
                    &link::Change {
                        up: Some(true),
                        no_ipv6_ll: true,
                        ..Default::default()
                    },
                )
                .map_err(|e| fail(e.to_string()))?;
            }
            // A peer that is a bridge port too (a link between two bridges):
            // enslaved and up, without a link-local address, in one message.
            let p_br = if swap { &a_br } else { &b_br };
            if let Some(b) = p_br {
                let index = conns.bridge_index(p_ns, b).map_err(|e| fail(e.0))?;
                let change = link::Change {
                    up: Some(true),
                    master: Some(Some(index)),
                    no_ipv6_ll: true,
                    ..Default::default()
                };
                link::set(conns.get(p_ns)?, p_if, &change).map_err(|e| fail(e.to_string()))?;
            }
            if let Some(mtu) = l.opts.mtu {
                let nl = conns.get(p_ns)?;
                link::set(
                    nl,
                    p_if,
                    &link::Change {
                        mtu: Some(mtu),
                        ..Default::default()
                    },
                )
                .map_err(|e| fail(e.to_string()))?;
            }
            // Addresses now, at each non-bridge end; up and gateways once
            // every link is made (below).
            for (ns, ifn, addrs, gws, br) in [
                (&a_ns, &l.a_if, &l.opts.address, &l.opts.gateway, &a_br),
                (
                    &b_ns,
                    &l.b_if,
                    &l.opts.peer_address,
                    &l.opts.peer_gateway,
                    &b_br,
                ),
            ] {
                if br.is_some() {
                    continue;
                }
                let node = if std::ptr::eq(ifn, &l.a_if) {
                    l.a.name()
                } else {
                    l.b.name()
                };
                let asked = known.iter().find(|(n, _)| *n == node).and_then(|(_, i)| *i);
                let nl = conns.get(ns)?;
                let index = match asked {
                    Some(i) => i,
                    None => link::index(nl, ifn).map_err(|e| fail(e.to_string()))?,
                };
                for a in addrs.iter() {
                    crate::net::addr::add(nl, index, ifn, a).map_err(|e| fail(e.to_string()))?;
                }
                to_raise.push(EndUp {
                    ns: ns.clone(),
                    ifname: ifn.clone(),
                    index,
                    gateways: gws.clone(),
                    what: what.clone(),
                });
            }
            made.push(id);
        }
        self.raise_ends(conns, &to_raise)?;
        // The bridges this `up` made, last: their ports forward from now on.
        for (ns, name) in std::mem::take(&mut self.net.bridges_to_raise) {
            let up = link::Change {
                up: Some(true),
                ..Default::default()
            };
            link::set(conns.get(&ns)?, &name, &up)
                .map_err(|e| LabError(format!("up: bridge '{name}': {e}")))?;
        }
        for id in made {
            self.journal()?
                .done(id)
                .map_err(|e| LabError(e.to_string()))?;
        }
        Ok(())
    }

    /// Brings the node ends of the links just made up and adds their
    /// gateways. Last, so that no end has a carrier while links are still
    /// being made: each end that comes up sends its IPv6 link-local
    /// address's duplicate-address, multicast-listener and router
    /// solicitation packets, which a bridge without a multicast querier
    /// floods to every port — to every port that exists by then. Made
    /// while links were still being made, at 1,000 nodes on one bridge
    /// that flood took half of both CPUs during `up`.
    fn raise_ends(&mut self, conns: &mut Conns, ends: &[EndUp]) -> Result<()> {
        for e in ends {
            super::check_interrupt()?;
            let fail = |err: crate::net::NetError| LabError(format!("{}: {err}", e.what));
            let nl = conns.get(&e.ns)?;
            let up = link::Change {
                up: Some(true),
                ..Default::default()
            };
            link::set(nl, &e.ifname, &up).map_err(fail)?;
            for g in &e.gateways {
                let mut r = route::default_via(*g);
                r.dev = Some((e.index, e.ifname.clone()));
                route::add(nl, &r).map_err(fail)?;
            }
        }
        Ok(())
    }

    /// The network part of `up`, before the containers start.
    pub(super) fn net_up_before(&mut self) -> Result<()> {
        let mut conns = Conns::default();
        self.create_netns_nodes()?;
        self.create_bridges(&mut conns, false)
    }

    /// The network part of `up`, once the containers run.
    pub(super) fn net_up_after(&mut self) -> Result<()> {
        let mut conns = Conns::default();
        self.create_bridges(&mut conns, true)?;
        self.create_links(&mut conns)?;
        self.write_topology()
    }

    /// The interface index to ask for the next link end in node `node`'s
    /// namespace: 2, 3, ... in a namespace the lab made (1 is lo); None
    /// once unknown, or for a node whose namespace luxc did not make fresh.
    fn take_index(&mut self, node: &str) -> Option<u32> {
        let fresh = matches!(self.end_of(node), Ok(End::Container(_)) | Ok(End::Netns(_)));
        if !fresh {
            return None;
        }
        let slot = self
            .net
            .next_index
            .entry(node.to_string())
            .or_insert(Some(2));
        let got = *slot;
        if let Some(i) = slot.as_mut() {
            *i += 1;
        }
        got
    }

    /// Forgets what was created since journal id `mark` (after a rollback).
    pub(super) fn net_forget_since(&mut self, mark: u64) {
        for b in &mut self.net.bridges {
            if b.created.is_some_and(|id| id >= mark) {
                b.created = None;
            }
        }
        for n in &mut self.net.nodes {
            if n.created.iter().any(|id| *id >= mark) {
                n.created.clear();
            }
        }
        for l in &mut self.net.links {
            if l.created.is_some_and(|id| id >= mark) {
                l.created = None;
            }
        }
        self.net.nft.clear();
        // A rolled-back `up` raises nothing later.
        self.net.bridges_to_raise.clear();
        // Rolled-back namespaces are gone; kept ones keep their numbering
        // unknown from here on (safe: a lookup).
        for v in self.net.next_index.values_mut() {
            *v = None;
        }
        if mark == 0 {
            self.net.next_index.clear();
        }
    }

    /// Forgets everything (after `down`).
    pub(super) fn net_forget_all(&mut self) {
        self.net_forget_since(0);
    }

    /// Resolves a namespace given to a primitive: None (host), a node of
    /// this lab, or a pinned netns name.
    pub fn resolve_ns(&self, target: Option<&str>) -> Result<Option<PathBuf>> {
        match target {
            None => Ok(None),
            Some(t) => {
                if self.end_of(t).is_ok() {
                    return self.netns_path(t);
                }
                let p = netns::path(t).map_err(net_err)?;
                if !p.exists() {
                    return Err(LabError(format!(
                        "no node '{t}' in lab '{}' and no network namespace /run/netns/{t}",
                        self.name
                    )));
                }
                Ok(Some(p))
            }
        }
    }

    /// Masquerades `source` leaving through `out`, in namespace `ns`, in
    /// the lab's nft table there (made, and journaled, at the first rule).
    pub fn nat(&mut self, ns: Option<PathBuf>, source: &Cidr, out: Option<&str>) -> Result<()> {
        let table = self.ensure_nft(&ns)?;
        let f = open_ns(&ns)?;
        nat::masquerade(f.as_ref(), &table, source, out).map_err(net_err)
    }

    /// Forwards `proto` port `port` of namespace `ns` to `to`:`to_port`.
    pub fn forward(
        &mut self,
        ns: Option<PathBuf>,
        proto: &str,
        port: u16,
        to: IpAddr,
        to_port: u16,
    ) -> Result<()> {
        let table = self.ensure_nft(&ns)?;
        let f = open_ns(&ns)?;
        nat::forward(
            f.as_ref(),
            &table,
            &nat::Forward {
                proto,
                port,
                to,
                to_port,
            },
        )
        .map_err(net_err)
    }

    fn ensure_nft(&mut self, ns: &Option<PathBuf>) -> Result<String> {
        let table = nat::table_name(&self.name);
        if self.net.nft.contains(ns) {
            return Ok(table);
        }
        let j = self.journal()?;
        let id = j
            .intend(&Object::NftTable {
                netns: ns.clone(),
                name: table.clone(),
            })
            .map_err(|e| LabError(e.to_string()))?;
        let f = open_ns(ns)?;
        if let Err(e) = nat::create_table(f.as_ref(), &table) {
            let _ = self.journal()?.removed(id);
            return Err(net_err(e));
        }
        self.journal()?
            .done(id)
            .map_err(|e| LabError(e.to_string()))?;
        self.net.nft.push(ns.clone());
        Ok(table)
    }

    /// Sets a net.* sysctl in namespace `ns`; the old value comes back at
    /// teardown. Returns the old value.
    pub fn set_sysctl(&mut self, ns: Option<PathBuf>, key: &str, value: &str) -> Result<String> {
        let f = open_ns(&ns)?;
        let old = sysctl::read(f.as_ref(), key).map_err(net_err)?;
        let j = self.journal()?;
        let id = j
            .intend(&Object::Sysctl {
                netns: ns.clone(),
                key: key.to_string(),
                old: old.clone(),
            })
            .map_err(|e| LabError(e.to_string()))?;
        if let Err(e) = sysctl::write(f.as_ref(), key, value) {
            let _ = self.journal()?.removed(id);
            return Err(net_err(e));
        }
        self.journal()?
            .done(id)
            .map_err(|e| LabError(e.to_string()))?;
        Ok(old)
    }

    /// Shapes link `name` in namespace `ns` (its root qdisc, journaled).
    pub fn shape(&mut self, ns: Option<PathBuf>, name: &str, shape: &tc::Shape) -> Result<()> {
        shape.check().map_err(net_err)?;
        let f = open_ns(&ns)?;
        let nl = match &f {
            Some(f) => Netlink::open_in(f),
            None => Netlink::open(),
        }
        .map_err(net_err)?;
        let index = link::index(&nl, name).map_err(net_err)?;
        let j = self.journal()?;
        let id = j
            .intend(&Object::Qdisc {
                netns: ns.clone(),
                link: name.to_string(),
            })
            .map_err(|e| LabError(e.to_string()))?;
        if let Err(e) = tc::apply(&nl, index, name, shape) {
            let _ = self.journal()?.removed(id);
            return Err(net_err(e));
        }
        self.journal()?
            .done(id)
            .map_err(|e| LabError(e.to_string()))
    }

    /// Creates a link now (the `luxc.net.*` primitives), journaled: in
    /// namespace `ns`, with the alias that marks it as the lab's. Addresses
    /// go on it after.
    pub fn create_link_now(
        &mut self,
        ns: Option<PathBuf>,
        new: &link::NewLink,
        addresses: &[Cidr],
    ) -> Result<()> {
        let with_netns = self.lab_owned_ns(&ns);
        let (id, alias) = self.intend_link(&ns, &new.name, with_netns, None, new.mac)?;
        let f = open_ns(&ns)?;
        let nl = match &f {
            Some(f) => Netlink::open_in(f),
            None => Netlink::open(),
        }
        .map_err(net_err)?;
        let mut new = new.clone();
        new.alias = Some(alias);
        if let Err(e) = link::add_with_alias(&nl, &new, None) {
            let _ = self.journal()?.removed(id);
            return Err(net_err(e));
        }
        let rest = (|| -> std::result::Result<(), crate::net::NetError> {
            let index = link::index(&nl, &new.name)?;
            for a in addresses {
                crate::net::addr::add(&nl, index, &new.name, a)?;
            }
            Ok(())
        })();
        self.journal()?
            .done(id)
            .map_err(|e| LabError(e.to_string()))?;
        rest.map_err(net_err)
    }

    /// Moves host link `name` (a NIC) into namespace `ns` (renamed to
    /// `as_name`), journaled: teardown moves it back, before the namespace
    /// goes. Returns the name it has there.
    pub fn move_link(&mut self, name: &str, ns: PathBuf, as_name: Option<&str>) -> Result<String> {
        let inner = as_name.unwrap_or(name).to_string();
        link::validate_name(&inner).map_err(net_err)?;
        if name == "lo" {
            return Err(LabError(
                "move: lo belongs to its namespace and cannot move".into(),
            ));
        }
        let host = Netlink::open().map_err(net_err)?;
        let l = link::get(&host, name)
            .map_err(net_err)?
            .ok_or_else(|| LabError(format!("move: no link '{name}' on the host")))?;
        if l.alias.as_deref().is_some_and(|a| a.starts_with("luxc:")) {
            return Err(LabError(format!(
                "move: link '{name}' was made by a luxc lab ({}); move links of the host only",
                l.alias.unwrap_or_default()
            )));
        }
        let f =
            File::open(&ns).map_err(|e| LabError(format!("open netns {}: {e}", ns.display())))?;
        let j = self.journal()?;
        let id = j
            .intend(&Object::Moved {
                netns: ns.clone(),
                name: inner.clone(),
                host_name: name.to_string(),
            })
            .map_err(|e| LabError(e.to_string()))?;
        // Moved first, in one message (the kernel takes the link down as
        // it moves it, and refuses links that cannot move, such as lo):
        // nothing on the host changes unless the move happens. The rename
        // is then done inside, where the link is down.
        let moved = link::set(
            &host,
            name,
            &link::Change {
                netns: Some(f.as_raw_fd()),
                ..Default::default()
            },
        );
        if let Err(e) = moved {
            let _ = self.journal()?.removed(id);
            return Err(LabError(format!("move {name}: {e}")));
        }
        if inner != name {
            let renamed = Netlink::open_in(&f).and_then(|nl| {
                link::set(
                    &nl,
                    name,
                    &link::Change {
                        rename: Some(inner.clone()),
                        ..Default::default()
                    },
                )
            });
            if let Err(e) = renamed {
                // Back to the host as it was; the journal forgets it.
                let back = File::open("/proc/thread-self/ns/net")
                    .map_err(|e| crate::net::NetError::op("open own netns", e))
                    .and_then(|own| {
                        let nl = Netlink::open_in(&f)?;
                        link::set(
                            &nl,
                            name,
                            &link::Change {
                                netns: Some(own.as_raw_fd()),
                                ..Default::default()
                            },
                        )
                    });
                if back.is_ok() {
                    let _ = self.journal()?.removed(id);
                } else {
                    let _ = self.journal()?.done(id);
                }
                return Err(LabError(format!("move {name}: rename to {inner}: {e}")));
            }
        }
        self.journal()?
            .done(id)
            .map_err(|e| LabError(e.to_string()))?;
        Ok(inner)
    }

    /// A pinned network namespace made now (`luxc.net.netns`), journaled.
    pub fn create_netns_now(&mut self, name: &str) -> Result<PathBuf> {
        let path = netns::path(name).map_err(net_err)?;
        refuse_foreign_pin(&path).map_err(|e| LabError(format!("netns '{name}': {e}")))?;
        let j = self.journal()?;
        let id = j
            .intend(&Object::Netns { path: path.clone() })
            .map_err(|e| LabError(e.to_string()))?;
        if let Err(e) = netns::create(name) {
            // Not there before (checked above): a pin left half made is ours
            // and stays journaled for teardown.
            return Err(net_err(e));
        }
        self.journal()?
            .done(id)
            .map_err(|e| LabError(e.to_string()))?;
        Ok(path)
    }

    /// The lab's topology (nodes, links), for graphs and `luxc graph`.
    pub fn topology(&self) -> super::super::graph::Topology {
        use super::super::graph::{Edge, Node};
        let mut nodes = Vec::new();
        for c in &self.containers {
            nodes.push(Node {
                name: c.spec.name.clone(),
                kind: "container".into(),
                status: c.status().as_str().into(),
            });
        }
        for n in &self.net.nodes {
            nodes.push(Node {
                name: n.name.clone(),
                kind: "netns".into(),
                status: if n.created.is_empty() {
                    "declared"
                } else {
                    "created"
                }
                .into(),
            });
        }
        for b in &self.net.bridges {
            nodes.push(Node {
                name: b.name.clone(),
                kind: "bridge".into(),
                status: if b.created.is_some() {
                    "created"
                } else {
                    "declared"
                }
                .into(),
            });
        }
        let edges = self
            .net
            .links
            .iter()
            .map(|l| Edge {
                a: l.a.name().to_string(),
                a_if: l.a_if.clone(),
                a_addresses: l.opts.address.iter().map(|c| c.to_string()).collect(),
                b: l.b.name().to_string(),
                b_if: l.b_if.clone(),
                b_addresses: l.opts.peer_address.iter().map(|c| c.to_string()).collect(),
            })
            .collect();
        super::super::graph::Topology {
            lab: self.name.clone(),
            nodes,
            edges,
        }
    }

    /// Saves the topology in the lab's state dir (journaled once), for
    /// `luxc graph LAB`.
    pub(super) fn write_topology(&mut self) -> Result<()> {
        let path = self.dir().join(super::super::graph::TOPOLOGY_FILE);
        let topo = self.topology();
        if !path.exists() {
            let j = self.journal()?;
            let id = j
                .intend(&Object::File { path: path.clone() })
                .map_err(|e| LabError(e.to_string()))?;
            j.done(id).map_err(|e| LabError(e.to_string()))?;
        }
        let text = serde_json::to_string_pretty(&topo).map_err(|e| LabError(e.to_string()))?;
        std::fs::write(&path, text).map_err(|e| LabError(format!("write {}: {e}", path.display())))
    }

    /// The addresses declared for node `name` (its link ends), in order.
    pub fn addresses_of(&self, node: &str) -> Vec<Cidr> {
        let mut out = Vec::new();
        for l in &self.net.links {
            if l.a.name() == node {
                out.extend(l.opts.address.iter().copied());
            }
            if l.b.name() == node {
                out.extend(l.opts.peer_address.iter().copied());
            }
        }
        if let Some(b) = self.net.bridges.iter().find(|b| b.name == node) {
            out.extend(b.addresses.iter().copied());
        }
        out
    }

    /// Interface names and addresses per node, for `info()`.
    pub fn interfaces_of(&self, node: &str) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for l in &self.net.links {
            if l.a.name() == node {
                out.insert(
                    l.a_if.clone(),
                    l.opts.address.iter().map(|c| c.to_string()).collect(),
                );
            }
            if l.b.name() == node {
                out.insert(
                    l.b_if.clone(),
                    l.opts.peer_address.iter().map(|c| c.to_string()).collect(),
                );
            }
        }
        out
    }

    /// Whether node `name` is running/created (for a link's ends).
    pub fn node_ready(&self, name: &str) -> bool {
        match self.end_of(name) {
            Ok(End::Container(c)) => self
                .get(&c)
                .map(|c| c.status() == Status::Running)
                .unwrap_or(false),
            Ok(End::Netns(n)) => self
                .net
                .nodes
                .iter()
                .any(|x| x.name == n && !x.created.is_empty()),
            Ok(End::Bridge(b)) => self
                .net
                .bridges
                .iter()
                .any(|x| x.name == b && x.created.is_some()),
            Err(_) => false,
        }
    }
}

/// Pins the network namespace of process `pid` at /run/netns/PIN, journaled
/// as a file and a mount (returns their ids); with `repin` (a restarted
/// container) the journaled pin is pointed at the new namespace instead.
/// Names too long for a netns pin are skipped.
pub(super) fn pin_pid_journaled(
    journal: &mut crate::engine::journal::Journal,
    pin: &str,
    pid: i32,
    repin: bool,
) -> std::result::Result<Vec<u64>, String> {
    if netns::validate_name(pin).is_err() {
        return Ok(Vec::new());
    }
    let path = Path::new(netns::NETNS_RUN_DIR).join(pin);
    if repin && path.exists() {
        netns::repin_pid(pin, pid).map_err(|e| e.to_string())?;
        return Ok(Vec::new());
    }
    refuse_foreign_pin(&path)?;
    let file_id = journal
        .intend(&Object::File { path: path.clone() })
        .map_err(|e| e.to_string())?;
    let mount_id = journal
        .intend(&Object::Mount { path: path.clone() })
        .map_err(|e| e.to_string())?;
    if let Err(e) = netns::pin_pid(pin, pid) {
        // The pin was not there before (checked above): what the failed
        // call left is ours, and its entries stay for teardown.
        return Err(e.to_string());
    }
    journal.done(file_id).map_err(|e| e.to_string())?;
    journal.done(mount_id).map_err(|e| e.to_string())?;
    Ok(vec![file_id, mount_id])
}

/// A pin that exists before luxc journals one of that name is someone
/// else's: refused before the journal names it, because a journal entry
/// left without its "done" (luxc killed before the pin failed) would have
/// teardown remove it.
pub(super) fn refuse_foreign_pin(path: &Path) -> std::result::Result<(), String> {
    if path.symlink_metadata().is_ok() {
        return Err(format!(
            "{} exists already (not made by this lab; luxc leaves it alone)",
            path.display()
        ));
    }
    Ok(())
}
