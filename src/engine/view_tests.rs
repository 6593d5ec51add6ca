//! Tests of lab views on fixture journals and a fixture /proc (no root).
use super::*;
use crate::engine::journal::Journal;
use std::fs;
use std::os::unix::fs::MetadataExt;

/// A state root and a /proc with no processes and no locks.
fn host() -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    let host = Host {
        state_root: dir.path().join("run"),
        proc_root: dir.path().join("proc"),
    };
    fs::create_dir_all(&host.proc_root).unwrap();
    fs::write(host.proc_root.join("locks"), "").unwrap();
    (dir, host)
}

/// Makes `pid` a live process started at `start_time` in the fixture /proc.
fn process(host: &Host, pid: i32, start_time: u64) {
    let dir = host.proc_root.join(pid.to_string());
    fs::create_dir_all(&dir).unwrap();
    // Fields 3..22: state S, then 18 fields, then the start time.
    let middle = vec!["0"; 18].join(" ");
    fs::write(
        dir.join("stat"),
        format!("{pid} (luxc) S {middle} {start_time} 0 0\n"),
    )
    .unwrap();
}

/// Records `objects` (done unless listed in `unfinished`) in lab `lab`'s journal.
fn journal(host: &Host, lab: &str, objects: &[Object], unfinished: &[usize]) {
    let mut j = Journal::create_or_open(&host.state_root, lab).unwrap();
    for (i, o) in objects.iter().enumerate() {
        let id = j.intend(o).unwrap();
        if !unfinished.contains(&i) {
            j.done(id).unwrap();
        }
    }
}

fn two_containers(lab: &str) -> Vec<Object> {
    let pin = |n: &str| PathBuf::from(format!("/run/netns/{lab}-{n}"));
    vec![
        Object::Link {
            netns: None,
            name: "br0".into(),
            alias: format!("luxc:{lab}:0"),
            with_netns: false,
            peer: None,
            mac: None,
        },
        Object::Cgroup {
            path: format!("luxc.{lab}"),
        },
        Object::Cgroup {
            path: format!("luxc.{lab}/a"),
        },
        Object::Process {
            pid: 100,
            start_time: 500,
            name: "a".into(),
        },
        Object::File { path: pin("a") },
        Object::Mount { path: pin("a") },
        Object::Process {
            pid: 101,
            start_time: 501,
            name: "b".into(),
        },
        Object::Link {
            netns: None,
            name: "lxa".into(),
            alias: format!("luxc:{lab}:7"),
            with_netns: true,
            peer: Some(pin("a")),
            mac: None,
        },
        Object::Moved {
            netns: pin("a"),
            name: "eth9".into(),
            host_name: "enp0s9".into(),
        },
        Object::Netns { path: pin("n1") },
        Object::NftTable {
            netns: Some(pin("n1")),
            name: format!("luxc-{lab}"),
        },
        Object::Sysctl {
            netns: Some(pin("n1")),
            key: "net.ipv4.ip_forward".into(),
            old: "0".into(),
        },
        Object::Qdisc {
            netns: None,
            link: "lxa".into(),
        },
    ]
}

#[test]
fn a_view_sorts_the_journal_into_containers_links_and_the_rest() {
    let (_dir, host) = host();
    journal(&host, "lab1", &two_containers("lab1"), &[]);
    process(&host, 100, 500);
    // Pid 101 now belongs to another process: b is stopped.
    process(&host, 101, 999);
    let v = view(&host, "lab1").unwrap();
    assert_eq!(v.status, LabStatus::Up);
    assert_eq!(v.holder, None);
    let names: Vec<(&str, i32, &str)> = v
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.pid, c.status))
        .collect();
    assert_eq!(names, [("a", 100, "running"), ("b", 101, "stopped")]);
    let a = v.container("a").unwrap();
    assert_eq!(a.cgroup.as_deref(), Some("luxc.lab1/a"));
    assert_eq!(a.netns, Some(PathBuf::from("/run/netns/lab1-a")));
    assert_eq!(a.dir, host.state_root.join("lab1/a"));
    assert_eq!(a.devices.len(), 1);
    assert_eq!(a.devices[0].host_name, "enp0s9");
    let b = v.container("b").unwrap();
    assert_eq!((b.cgroup.as_ref(), b.netns.as_ref()), (None, None));
    assert!(b.devices.is_empty());
    assert_eq!(v.links.len(), 2);
    assert_eq!(v.links[1].peer, Some(PathBuf::from("/run/netns/lab1-a")));
    assert_eq!(
        v.namespaces,
        [
            PathBuf::from("/run/netns/lab1-a"),
            PathBuf::from("/run/netns/lab1-n1")
        ]
    );
    assert_eq!(v.nft_tables[0].table, "inet luxc-lab1");
    assert_eq!(v.sysctls[0].old, "0");
    assert_eq!(v.qdiscs[0].link, "lxa");
    assert_eq!(v.cgroups, ["luxc.lab1", "luxc.lab1/a"]);
    let s = v.summary();
    assert_eq!(
        s.containers,
        Counts {
            running: 1,
            total: 2
        }
    );
    assert_eq!((s.links, s.namespaces, s.devices), (2, 2, 1));
}

