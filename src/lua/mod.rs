//! The Lua binding: builds the Lua state that scripts and the REPL share.
//!
//! One file per Lua module, each with a `register`. Functions convert their
//! arguments, call one library function and convert the result; no logic.

pub mod args;
mod core;
pub mod docs;
mod host;
mod json;
mod log;
pub mod opts;
pub mod stdlib;

use std::path::Path;

use mlua::{Lua, LuaOptions, StdLib, Table};

/// Where the code being run comes from, so `require` looks next to it.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Directory of the script; `require` searches it first. None: the current directory.
    pub script_dir: Option<std::path::PathBuf>,
}

/// Creates the Lua state with the `luxc` API registered: the global `luxc`,
/// `require "luxc"`, the embedded stdlib and a `package.path` that starts next
/// to the script. The runner and the REPL both start from this, so code
/// behaves the same in either.
pub fn runtime(opts: &RuntimeOptions) -> mlua::Result<Lua> {
    // The safe libraries plus `debug`: scripts expect debug.traceback, and the
    // runner's error handler uses it. (mlua counts `debug` as unsafe only
    // because it can reach mlua's internals; luxc scripts are trusted code.)
    // SAFETY: no other unsafe library (ffi, C module loading) is enabled.
    let lua =
        unsafe { Lua::unsafe_new_with(StdLib::ALL_SAFE | StdLib::DEBUG, LuaOptions::default()) };
    let luxc = lua.create_table()?;
    core::register(&lua, &luxc)?;
    json::register(&lua, &luxc)?;
    host::register(&lua, &luxc)?;
    log::register(&lua, &luxc)?;
    stdlib::register(&lua, &luxc)?;
    lua.globals().set("luxc", &luxc)?;
    let package: Table = lua.globals().get("package")?;
    let loaded: Table = package.get("loaded")?;
    loaded.set("luxc", &luxc)?;
    set_search_path(&package, opts.script_dir.as_deref())?;
    Ok(lua)
}

/// Puts the script's directory in front of Lua's default search path.
fn set_search_path(package: &Table, dir: Option<&Path>) -> mlua::Result<()> {
    let dir = match dir {
        Some(d) if !d.as_os_str().is_empty() => d.to_string_lossy().into_owned(),
        _ => ".".to_string(),
    };
    let default: String = package.get("path")?;
    package.set("path", format!("{dir}/?.lua;{dir}/?/init.lua;{default}"))
}
