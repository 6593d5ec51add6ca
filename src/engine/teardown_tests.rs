//! Tests of teardown: order and bookkeeping with a recording remover, and the host
//! remover on temporary directories and `sleep` processes of this test.
use super::*;
use crate::engine::journal::replay;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command};

/// Records what it was asked to remove; fails for the objects in `fail`.
#[derive(Default)]
struct Recorder {
    seen: Vec<Object>,
    fail: Vec<Object>,
}

impl Remover for Recorder {
    fn remove(&mut self, object: &Object) -> Result<(), String> {
        self.seen.push(object.clone());
        if self.fail.contains(object) {
            Err(format!("cannot remove {object}"))
        } else {
            Ok(())
        }
    }
}

fn dir(path: impl Into<PathBuf>) -> Object {
    Object::Dir { path: path.into() }
}

/// A journal with objects a, b, c (b only intended, as if luxc died creating it).
fn journal_abc(root: &Path) -> Journal {
    let mut journal = Journal::create_or_open(root, "lab1").unwrap();
    let a = journal.intend(&dir("/a")).unwrap();
    journal.done(a).unwrap();
    journal.intend(&dir("/b")).unwrap();
    let c = journal.intend(&dir("/c")).unwrap();
    journal.done(c).unwrap();
    journal
}

#[test]
fn removes_newest_first_including_half_created_objects() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_abc(root.path());
    let mut recorder = Recorder::default();
    let report = teardown(&mut journal, &mut recorder).unwrap();
    assert_eq!(recorder.seen, vec![dir("/c"), dir("/b"), dir("/a")]);
    assert_eq!(
        report,
        Report {
            removed: 3,
            failed: vec![]
        }
    );
    assert!(journal.entries().unwrap().iter().all(|e| e.removed));
}

#[test]
fn records_each_removal_at_once() {
    /// Checks, at each removal, that the previous one is already in the journal.
    struct Checker {
        path: PathBuf,
        removed_before: Vec<usize>,
    }
    impl Remover for Checker {
        fn remove(&mut self, _: &Object) -> Result<(), String> {
            let entries = replay(&self.path).unwrap();
            self.removed_before
                .push(entries.iter().filter(|e| e.removed).count());
            Ok(())
        }
    }
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_abc(root.path());
    let mut checker = Checker {
        path: journal.path().to_owned(),
        removed_before: vec![],
    };
    teardown(&mut journal, &mut checker).unwrap();
    assert_eq!(checker.removed_before, vec![0, 1, 2]);
}

#[test]
fn a_failure_is_reported_and_the_rest_still_removed() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_abc(root.path());
    let mut recorder = Recorder {
        fail: vec![dir("/b")],
        ..Recorder::default()
    };
    let report = teardown(&mut journal, &mut recorder).unwrap();
    assert_eq!(report.removed, 2);
    assert_eq!(
        report.failed,
        vec![(dir("/b"), "cannot remove dir /b".into())]
    );
    let left: Vec<Object> = journal
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| !e.removed)
        .map(|e| e.object)
        .collect();
    assert_eq!(left, vec![dir("/b")]);

    // A later teardown retries only what failed.
    let mut recorder = Recorder::default();
    let report = teardown(&mut journal, &mut recorder).unwrap();
    assert_eq!(recorder.seen, vec![dir("/b")]);
    assert_eq!(report.removed, 1);
}

#[test]
fn a_second_teardown_removes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_abc(root.path());
    teardown(&mut journal, &mut Recorder::default()).unwrap();
    let before = fs::read(journal.path()).unwrap();
    let mut recorder = Recorder::default();
    let report = teardown(&mut journal, &mut recorder).unwrap();
    assert_eq!(report, Report::default());
    assert!(recorder.seen.is_empty(), "{:?}", recorder.seen);
    assert_eq!(fs::read(journal.path()).unwrap(), before);
}

#[test]
fn teardown_resumes_from_a_reopened_journal() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_abc(root.path());
    journal.removed(2).unwrap();
    drop(journal);
    let mut journal = Journal::open_existing(root.path(), "lab1").unwrap();
    let mut recorder = Recorder::default();
    teardown(&mut journal, &mut recorder).unwrap();
    assert_eq!(recorder.seen, vec![dir("/b"), dir("/a")]);
}

#[test]
fn finish_removes_the_journal_and_the_lab_dir() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_abc(root.path());
    teardown(&mut journal, &mut Recorder::default()).unwrap();
    finish(journal).unwrap();
    assert!(!root.path().join("lab1").exists());
    assert!(crate::engine::journal::labs(root.path())
        .unwrap()
        .is_empty());
}

#[test]
fn finish_keeps_a_lab_dir_holding_files_it_does_not_know() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_abc(root.path());
    fs::write(journal.dir().join("stranger"), "").unwrap();
    teardown(&mut journal, &mut Recorder::default()).unwrap();
    finish(journal).unwrap();
    assert!(root.path().join("lab1/stranger").exists());
    assert!(!root.path().join("lab1/journal").exists());
}

