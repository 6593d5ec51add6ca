//! Tests of the busybox image: candidates, the cache, the layout, races.
//!
//! Building needs a static busybox; where /usr/bin/busybox is missing or dynamic those
//! tests say so on stderr and pass without checking anything.
use super::*;
use std::os::unix::fs::PermissionsExt;

const HOST_BUSYBOX: &str = "/usr/bin/busybox";

/// The host's static busybox, or `None` after a note on stderr.
fn host_busybox() -> Option<&'static Path> {
    let path = Path::new(HOST_BUSYBOX);
    match fs::read(path).map(|bytes| elf::has_interpreter(&bytes)) {
        Ok(Ok(false)) => Some(path),
        other => {
            eprintln!("skipping: no static busybox at {HOST_BUSYBOX} ({other:?}); apt-get install busybox-static");
            None
        }
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Names in `root` starting with a dot: temporary build, stale or ref files left over.
fn leftovers(root: &Path) -> Vec<String> {
    fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect()
}

#[test]
fn builds_the_layout() {
    let Some(bb) = host_busybox() else { return };
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().join("images");
    let (image, outcome) = ensure(&root, &[bb]).unwrap();
    assert_eq!(outcome, Outcome::Built);
    let dir = image.lower().to_owned();
    assert_eq!(image.name(), "busybox");
    assert_eq!(dir.parent(), Some(root.as_path()));
    let name = dir.file_name().unwrap().to_str().unwrap();
    let hex = name.strip_prefix("busybox-").expect(name);
    assert!(
        hex.len() == 16 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );

    assert_eq!(
        fs::read(dir.join("bin/busybox")).unwrap(),
        fs::read(bb).unwrap()
    );
    assert_eq!(mode(&dir.join("bin/busybox")), 0o755);
    for applet in ["bin/sh", "bin/ls", "usr/bin/env"] {
        assert_eq!(
            fs::read_link(dir.join(applet)).unwrap(),
            Path::new("/bin/busybox"),
            "{applet}"
        );
    }
    assert_eq!(
        fs::read_to_string(dir.join("etc/passwd")).unwrap(),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("etc/group")).unwrap(),
        "root:x:0:\nnogroup:x:65534:\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("etc/hosts")).unwrap(),
        "127.0.0.1 localhost\n::1 localhost\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("etc/nsswitch.conf")).unwrap(),
        "hosts: files dns\n"
    );
    assert!(!dir.join("etc/hostname").exists());
    assert_eq!(mode(&dir), 0o755);
    assert_eq!(mode(&dir.join("tmp")), 0o1777);
    assert_eq!(mode(&dir.join("var/tmp")), 0o1777);
    assert_eq!(mode(&dir.join("root")), 0o700);
    for d in ["sbin", "usr/sbin", "proc", "sys", "dev", "run", "home"] {
        assert_eq!(mode(&dir.join(d)), 0o755, "{d}");
    }
    assert_eq!(mode(&root), 0o755);
    assert!(dir.join(MARKER).is_file());
    assert_eq!(leftovers(&root), Vec::<String>::new());
    if nix::unistd::geteuid().is_root() {
        for path in ["", "bin/busybox", "bin/sh", "tmp", "etc/passwd"] {
            let meta = fs::symlink_metadata(dir.join(path)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (0, 0), "{path}");
        }
    }
}

#[test]
fn second_call_uses_the_cache() {
    let Some(bb) = host_busybox() else { return };
    let cache = tempfile::tempdir().unwrap();
    let (first, outcome) = ensure(cache.path(), &[bb]).unwrap();
    assert_eq!(outcome, Outcome::Built);
    let marker = first.lower().join(MARKER);
    let mtime = fs::metadata(&marker).unwrap().modified().unwrap();

    let (second, outcome) = ensure(cache.path(), &[bb]).unwrap();
    assert_eq!(outcome, Outcome::Fast);
    assert_eq!(second, first);
    assert_eq!(fs::metadata(&marker).unwrap().modified().unwrap(), mtime);
    assert_eq!(busybox_with(cache.path(), &[bb]).unwrap(), first);
}

#[test]
fn lost_ref_rehashes_without_rebuilding() {
    let Some(bb) = host_busybox() else { return };
    let cache = tempfile::tempdir().unwrap();
    let (first, _) = ensure(cache.path(), &[bb]).unwrap();
    fs::remove_file(cache.path().join(REF_FILE)).unwrap();
    let (second, outcome) = ensure(cache.path(), &[bb]).unwrap();
    assert_eq!((second, outcome), (first, Outcome::Hashed));
    // The ref is written again, so the call after is fast.
    assert_eq!(ensure(cache.path(), &[bb]).unwrap().1, Outcome::Fast);
}

#[test]
fn same_contents_elsewhere_share_the_image() {
    let Some(bb) = host_busybox() else { return };
    let cache = tempfile::tempdir().unwrap();
    let (first, _) = ensure(cache.path(), &[bb]).unwrap();
    let copy = cache.path().join("busybox-copy");
    fs::copy(bb, &copy).unwrap();
    let (second, outcome) = ensure(cache.path(), &[&copy]).unwrap();
    assert_eq!((second, outcome), (first, Outcome::Hashed));
}

