//! Reconcile and plan: running a script against a lab that is already up.
//!
//! `luxc.lab(name)` on a live lab attaches to it (`Lab::attach`): what the
//! lab has becomes `previous`. Each declaration then claims the object that
//! matches it — same name, same settings, still there — which stays as it is
//! (a container whose spec differs only in its limits is claimed too, and
//! its new limits are a pending change; so is a link whose only difference
//! is its addresses). The next `up` removes what no declaration claimed
//! (and the orphans of a run that died), applies the pending changes, and
//! creates the rest. `plan()` says the same without touching anything.

use super::net::{Bridge, End, LinkDecl, NetnsNode};
use super::{Container, Lab, LabError, Result, Status};
use crate::cgroup::Limits;
use crate::engine::journal::{Entry, Object};
use crate::engine::spec::ContainerSpec;
use crate::engine::teardown::{self, HostRemover};
use crate::net::addr::Cidr;

/// What a live lab had that this run has not claimed yet.
#[derive(Debug, Default)]
pub(super) struct Previous {
    containers: Vec<Container>,
    bridges: Vec<Bridge>,
    nodes: Vec<NetnsNode>,
    links: Vec<LinkDecl>,
    /// Live journal entries no saved model describes (an interrupted run's).
    orphans: Vec<Entry>,
    /// Objects claimed unchanged so far.
    claimed: usize,
}

/// A change to an adopted object, applied by the next `up`.
#[derive(Debug, Clone)]
pub(super) enum Change {
    Limits {
        container: String,
        limits: Limits,
    },
    Addresses {
        a: String,
        a_if: String,
        b: String,
        b_if: String,
        old: Vec<Cidr>,
        old_peer: Vec<Cidr>,
    },
}

impl Change {
    fn describe(&self) -> String {
        match self {
            Change::Limits { container, .. } => format!("container {container}: limits"),
            Change::Addresses {
                a, a_if, b, b_if, ..
            } => format!("link {a}:{a_if} - {b}:{b_if}: addresses"),
        }
    }
}

/// What `up` would do (plan) or did (its report), one line per object.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub create: Vec<String>,
    pub change: Vec<String>,
    pub remove: Vec<String>,
    /// Objects that stay as they are.
    pub unchanged: usize,
    /// The lab was up before this run (a reconcile).
    pub attached: bool,
}

/// What `up` did.
pub type UpReport = Plan;

impl Plan {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.change.is_empty() && self.remove.is_empty()
    }

    /// Counts in one line: "2 to create, 1 to change, 0 to remove, 5 unchanged".
    pub fn summary(&self, lab: &str, done: bool) -> String {
        if self.is_empty() {
            return format!(
                "lab {lab}: no changes ({} object{} up to date)",
                self.unchanged,
                if self.unchanged == 1 { "" } else { "s" }
            );
        }
        let (c, ch, r) = if done {
            ("created", "changed", "removed")
        } else {
            ("to create", "to change", "to remove")
        };
        format!(
            "lab {lab}: {} {c}, {} {ch}, {} {r}, {} unchanged",
            self.create.len(),
            self.change.len(),
            self.remove.len(),
            self.unchanged
        )
    }

    /// The summary and a line per object (`+` create, `~` change, `-` remove).
    pub fn render(&self, lab: &str, done: bool) -> String {
        let mut out = self.summary(lab, done);
        for (mark, list) in [
            ("-", &self.remove),
            ("~", &self.change),
            ("+", &self.create),
        ] {
            for line in list {
                out.push_str(&format!("\n  {mark} {line}"));
            }
        }
        out
    }
}

/// Equal but for limits, and the new limits set every limit the old had
/// (a limit taken away cannot be unset live: the container is replaced).
fn limits_only(old: &ContainerSpec, new: &ContainerSpec) -> bool {
    let mut same = new.clone();
    same.limits = old.limits.clone();
    if same != *old {
        return false;
    }
    let (o, n) = (
        serde_json::to_value(&old.limits).unwrap_or_default(),
        serde_json::to_value(&new.limits).unwrap_or_default(),
    );
    match (o.as_object(), n.as_object()) {
        (Some(o), Some(n)) => o
            .iter()
            .all(|(k, v)| v.is_null() || n.get(k).is_some_and(|w| !w.is_null())),
        _ => false,
    }
}

