//! The plain-text report, laid out like lxc-checkconfig: sections, aligned columns,
//! advice under what is not OK, and a closing verdict.

use std::fmt::Write as _;

use super::{Report, Status};

impl Report {
    /// The report as text for a terminal or a log: no colours, one item a line.
    pub fn render_text(&self) -> String {
        let width = self.items.iter().map(|i| i.name.len()).max().unwrap_or(0);
        let mut out = format!("luxc check: kernel {}\n", self.kernel);
        let mut section = "";
        for item in &self.items {
            if item.section != section {
                section = item.section;
                let _ = write!(out, "\n--- {section} ---\n");
            }
            let status = item.status.as_str();
            let line = format!("  {:<width$}  {status:<7}  {}", item.name, item.detail);
            out.push_str(line.trim_end());
            out.push('\n');
            if let (Some(advice), false) = (&item.advice, item.status == Status::Ok) {
                let _ = writeln!(out, "  {:<width$}  -> {advice}", "");
            }
        }
        let missing: Vec<&str> = self
            .items
            .iter()
            .filter(|i| i.required && i.status == Status::Missing)
            .map(|i| i.name.as_str())
            .collect();
        if missing.is_empty() {
            out.push_str("\nready: yes, no required feature is missing\n");
        } else {
            let _ = writeln!(out, "\nready: no, missing required: {}", missing.join(", "));
        }
        out
    }
}
