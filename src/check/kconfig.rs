//! The running kernel's build config, and items for features decided by config symbols.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::{Host, Item, Status};

/// Where a kernel config symbol stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tristate {
    /// `=y` (or any non-tristate value): compiled into the kernel.
    Builtin,
    /// `=m`: built as a loadable module.
    Module,
    /// `# ... is not set`, `=n`, or not mentioned at all.
    NotSet,
}

/// A parsed kernel config and the host path it came from.
#[derive(Debug)]
pub struct KernelConfig {
    /// The host path it was read from, e.g. "/proc/config.gz".
    pub source: String,
    values: HashMap<String, String>,
}

impl KernelConfig {
    /// Reads /proc/config.gz, else /boot/config-<release>; the error says what was tried.
    pub fn load(root: &Path, release: Option<&str>) -> Result<KernelConfig, String> {
        let gz = "/proc/config.gz";
        let mut tried = Vec::new();
        match File::open(root.join("proc/config.gz")) {
            Ok(file) => {
                let mut text = String::new();
                match GzDecoder::new(file).read_to_string(&mut text) {
                    Ok(_) => return Ok(Self::parse(gz, &text)),
                    Err(e) => tried.push(format!("read {gz}: {e}")),
                }
            }
            Err(_) => tried.push(format!("no {gz}")),
        }
        let Some(release) = release else {
            tried.push("no /boot config (kernel release unknown)".into());
            return Err(tried.join(", "));
        };
        let boot = format!("/boot/config-{release}");
        match fs::read_to_string(root.join(&boot[1..])) {
            Ok(text) => Ok(Self::parse(&boot, &text)),
            Err(e) => {
                tried.push(format!("cannot read {boot}: {e}"));
                Err(tried.join(", "))
            }
        }
    }

    /// Parses `CONFIG_X=value` and `# CONFIG_X is not set` lines.
    pub fn parse(source: &str, text: &str) -> KernelConfig {
        let values = text
            .lines()
            .filter_map(|line| line.strip_prefix("CONFIG_")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        KernelConfig {
            source: source.to_owned(),
            values,
        }
    }

    /// The state of `symbol`, given without its `CONFIG_` prefix.
    pub fn get(&self, symbol: &str) -> Tristate {
        match self.values.get(symbol).map(String::as_str) {
            None | Some("n") => Tristate::NotSet,
            Some("m") => Tristate::Module,
            Some(_) => Tristate::Builtin,
        }
    }
}

/// A config symbol a feature needs, and the module name /sys/module shows for it.
pub struct Symbol {
    /// The symbol without its `CONFIG_` prefix, e.g. "VETH".
    pub config: &'static str,
    /// The module's name in /sys/module, e.g. "veth".
    pub module: &'static str,
}

/// An item for a feature that needs every one of `symbols`, judged by the worst of them;
/// `missing_advice` tells the user what to do instead when the kernel lacks it.
pub fn feature(
    host: &Host,
    section: &'static str,
    name: &str,
    symbols: &[Symbol],
    missing_advice: &str,
) -> Item {
    let verdicts: Vec<(Status, String, Option<String>)> = symbols
        .iter()
        .map(|s| symbol_verdict(host, s, missing_advice))
        .collect();
    let worst = verdicts
        .iter()
        .max_by_key(|(status, _, _)| match status {
            Status::Ok => 0,
            Status::Limited => 1,
            Status::Missing => 2,
        })
        .expect("a feature names at least one symbol");
    if worst.0 == Status::Ok {
        let detail = verdicts
            .iter()
            .map(|v| v.1.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Item::new(section, name, Status::Ok, detail);
    }
    let item = Item::new(section, name, worst.0, worst.1.clone());
    match &worst.2 {
        Some(advice) => item.advice(advice),
        None => item,
    }
}

fn symbol_verdict(
    host: &Host,
    symbol: &Symbol,
    missing_advice: &str,
) -> (Status, String, Option<String>) {
    let Symbol {
        config: sym,
        module,
    } = symbol;
    let config = match &host.config {
        Ok(config) => config,
        // Without a config, a loaded module still proves the feature exists.
        Err(_) if host.path(&format!("/sys/module/{module}")).exists() => {
            return (
                Status::Ok,
                format!("module {module} is loaded (no kernel config found)"),
                None,
            )
        }
        Err(why) => {
            let advice = format!(
                "expose the config (CONFIG_IKCONFIG_PROC, or `modprobe configs`) or install /boot/config-{} ({why})",
                host.release_or_unknown()
            );
            return (
                Status::Limited,
                "cannot tell: no kernel config found".into(),
                Some(advice),
            );
        }
    };
    match config.get(sym) {
        Tristate::Builtin => (Status::Ok, format!("built in (CONFIG_{sym}=y)"), None),
        Tristate::Module => {
            let dir = format!("/lib/modules/{}", host.release_or_unknown());
            if host.path(&dir).is_dir() {
                (Status::Ok, format!("module (CONFIG_{sym}=m)"), None)
            } else {
                let advice = format!(
                    "install the modules for this kernel into {dir}, or load {module} on the host"
                );
                (
                    Status::Limited,
                    format!("module (CONFIG_{sym}=m), but no modules directory {dir}"),
                    Some(advice),
                )
            }
        }
        Tristate::NotSet => (
            Status::Missing,
            format!("the kernel was built without CONFIG_{sym}"),
            Some(missing_advice.to_owned()),
        ),
    }
}
