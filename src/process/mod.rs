//! Host processes: running a command with captured output, a timeout and stdin.

pub mod bounded_log;
mod exec;
pub mod interrupt;
pub mod lifetime;
pub mod reaper;
pub mod spawn;

pub use exec::{run, spawn, ExecError, ExecOutput, ExecSpec, PreExec};
