//! luxc: a Linux container and lab engine programmed in Lua.
//!
//! Layers, bottom up: primitives (`process`, `cgroup`, …: one kernel concept each),
//! `engine` (labs, containers, journal), `lua` (a thin binding), `cli`.

pub mod cgroup;
pub mod check;
pub mod cli;
pub mod engine;
pub mod error;
pub mod fs;
pub mod image;
pub mod lua;
pub mod net;
pub mod ns;
pub mod pci;
pub mod process;
pub mod security;

pub use error::{Error, Result};

/// The luxc version, as `luxc --version` and `luxc.version` report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
