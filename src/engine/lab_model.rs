//! The saved lab model: what a lab declared and which journal ids its
//! objects hold, written to `<lab dir>/model.json` after every change, so
//! that another luxc can adopt the live lab — `luxc.lab.open` and `luxc repl
//! --lab` (handles to its containers), `luxc exec`, and a second run of the
//! same script (reconcile.rs).
//!
//! The journal stays the truth about what exists: on opening, whatever the
//! model names but the journal no longer lists as live is dropped, and
//! objects journaled after the last save (a run that died between creating
//! something and saving) are orphans, which the next `up` removes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::net::{Bridge, LinkDecl, NetnsNode, Network};
use super::{Container, Lab, LabError, Result};
use crate::engine::journal::{self, Entry, Journal, JournalError, Object};

/// The model's file name inside the lab's state dir.
pub const MODEL_FILE: &str = "model.json";
/// Written first, then renamed over the model, so a reader never sees half.
pub(super) const MODEL_TMP: &str = "model.json.tmp";
/// Bumped when the layout changes incompatibly.
const MODEL_VERSION: u32 = 1;

/// What `model.json` holds.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SavedLab {
    version: u32,
    /// The journal's next id when this was written: anything journaled from
    /// there on is not described here (an orphan).
    next_id: u64,
    pub(super) containers: Vec<Container>,
    pub(super) lab_cgroup: Option<u64>,
    pub(super) cgroups: Vec<(String, u64)>,
    pub(super) net: Network,
}

/// A live lab read back: the adopted model and what the journal holds
/// besides.
pub(super) struct Adopted {
    pub(super) saved: SavedLab,
    /// Live journal entries the model does not describe (newest last).
    pub(super) orphans: Vec<Entry>,
}

impl Lab {
    /// Writes the model (journaling its files the first time). A lab with
    /// no journal has nothing to save; while a re-run has not reconciled yet
    /// (`previous` pending), the saved model still describes the lab better
    /// than the half-declared one, so it is kept.
    pub(super) fn save(&mut self) {
        if self.journal.is_none() || self.previous.is_some() || self.read_only {
            return;
        }
        if let Err(e) = self.try_save() {
            tracing::warn!(lab = %self.name, "saving the lab model: {}", e.0);
        }
    }

