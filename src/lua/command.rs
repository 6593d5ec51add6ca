//! The command table shared by `luxc.host.exec`, `c:exec` and `c:spawn`:
//! `{ "prog", "arg", env = {...}, cwd = "/", stdin = "...", timeout = 5, shell = true }`.

use std::time::Duration;

use mlua::Value;

use super::args::{duration, type_name, Args, Failure, LuaResult};
use super::opts::Opts;

/// A parsed command table.
pub struct Command {
    /// Program and arguments (already wrapped in /bin/sh -c with `shell`).
    pub argv: Vec<Vec<u8>>,
    /// Options that were read; callers read their own extra keys from it.
    pub opts: Opts,
    /// `env`, sorted.
    pub env: Vec<(String, String)>,
    /// `cwd`.
    pub cwd: Option<String>,
    /// `stdin` bytes.
    pub stdin: Option<Vec<u8>>,
    /// `timeout`.
    pub timeout: Option<Duration>,
}

/// Reads argument 1 of `args` as a command table; `allowed` lists the option
/// keys this function takes (a subset of or addition to the common ones).
pub fn parse(args: &Args, allowed: &'static [&'static str]) -> LuaResult<Command> {
    const LIST: &str = "a list of strings";
    let table = args.table(1, LIST)?;
    let opts = Opts::new(args.func(), table.clone(), allowed);
    opts.reject_unknown(true)?;
    let len = table.raw_len();
    if len == 0 {
        return Err(args.fail(1, "expected a list of strings, got an empty list"));
    }
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(len);
    for i in 1..=len {
        match table.raw_get::<Value>(i) {
            Ok(Value::String(s)) => argv.push(s.as_bytes().to_vec()),
            Ok(other) => {
                let got = type_name(&other);
                let detail = format!("argument 1[{i}]: expected a string, got {got}");
                return Err(Failure::new(args.func(), detail));
            }
            Err(e) => return Err(Failure::from_lua(args.func(), &e)),
        }
    }
    if allowed.contains(&"shell") && opts.boolean("shell")?.unwrap_or(false) {
        // Only on request. The first item is the shell script; the rest become
        // its $1, $2, … so they are never re-parsed by the shell.
        let mut rest = argv.split_off(1);
        let script = argv.pop().expect("list is not empty");
        argv = vec![b"/bin/sh".to_vec(), b"-c".to_vec(), script, b"sh".to_vec()];
        argv.append(&mut rest);
    }
    let has = |k: &str| allowed.contains(&k);
    let timeout = match if has("timeout") {
        opts.number("timeout", "a number of seconds")?
    } else {
        None
    } {
        None => None,
        Some(t) if t > 0.0 => Some(duration(t).map_err(|e| opts.fail("timeout", e))?),
        Some(t) => return Err(opts.fail("timeout", format!("expected seconds > 0, got {t}"))),
    };
    let env = if has("env") {
        opts.string_map("env")?.unwrap_or_default()
    } else {
        Vec::new()
    };
    let cwd = if has("cwd") {
        opts.string("cwd")?
    } else {
        None
    };
    let stdin = if has("stdin") {
        opts.bytes("stdin")?
    } else {
        None
    };
    Ok(Command {
        argv,
        opts,
        env,
        cwd,
        stdin,
        timeout,
    })
}

/// The `code, stdout, stderr, timed_out, signal` result table.
pub fn result_table(
    lua: &mlua::Lua,
    out: &crate::process::ExecOutput,
) -> mlua::Result<mlua::Table> {
    let result = lua.create_table()?;
    result.set("code", out.code)?;
    result.set("stdout", lua.create_string(&out.stdout)?)?;
    result.set("stderr", lua.create_string(&out.stderr)?)?;
    result.set("timed_out", out.timed_out)?;
    result.set("signal", out.signal)?;
    Ok(result)
}
