//! Making a lab's plain network namespaces on helper threads while this
//! thread makes its bridges and links: `lab:up()` when no container starts.
//!
//! Creating a namespace (unshare, pin, `lo` up) is more of the kernel's work
//! for a namespace node than making its veth, so the two overlap on the
//! machine's other CPU. The helpers only create and pin namespaces, taking
//! turns in declaration order, and hand each over with its nsfs file and a
//! netlink socket opened inside it. This thread journals every namespace's
//! intent before the helpers start and its completion when it is handed
//! over, waits for a namespace only when a bridge or link needs it, and is
//! the only one that touches the journal, the lab or Lua. The helpers are
//! joined, and gone from /proc/self/task, before `up` returns, so luxc is
//! single-threaded again when it next forks (see docs/design.md).

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::net::{pin_name, Conns};
use super::{Lab, LabError, Result};
use crate::net::{netns, Netlink};
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};

/// Helper threads. Creating a namespace takes the kernel longer than making
/// its veth, address and up here; two helpers keep this thread busy on a
/// two-CPU machine (alternating runs of a 1,000-node star: `up` 1.4–1.6 s
/// with two, 2.1 s with one; three were no faster: all link work holds the
/// kernel's rtnl lock).
const HELPERS: usize = 2;

/// What a helper hands over with a namespace: its file and a netlink
/// socket opened in it (so this thread enters no namespace for its links).
type Made = (PathBuf, File, Netlink);

/// One namespace's report: the node's index and how its creation went.
type Report = (usize, std::result::Result<Made, String>);

/// The namespaces the helpers still have to report.
pub(super) struct NsFeed {
    rx: mpsc::Receiver<Report>,
    /// Node index → its journal id, for every node not yet reported.
    pending: HashMap<usize, u64>,
}

/// A helper: creates each of its namespaces in turn until told to stop or one
/// fails; a send that fails means this thread gave up waiting.
fn make_namespaces(jobs: Vec<(usize, String)>, tx: mpsc::Sender<Report>, stop: &AtomicBool) {
    // Ctrl-C and SIGTERM go to the main thread, which checks for them; here
    // they would only fail a mount with EINTR.
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGINT);
    mask.add(Signal::SIGTERM);
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None);
    for (i, pin) in jobs {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let r = netns::create_with(&pin, || {
            crate::net::loopback::up()?;
            let file = File::open("/proc/thread-self/ns/net")
                .map_err(|e| format!("open its nsfs file: {e}"))?;
            let nl = Netlink::open().map_err(|e| e.to_string())?;
            Ok((file, nl))
        })
        .map(|(path, (file, nl))| (path, file, nl))
        .map_err(|e| e.to_string());
        let failed = r.is_err();
        if tx.send((i, r)).is_err() || failed {
            return;
        }
    }
}

