//! `luxc graph LAB [--format dot|mermaid]`: the topology `lab:up()` saved in
//! the lab's state dir, rendered.

use std::path::Path;

use crate::engine::graph::{Topology, TOPOLOGY_FILE};
use crate::engine::lab::STATE_ROOT;

/// Prints the graph; exit status 0, or 1 with a message.
pub fn run(lab: &str, format: &str) -> i32 {
    match render(Path::new(STATE_ROOT), lab, format) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("luxc graph: {e}");
            1
        }
    }
}

/// The text of lab `lab`'s graph under `state_root`.
pub fn render(state_root: &Path, lab: &str, format: &str) -> Result<String, String> {
    crate::engine::names::check_lab_name(lab)?;
    let dir = state_root.join(lab);
    if !dir.is_dir() {
        return Err(format!("no lab '{lab}' (nothing under {})", dir.display()));
    }
    let path = dir.join(TOPOLOGY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "lab '{lab}' has no saved topology ({}: {e}); it is written by lab:up()",
            path.display()
        )
    })?;
    let topo: Topology =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(match format {
        "mermaid" => topo.mermaid(),
        _ => topo.dot(),
    })
}
