//! Crash safety of labs (root): luxc killed with SIGKILL or stopped with
//! SIGINT at a random moment while a 20-node lab of containers or a
//! 100-node network-only lab comes up, a Lua error half
//! way, `--rm`, a truncated journal, objects named like a lab's that luxc
//! did not make, and two luxc runs racing for one lab. After each, a host
//! check proves nothing of the lab is left: namespaces, links, mounts, state
//! dirs, cgroups, processes, nft tables.
//!
//! The random delays come from a small PRNG; its seed is printed, and
//! `FAULTS_SEED=N` replays a run.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::lab::{assert_lab_gone, down, lab_name, port_prefix};

/// The lab: `N` containers (host image, memory and pids limits) on one
/// bridge, a link each with an address; then, by `MODE`, sleep (to be
/// killed), fail, `os.exit(3)` or end. `@up SECONDS` on stdout once `up`
/// returned, with the time `up` took.
const LAB_SCRIPT: &str = r#"
local LAB, N, MODE, BR = ...
N = tonumber(N)
local l = luxc.lab(LAB)
local img = luxc.image.host()
local br = l:bridge{ name = BR }
for i = 1, N do
  local c = l:container{ name = "c" .. i, image = img, env = { FAULT_TAG = LAB },
                         limits = { memory = "64M", pids = 32 } }
  l:link(c, br, { address = string.format("10.93.0.%d/24", i) })
end
local t0 = luxc.now()
l:up()
io.write(string.format("@up %.6f\n", luxc.now() - t0))
io.stdout:flush()
if MODE == "sleep" then
  luxc.sleep(60)
elseif MODE == "error" then
  error("boom after up")
elseif MODE == "exit" then
  os.exit(3)
end
"#;

