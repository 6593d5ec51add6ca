//! The lab journal: every object a lab creates is recorded in `<state_root>/<lab>/journal`
//! before it is created and marked done after, so teardown can remove exactly what
//! the lab made — also after luxc died half way — and never anything matched by name.
//!
//! The file holds one JSON record per line, appended in a single write(2) each:
//! `{"id":N,"op":"intend","object":{...}}`, then `{"id":N,"op":"done"}` and, at
//! teardown, `{"id":N,"op":"removed"}`. A SIGKILL can therefore leave at most a
//! truncated last line, which replay ignores and reopening cuts off.
//!
//! Nothing is fsync'd: the journal lives on /run (tmpfs), so it has to survive the
//! luxc process dying, which the page cache guarantees, not a power cut, after which
//! none of the objects it records exist either.
//!
//! The journal assumes one writer per lab; the per-lab lock that guarantees it is
//! taken by whoever opens the journal.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::names::check_lab_name;

/// The journal's file name inside a lab's state directory.
pub const JOURNAL_FILE: &str = "journal";

/// One object a lab created, as much as teardown needs to remove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Object {
    /// A process luxc started (a container's init); start_time = field 22 of /proc/PID/stat, so a reused pid is never killed.
    Process {
        pid: i32,
        start_time: u64,
        name: String,
    },
    /// A directory luxc created (overlay upper/work, state dirs); removed recursively, only if inside the lab's state dir.
    Dir { path: PathBuf },
    /// A mount luxc made in the host mount namespace.
    Mount { path: PathBuf },
    /// A file luxc created (e.g. a netns pin file or a bind-mount target).
    File { path: PathBuf },
    /// A cgroup luxc created, relative to each hierarchy's root (`luxc.lab/a`);
    /// removed by killing its processes and removing it in every hierarchy.
    Cgroup { path: String },
    /// A network link luxc created, in the namespace pinned at `netns` (None:
    /// the host's). Deleted only when the link of that name carries `alias`,
    /// which luxc set on it, so a link of the same name made by someone else
    /// survives. `with_netns`: the link goes away with a namespace of the lab
    /// (a veth whose other end is in one); teardown then only waits for it.
    Link {
        netns: Option<PathBuf>,
        name: String,
        alias: String,
        with_netns: bool,
        /// The namespace of the other end, when it is one of the lab's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<PathBuf>,
        /// The MAC (aa:bb:…) luxc gives it in the creating message: what
        /// marks it as the lab's until the alias is on it. Kernels that
        /// ignore an alias at creation (6.18 does) get it in a second
        /// message, and luxc may be killed in between.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mac: Option<String>,
    },
    /// A network namespace luxc made and pinned at `path` (/run/netns/NAME);
    /// unpinned first at teardown, so the kernel removes the links in it (and
    /// their bridge ports) in one batch.
    Netns { path: PathBuf },
    /// An nftables table (`inet NAME`) luxc created in namespace `netns`.
    NftTable {
        netns: Option<PathBuf>,
        name: String,
    },
    /// A sysctl luxc changed in namespace `netns`; teardown writes `old` back.
    Sysctl {
        netns: Option<PathBuf>,
        key: String,
        old: String,
    },
    /// A root qdisc luxc put on link `link` in namespace `netns`.
    Qdisc {
        netns: Option<PathBuf>,
        link: String,
    },
    /// A link of the host (a NIC) luxc moved into the namespace pinned at
    /// `netns` as `name`; teardown moves it back as `host_name`.
    Moved {
        netns: PathBuf,
        name: String,
        host_name: String,
    },
    /// A PCI function whose driver luxc changed (to vfio-pci, to another
    /// driver, to none); written before the change. Teardown gives it back
    /// to `driver` (None: it had none). `root`: the sysfs root it was
    /// changed under, None for the host's (a fixture tree's changes are
    /// undone in that tree, never on the host).
    PciDriver {
        address: String,
        driver: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        root: Option<PathBuf>,
    },
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Process { pid, name, .. } => write!(f, "process {pid} ({name})"),
            Object::Dir { path } => write!(f, "dir {}", path.display()),
            Object::Mount { path } => write!(f, "mount {}", path.display()),
            Object::File { path } => write!(f, "file {}", path.display()),
            Object::Cgroup { path } => write!(f, "cgroup {path}"),
            Object::Link { netns, name, .. } => write!(f, "link {name}{}", in_ns(netns)),
            Object::Netns { path } => write!(f, "netns {}", path.display()),
            Object::NftTable { netns, name } => write!(f, "nft table inet {name}{}", in_ns(netns)),
            Object::Sysctl { netns, key, .. } => write!(f, "sysctl {key}{}", in_ns(netns)),
            Object::Qdisc { netns, link } => write!(f, "qdisc of {link}{}", in_ns(netns)),
            Object::Moved {
                netns,
                name,
                host_name,
            } => write!(
                f,
                "link {host_name} moved into netns {} as {name}",
                netns.display()
            ),
            Object::PciDriver {
                address, driver, ..
            } => match driver {
                Some(d) => write!(f, "pci {address} (from driver {d})"),
                None => write!(f, "pci {address} (from no driver)"),
            },
        }
    }
}

