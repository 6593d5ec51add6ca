//! The VM test harness, for any integration test that boots the guest: include it
//! with `#[path = "vm/harness.rs"] mod harness;` and call [`pass`] (or [`boot`]) with
//! the name of a payload folder under `tests/vm/`. See docs/vm.md.
//!
//! Once per test binary it builds the static luxc (`scripts/vm/luxc.sh`) and the
//! kernel and initramfs (`scripts/vm/build.sh`, cached in `target/vm`, or in
//! `LUXC_VM_CACHE`); each boot is `scripts/vm/run.sh CACHE tests/vm/NAME LUXC`, one
//! at a time. `LUXC_SKIP_VM=1` skips every VM test (with a note on stderr).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// How one boot ended: the payload's exit status as run.sh gives it (125: the guest
/// never reported one; `None`: run.sh was killed by a signal) and the console.
pub struct Guest {
    pub status: Option<i32>,
    pub console: String,
    pub seconds: f64,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// True, after a note on stderr, when the VM tests are to be skipped (`LUXC_SKIP_VM=1`).
pub fn skipped(test: &str) -> bool {
    let skip = std::env::var("LUXC_SKIP_VM").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("{test}: skipped (LUXC_SKIP_VM=1)");
    }
    skip
}

/// The cache folder build.sh fills: `LUXC_VM_CACHE`, else `target/vm`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("LUXC_VM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/vm"))
}

/// Runs one of the scripts/vm scripts; its stdout (trimmed) or the whole output as the error.
fn script(name: &str, args: &[&Path]) -> Result<String, String> {
    let started = Instant::now();
    let out = Command::new(repo().join("scripts/vm").join(name))
        .args(args)
        .current_dir(repo())
        .output()
        .map_err(|e| format!("scripts/vm/{name}: {e}"))?;
    eprintln!(
        "scripts/vm/{name}: {:.1}s\n{}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    );
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "scripts/vm/{name} failed ({}):\n{}",
            out.status,
            text(&out)
        ))
    }
}

/// The static luxc for the guest, after the kernel and initramfs are built: once
/// per test binary (an error is kept and given to every test).
fn prepared() -> Result<&'static Path, String> {
    static PREPARED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PREPARED
        .get_or_init(|| {
            let luxc = PathBuf::from(script("luxc.sh", &[])?);
            script("build.sh", &[&cache_dir()])?;
            Ok(luxc)
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// Boots the guest with the payload folder `tests/vm/<payload>` (the static luxc
/// beside its `run`, as `./luxc`) and `env` exported to it (values without spaces).
pub fn boot(payload: &str, env: &[(&str, &str)]) -> Guest {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let luxc = match prepared() {
        Ok(luxc) => luxc,
        Err(e) => panic!("VM test setup failed (LUXC_SKIP_VM=1 skips the VM tests):\n{e}"),
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let started = Instant::now();
    let out = Command::new(repo().join("scripts/vm/run.sh"))
        .arg(cache_dir())
        .arg(repo().join("tests/vm").join(payload))
        .arg(luxc)
        .env("LUXC_VM_ENV", vars.join(" "))
        .current_dir(repo())
        .output()
        .expect("scripts/vm/run.sh");
    Guest {
        status: out.status.code(),
        console: text(&out),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Boots `tests/vm/<payload>` and asserts that it exited 0; on failure the message
/// carries the whole guest console.
pub fn pass(payload: &str, env: &[(&str, &str)]) -> Guest {
    let guest = boot(payload, env);
    assert_eq!(
        guest.status,
        Some(0),
        "VM payload {payload} failed (exit status {:?}; 125: the guest never reported one) \
         after {:.1}s; guest console:\n{}",
        guest.status,
        guest.seconds,
        guest.console
    );
    eprintln!("VM payload {payload}: ok in {:.1}s", guest.seconds);
    guest
}