/// The network-only lab: `N` netns nodes on one bridge, a link each with an
/// address. `lab:up()` makes its namespaces on helper threads while the
/// main thread makes the links (src/engine/lab_netns_feed.rs): a signal
/// lands while both work.
const NETNS_LAB_SCRIPT: &str = r#"
local LAB, N, MODE, BR = ...
N = tonumber(N)
local l = luxc.lab(LAB)
local br = l:bridge{ name = BR }
for i = 1, N do
  l:link(l:netns("n" .. i), br, { address = string.format("10.94.%d.%d/16", i // 256, i % 256 + 1) })
end
local t0 = luxc.now()
l:up()
io.write(string.format("@up %.6f\n", luxc.now() - t0))
io.stdout:flush()
if MODE == "sleep" then
  luxc.sleep(60)
end
"#;

const NODES: usize = 20;
const TRIALS: usize = 30;

/// A lab the fault trials bring up: its script and size, and whether its
/// nodes run processes.
#[derive(Debug, Clone, Copy)]
struct Kind {
    script: &'static str,
    nodes: usize,
    processes: bool,
}

const CONTAINER_LAB: Kind = Kind {
    script: LAB_SCRIPT,
    nodes: NODES,
    processes: true,
};

const NETNS_LAB: Kind = Kind {
    script: NETNS_LAB_SCRIPT,
    nodes: 100,
    processes: false,
};

/// Trials with the network-only lab (each takes a fraction of a second).
const NETNS_TRIALS: usize = 20;

/// `FAULT_TAG=LAB`: in the environment of every process of the lab.
fn marker(lab: &str) -> String {
    format!("FAULT_TAG={lab}")
}

/// The name of lab `lab`'s bridge: one of its port names, so the host check
/// finds it by the lab's port prefix even without its alias.
fn bridge(lab: &str) -> String {
    luxc::engine::lab::port_name(lab, "-bridge", "br")
}

/// A script file that lives as long as the value.
struct Script {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn script(body: &str) -> Script {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faults.lua");
    std::fs::write(&path, body).unwrap();
    Script { _dir: dir, path }
}

/// A running `luxc run`: stdout lines arrive on a channel, stderr is
/// collected in a thread.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    started: Instant,
}

impl Running {
    /// Starts `luxc run [--rm] SCRIPT LAB N MODE BRIDGE` with the lab's
    /// marker in luxc's environment.
    fn start(s: &Script, rm: bool, lab: &str, n: usize, mode: &str, br: &str) -> Running {
        let mut cmd = Command::new(common::luxc_bin());
        cmd.arg("run");
        if rm {
            cmd.arg("--rm");
        }
        cmd.arg(&s.path)
            .args([lab, &n.to_string(), mode, br])
            .env("FAULT_TAG", lab)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("start luxc");
        let out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Running {
            child,
            lines,
            stderr: Some(stderr),
            started,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for `@up`; the time `up` took, or None when luxc ended (or
    /// `timeout` passed) first.
    fn wait_up(&mut self, timeout: Duration) -> Option<Duration> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with("@up ") => {
                    let secs: f64 = l[4..].trim().parse().expect("@up SECONDS");
                    return Some(Duration::from_secs_f64(secs));
                }
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Waits until the lab's journal exists (`up` has begun): the time
    /// since luxc's start.
    fn wait_journal(&self, lab: &str) -> Duration {
        let journal = PathBuf::from(format!("/run/luxc/{lab}/journal"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !journal.exists() {
            assert!(Instant::now() < deadline, "{lab}: no journal after 30 s");
            std::thread::sleep(Duration::from_micros(500));
        }
        self.started.elapsed()
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).unwrap();
    }

    /// Waits for luxc to end (at most 30 s): its status, whether it printed
    /// `@up`, and its stderr.
    fn finish(self) -> (std::process::ExitStatus, bool, String) {
        let (status, up, stderr) = self.finish_timed();
        (status, up.is_some(), stderr)
    }

    /// `finish`, with the time `up` took when luxc printed `@up`.
    fn finish_timed(mut self) -> (std::process::ExitStatus, Option<Duration>, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("luxc (pid {}) did not end", self.child.id());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let stderr = self.stderr.take().unwrap().join().unwrap();
        // Everything luxc wrote: the reader ends at EOF.
        let mut up = None;
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            if let Some(secs) = l.strip_prefix("@up ") {
                up = secs.trim().parse().ok().map(Duration::from_secs_f64);
            }
        }
        (status, up, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed half way: stop luxc (it rolls back).
        if let Ok(None) = self.child.try_wait() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.child.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            let _ = self.child.wait();
        }
    }
}

/// xorshift64*: small, seeded, good enough to spread delays.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("FAULTS_SEED={seed}");
        Rng(seed)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How long luxc takes to begin `up` (its journal appears), and how long
/// `up` takes: the shorter of two runs each (the first may find cold caches).
#[derive(Debug, Clone, Copy)]
struct Timing {
    start: Duration,
    up: Duration,
}

impl Timing {
    /// Follows the machine's pace (other tests run at the same time): a
    /// trial whose `up` finished before the signal says how long it took.
    fn follow(&mut self, took: Option<Duration>) {
        if let Some(t) = took {
            self.up = (self.up + t) / 2;
        }
    }
}

fn calibrate(s: &Script, k: Kind, lab: &str, br: &str) -> Timing {
    let (a, b) = (measure(s, k, lab, br), measure(s, k, lab, br));
    let t = Timing {
        start: a.start.min(b.start),
        up: a.up.min(b.up),
    };
    println!("{}-node lab: {t:?}", k.nodes);
    t
}

/// One run of the lab script up to `@up`, stopped with SIGINT afterwards
/// (which must roll it all back). Also proves the host check sees the lab
/// while it is up.
fn measure(s: &Script, k: Kind, lab: &str, br: &str) -> Timing {
    let mut run = Running::start(s, false, lab, k.nodes, "sleep", br);
    let start = run.wait_journal(lab);
    let up = run
        .wait_up(Duration::from_secs(30))
        .expect("the lab came up");
    let seen = common::lab::leftovers(lab, &marker(lab), &[]);
    let procs = seen.iter().filter(|l| l.starts_with("process")).count();
    let pins = seen.iter().filter(|l| l.starts_with("netns pin")).count();
    assert!(
        (procs >= k.nodes || !k.processes) && pins == k.nodes,
        "the host check does not see the live lab ({procs} processes, {pins} pins):\n{seen:?}"
    );
    run.signal(nix::sys::signal::Signal::SIGINT);
    let (status, _, stderr) = run.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_lab_gone(lab, &marker(lab), &[]);
    Timing { start, up }
}

/// Starts the lab script and sends `sig` at a random moment: in one trial
/// of six during luxc's start (before `up`), else while `up` runs (a random
/// point of the time it took in calibration, plus a tenth, from when its
/// journal appeared). Returns the run and a description of the moment.
fn start_and_signal(
    s: &Script,
    k: Kind,
    t: Timing,
    rng: &mut Rng,
    lab: &str,
    br: &str,
    sig: nix::sys::signal::Signal,
) -> (Running, String) {
    let run = Running::start(s, false, lab, k.nodes, "sleep", br);
    let when = if rng.unit() < 1.0 / 6.0 {
        let d = t.start.mul_f64(rng.unit());
        std::thread::sleep(d.saturating_sub(run.started.elapsed()));
        format!("{d:?} after luxc's start")
    } else {
        let d = t.up.mul_f64(1.1 * rng.unit());
        run.wait_journal(lab);
        std::thread::sleep(d);
        format!("{d:?} into up")
    };
    run.signal(sig);
    (run, when)
}

/// Where a trial's signal landed.
#[derive(Debug, Default)]
struct Landed {
    /// Before luxc journaled anything.
    before: usize,
    /// While the lab came up.
    during: usize,
    /// After `up` returned.
    after: usize,
}

#[test]
fn sigkill_at_random_points_of_up_and_down_removes_everything() {
    sigkill_trials(CONTAINER_LAB, TRIALS, "k");
}

#[test]
fn sigkill_at_random_points_of_a_network_only_up_and_down_removes_everything() {
    sigkill_trials(NETNS_LAB, NETNS_TRIALS, "nk");
}

/// `trials` times: lab `k` killed with SIGKILL at a random point of `up`,
/// then `luxc down`; nothing may remain.
fn sigkill_trials(k: Kind, trials: usize, tag: &str) {
    let s = script(k.script);
    let cal = lab_name(&format!("{tag}cal"));
    let mut timing = calibrate(&s, k, &cal, &bridge(&cal));
    let mut rng = Rng::new();
    let mut landed = Landed::default();
    let t0 = Instant::now();
    for trial in 0..trials {
        let lab = lab_name(&format!("{tag}{trial}"));
        let br = bridge(&lab);
        let sig = nix::sys::signal::Signal::SIGKILL;
        let (run, delay) = start_and_signal(&s, k, timing, &mut rng, &lab, &br, sig);
        let (status, took, stderr) = run.finish_timed();
        timing.follow(took);
        let up = took.is_some();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "trial {trial}: {stderr}"
        );
        let out = down(&lab);
        let (stdout, err) = common::text(&out);
        match out.status.code() {
            Some(0) if up => landed.after += 1,
            Some(0) => landed.during += 1,
            // Killed before the lab had a journal: nothing to take down.
            Some(1) if err.contains(&format!("no lab '{lab}'")) && !up => landed.before += 1,
            _ => panic!("trial {trial} (SIGKILL {delay}): luxc down {lab}:\n{stdout}{err}"),
        }
        assert_lab_gone(&lab, &marker(&lab), &[]);
    }
    println!(
        "{trials} trials in {:?}; SIGKILL landed {landed:?}",
        t0.elapsed()
    );
    assert!(
        landed.during >= trials / 3,
        "too few kills landed while the lab came up: {landed:?}"
    );
}

#[test]
fn sigint_at_random_points_of_up_rolls_back_and_exits_130() {
    sigint_trials(CONTAINER_LAB, TRIALS, "i");
}

#[test]
fn sigint_at_random_points_of_a_network_only_up_rolls_back_and_exits_130() {
    sigint_trials(NETNS_LAB, NETNS_TRIALS, "ni");
}

/// `trials` times: lab `k` interrupted with SIGINT at a random point of
/// `up`; luxc must roll back all of it itself and exit 130.
fn sigint_trials(k: Kind, trials: usize, tag: &str) {
    let s = script(k.script);
    let cal = lab_name(&format!("{tag}cal"));
    let mut timing = calibrate(&s, k, &cal, &bridge(&cal));
    let mut rng = Rng::new();
    let mut landed = Landed::default();
    let t0 = Instant::now();
    for trial in 0..trials {
        let lab = lab_name(&format!("{tag}{trial}"));
        let br = bridge(&lab);
        let sig = nix::sys::signal::Signal::SIGINT;
        let (run, delay) = start_and_signal(&s, k, timing, &mut rng, &lab, &br, sig);
        // The journal appears when `up` begins (and goes when the rollback
        // ends): there now means the signal came while luxc was making it.
        let had_journal = PathBuf::from(format!("/run/luxc/{lab}/journal")).exists();
        let (status, took, stderr) = run.finish_timed();
        timing.follow(took);
        let up = took.is_some();
        // 130; or, for a signal that came before luxc set its handler (in
        // its first milliseconds), death by SIGINT, which shells report as
        // 130 too.
        let by_signal = std::os::unix::process::ExitStatusExt::signal(&status) == Some(2);
        assert!(
            status.code() == Some(130) || (by_signal && !had_journal),
            "trial {trial} (SIGINT {delay}): {status:?}\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "trial {trial}: {stderr}");
        match (up, had_journal) {
            (true, _) => landed.after += 1,
            (false, true) => landed.during += 1,
            (false, false) => landed.before += 1,
        }
        // luxc removed it all itself.
        assert_lab_gone(&lab, &marker(&lab), &[]);
        let out = down(&lab);
        let (_, err) = common::text(&out);
        assert_eq!(out.status.code(), Some(1), "trial {trial}: {err}");
        assert!(
            err.contains(&format!("no lab '{lab}'")),
            "trial {trial}: {err}"
        );
    }
    println!(
        "{trials} trials in {:?}; SIGINT landed {landed:?}",
        t0.elapsed()
    );
    assert!(
        landed.during >= trials / 3,
        "too few interrupts landed while the lab came up: {landed:?}"
    );
}

/// Runs the lab script to its end; returns (status, stderr).
fn run_to_end(s: &Script, rm: bool, lab: &str, mode: &str, br: &str) -> (Option<i32>, String) {
    let run = Running::start(s, rm, lab, 4, mode, br);
    let (status, up, stderr) = run.finish();
    assert!(up, "{lab} ({mode}): the lab did not come up:\n{stderr}");
    (status.code(), stderr)
}

/// The number of netns pins of `lab` (one per container while it is up).
fn pins(lab: &str) -> usize {
    std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{lab}-"))
        })
        .count()
}

#[test]
fn a_lua_error_leaves_the_lab_up_without_rm_and_nothing_with_rm() {
    let s = script(LAB_SCRIPT);
    // Without --rm the lab stays for a person to look at; `luxc down` clears it.
    let lab = lab_name("err");
    let (code, stderr) = run_to_end(&s, false, &lab, "error", &bridge(&lab));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("boom after up"), "{stderr}");
    assert!(PathBuf::from(format!("/run/luxc/{lab}/journal")).is_file());
    assert_eq!(pins(&lab), 4, "the lab is not up after the error");
    // `luxc ls` shows it, with its containers running.
    let ls = std::process::Command::new(common::luxc_bin())
        .args(["ls", "--json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    let entry = listed["labs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == lab.as_str())
        .unwrap_or_else(|| panic!("luxc ls does not list {lab}: {listed}"))
        .clone();
    assert_eq!(entry["status"], "up", "{entry}");
    let out = down(&lab);
    assert_eq!(out.status.code(), Some(0), "{:?}", common::text(&out));
    assert_lab_gone(&lab, &marker(&lab), &[]);

    // With --rm nothing remains, however the script ends.
    for (mode, want) in [("error", 1), ("exit", 3), ("end", 0)] {
        let lab = lab_name(&format!("rm{mode}"));
        let (code, stderr) = run_to_end(&s, true, &lab, mode, &bridge(&lab));
        assert_eq!(code, Some(want), "--rm, {mode}: {stderr}");
        assert_lab_gone(&lab, &marker(&lab), &[]);
        let out = down(&lab);
        assert_eq!(
            out.status.code(),
            Some(1),
            "--rm, {mode}: the lab is still known"
        );
    }
    // ... also when SIGTERM stops it.
    let lab = lab_name("rmterm");
    let mut run = Running::start(&s, true, &lab, 4, "sleep", &bridge(&lab));
    assert!(run.wait_up(Duration::from_secs(30)).is_some());
    run.signal(nix::sys::signal::Signal::SIGTERM);
    let (status, _, stderr) = run.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_lab_gone(&lab, &marker(&lab), &[]);
}

#[test]
fn a_truncated_last_journal_record_does_not_stop_down() {
    let s = script(LAB_SCRIPT);
    let lab = lab_name("trunc");
    // A script that ends normally leaves its lab up.
    let (code, stderr) = run_to_end(&s, false, &lab, "end", &bridge(&lab));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(pins(&lab), 4, "the lab is not up after the script ended");
    // What a SIGKILL in the middle of a record's write(2) would leave: the
    // last line cut in half, without its newline.
    let path = format!("/run/luxc/{lab}/journal");
    let text = std::fs::read_to_string(&path).unwrap();
    let body = text.strip_suffix('\n').unwrap();
    let last = body.rfind('\n').map_or(0, |i| i + 1);
    let cut = last + (body.len() - last) / 2;
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(cut as u64).unwrap();
    drop(f);
    let out = down(&lab);
    let (stdout, err) = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{err}");
    assert!(
        err.contains("truncated"),
        "no word of the cut record: {err}"
    );
    assert_lab_gone(&lab, &marker(&lab), &[]);
}

/// Host objects the test makes itself, removed however the test ends.
struct Foreign {
    veth: String,
    netns: String,
}

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn objects_named_like_the_labs_survive_down() {
    let lab = lab_name("foreign");
    let m = marker(&lab);
    // The host name lab `lab` would give the bridge port of container b's
    // eth0, and the pin of a netns node x: made here, not by luxc.
    let port = luxc::engine::lab::port_name(&lab, "b", "eth0");
    let peer = format!("fq{:06}", std::process::id() % 1_000_000);
    let pin = format!("{lab}-x");
    let foreign = Foreign {
        veth: port.clone(),
        netns: pin.clone(),
    };
    assert!(ip(&[
        "link", "add", &port, "type", "veth", "peer", "name", &peer
    ]));
    assert!(ip(&["netns", "add", &pin]));
    let s = script(
        r#"
local LAB, BR = ...
local l = luxc.lab(LAB)
local img = luxc.image.host()
local br = l:bridge{ name = BR }
local a = l:container{ name = "a", image = img, env = { FAULT_TAG = LAB } }
l:link(a, br, { address = "10.94.0.1/24" })
l:up()
-- b's bridge port has the name of the test's veth: up fails, rolls back b.
local b = l:container{ name = "b", image = img, env = { FAULT_TAG = LAB } }
l:link(b, br, { address = "10.94.0.2/24" })
local ok, e = pcall(l.up, l)
assert(not ok, "up with a taken port name succeeded")
print("@port " .. tostring(e))
-- Node x's pin exists: refused before anything is journaled for it.
l:netns("x")
ok, e = pcall(l.up, l)
assert(not ok, "up with a taken netns pin succeeded")
print("@netns " .. tostring(e))
"#,
    );
    let out = Command::new(common::luxc_bin())
        .arg("run")
        .arg(&s.path)
        .args([&lab, &bridge(&lab)])
        .env("FAULT_TAG", &lab)
        .output()
        .unwrap();
    let (stdout, stderr) = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("File exists"), "{stdout}");
    assert!(stdout.contains("exists already"), "{stdout}");
    // As if luxc had been killed right after journaling a link of that
    // name, before creating it: an entry without its "done".
    let path = format!("/run/luxc/{lab}/journal");
    let text = std::fs::read_to_string(&path).unwrap();
    let next = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["id"].as_u64())
        .max()
        .unwrap()
        + 1;
    let record = serde_json::json!({
        "id": next, "op": "intend",
        "object": { "kind": "link", "netns": null, "name": port,
                    "alias": format!("luxc:{lab}:{next}"), "with_netns": false }
    });
    std::fs::write(&path, format!("{text}{record}\n")).unwrap();
    let out = down(&lab);
    assert_eq!(out.status.code(), Some(0), "{:?}", common::text(&out));
    assert!(ip(&["link", "show", &port]), "luxc down removed {port}");
    assert!(ip(&["link", "show", &peer]), "luxc down removed {peer}");
    assert!(
        ip(&["netns", "exec", &pin, "true"]),
        "luxc down removed or unmounted /run/netns/{pin}"
    );
    assert_lab_gone(&lab, &m, &[&port, &pin]);
    drop(foreign);
    assert_lab_gone(&lab, &m, &[]);
}

/// The Process records of a lab's journal.
fn journaled_processes(lab: &str) -> Vec<String> {
    std::fs::read_to_string(format!("/run/luxc/{lab}/journal"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(r#""kind":"process""#))
        .map(str::to_string)
        .collect()
}

#[test]
fn two_runs_on_one_lab_one_fails_naming_the_other() {
    let s = script(LAB_SCRIPT);
    // One after the other: the second finds the lab held.
    let lab = lab_name("two");
    let mut a = Running::start(&s, false, &lab, 3, "sleep", &bridge(&lab));
    assert!(a.wait_up(Duration::from_secs(30)).is_some());
    let journal = std::fs::read(format!("/run/luxc/{lab}/journal")).unwrap();
    for rm in [false, true] {
        let b = Running::start(&s, rm, &lab, 3, "sleep", &bridge(&lab));
        let (status, up, stderr) = b.finish();
        assert_eq!(status.code(), Some(1), "second run (--rm {rm}): {stderr}");
        assert!(!up);
        let holder = format!("lab '{lab}' is in use by luxc pid {}", a.pid());
        assert!(stderr.contains(&holder), "want {holder:?} in: {stderr}");
        assert_eq!(
            std::fs::read(format!("/run/luxc/{lab}/journal")).unwrap(),
            journal,
            "the second run (--rm {rm}) wrote to the first one's journal"
        );
        assert_eq!(pins(&lab), 3, "the second run (--rm {rm}) touched the lab");
    }
    a.signal(nix::sys::signal::Signal::SIGINT);
    let (status, _, stderr) = a.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_lab_gone(&lab, &marker(&lab), &[]);

    // Started together: exactly one brings the lab up.
    for round in 0..5 {
        let lab = lab_name(&format!("race{round}"));
        let br = bridge(&lab);
        let mut runs = [
            Running::start(&s, false, &lab, 3, "sleep", &br),
            Running::start(&s, false, &lab, 3, "sleep", &br),
        ];
        // The loser ends by itself; the winner prints @up and sleeps.
        let deadline = Instant::now() + Duration::from_secs(30);
        let loser = loop {
            if let Some(i) = runs
                .iter_mut()
                .position(|r| r.child.try_wait().unwrap().is_some())
            {
                break i;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: neither run ended"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        let [first, second] = runs;
        let (mut winner, loser) = if loser == 0 {
            (second, first)
        } else {
            (first, second)
        };
        assert!(
            winner.wait_up(Duration::from_secs(30)).is_some(),
            "round {round}: no run brought the lab up"
        );
        let winner_pid = winner.pid();
        let (status, up, stderr) = loser.finish();
        assert!(!up, "round {round}: both runs brought the lab up");
        assert_eq!(status.code(), Some(1), "round {round}: {stderr}");
        let holder = format!("is in use by luxc pid {winner_pid}");
        assert!(
            stderr.contains(&holder),
            "round {round}: want {holder:?} in: {stderr}"
        );
        let procs = journaled_processes(&lab);
        assert_eq!(procs.len(), 3, "round {round}: {procs:#?}");
        winner.signal(nix::sys::signal::Signal::SIGINT);
        let (status, _, stderr) = winner.finish();
        assert_eq!(status.code(), Some(130), "round {round}: {stderr}");
        assert_lab_gone(&lab, &marker(&lab), &[]);
    }
}

#[test]
fn port_names_of_a_lab_share_its_prefix() {
    // The host check finds a lab's ports by this prefix: it must hold.
    let lab = lab_name("prefix");
    let p = port_prefix(&lab);
    for (node, ifname) in [("a", "eth0"), ("c17", "eth3"), ("r", "x")] {
        assert!(luxc::engine::lab::port_name(&lab, node, ifname).starts_with(&p));
    }
    assert!(bridge(&lab).starts_with(&p) && bridge(&lab).len() <= 15);
    assert!(!luxc::engine::lab::port_name("other", "a", "eth0").starts_with(&p));
}