#[test]
fn finish_keeps_a_journal_with_objects_left() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_abc(root.path());
    let mut recorder = Recorder {
        fail: vec![dir("/a")],
        ..Recorder::default()
    };
    teardown(&mut journal, &mut recorder).unwrap();
    let path = journal.path().to_owned();
    let err = finish(journal).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "lab 'lab1': 1 object(s) not removed yet; journal kept at {}",
            path.display()
        )
    );
    assert!(path.exists());
}

// ---- HostRemover on directories and files ----

/// A state root with lab dir `<root>/lab1` and a directory `<root>/outside` holding a file.
fn host_tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let lab = root.path().join("lab1");
    let outside = root.path().join("outside");
    fs::create_dir_all(&lab).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("keep"), "keep").unwrap();
    (root, lab, outside)
}

#[test]
fn host_removes_a_dir_tree_inside_the_lab_dir() {
    let (_root, lab, _) = host_tree();
    let upper = lab.join("c1/upper");
    fs::create_dir_all(upper.join("etc/deep")).unwrap();
    fs::write(upper.join("etc/deep/file"), "x").unwrap();
    HostRemover::new(&lab).remove(&dir(&upper)).unwrap();
    assert!(!upper.exists());
    assert!(
        lab.join("c1").exists(),
        "removed more than the journaled dir"
    );
}

#[test]
fn host_dir_already_gone_is_ok() {
    let (_root, lab, _) = host_tree();
    let mut remover = HostRemover::new(&lab);
    remover.remove(&dir(lab.join("never/made"))).unwrap();
    remover.remove(&dir(lab.join("never-made"))).unwrap();
}

#[test]
fn host_refuses_a_dir_outside_the_lab_dir() {
    let (_root, lab, outside) = host_tree();
    let err = HostRemover::new(&lab).remove(&dir(&outside)).unwrap_err();
    assert!(err.starts_with("refusing to remove dir"), "{err}");
    assert!(outside.join("keep").exists());
}

#[test]
fn host_refuses_dot_dot_and_the_lab_dir_itself() {
    let (_root, lab, outside) = host_tree();
    let mut remover = HostRemover::new(&lab);
    for path in [
        lab.join("../outside"),
        lab.join(".."),
        lab.clone(),
        lab.join("."),
    ] {
        let err = remover.remove(&dir(&path)).unwrap_err();
        assert!(err.starts_with("refusing"), "{path:?}: {err}");
    }
    assert!(outside.join("keep").exists());
    assert!(lab.exists());
}

#[test]
fn host_refuses_a_dir_reached_through_a_symlink_out() {
    let (_root, lab, outside) = host_tree();
    fs::create_dir(outside.join("sub")).unwrap();
    std::os::unix::fs::symlink(&outside, lab.join("link")).unwrap();
    let err = HostRemover::new(&lab)
        .remove(&dir(lab.join("link/sub")))
        .unwrap_err();
    assert!(err.starts_with("refusing"), "{err}");
    assert!(outside.join("sub").exists());
}

#[test]
fn host_removes_a_symlink_itself_never_its_target() {
    let (_root, lab, outside) = host_tree();
    std::os::unix::fs::symlink(&outside, lab.join("link")).unwrap();
    HostRemover::new(&lab)
        .remove(&dir(lab.join("link")))
        .unwrap();
    assert!(fs::symlink_metadata(lab.join("link")).is_err());
    assert!(outside.join("keep").exists());
}

#[test]
fn host_removes_a_file_inside_and_refuses_one_outside() {
    let (_root, lab, outside) = host_tree();
    fs::write(lab.join("pin"), "").unwrap();
    let mut remover = HostRemover::new(&lab);
    remover
        .remove(&Object::File {
            path: lab.join("pin"),
        })
        .unwrap();
    assert!(!lab.join("pin").exists());
    remover
        .remove(&Object::File {
            path: lab.join("pin"),
        })
        .unwrap();
    let err = remover
        .remove(&Object::File {
            path: outside.join("keep"),
        })
        .unwrap_err();
    assert!(err.contains("not inside the lab dir"), "{err}");
    assert!(outside.join("keep").exists());
}

#[test]
fn host_unmounting_a_path_that_is_no_mount_is_ok() {
    let (_root, lab, outside) = host_tree();
    let mut remover = HostRemover::new(&lab);
    fs::create_dir(lab.join("m")).unwrap();
    remover
        .remove(&Object::Mount {
            path: lab.join("m"),
        })
        .unwrap();
    remover
        .remove(&Object::Mount {
            path: lab.join("absent"),
        })
        .unwrap();
    let err = remover
        .remove(&Object::Mount { path: outside })
        .unwrap_err();
    assert!(err.starts_with("refusing to remove mount"), "{err}");
}

