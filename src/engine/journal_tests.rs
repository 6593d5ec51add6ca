//! Tests of the lab journal on temporary state roots.
use super::*;
use std::os::unix::fs::PermissionsExt;

fn dir(path: &str) -> Object {
    Object::Dir { path: path.into() }
}

fn process(pid: i32) -> Object {
    Object::Process {
        pid,
        start_time: 42,
        name: "c1".into(),
    }
}

fn entry(id: u64, object: Object, done: bool, removed: bool) -> Entry {
    Entry {
        id,
        object,
        done,
        removed,
    }
}

fn append_raw(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

#[test]
fn records_replay_in_order_with_their_state() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    let a = journal.intend(&dir("/x/upper")).unwrap();
    journal.done(a).unwrap();
    let b = journal.intend(&process(7)).unwrap();
    let c = journal
        .intend(&Object::Mount {
            path: "/x/m".into(),
        })
        .unwrap();
    journal.done(c).unwrap();
    journal.removed(c).unwrap();
    assert_eq!((a, b, c), (0, 1, 2));
    assert_eq!(
        journal.entries().unwrap(),
        vec![
            entry(0, dir("/x/upper"), true, false),
            entry(1, process(7), false, false),
            entry(
                2,
                Object::Mount {
                    path: "/x/m".into()
                },
                true,
                true
            ),
        ]
    );
}

#[test]
fn writes_one_json_record_per_line() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    let id = journal.intend(&dir("/x/upper")).unwrap();
    journal.done(id).unwrap();
    journal.removed(id).unwrap();
    let text = fs::read_to_string(root.path().join("lab1/journal")).unwrap();
    assert_eq!(
        text,
        "{\"id\":0,\"op\":\"intend\",\"object\":{\"kind\":\"dir\",\"path\":\"/x/upper\"}}\n\
         {\"id\":0,\"op\":\"done\"}\n\
         {\"id\":0,\"op\":\"removed\"}\n"
    );
}

#[test]
fn creates_the_lab_dir_traversable_not_listable() {
    let root = tempfile::tempdir().unwrap();
    let journal = Journal::create_or_open(&root.path().join("state"), "lab1").unwrap();
    assert_eq!(journal.dir(), root.path().join("state/lab1"));
    assert_eq!(journal.path(), root.path().join("state/lab1/journal"));
    let mode = fs::metadata(journal.dir()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o711);
    let mode = fs::metadata(journal.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn ids_continue_after_reopening() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    journal.intend(&dir("/a")).unwrap();
    journal.intend(&dir("/b")).unwrap();
    drop(journal);
    let mut journal = Journal::open_existing(root.path(), "lab1").unwrap();
    assert_eq!(journal.intend(&dir("/c")).unwrap(), 2);
    drop(journal);
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    assert_eq!(journal.intend(&dir("/d")).unwrap(), 3);
    assert_eq!(journal.entries().unwrap().len(), 4);
}

#[test]
fn open_existing_names_the_missing_journal() {
    let root = tempfile::tempdir().unwrap();
    let err = Journal::open_existing(root.path(), "nope").unwrap_err();
    let expected = format!(
        "no lab 'nope' (no journal at {})",
        root.path().join("nope/journal").display()
    );
    assert_eq!(err.to_string(), expected);
    assert!(
        !root.path().join("nope").exists(),
        "open_existing created the lab dir"
    );
}

#[test]
fn refuses_a_lab_name_that_is_not_a_plain_name() {
    let root = tempfile::tempdir().unwrap();
    let err = Journal::create_or_open(root.path(), "../escape").unwrap_err();
    assert!(matches!(err, JournalError::Name(_)), "{err:?}");
    assert!(err
        .to_string()
        .starts_with("lab name '../escape': use 1-32"));
}

#[test]
fn refuses_done_for_an_id_never_handed_out() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    let err = journal.done(0).unwrap_err();
    assert!(
        matches!(err, JournalError::UnknownId { id: 0, .. }),
        "{err:?}"
    );
    assert!(journal.entries().unwrap().is_empty());
}

#[test]
fn ignores_a_truncated_last_line() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    let id = journal.intend(&dir("/a")).unwrap();
    journal.done(id).unwrap();
    drop(journal);
    let path = root.path().join("lab1/journal");
    append_raw(
        &path,
        b"{\"id\":1,\"op\":\"intend\",\"object\":{\"kind\":\"di",
    );
    assert_eq!(
        replay(&path).unwrap(),
        vec![entry(0, dir("/a"), true, false)]
    );
}

#[test]
fn reopening_cuts_a_truncated_last_line_so_appends_stay_readable() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    journal.intend(&dir("/a")).unwrap();
    drop(journal);
    let path = root.path().join("lab1/journal");
    append_raw(&path, b"{\"id\":1,\"op\":\"int");
    let mut journal = Journal::open_existing(root.path(), "lab1").unwrap();
    assert_eq!(journal.intend(&dir("/b")).unwrap(), 1);
    assert_eq!(
        replay(&path).unwrap(),
        vec![
            entry(0, dir("/a"), false, false),
            entry(1, dir("/b"), false, false)
        ]
    );
}

