//! The engine: labs, containers, networks, device assignment and the state
//! journal, as plain Rust with no Lua types. Filled in as the primitives
//! (namespaces, cgroups, links, mounts, PCI) arrive; the Lua binding calls it.
