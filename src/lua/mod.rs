//! The Lua binding: builds the Lua state that scripts and the REPL share.
//!
//! One file per Lua module, each with a `register`. Functions convert their
//! arguments, call one library function and convert the result; no logic.

pub mod args;
mod cgroup;
mod command;
mod container;
mod container_opts;
mod core;
mod device_grants;
pub mod docs;
mod handle;
mod host;
mod image;
mod json;
mod lab;
mod lab_net;
pub mod lab_registry;
mod limits;
mod log;
mod net;
pub mod opts;
mod pci;
mod pci_gpu;
pub mod stdlib;

use std::path::Path;

use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Table, VmState};

/// Where the code being run comes from, so `require` looks next to it.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Directory of the script; `require` searches it first. None: the current directory.
    pub script_dir: Option<std::path::PathBuf>,
    /// `luxc run --plan`: labs only say what `up` would do; anything that
    /// would change the host stops the script (see lab.rs).
    pub plan: bool,
}

/// Present in the Lua state's app data under `luxc run --plan`.
pub struct PlanMode;

/// Whether this Lua state runs under `--plan`.
pub fn plan_mode(lua: &Lua) -> bool {
    lua.app_data_ref::<PlanMode>().is_some()
}

/// Creates the Lua state with the `luxc` API registered: the global `luxc`,
/// `require "luxc"`, the embedded stdlib and a `package.path` that starts next
/// to the script. The runner and the REPL both start from this, so code
/// behaves the same in either.
pub fn runtime(opts: &RuntimeOptions) -> mlua::Result<Lua> {
    // The safe libraries plus `debug`: scripts expect debug.traceback, and the
    // runner's error handler uses it. (mlua counts `debug` as unsafe only
    // because it can reach mlua's internals; luxc scripts are trusted code.)
    // SAFETY: no other unsafe library is enabled, and C modules are switched
    // off below.
    let lua =
        unsafe { Lua::unsafe_new_with(StdLib::ALL_SAFE | StdLib::DEBUG, LuaOptions::default()) };
    if opts.plan {
        lua.set_app_data(PlanMode);
    }
    let luxc = lua.create_table()?;
    core::register(&lua, &luxc)?;
    json::register(&lua, &luxc)?;
    host::register(&lua, &luxc)?;
    log::register(&lua, &luxc)?;
    image::register(&lua, &luxc)?;
    lab::register(&lua, &luxc)?;
    cgroup::register(&lua, &luxc)?;
    net::register(&lua, &luxc)?;
    lab_net::register(&lua)?;
    pci::register(&lua, &luxc)?;
    stdlib::register(&lua, &luxc)?;
    lua.globals().set("luxc", &luxc)?;
    stop_on_interrupt(&lua)?;
    let package: Table = lua.globals().get("package")?;
    let loaded: Table = package.get("loaded")?;
    loaded.set("luxc", &luxc)?;
    set_search_path(&package, opts.script_dir.as_deref())?;
    no_c_modules(&package)?;
    Ok(lua)
}

/// Puts the script's directory in front of Lua's default search path
/// (each entry once).
fn set_search_path(package: &Table, dir: Option<&Path>) -> mlua::Result<()> {
    let dir = match dir {
        Some(d) if !d.as_os_str().is_empty() => d.to_string_lossy().into_owned(),
        _ => ".".to_string(),
    };
    let default: String = package.get("path")?;
    let first = format!("{dir}/?.lua;{dir}/?/init.lua");
    // Debian's pure-Lua module packages (lua-*) install here.
    let debian = "/usr/share/lua/5.4/?.lua;/usr/share/lua/5.4/?/init.lua";
    let mut entries: Vec<&str> = Vec::new();
    for e in first
        .split(';')
        .chain(default.split(';'))
        .chain(debian.split(';'))
    {
        if !e.is_empty() && !entries.contains(&e) {
            entries.push(e);
        }
    }
    package.set("path", entries.join(";"))
}

/// The interpreter is compiled into luxc and exports no Lua C API, so a C
/// module built against a system liblua would run a second, foreign Lua
/// runtime and crash. Better a clear "module not found" than that.
fn no_c_modules(package: &Table) -> mlua::Result<()> {
    package.set("cpath", "")?;
    package.set("loadlib", mlua::Value::Nil)?;
    let searchers: Table = package.get("searchers")?;
    // Standard order: preload, (luxc stdlib), Lua path, C path, C all-in-one.
    while searchers.raw_len() > 3 {
        searchers.raw_remove(searchers.raw_len())?;
    }
    Ok(())
}

/// Turns a pending Ctrl-C (see `process::interrupt`) into a Lua error at the
/// next instruction check, as lua(1) does. Cheap: one atomic load per 4096
/// instructions.
fn stop_on_interrupt(lua: &Lua) -> mlua::Result<()> {
    lua.set_hook(HookTriggers::new().every_nth_instruction(4096), |_, _| {
        if crate::process::interrupt::take() {
            Err(mlua::Error::RuntimeError("interrupted".into()))
        } else {
            Ok(VmState::Continue)
        }
    })
}