#[test]
fn keeps_a_whole_last_record_that_lost_its_newline() {
    let root = tempfile::tempdir().unwrap();
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    journal.intend(&dir("/a")).unwrap();
    drop(journal);
    let path = root.path().join("lab1/journal");
    append_raw(&path, b"{\"id\":0,\"op\":\"done\"}");
    assert_eq!(
        replay(&path).unwrap(),
        vec![entry(0, dir("/a"), true, false)]
    );
    let mut journal = Journal::create_or_open(root.path(), "lab1").unwrap();
    journal.removed(0).unwrap();
    assert_eq!(
        replay(&path).unwrap(),
        vec![entry(0, dir("/a"), true, true)]
    );
}

#[test]
fn a_broken_middle_line_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("journal");
    fs::write(
        &path,
        "{\"id\":0,\"op\":\"intend\",\"object\":{\"kind\":\"dir\",\"path\":\"/a\"}}\n\
         {\"id\":1,\"op\":\"intend\",\"obj\n\
         {\"id\":0,\"op\":\"done\"}\n",
    )
    .unwrap();
    let err = replay(&path).unwrap_err();
    assert!(
        matches!(err, JournalError::Malformed { line: 2, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{} line 2: not a journal record", path.display())),
        "{text}"
    );
}

#[test]
fn a_broken_journal_is_not_appended_to() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("lab1")).unwrap();
    let path = root.path().join("lab1/journal");
    let broken = "garbage\n{\"id\":0,\"op\":\"done\"}\n";
    fs::write(&path, broken).unwrap();
    let err = Journal::open_existing(root.path(), "lab1").unwrap_err();
    assert!(
        matches!(err, JournalError::Malformed { line: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        broken,
        "journal was modified"
    );
}

#[test]
fn a_record_for_an_unknown_id_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("journal");
    fs::write(&path, "{\"id\":3,\"op\":\"removed\"}\n").unwrap();
    let err = replay(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} line 1: removed for id 3 that was never intended",
            path.display()
        )
    );
}

#[test]
fn an_id_intended_twice_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("journal");
    let line = "{\"id\":0,\"op\":\"intend\",\"object\":{\"kind\":\"file\",\"path\":\"/a\"}}\n";
    fs::write(&path, format!("{line}{line}")).unwrap();
    let err = replay(&path).unwrap_err();
    assert!(
        matches!(err, JournalError::Malformed { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn labs_lists_the_labs_that_have_a_journal() {
    let root = tempfile::tempdir().unwrap();
    Journal::create_or_open(root.path(), "b-lab").unwrap();
    Journal::create_or_open(root.path(), "a.lab").unwrap();
    fs::create_dir(root.path().join("no-journal")).unwrap();
    fs::write(root.path().join("stray-file"), "").unwrap();
    assert_eq!(labs(root.path()).unwrap(), vec!["a.lab", "b-lab"]);
}

#[test]
fn labs_of_a_missing_state_root_is_empty() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(
        labs(&root.path().join("absent")).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn objects_display_what_they_are() {
    assert_eq!(process(7).to_string(), "process 7 (c1)");
    assert_eq!(dir("/a/b").to_string(), "dir /a/b");
    assert_eq!(Object::File { path: "/f".into() }.to_string(), "file /f");
}

/// A journal whose lines 2 (garbage) and 4 (done for an unknown id) are unreadable.
const CORRUPT: &str = "{\"id\":0,\"op\":\"intend\",\"object\":{\"kind\":\"dir\",\"path\":\"/a\"}}\n\
                       not json at all\n\
                       {\"id\":0,\"op\":\"done\"}\n\
                       {\"id\":9,\"op\":\"done\"}\n\
                       {\"id\":1,\"op\":\"intend\",\"object\":{\"kind\":\"file\",\"path\":\"/b\"}}\n";

#[test]
fn a_lenient_replay_skips_unreadable_lines_and_names_each() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("journal");
    fs::write(&path, CORRUPT).unwrap();
    let (entries, skipped) = replay_lenient(&path).unwrap();
    assert_eq!(
        entries,
        vec![
            entry(0, dir("/a"), true, false),
            entry(1, Object::File { path: "/b".into() }, false, false),
        ]
    );
    let lines: Vec<usize> = skipped
        .iter()
        .map(|e| match e {
            JournalError::Malformed { line, .. } => *line,
            other => panic!("not a Malformed: {other:?}"),
        })
        .collect();
    assert_eq!(lines, [2, 4]);
    assert!(
        skipped[1]
            .to_string()
            .ends_with("line 4: done for id 9 that was never intended"),
        "{}",
        skipped[1]
    );
    // The strict replay still refuses it at the first bad line.
    assert!(matches!(
        replay(&path).unwrap_err(),
        JournalError::Malformed { line: 2, .. }
    ));
}

#[test]
fn a_lenient_journal_replays_the_readable_lines_and_appends_after_them() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("lab1")).unwrap();
    let path = root.path().join("lab1/journal");
    fs::write(&path, CORRUPT).unwrap();
    assert!(Journal::open_existing(root.path(), "lab1").is_err());
    let (mut journal, skipped) = Journal::open_existing_lenient(root.path(), "lab1").unwrap();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(journal.live(), 2);
    // Ids continue past every id seen, also the unreadable record's.
    assert_eq!(journal.next_id(), 10);
    journal.removed(1).unwrap();
    let entries = journal.entries().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[1].removed && !entries[0].removed, "{entries:?}");
}
