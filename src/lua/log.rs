//! `luxc.log.debug/info/warn/error`: script messages through luxc's tracing
//! logs on stderr (`-v` shows debug), tagged with the script's `file:line`.

use mlua::{Lua, Table, Value};

use super::args::{function, Args, LuaResult};

/// Registers `luxc.log`.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let log = lua.create_table()?;
    log.set(
        "debug",
        function(lua, "luxc.log.debug", |l, a| emit(l, a, Level::Debug))?,
    )?;
    log.set(
        "info",
        function(lua, "luxc.log.info", |l, a| emit(l, a, Level::Info))?,
    )?;
    log.set(
        "warn",
        function(lua, "luxc.log.warn", |l, a| emit(l, a, Level::Warn))?,
    )?;
    log.set(
        "error",
        function(lua, "luxc.log.error", |l, a| emit(l, a, Level::Error))?,
    )?;
    luxc.set("log", log)
}

#[derive(Clone, Copy)]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// Joins the arguments as `print` does (tostring, separated by spaces) and logs them.
fn emit(lua: &Lua, args: Args, level: Level) -> LuaResult<()> {
    let tostring: mlua::Function = lua
        .globals()
        .get("tostring")
        .map_err(|e| super::args::Failure::from_lua(args.func(), &e))?;
    let mut parts = Vec::with_capacity(args.len());
    for n in 1..=args.len() {
        let s: String = match args.get(n) {
            Value::String(s) => s.to_string_lossy(),
            other => tostring
                .call(other)
                .map_err(|e| super::args::Failure::from_lua(args.func(), &e))?,
        };
        parts.push(s);
    }
    let message = parts.join(" ");
    // Level 2: the Lua line that called luxc.log.* (level 1 is the wrapper).
    let place = lua
        .inspect_stack(2, |d| {
            let src = d.source();
            let line = d.current_line();
            match (src.short_src, line) {
                (Some(s), Some(l)) => format!("{s}:{l}"),
                _ => String::new(),
            }
        })
        .unwrap_or_default();
    match level {
        Level::Debug => tracing::debug!(target: "lua", "{place}: {message}"),
        Level::Info => tracing::info!(target: "lua", "{place}: {message}"),
        Level::Warn => tracing::warn!(target: "lua", "{place}: {message}"),
        Level::Error => tracing::error!(target: "lua", "{place}: {message}"),
    }
    Ok(())
}