/// Needs root and a private mount namespace (made for this thread only); skipped
/// without root.
#[test]
fn host_dir_removal_unmounts_instead_of_deleting_through_a_mount() {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    std::thread::spawn(|| {
        // A thread of its own: the namespace goes away with it.
        unshare(CloneFlags::CLONE_NEWNS).expect("unshare mount namespace");
        let none = None::<&str>;
        mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
            .expect("make / private");
        let (_root, lab, outside) = host_tree();
        let point = lab.join("c1/upper/bound");
        fs::create_dir_all(&point).unwrap();
        mount(Some(&outside), &point, none, MsFlags::MS_BIND, none).expect("bind mount");
        assert!(point.join("keep").exists(), "bind mount not visible");
        HostRemover::new(&lab).remove(&dir(lab.join("c1"))).unwrap();
        assert!(!lab.join("c1").exists());
        assert!(outside.join("keep").exists(), "deleted through the mount");
    })
    .join()
    .unwrap();
}

// ---- HostRemover on processes ----

#[test]
fn parses_stat_with_spaces_and_parens_in_the_name() {
    let stat =
        "1234 (a) (b c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 100";
    assert_eq!(
        parse_stat(stat),
        Some(ProcStat {
            state: 'S',
            start_time: 98765
        })
    );
    assert_eq!(parse_stat("1234 (x) S 1 2"), None);
    assert_eq!(parse_stat("garbage"), None);
}

#[test]
fn reads_a_missing_process_as_none() {
    let proc_root = tempfile::tempdir().unwrap();
    assert!(read_stat(proc_root.path(), 99).unwrap().is_none());
}

struct Sleeper(Child);

impl Sleeper {
    fn start() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("30")
                .spawn()
                .expect("spawn sleep"),
        )
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
    fn start_time(&self) -> u64 {
        read_stat(Path::new("/proc"), self.pid())
            .unwrap()
            .expect("sleep has a stat")
            .start_time
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn journal_process(root: &Path, pid: i32, start_time: u64) -> Journal {
    let mut journal = Journal::create_or_open(root, "lab1").unwrap();
    let id = journal
        .intend(&Object::Process {
            pid,
            start_time,
            name: "sleeper".into(),
        })
        .unwrap();
    journal.done(id).unwrap();
    journal
}

#[test]
fn host_never_kills_a_process_with_another_start_time() {
    let mut sleeper = Sleeper::start();
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_process(root.path(), sleeper.pid(), sleeper.start_time() + 1);
    let mut remover = HostRemover::new(journal.dir());
    let report = teardown(&mut journal, &mut remover).unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        sleeper.0.try_wait().unwrap().is_none(),
        "a process with another start time was killed"
    );
}

#[test]
fn host_kills_the_journaled_process() {
    let mut sleeper = Sleeper::start();
    let root = tempfile::tempdir().unwrap();
    let mut journal = journal_process(root.path(), sleeper.pid(), sleeper.start_time());
    let mut remover = HostRemover::new(journal.dir());
    let report = teardown(&mut journal, &mut remover).unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    let status = sleeper.0.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    finish(journal).unwrap();
}

#[test]
fn host_a_process_already_gone_is_ok() {
    let mut sleeper = Sleeper::start();
    let (pid, start_time) = (sleeper.pid(), sleeper.start_time());
    sleeper.0.kill().unwrap();
    sleeper.0.wait().unwrap();
    let root = tempfile::tempdir().unwrap();
    HostRemover::new(root.path())
        .remove(&Object::Process {
            pid,
            start_time,
            name: "gone".into(),
        })
        .unwrap();
}

#[test]
fn host_refuses_pids_that_are_not_one_process() {
    let root = tempfile::tempdir().unwrap();
    let mut remover = HostRemover::new(root.path());
    for pid in [0, -1, std::process::id() as i32] {
        let err = remover
            .remove(&Object::Process {
                pid,
                start_time: 0,
                name: "x".into(),
            })
            .unwrap_err();
        assert!(err.starts_with("refusing to kill"), "{pid}: {err}");
    }
}

#[test]
fn host_teardown_of_a_whole_lab_leaves_nothing() {
    let mut sleeper = Sleeper::start();
    let root = tempfile::tempdir().unwrap();
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    let upper = journal.dir().join("c1/upper");
    let id = journal.intend(&dir(journal.dir().join("c1"))).unwrap();
    fs::create_dir_all(&upper).unwrap();
    journal.done(id).unwrap();
    let id = journal
        .intend(&Object::Process {
            pid: sleeper.pid(),
            start_time: sleeper.start_time(),
            name: "c1".into(),
        })
        .unwrap();
    journal.done(id).unwrap();
    let mut remover = HostRemover::new(journal.dir());
    let report = teardown(&mut journal, &mut remover).unwrap();
    assert_eq!(
        report,
        Report {
            removed: 2,
            failed: vec![]
        }
    );
    finish(journal).unwrap();
    assert_eq!(sleeper.0.wait().unwrap().signal(), Some(libc::SIGKILL));
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
}
