//! The engine: labs, containers, networks, device assignment and the state
//! journal, as plain Rust with no Lua types. Filled in as the primitives
//! (namespaces, cgroups, links, mounts, PCI) arrive; the Lua binding calls it.

pub mod container;
pub mod graph;
pub mod journal;
pub mod lab;
pub mod lock;
pub mod names;
mod net_teardown;
pub mod pci;
pub mod progress;
pub mod spec;
pub mod teardown;
pub mod view;
