//! Filesystems the container root and /dev need: overlay and tmpfs.

use super::kconfig::{self, Symbol};
use super::{Host, Item};

const SECTION: &str = "Filesystems";

/// overlay (the default image is the host root under a private overlay) and tmpfs.
pub(super) fn items(host: &Host) -> Vec<Item> {
    let listed = host.read("/proc/filesystems").map(|text| {
        text.lines()
            .filter_map(|l| l.split_whitespace().last())
            .map(String::from)
            .collect::<Vec<_>>()
    });
    [
        ("overlay", "OVERLAY_FS", "overlay"),
        ("tmpfs", "TMPFS", "tmpfs"),
    ]
    .into_iter()
    .map(|(name, config, module)| {
        let item = match &listed {
            Ok(names) if names.iter().any(|n| n == name) => {
                Item::ok(SECTION, name, "listed in /proc/filesystems")
            }
            // A filesystem built as a module appears only once loaded, so ask the config.
            _ => {
                let advice = format!(
                    "use a kernel with CONFIG_{config}=y or =m: every container mounts {name}"
                );
                let item =
                    kconfig::feature(host, SECTION, name, &[Symbol { config, module }], &advice);
                match &listed {
                    Err(why) => Item {
                        detail: format!("{}; {why}", item.detail),
                        ..item
                    },
                    Ok(_) => item,
                }
            }
        };
        item.require(true)
    })
    .collect()
}
