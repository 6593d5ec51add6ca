//! `luxc ls [--json]`: the labs under /run/luxc that have a journal, with
//! their status and counts, read without taking any lab's lock.

use crate::engine::view::{self, Host, LabStatus, Summary};

/// Prints the labs (a table, or one JSON document); exit status 1 when the
/// state root or a lab's journal cannot be read (the others are listed).
pub fn run(json: bool) -> i32 {
    let host = Host::real();
    let labs = match view::list(&host) {
        Ok(labs) => labs,
        Err(e) => {
            eprintln!("luxc ls: {}", crate::error::chain(&e));
            return 1;
        }
    };
    let mut status = 0;
    for (name, summary) in &labs {
        if let Err(e) = summary {
            eprintln!(
                "luxc ls: {}; `luxc down --force {name}` removes what its readable lines record",
                crate::error::chain(e)
            );
            status = 1;
        }
    }
    if json {
        let doc = serde_json::json!({
            "labs": labs.iter().map(|(name, s)| match s {
                Ok(s) => serde_json::to_value(s).unwrap_or_default(),
                Err(e) => serde_json::json!({
                    "name": name,
                    "status": "unreadable",
                    "error": crate::error::chain(e),
                }),
            }).collect::<Vec<_>>(),
        });
        println!("{doc:#}");
    } else if labs.is_empty() {
        println!("no labs");
    } else {
        print!("{}", table(&labs));
    }
    status
}

/// The table for people: one row per lab, columns aligned.
pub fn table(labs: &[view::Listed]) -> String {
    let mut rows = vec![[
        "NAME".to_string(),
        "STATUS".to_string(),
        "CONTAINERS".to_string(),
        "LINKS".to_string(),
        "NETNS".to_string(),
        "DEVICES".to_string(),
    ]];
    for (name, s) in labs {
        rows.push(match s {
            Ok(s) => [
                s.name.clone(),
                status_text(s),
                format!("{}/{}", s.containers.running, s.containers.total),
                s.links.to_string(),
                s.namespaces.to_string(),
                s.devices.to_string(),
            ],
            Err(_) => [
                name.clone(),
                "unreadable".to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
        });
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// "up", "in use by luxc pid N", "partial (N unfinished)", "empty".
fn status_text(s: &Summary) -> String {
    match (s.status, s.holder) {
        (LabStatus::InUse, Some(pid)) => format!("in use by luxc pid {pid}"),
        (LabStatus::Partial, _) => format!("partial ({} unfinished)", s.unfinished),
        (status, _) => status.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::view::Counts;

    #[test]
    fn the_table_aligns_columns_and_marks_unreadable_labs() {
        let up = Summary {
            name: "demo".into(),
            status: LabStatus::InUse,
            holder: Some(4211),
            containers: Counts {
                running: 1,
                total: 2,
            },
            links: 3,
            namespaces: 2,
            devices: 0,
            unfinished: 0,
        };
        let bad = view::ViewError::NoLab {
            lab: "x".into(),
            labs: vec![],
        };
        let text = table(&[("demo".into(), Ok(up)), ("x".into(), Err(bad))]);
        let expected = [
            format!(
                "NAME  STATUS{}CONTAINERS  LINKS  NETNS  DEVICES",
                " ".repeat(19)
            ),
            "demo  in use by luxc pid 4211  1/2         3      2      0".to_string(),
            format!(
                "x     unreadable{}-           -      -      -",
                " ".repeat(15)
            ),
        ];
        assert_eq!(text, expected.join("\n") + "\n");
    }
}