/// " in netns X" for an object in a namespace other than the host's.
fn in_ns(netns: &Option<PathBuf>) -> String {
    match netns {
        Some(p) => format!(" in netns {}", p.display()),
        None => String::new(),
    }
}

/// Why the journal could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The lab name is not a valid name (the message says what is allowed).
    #[error("{0}")]
    Name(String),
    /// A file operation on the journal or the lab directory failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The lab has no journal, so luxc knows no such lab.
    /// Another luxc holds the lab (one lab, one writer).
    #[error("lab '{lab}' is in use by {holder}")]
    Busy { lab: String, holder: String },
    #[error("no lab '{lab}' (no journal at {})", path.display())]
    NoLab { lab: String, path: PathBuf },
    /// A record other than the last one cannot be read.
    #[error("{} line {line}: {reason}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// A record could not be encoded (a path that is not UTF-8).
    #[error("journal {}: encode a record: {source}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// write(2) stored only part of a record (the part is cut off again).
    #[error("journal {}: short write ({written} of {len} bytes)", path.display())]
    ShortWrite {
        path: PathBuf,
        written: usize,
        len: usize,
    },
    /// `done` or `removed` named an id this journal never handed out.
    #[error("journal {}: no record with id {id}", path.display())]
    UnknownId { path: PathBuf, id: u64 },
    /// Teardown left objects behind, so the journal is kept for another try.
    #[error("lab '{lab}': {remaining} object(s) not removed yet; journal kept at {}", path.display())]
    Unfinished {
        lab: String,
        remaining: usize,
        path: PathBuf,
    },
}

/// One object's history, as replayed from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The id `intend` returned.
    pub id: u64,
    /// The object.
    pub object: Object,
    /// It was created completely (if false, luxc may have died while creating it).
    pub done: bool,
    /// Teardown removed it.
    pub removed: bool,
}

/// What a record does to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Intend,
    Done,
    Removed,
}

/// One line of the journal, as written.
#[derive(Serialize)]
struct RecordOut<'a> {
    id: u64,
    op: Op,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'a Object>,
}

/// One line of the journal, as read. Unknown fields are ignored so a newer luxc may
/// add some.
#[derive(Deserialize)]
struct RecordIn {
    id: u64,
    op: Op,
    #[serde(default)]
    object: Option<Object>,
}

/// An open lab journal, appending records.
#[derive(Debug)]
pub struct Journal {
    lab: String,
    dir: PathBuf,
    path: PathBuf,
    file: File,
    next_id: u64,
    /// Bytes of a short write still at the end of the file, to cut before appending.
    torn: u64,
    /// Objects intended and not yet removed, kept as records are written so
    /// callers need not replay the file to know whether anything is left.
    live: usize,
    /// Replay skips unreadable lines instead of failing (`luxc down --force`).
    lenient: bool,
}