#[test]
fn first_existing_candidate_is_used() {
    let Some(bb) = host_busybox() else { return };
    let cache = tempfile::tempdir().unwrap();
    let missing = cache.path().join("missing");
    assert!(busybox_with(&cache.path().join("images"), &[&missing, bb]).is_ok());
}

#[test]
fn incomplete_image_dir_is_replaced() {
    let Some(bb) = host_busybox() else { return };
    let cache = tempfile::tempdir().unwrap();
    let hash = fnv1a64(&fs::read(bb).unwrap());
    let stale = cache.path().join(image_dir_name(hash));
    fs::create_dir_all(stale.join("bin")).unwrap();
    fs::write(stale.join("junk"), "half a build").unwrap();

    let (image, outcome) = ensure(cache.path(), &[bb]).unwrap();
    assert_eq!((image.lower(), outcome), (stale.as_path(), Outcome::Built));
    assert!(stale.join(MARKER).is_file());
    assert!(!stale.join("junk").exists());
    assert_eq!(leftovers(cache.path()), Vec::<String>::new());
}

#[test]
fn losing_the_rename_race_uses_the_winner() {
    let cache = tempfile::tempdir().unwrap();
    let image = cache.path().join("busybox-0000000000000001");
    fs::create_dir(&image).unwrap();
    fs::write(image.join(MARKER), "theirs").unwrap();
    fs::write(image.join("theirs"), "").unwrap();
    let tmp = cache.path().join(".tmp-busybox-1-1");
    fs::create_dir(&tmp).unwrap();
    fs::write(tmp.join(MARKER), "ours").unwrap();

    assert_eq!(
        publish(cache.path(), &tmp, &image).unwrap(),
        Outcome::LostRace
    );
    assert!(!tmp.exists());
    assert_eq!(fs::read_to_string(image.join(MARKER)).unwrap(), "theirs");
}

#[test]
fn concurrent_builds_agree() {
    let Some(bb) = host_busybox() else { return };
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| ensure(root, &[bb]))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (first, _) = results[0].as_ref().unwrap();
    let mut built = 0;
    for result in &results {
        let (image, outcome) = result.as_ref().unwrap();
        assert_eq!(image, first);
        built += usize::from(*outcome == Outcome::Built);
    }
    // Every other thread either lost the rename race or found the finished image.
    assert_eq!(built, 1, "{results:?}");
    assert!(first.lower().join(MARKER).is_file());
    assert_eq!(leftovers(root), Vec::<String>::new());
}

#[test]
fn dynamic_binary_is_refused() {
    let ls = Path::new("/bin/ls");
    if !ls.exists() {
        eprintln!("skipping: no /bin/ls");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let root = cache.path().join("images");
    let err = busybox_with(&root, &[ls]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "busybox image: /bin/ls is dynamically linked; install busybox-static"
    );
    assert!(!root.exists(), "a refused binary must not create the cache");
}

#[test]
fn no_candidate_names_the_paths() {
    let cache = tempfile::tempdir().unwrap();
    let a = cache.path().join("bin/busybox");
    let b = cache.path().join("usr/bin/busybox");
    let err = busybox_with(&cache.path().join("images"), &[&a, &b]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "busybox image: no busybox-static found (looked in {}, {}); apt-get install busybox-static",
            a.display(),
            b.display()
        )
    );
}

#[test]
fn real_candidates_are_named() {
    let candidates: Vec<PathBuf> = CANDIDATES.iter().map(PathBuf::from).collect();
    let err = ImageError::BusyboxNotFound { candidates };
    assert_eq!(
        err.to_string(),
        "busybox image: no busybox-static found (looked in /bin/busybox, /usr/bin/busybox); apt-get install busybox-static"
    );
}

#[test]
fn script_candidate_is_not_elf() {
    let cache = tempfile::tempdir().unwrap();
    let script = cache.path().join("busybox");
    fs::write(&script, "#!/bin/sh\necho ls\n").unwrap();
    let err = busybox_with(&cache.path().join("images"), &[&script]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "busybox image: {}: not an ELF file (no \\x7fELF magic)",
            script.display()
        )
    );
}

#[test]
fn truncated_candidate_is_a_clear_error() {
    let Some(bb) = host_busybox() else { return };
    let cache = tempfile::tempdir().unwrap();
    let cut = cache.path().join("busybox");
    fs::write(&cut, &fs::read(bb).unwrap()[..20]).unwrap();
    let err = busybox_with(&cache.path().join("images"), &[&cut]).unwrap_err();
    assert!(
        matches!(
            err,
            ImageError::BusyboxNotElf {
                source: elf::ElfError::Truncated { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("truncated ELF file"), "{err}");
}

#[test]
fn applet_paths_stay_inside() {
    assert_eq!(
        applet_path("usr/bin/env"),
        Ok(Some(PathBuf::from("usr/bin/env")))
    );
    assert_eq!(applet_path("linuxrc"), Ok(Some(PathBuf::from("linuxrc"))));
    assert_eq!(applet_path(""), Ok(None));
    assert_eq!(applet_path("bin/busybox"), Ok(None));
    for bad in ["../etc/passwd", "/bin/ls", "bin/../../x", "./bin/ls"] {
        assert!(applet_path(bad).is_err(), "{bad}");
    }
}

#[test]
fn fnv1a64_known_values() {
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}
