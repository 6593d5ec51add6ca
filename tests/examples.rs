//! Every example in examples/ runs to a zero exit status, from the repository
//! root and from another directory (so `require` next to the script is proved).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// examples/*.lua, and examples/*/main.lua for multi-file examples.
fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples/ exists") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "lua") {
            found.push(path);
        } else if path.join("main.lua").is_file() {
            found.push(path.join("main.lua"));
        }
    }
    found.sort();
    found
}

#[test]
fn every_example_runs() {
    let all = examples();
    assert!(!all.is_empty(), "no examples found");
    for path in all {
        for cwd in [env!("CARGO_MANIFEST_DIR"), "/"] {
            let out = Command::new(common::luxc_bin())
                .arg("run")
                .arg(&path)
                .current_dir(cwd)
                .output()
                .unwrap();
            let (stdout, stderr) = common::text(&out);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{} from {cwd}:\n{stdout}\n{stderr}",
                path.display()
            );
        }
    }
}