impl Journal {
    /// Opens the journal of `lab` under `state_root`, creating the lab's directory
    /// (mode 0711) and an empty journal if there is none; ids continue after the
    /// existing records.
    ///
    /// 0711, not 0700: the root of a user-namespaced container is an unprivileged
    /// uid on the host and must traverse these dirs to reach its own upper layer;
    /// it still cannot list them, and the journal itself is 0600.
    pub fn create_or_open(state_root: &Path, lab: &str) -> Result<Journal, JournalError> {
        check_lab_name(lab).map_err(JournalError::Name)?;
        let dir = state_root.join(lab);
        DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&dir)
            .map_err(|source| JournalError::Io {
                what: "create lab dir",
                path: dir.clone(),
                source,
            })?;
        for d in [state_root, dir.as_path()] {
            use std::os::unix::fs::PermissionsExt;
            // Also for dirs an older luxc created 0700.
            fs::set_permissions(d, fs::Permissions::from_mode(0o711)).map_err(|source| {
                JournalError::Io {
                    what: "chmod lab dir",
                    path: d.to_path_buf(),
                    source,
                }
            })?;
        }
        let path = dir.join(JOURNAL_FILE);
        let file = open_or_create_locked(&dir, &path).map_err(|source| JournalError::Io {
            what: "open journal",
            path: path.clone(),
            source,
        })?;
        Ok(Journal::load(lab, dir, path, file, false)?.0)
    }

    /// Removes the lab's dir when it is empty and has no journal: what a
    /// luxc killed between making the dir and its journal (or between
    /// removing the journal and the dir) leaves. True if it was removed.
    pub fn remove_empty_dir(state_root: &Path, lab: &str) -> bool {
        if check_lab_name(lab).is_err() {
            return false;
        }
        // rmdir(2) removes only an empty directory.
        fs::remove_dir(state_root.join(lab)).is_ok()
    }

    /// Opens the journal of an existing lab; an error if the lab has none.
    pub fn open_existing(state_root: &Path, lab: &str) -> Result<Journal, JournalError> {
        Ok(Journal::open_existing_as(state_root, lab, false)?.0)
    }

    /// Opens the journal of an existing lab whose file may hold unreadable
    /// lines (a corrupt journal): they are skipped, now and in every replay,
    /// so teardown removes what the readable lines record (`luxc down
    /// --force`). Returns the journal and, for the caller to report, an
    /// error naming each line skipped.
    pub fn open_existing_lenient(
        state_root: &Path,
        lab: &str,
    ) -> Result<(Journal, Vec<JournalError>), JournalError> {
        Journal::open_existing_as(state_root, lab, true)
    }

    fn open_existing_as(
        state_root: &Path,
        lab: &str,
        lenient: bool,
    ) -> Result<(Journal, Vec<JournalError>), JournalError> {
        check_lab_name(lab).map_err(JournalError::Name)?;
        let dir = state_root.join(lab);
        let path = dir.join(JOURNAL_FILE);
        let file = match open_journal(&path, false) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(JournalError::NoLab {
                    lab: lab.to_owned(),
                    path,
                })
            }
            Err(source) => {
                return Err(JournalError::Io {
                    what: "open journal",
                    path,
                    source,
                })
            }
        };
        Journal::load(lab, dir, path, file, lenient)
    }

    /// Reads the records so far, for the next id, and cuts off a truncated last line
    /// so the next record starts on a line of its own.
    fn load(
        lab: &str,
        dir: PathBuf,
        path: PathBuf,
        file: File,
        lenient: bool,
    ) -> Result<(Journal, Vec<JournalError>), JournalError> {
        if let Err(pid) = super::lock::lock(&file, &path) {
            return Err(JournalError::Busy {
                lab: lab.to_owned(),
                holder: pid.map_or_else(
                    || "another process".to_string(),
                    |p| format!("luxc pid {p}"),
                ),
            });
        }
        let mut bytes = Vec::new();
        (&file)
            .read_to_end(&mut bytes)
            .map_err(|source| JournalError::Io {
                what: "read journal",
                path: path.clone(),
                source,
            })?;
        let replayed = parse(&path, &bytes, lenient)?;
        let mut journal = Journal {
            lab: lab.to_owned(),
            dir,
            path,
            file,
            next_id: replayed.next_id,
            torn: 0,
            live: replayed.entries.iter().filter(|e| !e.removed).count(),
            lenient,
        };
        match replayed.tail {
            Tail::Clean => {}
            Tail::Torn { at } => {
                // The record was never written whole, so its write(2) never returned
                // and the object it announced was not touched yet: drop it.
                journal.torn = bytes.len() as u64 - at;
                journal.cut_torn()?;
            }
            // The record is whole but its newline was lost: finish the line.
            Tail::Unterminated => journal.write_line(b"\n")?,
        }
        Ok((journal, replayed.skipped))
    }

    /// The lab's name.
    pub fn lab(&self) -> &str {
        &self.lab
    }

    /// The lab's state directory, `<state_root>/<lab>`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal file, `<state_root>/<lab>/journal`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records that `object` is about to be created; call before creating it.
    pub fn intend(&mut self, object: &Object) -> Result<u64, JournalError> {
        let id = self.next_id;
        self.append(id, Op::Intend, Some(object))?;
        self.next_id += 1;
        self.live += 1;
        Ok(id)
    }

    /// The id the next `intend` will return: objects from here on are
    /// newer (used to roll back what one call made).
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Records that the object of `id` was created completely.
    pub fn done(&mut self, id: u64) -> Result<(), JournalError> {
        self.check_id(id)?;
        self.append(id, Op::Done, None)
    }

    /// Records that teardown removed the object of `id` (or found it gone).
    pub fn removed(&mut self, id: u64) -> Result<(), JournalError> {
        self.check_id(id)?;
        self.append(id, Op::Removed, None)?;
        self.live = self.live.saturating_sub(1);
        Ok(())
    }

    /// How many objects are intended and not yet removed (no file read).
    pub fn live(&self) -> usize {
        self.live
    }

    /// Replays the journal file: every object in the order it was intended.
    pub fn entries(&self) -> Result<Vec<Entry>, JournalError> {
        if self.lenient {
            // Reported once, when the journal was opened.
            return Ok(replay_lenient(&self.path)?.0);
        }
        replay(&self.path)
    }

    fn check_id(&self, id: u64) -> Result<(), JournalError> {
        if id < self.next_id {
            Ok(())
        } else {
            Err(JournalError::UnknownId {
                path: self.path.clone(),
                id,
            })
        }
    }

    fn append(&mut self, id: u64, op: Op, object: Option<&Object>) -> Result<(), JournalError> {
        let record = RecordOut { id, op, object };
        let mut line = serde_json::to_vec(&record).map_err(|source| JournalError::Encode {
            path: self.path.clone(),
            source,
        })?;
        line.push(b'\n');
        self.write_line(&line)
    }

    /// Appends `line` in one write(2): with O_APPEND a record is then either all in
    /// the file or, if luxc is killed mid-call, a truncated last line.
    fn write_line(&mut self, line: &[u8]) -> Result<(), JournalError> {
        if self.torn > 0 {
            self.cut_torn()?;
        }
        loop {
            match (&self.file).write(line) {
                Ok(n) if n == line.len() => return Ok(()),
                Ok(n) => {
                    // Only a full file system does this; cut the part so a later
                    // record does not continue the broken line.
                    self.torn = n as u64;
                    let _ = self.cut_torn();
                    return Err(JournalError::ShortWrite {
                        path: self.path.clone(),
                        written: n,
                        len: line.len(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(JournalError::Io {
                        what: "append to journal",
                        path: self.path.clone(),
                        source,
                    })
                }
            }
        }
    }

    /// Cuts the last `self.torn` bytes (a partial record) off the file.
    fn cut_torn(&mut self) -> Result<(), JournalError> {
        let io_error = |source| JournalError::Io {
            what: "cut truncated record off journal",
            path: self.path.clone(),
            source,
        };
        let len = self.file.metadata().map_err(io_error)?.len();
        self.file
            .set_len(len.saturating_sub(self.torn))
            .map_err(io_error)?;
        tracing::warn!(
            path = %self.path.display(),
            bytes = self.torn,
            "cut a truncated record off the lab journal"
        );
        self.torn = 0;
        Ok(())
    }
}

/// Opens a journal for reading and appending; the descriptor is close-on-exec, as std
/// makes every one, so containers never inherit it.
fn open_journal(path: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .mode(0o600)
        .open(path)
}

/// Opens the journal, making it first if there is none. A new journal is
/// made unnamed (O_TMPFILE), locked, and only then linked into place: another
/// luxc never finds a journal its maker has not locked yet (it would take the
/// lab for one left up, and say so instead of naming the holder), and a luxc
/// killed meanwhile leaves no file (an unnamed one ends with its last fd).
fn open_or_create_locked(dir: &Path, path: &Path) -> io::Result<File> {
    use nix::libc;
    use std::os::fd::AsRawFd;
    let mut tries = 0;
    loop {
        tries += 1;
        match open_journal(path, false) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 5 => {}
            r => return r,
        }
        // `luxc down` removes an empty lab dir without a journal (what a
        // killed luxc leaves): made again if that happened in between.
        DirBuilder::new().recursive(true).mode(0o711).create(dir)?;
        let tmp = OpenOptions::new()
            .read(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_TMPFILE)
            .open(dir);
        let tmp = match tmp {
            Ok(f) => f,
            // A file system without O_TMPFILE: an ordinary create.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL)
                ) =>
            {
                return open_journal(path, true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        // SAFETY: flock on an fd we own; nobody else can reach the file yet.
        if unsafe { libc::flock(tmp.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let from = std::ffi::CString::new(format!("/proc/self/fd/{}", tmp.as_raw_fd()))
            .expect("no NUL in a /proc path");
        let to = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: two NUL-terminated paths; AT_SYMLINK_FOLLOW links the file
        // the /proc fd link names (no CAP_DAC_READ_SEARCH needed).
        let rc = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if rc == 0 {
            return Ok(tmp);
        }
        let e = io::Error::last_os_error();
        // EEXIST: another luxc linked its journal first; open that one (its
        // lock says who holds the lab). ENOENT: the dir went; again.
        if !matches!(e.raw_os_error(), Some(libc::EEXIST) | Some(libc::ENOENT)) || tries >= 5 {
            return Err(e);
        }
    }
}

/// Replays a journal file: every object in the order it was intended. A truncated last
/// line is ignored (with a warning); any other unreadable line is an error naming it.
pub fn replay(path: &Path) -> Result<Vec<Entry>, JournalError> {
    let bytes = fs::read(path).map_err(|source| JournalError::Io {
        what: "read journal",
        path: path.to_owned(),
        source,
    })?;
    Ok(parse(path, &bytes, false)?.entries)
}

/// Replays a journal file that may hold unreadable lines: every object the
/// readable lines record, and an error (naming file and line) per line
/// skipped. Only a failure to read the file is an error.
pub fn replay_lenient(path: &Path) -> Result<(Vec<Entry>, Vec<JournalError>), JournalError> {
    let bytes = fs::read(path).map_err(|source| JournalError::Io {
        what: "read journal",
        path: path.to_owned(),
        source,
    })?;
    let replayed = parse(path, &bytes, true)?;
    Ok((replayed.entries, replayed.skipped))
}

/// How the journal file ends.
#[derive(Debug, PartialEq, Eq)]
enum Tail {
    /// With a newline (or empty).
    Clean,
    /// With a whole record but no newline.
    Unterminated,
    /// With part of a record, starting at this byte offset.
    Torn { at: u64 },
}

struct Replayed {
    entries: Vec<Entry>,
    next_id: u64,
    tail: Tail,
    /// Lines a lenient parse skipped, as the error a strict one returns.
    skipped: Vec<JournalError>,
}

/// Replays `bytes`. A line that cannot be read (other than a truncated last
/// one) is an error naming it, or with `lenient` skipped and listed.
fn parse(path: &Path, bytes: &[u8], lenient: bool) -> Result<Replayed, JournalError> {
    let mut state = ParseState::default();
    let mut tail = Tail::Clean;
    let mut offset = 0u64;
    let mut skipped = Vec::new();
    for (n, chunk) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let line_no = n + 1;
        let terminated = chunk.ends_with(b"\n");
        let text = chunk.strip_suffix(b"\n").unwrap_or(chunk);
        let outcome = match serde_json::from_slice::<RecordIn>(text) {
            Ok(record) => {
                if !terminated {
                    tail = Tail::Unterminated;
                }
                state.apply(record)
            }
            // Only the last line can lack its newline, and only a killed write leaves
            // that: the record never completed, so nothing it announced happened.
            Err(e) if !terminated => {
                tracing::warn!(
                    path = %path.display(),
                    line = line_no,
                    error = %e,
                    "ignoring the truncated last record of the lab journal"
                );
                tail = Tail::Torn { at: offset };
                break;
            }
            Err(e) => Err(format!("not a journal record: {e}")),
        };
        offset += chunk.len() as u64;
        if let Err(reason) = outcome {
            let error = JournalError::Malformed {
                path: path.to_owned(),
                line: line_no,
                reason,
            };
            if !lenient {
                return Err(error);
            }
            skipped.push(error);
        }
    }
    Ok(Replayed {
        entries: state.entries,
        next_id: state.next_id,
        tail,
        skipped,
    })
}

/// The entries replayed so far.
#[derive(Default)]
struct ParseState {
    entries: Vec<Entry>,
    index: HashMap<u64, usize>,
    next_id: u64,
}

impl ParseState {
    /// Applies one record; Err(why) leaves the state as it was (except that
    /// ids stay unique: the next id is past every id seen).
    fn apply(&mut self, record: RecordIn) -> Result<(), String> {
        self.next_id = self.next_id.max(record.id.saturating_add(1));
        match (record.op, record.object) {
            (Op::Intend, Some(object)) => {
                if self.index.contains_key(&record.id) {
                    return Err(format!("id {} intended twice", record.id));
                }
                self.index.insert(record.id, self.entries.len());
                self.entries.push(Entry {
                    id: record.id,
                    object,
                    done: false,
                    removed: false,
                });
            }
            (Op::Intend, None) => return Err("intend without an object".into()),
            (op, _) => {
                let Some(&i) = self.index.get(&record.id) else {
                    return Err(format!(
                        "{} for id {} that was never intended",
                        if op == Op::Done { "done" } else { "removed" },
                        record.id
                    ));
                };
                match op {
                    Op::Done => self.entries[i].done = true,
                    _ => self.entries[i].removed = true,
                }
            }
        }
        Ok(())
    }
}

/// The names of the labs under `state_root` that have a journal, sorted.
pub fn labs(state_root: &Path) -> Result<Vec<String>, JournalError> {
    let read_dir = match fs::read_dir(state_root) {
        Ok(read_dir) => read_dir,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io {
                what: "list labs in",
                path: state_root.to_owned(),
                source,
            })
        }
    };
    let mut labs = Vec::new();
    for entry in read_dir {
        let entry = entry.map_err(|source| JournalError::Io {
            what: "list labs in",
            path: state_root.to_owned(),
            source,
        })?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if check_lab_name(&name).is_ok() && entry.path().join(JOURNAL_FILE).is_file() {
            labs.push(name);
        }
    }
    labs.sort();
    Ok(labs)
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