    fn try_save(&mut self) -> Result<()> {
        let dir = self.dir();
        let (path, tmp) = (dir.join(MODEL_FILE), dir.join(MODEL_TMP));
        if self.model_journaled.is_none() {
            let first = self.journal()?.next_id();
            self.model_journaled = Some(first);
            let j = self.journal()?;
            for p in [&path, &tmp] {
                let id = j
                    .intend(&Object::File { path: p.clone() })
                    .map_err(|e| LabError(e.to_string()))?;
                j.done(id).map_err(|e| LabError(e.to_string()))?;
            }
        }
        let next_id = self.journal()?.next_id();
        let saved = SavedLabRef {
            version: MODEL_VERSION,
            next_id,
            containers: &self.containers,
            lab_cgroup: self.lab_cgroup,
            cgroups: &self.cgroups,
            net: &self.net,
        };
        let text = serde_json::to_vec(&saved).map_err(|e| LabError(e.to_string()))?;
        std::fs::write(&tmp, text)
            .map_err(|e| LabError(format!("write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| LabError(format!("rename {}: {e}", path.display())))
    }

    /// Opens a live lab as its writer (the lab's lock is taken: fails
    /// naming the holder's pid while another luxc has it), with handles to
    /// everything it has. Orphans of an interrupted run stay in the journal
    /// (`luxc down` removes them; a re-run of the script does too).
    pub fn open(name: &str, state_root: &Path) -> Result<Lab> {
        let journal = open_journal(name, state_root)?;
        let entries = journal
            .entries()
            .map_err(|e| LabError(crate::error::chain(&e)))?;
        let adopted = adopt(&journal.dir().join(MODEL_FILE), &entries, name)?;
        let mut lab = Lab::empty(name, state_root);
        lab.install(adopted.saved)?;
        lab.model_journaled = Some(0);
        lab.run_mark = Some(journal.next_id());
        lab.journal = Some(journal);
        Ok(lab)
    }

    /// Opens a live lab to look at and run commands in, without its lock
    /// (a running script may hold it): nothing can be created or removed
    /// through it.
    pub fn open_read_only(name: &str, state_root: &Path) -> Result<Lab> {
        super::super::names::check_lab_name(name).map_err(LabError)?;
        let dir = state_root.join(name);
        let path = dir.join(journal::JOURNAL_FILE);
        let entries = match journal::replay(&path) {
            Ok(e) => e,
            Err(JournalError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(no_lab(name, state_root));
            }
            Err(e) => return Err(LabError(crate::error::chain(&e))),
        };
        let adopted = adopt(&dir.join(MODEL_FILE), &entries, name)?;
        let mut lab = Lab::empty(name, state_root);
        lab.install(adopted.saved)?;
        lab.read_only = true;
        Ok(lab)
    }

    /// Takes over a read-back model's objects.
    pub(super) fn install(&mut self, saved: SavedLab) -> Result<()> {
        self.containers = saved.containers;
        self.lab_cgroup = saved.lab_cgroup;
        self.cgroups = saved.cgroups;
        self.net = saved.net;
        // exec and spawn find a container's cgroup.procs through the
        // layout (read lazily elsewhere, through &mut self): without it a
        // command run in an adopted container would stay in luxc's cgroup.
        if self.containers.iter().any(|c| c.cgroup.is_some()) {
            self.layout()?;
        }
        Ok(())
    }
}

/// The writable journal of a live lab, or a clear error.
pub(super) fn open_journal(name: &str, state_root: &Path) -> Result<Journal> {
    match Journal::open_existing(state_root, name) {
        Ok(j) => Ok(j),
        Err(JournalError::NoLab { .. }) => Err(no_lab(name, state_root)),
        Err(e) => Err(LabError(crate::error::chain(&e))),
    }
}

fn no_lab(name: &str, state_root: &Path) -> LabError {
    let labs = journal::labs(state_root).unwrap_or_default();
    let known = if labs.is_empty() {
        "no lab is up".to_string()
    } else {
        format!("labs up: {}", labs.join(", "))
    };
    LabError(format!("no lab '{name}' ({known})"))
}

/// Reads the model at `path` and keeps of it what `entries` (the journal)
/// says is still live. A lab without a model (its first run died before
/// saving) adopts nothing: every live object is an orphan.
pub(super) fn adopt(path: &Path, entries: &[Entry], lab: &str) -> Result<Adopted> {
    let live: HashSet<u64> = entries
        .iter()
        .filter(|e| !e.removed)
        .map(|e| e.id)
        .collect();
    let saved = match std::fs::read(path) {
        Ok(bytes) => {
            let s: SavedLab = serde_json::from_slice(&bytes).map_err(|e| {
                LabError(format!(
                    "lab '{lab}': model {} is unreadable ({e}); `luxc down {lab}` still removes the lab",
                    path.display()
                ))
            })?;
            if s.version != MODEL_VERSION {
                return Err(LabError(format!(
                    "lab '{lab}': model {} has version {} (this luxc reads {MODEL_VERSION}); `luxc down {lab}` still removes the lab",
                    path.display(),
                    s.version
                )));
            }
            s
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SavedLab {
            version: MODEL_VERSION,
            next_id: 0,
            containers: Vec::new(),
            lab_cgroup: None,
            cgroups: Vec::new(),
            net: Network::default(),
        },
        Err(e) => return Err(LabError(format!("read {}: {e}", path.display()))),
    };
    let mut saved = saved;
    let live_obj =
        |pred: &dyn Fn(&Object) -> bool| entries.iter().any(|e| !e.removed && pred(&e.object));
    for c in &mut saved.containers {
        c.ids.retain(|id| live.contains(id));
        if let Some(p) = c.pid1 {
            let journaled = live_obj(
                &|o| matches!(o, Object::Process { pid, start_time, .. } if *pid == p.pid && *start_time == p.start_time),
            );
            if !journaled {
                c.pid1 = None;
            }
        }
        if let Some(cg) = c.cgroup.clone() {
            if !live_obj(&|o| matches!(o, Object::Cgroup { path } if *path == cg)) {
                c.cgroup = None;
            }
        }
        if c.ids.is_empty() {
            c.pid1 = None;
            c.cgroup = None;
            c.pinned = false;
        }
    }
    saved.lab_cgroup = saved.lab_cgroup.filter(|id| live.contains(id));
    saved.cgroups.retain(|(_, id)| live.contains(id));
    keep_live_net(&mut saved.net, &live, entries);
    let orphans = entries
        .iter()
        .filter(|e| !e.removed && e.id >= saved.next_id)
        .cloned()
        .collect();
    Ok(Adopted { saved, orphans })
}

/// Forgets network objects whose journal records are gone.
fn keep_live_net(net: &mut Network, live: &HashSet<u64>, entries: &[Entry]) {
    for b in &mut net.bridges {
        b.created = b.created.filter(|id| live.contains(id));
    }
    for n in &mut net.nodes {
        if n.created.iter().any(|id| !live.contains(id)) {
            n.created.clear();
        }
    }
    for l in &mut net.links {
        l.created = l.created.filter(|id| live.contains(id));
    }
    net.nft.retain(|ns| {
        entries.iter().any(|e| {
            !e.removed && matches!(&e.object, Object::NftTable { netns, .. } if netns == ns)
        })
    });
}

/// Borrowed form of SavedLab, for writing without cloning.
#[derive(Serialize)]
struct SavedLabRef<'a> {
    version: u32,
    next_id: u64,
    containers: &'a [Container],
    lab_cgroup: Option<u64>,
    cgroups: &'a [(String, u64)],
    net: &'a Network,
}

/// The parts of a saved network, for reconcile.
pub(super) fn split_net(
    net: Network,
) -> (
    Vec<Bridge>,
    Vec<NetnsNode>,
    Vec<LinkDecl>,
    Vec<Option<PathBuf>>,
) {
    (net.bridges, net.nodes, net.links, net.nft)
}
