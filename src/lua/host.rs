//! `luxc.host`: the machine luxc runs on — `exec` a command, `check` what it can do.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use mlua::{Lua, LuaSerdeExt, Table, Value};

use super::args::{function, Args, Failure, LuaResult};
use super::command;
use crate::process::{self, ExecSpec};

/// Registers `luxc.host`.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let host = lua.create_table()?;
    host.set("exec", function(lua, "luxc.host.exec", exec)?)?;
    host.set("check", function(lua, "luxc.host.check", check)?)?;
    luxc.set("host", host)
}

const EXEC_OPTIONS: &[&str] = &[
    "env",
    "clear_env",
    "cwd",
    "stdin",
    "timeout",
    "shell",
    "cgroup",
    "netns",
];

/// `luxc.host.exec{ "cmd", "arg", env=, clear_env=, cwd=, stdin=, timeout=, shell= }`
/// → `{ code, stdout, stderr, timed_out, signal }`.
fn exec(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    if super::plan_mode(lua) {
        return Err(Failure::new(args.func(), crate::engine::lab::PLAN_STOP));
    }
    let cmd = command::parse(&args, EXEC_OPTIONS)?;
    // cgexec: the child joins the cgroup before exec, luxc never does.
    let pre_exec = match cmd.opts.raw("cgroup")? {
        Value::Nil => None,
        v if super::handle::is(lua, &v, "cgroup") => {
            let procs = super::cgroup::procs_files_of(lua, &args, v)?;
            let hook = move || -> std::io::Result<()> {
                for p in &procs {
                    std::fs::write(p, b"0")?;
                }
                Ok(())
            };
            Some(std::sync::Arc::new(hook) as crate::process::PreExec)
        }
        other => {
            return Err(cmd.opts.fail(
                "cgroup",
                format!(
                    "expected a cgroup (luxc.cgroup.create), got {}",
                    super::args::type_name(&other)
                ),
            ))
        }
    };
    // `ip netns exec`: the child enters the network namespace before exec.
    let netns = match cmd.opts.raw("netns")? {
        Value::Nil => None,
        v => {
            let lab_t =
                super::lab::default_lab(lua).map_err(|e| Failure::from_lua(args.func(), &e))?;
            let lab = match &v {
                Value::Table(t)
                    if super::handle::is(lua, &v, "container")
                        || super::handle::is(lua, &v, "node") =>
                {
                    let lt: mlua::Table = t
                        .raw_get("lab")
                        .map_err(|e| Failure::from_lua(args.func(), &e))?;
                    lt
                }
                _ => lab_t,
            };
            let r: mlua::AnyUserData = lab
                .raw_get("_ref")
                .map_err(|e| Failure::from_lua(args.func(), &e))?;
            let lab = r
                .borrow::<super::lab::LabRef>()
                .map_err(|e| Failure::from_lua(args.func(), &e))?
                .clone();
            let name = super::lab_net::node_name(lua, args.func(), "field 'netns'", &v, &lab)?;
            let path = super::lab::engine(&args, lab.0.borrow().resolve_ns(Some(&name)))?;
            let file = path
                .map(|p| {
                    std::fs::File::open(&p)
                        .map_err(|e| cmd.opts.fail("netns", format!("open {}: {e}", p.display())))
                })
                .transpose()?;
            file
        }
    };
    let pre_exec = match (pre_exec, netns) {
        (p, None) => p,
        (p, Some(file)) => {
            let hook = move || -> std::io::Result<()> {
                nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)?;
                if let Some(p) = &p {
                    p()?;
                }
                Ok(())
            };
            Some(std::sync::Arc::new(hook) as crate::process::PreExec)
        }
    };
    let spec = ExecSpec {
        argv: cmd
            .argv
            .iter()
            .map(|a| OsString::from_vec(a.clone()))
            .collect(),
        env: cmd.env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
        clear_env: cmd.opts.boolean("clear_env")?.unwrap_or(false),
        cwd: cmd.cwd.map(Into::into),
        stdin: cmd.stdin,
        timeout: cmd.timeout,
        pre_exec,
        tty: false,
    };
    let out = process::run(&spec).map_err(|e| Failure::from_error(args.func(), &e))?;
    command::result_table(lua, &out).map_err(|e| Failure::from_lua(args.func(), &e))
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