fn same_bridge(a: &Bridge, b: &Bridge) -> bool {
    a.name == b.name
        && a.netns == b.netns
        && a.addresses == b.addresses
        && a.stp == b.stp
        && a.mtu == b.mtu
}

impl Lab {
    /// Attaches to the live lab `name` (its lock taken): see the module doc.
    pub(super) fn attach(name: &str, state_root: &std::path::Path) -> Result<Lab> {
        let journal = super::model::open_journal(name, state_root)?;
        let entries = journal
            .entries()
            .map_err(|e| LabError(crate::error::chain(&e)))?;
        let model = journal.dir().join(super::model::MODEL_FILE);
        let adopted = super::model::adopt(&model, &entries, name)?;
        let mut lab = Lab::empty(name, state_root);
        lab.model_journaled = model.exists().then_some(0);
        let saved = adopted.saved;
        lab.lab_cgroup = saved.lab_cgroup;
        lab.cgroups = saved.cgroups;
        // Claimed containers run commands in their cgroups (see install).
        if saved.containers.iter().any(|c| c.cgroup.is_some()) {
            lab.layout()?;
        }
        let (bridges, nodes, links, nft) = super::model::split_net(saved.net);
        lab.net.nft = nft;
        lab.previous = Some(Previous {
            containers: saved.containers,
            bridges,
            nodes,
            links,
            orphans: adopted.orphans,
            claimed: 0,
        });
        // What this run makes from here on is what Ctrl-C rolls back.
        lab.run_mark = Some(journal.next_id());
        lab.journal = Some(journal);
        Ok(lab)
    }

    /// The running container of the live lab that `spec` declares again,
    /// taken over (with a pending limits change when only those differ).
    pub(super) fn claim_container(&mut self, spec: &ContainerSpec) -> Option<Container> {
        let prev = self.previous.as_mut()?;
        let i = prev
            .containers
            .iter()
            .position(|c| c.spec.name == spec.name && c.status() == Status::Running)?;
        let old = &prev.containers[i];
        let change = if old.spec == *spec {
            None
        } else if limits_only(&old.spec, spec) {
            Some(Change::Limits {
                container: spec.name.clone(),
                limits: spec.limits.clone(),
            })
        } else {
            return None;
        };
        let mut c = prev.containers.remove(i);
        c.spec = spec.clone();
        // Its namespace has its links already: look indexes up.
        self.net.next_index.insert(spec.name.clone(), None);
        match change {
            Some(ch) => self.pending.push(ch),
            None => prev.claimed += 1,
        }
        Some(c)
    }

    /// The journal ids of the live lab's namespace node `name`, taken over.
    pub(super) fn claim_netns(&mut self, name: &str) -> Vec<u64> {
        let Some(prev) = self.previous.as_mut() else {
            return Vec::new();
        };
        match prev
            .nodes
            .iter()
            .position(|n| n.name == name && !n.created.is_empty())
        {
            Some(i) => {
                prev.claimed += 1;
                self.net.next_index.insert(name.to_string(), None);
                prev.nodes.remove(i).created
            }
            None => Vec::new(),
        }
    }

    /// The journal id of the live lab's bridge that `b` declares again
    /// (same settings; inside a node that was claimed too).
    pub(super) fn claim_bridge(&mut self, b: &Bridge) -> Option<u64> {
        if let Some(n) = &b.netns {
            if !self.node_ready(n) {
                return None;
            }
        }
        let prev = self.previous.as_mut()?;
        let i = prev
            .bridges
            .iter()
            .position(|x| same_bridge(x, b) && x.created.is_some())?;
        prev.claimed += 1;
        prev.bridges.remove(i).created
    }

