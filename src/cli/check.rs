//! `luxc check`: can this host run containers, and what is missing.

use std::path::Path;

/// Prints the host report (text or JSON); exit status 1 when a required item is missing.
pub fn run(json: bool) -> i32 {
    let report = crate::check::run(Path::new("/"));
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("luxc check: cannot encode the report: {e}");
                return 1;
            }
        }
    } else {
        print!("{}", report.render_text());
    }
    if report.ready() {
        0
    } else {
        1
    }
}