impl Lab {
    /// The network part of `up` when no container starts in it: namespaces
    /// on helper threads, bridges and links here, overlapping.
    pub(super) fn net_up_pipelined(&mut self) -> Result<()> {
        // Every pin is checked before anything is journaled or made.
        let mut todo = Vec::new();
        for (i, node) in self.net.nodes.iter().enumerate() {
            if !node.created.is_empty() {
                continue;
            }
            let pin = pin_name(&self.name, &node.name);
            let path = Path::new(netns::NETNS_RUN_DIR).join(&pin);
            super::net::refuse_foreign_pin(&path)
                .map_err(|e| LabError(format!("up: netns '{}': {e}", node.name)))?;
            todo.push((i, pin, path));
        }
        let mut jobs = Vec::new();
        let mut pending = HashMap::new();
        for (i, pin, path) in todo {
            super::check_interrupt()?;
            let id = self
                .journal()?
                .intend(&crate::engine::journal::Object::Netns { path })
                .map_err(|e| LabError(e.to_string()))?;
            // From here the node counts as made: the rollback of a failed
            // `up` removes its pin if the helper got that far.
            self.net.nodes[i].created = vec![id];
            jobs.push((i, pin));
            pending.insert(i, id);
        }
        if jobs.is_empty() {
            let mut conns = Conns::default();
            return self.net_links_and_bridges(&mut conns);
        }
        let stop = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel();
        let result = std::thread::scope(|s| {
            let stop = &stop;
            // Every HELPERS-th namespace each, so they come in order.
            let mut shares: Vec<Vec<(usize, String)>> = vec![Vec::new(); HELPERS];
            for (n, job) in jobs.into_iter().enumerate() {
                shares[n % HELPERS].push(job);
            }
            let mut helpers = Vec::new();
            for share in shares {
                let tx = tx.clone();
                let h = std::thread::Builder::new()
                    .name("luxc-netns".into())
                    .spawn_scoped(s, move || make_namespaces(share, tx, stop));
                match h {
                    Ok(h) => helpers.push(h),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err(LabError(format!(
                            "up: cannot start a namespace helper: {e}"
                        )));
                    }
                }
            }
            drop(tx);
            let mut conns = Conns::default();
            conns.feed = Some(NsFeed { rx, pending });
            let mut r = self
                .net_links_and_bridges(&mut conns)
                .and_then(|()| self.await_all_nodes(&mut conns));
            if r.is_err() {
                stop.store(true, Ordering::Relaxed);
                // Journal what the helper finished meanwhile, so the
                // rollback and `luxc down` see it done.
                let _ = self.await_all_nodes(&mut conns);
            }
            for h in helpers {
                if h.join().is_err() && r.is_ok() {
                    r = Err(LabError("up: a namespace helper failed".into()));
                }
            }
            r
        });
        wait_single_threaded();
        result?;
        self.write_topology()
    }

    /// Bridges (on the host, in netns nodes, in running containers), then
    /// links, as `net_up_before` and `net_up_after` make them when no
    /// container starts in between.
    fn net_links_and_bridges(&mut self, conns: &mut Conns) -> Result<()> {
        self.create_bridges(conns, false)?;
        self.create_bridges(conns, true)?;
        self.create_links(conns)
    }

    /// Waits, when a helper is making netns node `name`'s namespace, until
    /// it is there (an error if that failed).
    pub(super) fn await_node(&mut self, conns: &mut Conns, name: &str) -> Result<()> {
        let Some(i) = self.net.nodes.iter().position(|n| n.name == name) else {
            return Ok(());
        };
        while conns
            .feed
            .as_ref()
            .is_some_and(|f| f.pending.contains_key(&i))
        {
            self.take_report(conns)?;
        }
        Ok(())
    }

    /// Takes every report still to come.
    fn await_all_nodes(&mut self, conns: &mut Conns) -> Result<()> {
        let mut first = Ok(());
        while conns.feed.as_ref().is_some_and(|f| !f.pending.is_empty()) {
            if let Err(e) = self.take_report(conns) {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    /// Takes one report from the helpers and journals it. When they have
    /// stopped early, the namespaces it did not report are left to the
    /// rollback (their pins, if any, are removed by it).
    fn take_report(&mut self, conns: &mut Conns) -> Result<()> {
        let feed = conns.feed.as_mut().expect("a feed");
        let (i, r) = match feed.rx.recv() {
            Ok(report) => report,
            Err(mpsc::RecvError) => {
                let left: BTreeSet<usize> = feed.pending.keys().copied().collect();
                feed.pending.clear();
                let names: Vec<&str> = left
                    .iter()
                    .map(|i| self.net.nodes[*i].name.as_str())
                    .collect();
                return Err(LabError(format!(
                    "up: netns '{}': not created (stopped)",
                    names.join("', '")
                )));
            }
        };
        let id = feed.pending.remove(&i).expect("reported once");
        let name = self.net.nodes[i].name.clone();
        let (path, file, nl) = r.map_err(|e| LabError(format!("up: netns '{name}': {e}")))?;
        conns.adopt(path, file, nl);
        crate::engine::progress::step(&format!("netns {name}"));
        self.journal()?
            .done(id)
            .map_err(|e| LabError(e.to_string()))
    }
}

/// Waits (briefly) until the joined helper has left /proc/self/task: a
/// thread is joined before the kernel has quite released it, and a
/// container forked right after must find luxc single-threaded.
fn wait_single_threaded() {
    for _ in 0..1000 {
        if crate::process::spawn::thread_count() <= 1 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
}
