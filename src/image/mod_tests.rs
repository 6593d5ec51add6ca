//! Tests of `dir()`, `host()` and the `Image` accessors.
use super::*;

#[test]
fn missing_dir_names_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = dir(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "image dir {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

#[test]
fn file_is_not_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("passwd");
    std::fs::write(&file, "root:x:0:0::/root:/bin/sh\n").unwrap();
    let err = dir(&file).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("image dir {}: not a directory", file.display())
    );
}

#[test]
fn symlink_to_file_is_not_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink("file", &link).unwrap();
    assert!(matches!(
        dir(&link),
        Err(ImageError::NotADirectory { path }) if path == link
    ));
}

#[test]
fn host_root_is_refused_with_a_hint() {
    for root in ["/", "/usr/..", "//"] {
        let err = dir(Path::new(root)).unwrap_err();
        assert!(
            matches!(err, ImageError::HostRoot { .. }),
            "{root}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.starts_with(&format!("image dir {root}: ")), "{text}");
        assert!(text.contains("image.host()"), "{text}");
    }
}

#[test]
fn symlink_is_resolved() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("rootfs");
    std::fs::create_dir(&real).unwrap();
    let link = tmp.path().join("current");
    std::os::unix::fs::symlink("rootfs", &link).unwrap();
    let image = dir(&link).unwrap();
    assert_eq!(image.lower(), real.canonicalize().unwrap());
}

#[test]
fn dot_dot_is_resolved() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("rootfs");
    std::fs::create_dir_all(real.join("sub")).unwrap();
    let image = dir(&real.join("sub/../.")).unwrap();
    assert_eq!(image.lower(), real.canonicalize().unwrap());
}

#[test]
fn relative_path_becomes_absolute() {
    // cargo runs unit tests in the package root, which holds src/image.
    let image = dir(Path::new("src/image")).unwrap();
    let expected = std::env::current_dir().unwrap().join("src/image");
    assert!(image.lower().is_absolute(), "{image:?}");
    assert_eq!(image.lower(), expected.canonicalize().unwrap());
}

#[test]
fn names_and_lowers() {
    assert_eq!(host().name(), "host");
    assert_eq!(host().lower(), Path::new("/"));
    let rootfs = Image::Dir {
        path: PathBuf::from("/srv/rootfs"),
    };
    assert_eq!(rootfs.name(), "dir:/srv/rootfs");
    assert_eq!(rootfs.lower(), Path::new("/srv/rootfs"));
    let bb = Image::Busybox {
        path: PathBuf::from("/var/lib/luxc/images/busybox-0123456789abcdef"),
    };
    assert_eq!(bb.name(), "busybox");
    assert_eq!(
        bb.lower(),
        Path::new("/var/lib/luxc/images/busybox-0123456789abcdef")
    );
    assert_eq!(bb.shell(), Path::new("/bin/sh"));
}

#[test]
fn serde_shape() {
    let rootfs = Image::Dir {
        path: PathBuf::from("/srv/rootfs"),
    };
    let json = serde_json::to_string(&rootfs).unwrap();
    assert_eq!(json, r#"{"kind":"dir","path":"/srv/rootfs"}"#);
    assert_eq!(serde_json::from_str::<Image>(&json).unwrap(), rootfs);
    assert_eq!(
        serde_json::to_string(&host()).unwrap(),
        r#"{"kind":"host"}"#
    );
    assert_eq!(
        serde_json::from_str::<Image>(r#"{"kind":"host"}"#).unwrap(),
        Image::Host
    );
}