    /// The journal id of the live lab's link that `l` declares again: same
    /// ends and names, both ends claimed; different addresses are a pending
    /// change.
    pub(super) fn claim_link(&mut self, l: &LinkDecl) -> Option<u64> {
        if !self.node_ready(l.a.name()) || !self.node_ready(l.b.name()) {
            return None;
        }
        let prev = self.previous.as_mut()?;
        let i = prev.links.iter().position(|x| {
            x.a == l.a
                && x.b == l.b
                && x.a_if == l.a_if
                && x.b_if == l.b_if
                && x.created.is_some()
                && {
                    let mut o = x.opts.clone();
                    o.address = l.opts.address.clone();
                    o.peer_address = l.opts.peer_address.clone();
                    o == l.opts
                }
        })?;
        let old = prev.links.remove(i);
        if old.opts.address == l.opts.address && old.opts.peer_address == l.opts.peer_address {
            prev.claimed += 1;
        } else {
            self.pending.push(Change::Addresses {
                a: l.a.name().to_string(),
                a_if: l.a_if.clone(),
                b: l.b.name().to_string(),
                b_if: l.b_if.clone(),
                old: old.opts.address.clone(),
                old_peer: old.opts.peer_address.clone(),
            });
        }
        old.created
    }

    /// What the next `up` would do, touching nothing.
    pub fn plan(&self) -> Plan {
        let mut plan = Plan {
            attached: self.previous.is_some(),
            ..Plan::default()
        };
        if let Some(prev) = &self.previous {
            plan.remove = removals(prev);
            plan.unchanged = prev.claimed;
        }
        plan.change = self.pending.iter().map(Change::describe).collect();
        for n in &self.net.nodes {
            if n.created.is_empty() {
                plan.create.push(format!("netns {}", n.name));
            }
        }
        for b in &self.net.bridges {
            if b.created.is_none() {
                plan.create.push(format!("bridge {}", b.name));
            }
        }
        for c in &self.containers {
            match c.status() {
                Status::Running => {}
                Status::Declared => plan.create.push(format!("container {}", c.spec.name)),
                Status::Stopped => plan
                    .create
                    .push(format!("container {} (restart)", c.spec.name)),
            }
        }
        for l in &self.net.links {
            if l.created.is_none() {
                plan.create.push(format!(
                    "link {}:{} - {}:{}",
                    l.a.name(),
                    l.a_if,
                    l.b.name(),
                    l.b_if
                ));
            }
        }
        if !plan.attached {
            // A lab declared from scratch: what is already up in it (started
            // one by one) counts as unchanged.
            plan.unchanged = self
                .containers
                .iter()
                .filter(|c| c.status() == Status::Running)
                .count()
                + self
                    .net
                    .nodes
                    .iter()
                    .filter(|n| !n.created.is_empty())
                    .count()
                + self
                    .net
                    .bridges
                    .iter()
                    .filter(|b| b.created.is_some())
                    .count()
                + self
                    .net
                    .links
                    .iter()
                    .filter(|l| l.created.is_some())
                    .count();
        }
        plan
    }

    /// The first part of `up` on an attached lab: removes what no
    /// declaration claimed (links first, explicitly, so their names are
    /// free again at once), then applies the pending changes.
    pub(super) fn reconcile(&mut self) -> Result<()> {
        let Some(prev) = self.previous.take() else {
            return Ok(());
        };
        let mut ids: Vec<u64> = Vec::new();
        for c in &prev.containers {
            ids.extend(&c.ids);
        }
        for b in &prev.bridges {
            ids.extend(b.created);
        }
        for n in &prev.nodes {
            ids.extend(&n.created);
        }
        for l in &prev.links {
            ids.extend(l.created);
        }
        ids.extend(prev.orphans.iter().map(|e| e.id));
        if !ids.is_empty() {
            self.remove_ids(&ids)?;
        }
        for change in std::mem::take(&mut self.pending) {
            self.apply(&change)?;
        }
        Ok(())
    }

