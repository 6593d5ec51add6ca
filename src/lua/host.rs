//! `luxc.host`: the machine luxc runs on — `exec` a command, `check` what it can do.

use std::ffi::OsString;
use std::path::Path;

use mlua::{Lua, LuaSerdeExt, Table, Value};

use super::args::{function, Args, Failure, LuaResult, Opts};
use crate::process::{self, ExecSpec};

/// Registers `luxc.host`.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let host = lua.create_table()?;
    host.set("exec", function(lua, "luxc.host.exec", exec)?)?;
    host.set("check", function(lua, "luxc.host.check", check)?)?;
    luxc.set("host", host)
}

const EXEC_OPTIONS: &[&str] = &["env", "clear_env", "cwd", "stdin", "timeout", "shell"];

/// `luxc.host.exec{ "cmd", "arg", env=, clear_env=, cwd=, stdin=, timeout=, shell= }`
/// → `{ code, stdout, stderr, timed_out, signal }`.
fn exec(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let spec = exec_spec(&args)?;
    let out = process::run(&spec).map_err(|e| Failure::from_error(args.func(), &e))?;
    let lua_err = |e: mlua::Error| Failure::from_lua(args.func(), &e);
    let result = lua.create_table().map_err(lua_err)?;
    result.set("code", out.code).map_err(lua_err)?;
    result
        .set("stdout", lua.create_string(&out.stdout).map_err(lua_err)?)
        .map_err(lua_err)?;
    result
        .set("stderr", lua.create_string(&out.stderr).map_err(lua_err)?)
        .map_err(lua_err)?;
    result.set("timed_out", out.timed_out).map_err(lua_err)?;
    result.set("signal", out.signal).map_err(lua_err)?;
    Ok(result)
}

/// Reads the command list and options of `luxc.host.exec` into an ExecSpec.
fn exec_spec(args: &Args) -> LuaResult<ExecSpec> {
    const LIST: &str = "a list of strings";
    let table = args.table(1, LIST)?;
    let opts = Opts::new(args.func(), table.clone(), EXEC_OPTIONS);
    opts.reject_unknown(true)?;
    let len = table.raw_len();
    if len == 0 {
        return Err(args.fail(1, "expected a list of strings, got an empty list"));
    }
    let mut argv: Vec<OsString> = Vec::with_capacity(len);
    for i in 1..=len {
        match table.raw_get::<Value>(i) {
            Ok(Value::String(s)) => {
                use std::os::unix::ffi::OsStringExt;
                argv.push(OsString::from_vec(s.as_bytes().to_vec()));
            }
            Ok(other) => {
                let got = super::args::type_name(&other);
                let detail = format!("argument 1[{i}]: expected a string, got {got}");
                return Err(Failure::new(args.func(), detail));
            }
            Err(e) => return Err(Failure::from_lua(args.func(), &e)),
        }
    }
    if opts.boolean("shell")?.unwrap_or(false) {
        // Only on request. The first item is the shell script; the rest become
        // its $1, $2, … so they are never re-parsed by the shell.
        let mut rest = argv.split_off(1);
        let script = argv.pop().expect("list is not empty");
        argv = vec!["/bin/sh".into(), "-c".into(), script, "sh".into()];
        argv.append(&mut rest);
    }
    let timeout = match opts.number("timeout", "a number of seconds")? {
        None => None,
        Some(t) if t > 0.0 => Some(super::args::duration(t).map_err(|e| opts.fail("timeout", e))?),
        Some(t) => return Err(opts.fail("timeout", format!("expected seconds > 0, got {t}"))),
    };
    let env = opts
        .string_map("env")?
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect();
    Ok(ExecSpec {
        argv,
        env,
        clear_env: opts.boolean("clear_env")?.unwrap_or(false),
        cwd: opts.string("cwd")?.map(Into::into),
        stdin: opts.bytes("stdin")?,
        timeout,
    })
}

/// `luxc.host.check()` → the report `luxc check --json` prints, as a table.
fn check(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(0)?;
    let report = crate::check::run(Path::new("/"));
    // Absent values (advice, cgroup) are nil, not json.null, so `if item.advice` works.
    let opts = mlua::serde::SerializeOptions::new().serialize_none_to_null(false);
    lua.to_value_with(&report, opts)
        .map_err(|e| Failure::from_lua(args.func(), &e))
}
