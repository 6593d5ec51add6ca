//! Host processes: running a command with captured output, a timeout and stdin.

mod exec;
pub mod interrupt;

pub use exec::{run, ExecError, ExecOutput, ExecSpec};
