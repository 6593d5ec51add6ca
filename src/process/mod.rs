//! Host processes: running a command with captured output, a timeout and stdin.

pub mod attach;
pub mod bounded_log;
mod exec;
pub mod interrupt;
pub mod lifetime;
pub mod pty;
pub mod reaper;
pub mod signal_pipe;
pub mod spawn;

pub use exec::{run, spawn, spawn_stdio, take_terminal, ExecError, ExecOutput, ExecSpec, PreExec};