#[test]
fn removed_objects_and_older_pid1s_are_left_out() {
    let (_dir, host) = host();
    let mut j = Journal::create_or_open(&host.state_root, "lab1").unwrap();
    for (pid, start_time) in [(100, 500), (200, 600)] {
        let id = j
            .intend(&Object::Process {
                pid,
                start_time,
                name: "a".into(),
            })
            .unwrap();
        j.done(id).unwrap();
    }
    let gone = j
        .intend(&Object::Process {
            pid: 300,
            start_time: 700,
            name: "c".into(),
        })
        .unwrap();
    j.removed(gone).unwrap();
    drop(j);
    process(&host, 200, 600);
    let v = view(&host, "lab1").unwrap();
    assert_eq!(v.containers.len(), 1, "{:?}", v.containers);
    assert_eq!(
        (v.containers[0].pid, v.containers[0].status),
        (200, "running")
    );
}

#[test]
fn an_unfinished_object_makes_the_lab_partial_and_a_lock_in_use() {
    let (_dir, host) = host();
    journal(&host, "lab1", &two_containers("lab1"), &[4]);
    let v = view(&host, "lab1").unwrap();
    assert_eq!(v.status, LabStatus::Partial);
    assert_eq!(v.unfinished, ["file /run/netns/lab1-a"]);
    assert_eq!(v.summary().unfinished, 1);
    // /proc/locks names the holder of the journal's flock.
    let meta = fs::metadata(host.journal("lab1")).unwrap();
    let (major, minor) = (
        nix::sys::stat::major(meta.dev()),
        nix::sys::stat::minor(meta.dev()),
    );
    fs::write(
        host.proc_root.join("locks"),
        format!(
            "1: FLOCK  ADVISORY  WRITE 4242 {major:02x}:{minor:02x}:{} 0 EOF\n",
            meta.ino()
        ),
    )
    .unwrap();
    let v = view(&host, "lab1").unwrap();
    assert_eq!((v.status, v.holder), (LabStatus::InUse, Some(4242)));
}

#[test]
fn a_lab_with_nothing_left_is_empty() {
    let (_dir, host) = host();
    let mut j = Journal::create_or_open(&host.state_root, "lab1").unwrap();
    let id = j.intend(&Object::Dir { path: "/x".into() }).unwrap();
    j.removed(id).unwrap();
    drop(j);
    assert_eq!(view(&host, "lab1").unwrap().status, LabStatus::Empty);
}

#[test]
fn an_unknown_lab_names_the_labs_there_are() {
    let (_dir, host) = host();
    let err = view(&host, "nosuch").unwrap_err();
    assert_eq!(err.to_string(), "no lab 'nosuch' (there are no labs)");
    journal(&host, "b", &[], &[]);
    journal(&host, "a", &[], &[]);
    let err = view(&host, "nosuch").unwrap_err();
    assert_eq!(err.to_string(), "no lab 'nosuch' (labs: a, b)");
    let err = view(&host, "../x").unwrap_err();
    assert!(err.to_string().starts_with("lab name '../x': use"), "{err}");
}

#[test]
fn list_summarizes_every_lab_and_names_the_unreadable_one() {
    let (_dir, host) = host();
    journal(&host, "good", &two_containers("good"), &[]);
    journal(&host, "bad", &[Object::Dir { path: "/x".into() }], &[]);
    let path = host.journal("bad");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("garbage\n{text}")).unwrap();
    let labs = list(&host).unwrap();
    let names: Vec<&str> = labs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["bad", "good"]);
    let err = labs[0].1.as_ref().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "lab 'bad' is unreadable: {} line 1: not a journal record: expected value at line 1 column 1",
            path.display()
        )
    );
    let good = labs[1].1.as_ref().unwrap();
    assert_eq!(good.containers.total, 2);
    // Looking is read-only: the corrupt journal is as it was.
    assert!(fs::read_to_string(&path).unwrap().starts_with("garbage\n"));
}

#[test]
fn the_summary_serializes_for_scripts() {
    let (_dir, host) = host();
    journal(&host, "lab1", &two_containers("lab1"), &[]);
    let s = view(&host, "lab1").unwrap().summary();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["status"], "up");
    assert_eq!(json["containers"]["total"], 2);
    assert_eq!(json["containers"]["running"], 0);
    assert_eq!(json["holder"], serde_json::Value::Null);
}

#[test]
fn container_dir_finds_a_container_also_in_a_corrupt_journal() {
    let (_dir, host) = host();
    journal(&host, "lab1", &two_containers("lab1"), &[]);
    assert_eq!(
        container_dir(&host, "lab1", "b").unwrap(),
        host.state_root.join("lab1/b")
    );
    let err = container_dir(&host, "lab1", "zz").unwrap_err();
    assert_eq!(
        err.to_string(),
        "lab 'lab1' has no container 'zz' (containers: a, b)"
    );
    let path = host.journal("lab1");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("garbage\n{text}")).unwrap();
    assert!(container_dir(&host, "lab1", "a").is_ok());
    assert!(matches!(
        container_dir(&host, "nosuch", "a").unwrap_err(),
        ViewError::NoLab { .. }
    ));
}