    /// Removes the journaled objects `ids`, newest first.
    fn remove_ids(&mut self, ids: &[u64]) -> Result<()> {
        let dir = self.dir();
        let journal = self.journal()?;
        let entries = journal.entries().map_err(|e| LabError(e.to_string()))?;
        let mut remover = HostRemover::new(dir);
        for e in entries
            .iter()
            .rev()
            .filter(|e| ids.contains(&e.id) && !e.removed)
        {
            let done = match &e.object {
                // Deleted now, not left to its namespace: a new link of the
                // same name may follow at once.
                Object::Link {
                    netns,
                    name,
                    alias,
                    mac,
                    ..
                } => crate::engine::net_teardown::remove_link(
                    netns.as_deref(),
                    name,
                    alias,
                    mac.as_deref(),
                    false,
                ),
                other => teardown::Remover::remove(&mut remover, other),
            };
            done.map_err(|m| LabError(format!("up: remove {}: {m}", e.object)))?;
            journal.removed(e.id).map_err(|e| LabError(e.to_string()))?;
        }
        Ok(())
    }

    fn apply(&mut self, change: &Change) -> Result<()> {
        match change {
            Change::Limits { container, limits } => {
                let cg = self.cgroup(container)?;
                cg.set(limits).map_err(|e| {
                    LabError(format!(
                        "up: container '{container}': limits: {}",
                        crate::error::chain(&e)
                    ))
                })
            }
            Change::Addresses {
                a,
                a_if,
                b,
                b_if,
                old,
                old_peer,
            } => {
                let decl = self
                    .net
                    .links
                    .iter()
                    .find(|l| {
                        l.a.name() == a && l.b.name() == b && &l.a_if == a_if && &l.b_if == b_if
                    })
                    .cloned()
                    .ok_or_else(|| LabError(format!("up: link {a} - {b} is not declared")))?;
                self.readdress(&decl.a, a_if, old, &decl.opts.address)?;
                self.readdress(&decl.b, b_if, old_peer, &decl.opts.peer_address)
            }
        }
    }

    /// Replaces addresses `old` by `new` on interface `ifname` of `end`.
    fn readdress(&mut self, end: &End, ifname: &str, old: &[Cidr], new: &[Cidr]) -> Result<()> {
        if old == new {
            return Ok(());
        }
        let fail = |e: String| LabError(format!("up: {} {ifname}: addresses: {e}", end.name()));
        let ns = self.netns_path(end.name())?;
        let nl = match &ns {
            Some(p) => std::fs::File::open(p)
                .map_err(|e| e.to_string())
                .and_then(|f| crate::net::Netlink::open_in(&f).map_err(|e| e.to_string())),
            None => crate::net::Netlink::open().map_err(|e| e.to_string()),
        }
        .map_err(fail)?;
        let index = crate::net::link::index(&nl, ifname).map_err(|e| fail(e.to_string()))?;
        for c in old.iter().filter(|c| !new.contains(c)) {
            crate::net::addr::delete(&nl, index, ifname, c).map_err(|e| fail(e.to_string()))?;
        }
        for c in new.iter().filter(|c| !old.contains(c)) {
            crate::net::addr::add(&nl, index, ifname, c).map_err(|e| fail(e.to_string()))?;
        }
        Ok(())
    }
}

/// One line per object a reconcile removes.
fn removals(prev: &Previous) -> Vec<String> {
    let mut out = Vec::new();
    for l in prev.links.iter().filter(|l| l.created.is_some()) {
        out.push(format!(
            "link {}:{} - {}:{}",
            l.a.name(),
            l.a_if,
            l.b.name(),
            l.b_if
        ));
    }
    for c in prev.containers.iter().filter(|c| !c.ids.is_empty()) {
        out.push(format!("container {}", c.spec.name));
    }
    for b in prev.bridges.iter().filter(|b| b.created.is_some()) {
        out.push(format!("bridge {}", b.name));
    }
    for n in prev.nodes.iter().filter(|n| !n.created.is_empty()) {
        out.push(format!("netns {}", n.name));
    }
    for e in &prev.orphans {
        out.push(format!("{} (left by an interrupted run)", e.object));
    }
    out
}
