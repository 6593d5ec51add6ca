//! `luxc.cgroup`: the host's cgroup layout, and cgroups as cgroup-tools
//! users know them (cgcreate, cgset, cgget, cgclassify, cgdelete), journaled
//! in a lab like every object luxc creates.

use std::path::Path;

use mlua::{Lua, LuaSerdeExt, Table, Value};

use super::args::{function, Args, Failure, LuaResult};
use super::handle;
use super::lab::{engine, lab_of, LabRef};
use crate::cgroup::{self, Cgroup};

/// Registers `luxc.cgroup` and the cgroup handle's methods.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set("mode", function(lua, "luxc.cgroup.mode", mode)?)?;
    t.set("create", function(lua, "luxc.cgroup.create", create)?)?;
    t.set("open", function(lua, "luxc.cgroup.open", open)?)?;
    luxc.set("cgroup", t)?;
    let m = handle::methods(lua, "cgroup")?;
    m.set("set", function(lua, "cgroup:set", set)?)?;
    m.set("stats", function(lua, "cgroup:stats", stats)?)?;
    m.set("events", function(lua, "cgroup:events", events)?)?;
    m.set("add", function(lua, "cgroup:add", add)?)?;
    m.set("procs", function(lua, "cgroup:procs", procs)?)?;
    m.set(
        "freeze",
        function(lua, "cgroup:freeze", |l, a| simple(l, a, Cgroup::freeze))?,
    )?;
    m.set(
        "thaw",
        function(lua, "cgroup:thaw", |l, a| simple(l, a, Cgroup::thaw))?,
    )?;
    m.set(
        "kill",
        function(lua, "cgroup:kill", |l, a| simple(l, a, Cgroup::kill))?,
    )?;
    m.set("frozen", function(lua, "cgroup:frozen", frozen)?)?;
    m.set("destroy", function(lua, "cgroup:destroy", destroy)?)?;
    handle::metatable(lua, "cgroup")?.set(
        "__tostring",
        lua.create_function(|_, t: Table| {
            let path: String = t.raw_get("path")?;
            Ok(format!("cgroup {path}"))
        })?,
    )?;
    Ok(())
}

/// A serializable value as a plain Lua table, absent (None) fields left out.
pub fn to_lua<T: serde::Serialize>(lua: &Lua, v: &T) -> mlua::Result<Value> {
    let opts = mlua::serde::SerializeOptions::new().serialize_none_to_null(false);
    lua.to_value_with(v, opts)
}

fn lua_err(args: &Args) -> impl Fn(mlua::Error) -> Failure + '_ {
    move |e| Failure::from_lua(args.func(), &e)
}

/// `luxc.cgroup.mode()` → "v1", "hybrid" or "v2", and the hierarchies with
/// their controllers: `{ v1 = { { mountpoint, controllers } }, unified = {...} }`.
fn mode(lua: &Lua, args: Args) -> LuaResult<(String, Value)> {
    args.at_most(0)?;
    let layout =
        cgroup::detect(Path::new("/")).map_err(|e| Failure::from_error(args.func(), &e))?;
    let detail = to_lua(lua, &layout).map_err(lua_err(&args))?;
    Ok((layout.mode.as_str().to_string(), detail))
}

/// `luxc.cgroup.create(path, limits, { lab = L })` → a cgroup handle,
/// journaled in lab `L` (without it: the script's default lab).
fn create(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(3)?;
    let path = args.string(1)?;
    let limits = match args.get(2) {
        Value::Nil => cgroup::Limits::default(),
        Value::Table(t) => super::limits::parse(args.func(), t)?,
        _ => return Err(args.expected(2, "a table of limits")),
    };
    let lab_t = match args.options(3, &["lab"])? {
        Some(o) => match o.raw("lab")? {
            Value::Nil => super::lab::default_lab(lua).map_err(lua_err(&args))?,
            v if handle::is(lua, &v, "lab") => match v {
                Value::Table(t) => t,
                _ => unreachable!("checked"),
            },
            other => {
                return Err(o.fail(
                    "lab",
                    format!("expected a lab, got {}", super::args::type_name(&other)),
                ))
            }
        },
        None => super::lab::default_lab(lua).map_err(lua_err(&args))?,
    };
    let lab_args = Args::single(args.func(), Value::Table(lab_t.clone()));
    let (_, lab) = lab_of(lua, &lab_args, 1)?;
    engine(&args, lab.0.borrow_mut().create_cgroup(&path, &limits))?;
    handle::new(
        lua,
        "cgroup",
        vec![
            (
                "path",
                Value::String(lua.create_string(&path).map_err(lua_err(&args))?),
            ),
            ("lab", Value::Table(lab_t)),
        ],
    )
    .map_err(lua_err(&args))
}

/// `luxc.cgroup.open(path)` → a handle on an existing cgroup (made by
/// anyone). luxc reads and limits it but will not destroy it: it removes
/// only what it made.
fn open(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let path = args.string(1)?;
    let layout =
        cgroup::detect(Path::new("/")).map_err(|e| Failure::from_error(args.func(), &e))?;
    Cgroup::open(Path::new("/"), &layout, &path)
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    // No lab: luxc did not make it, so no lab will remove it.
    let path_v = Value::String(lua.create_string(&path).map_err(lua_err(&args))?);
    handle::new(lua, "cgroup", vec![("path", path_v)]).map_err(lua_err(&args))
}

/// The cgroup behind `self`, and the lab that made it (None: opened).
fn this(lua: &Lua, args: &Args) -> LuaResult<(Cgroup, Option<LabRef>, String)> {
    let t = handle::check(lua, args, 1, "cgroup", "a cgroup")?;
    let path: String = t.raw_get("path").map_err(lua_err(args))?;
    let lab = match t.raw_get::<Option<Table>>("lab").map_err(lua_err(args))? {
        Some(lab_t) => Some(lab_of(lua, &Args::single(args.func(), Value::Table(lab_t)), 1)?.1),
        None => None,
    };
    let layout =
        cgroup::detect(Path::new("/")).map_err(|e| Failure::from_error(args.func(), &e))?;
    let cg = Cgroup::open(Path::new("/"), &layout, &path)
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    Ok((cg, lab, path))
}

fn simple(
    lua: &Lua,
    args: Args,
    f: fn(&Cgroup) -> Result<(), cgroup::CgroupError>,
) -> LuaResult<()> {
    args.at_most(1)?;
    let (cg, _, _) = this(lua, &args)?;
    f(&cg).map_err(|e| Failure::from_error(args.func(), &e))
}

/// `cg:set{ pids = 32, ... }`: changes limits, live.
fn set(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(2)?;
    let (cg, lab, _) = this(lua, &args)?;
    let limits = super::limits::parse(args.func(), args.table(2, "a table of limits")?)?;
    if let Some(lab) = lab {
        engine(&args, lab.0.borrow_mut().check_limits(&limits))?;
    }
    cg.set(&limits)
        .map_err(|e| Failure::from_error(args.func(), &e))
}

/// `cg:stats()` → memory, cpu, pids and io figures.
fn stats(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let (cg, _, _) = this(lua, &args)?;
    let st = cg
        .stats()
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    to_lua(lua, &st).map_err(lua_err(&args))
}

/// `cg:events()` → memory event counters `{ low, high, max, oom, oom_kill }`.
fn events(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let (cg, _, _) = this(lua, &args)?;
    let ev = cg
        .memory_events()
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    to_lua(lua, &ev).map_err(lua_err(&args))
}

/// `cg:add(pid)`: moves a process (and its future children) into the cgroup.
fn add(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(2)?;
    let (cg, _, _) = this(lua, &args)?;
    let pid = match args.get(2) {
        Value::Integer(p) if p > 0 && p <= i32::MAX as i64 => p as i32,
        _ => return Err(args.expected(2, "a pid (integer > 0)")),
    };
    if pid == std::process::id() as i32 {
        // luxc never joins a cgroup it manages (it would count itself, and
        // kill would kill it).
        return Err(args.fail(
            2,
            "that is luxc itself; start the command with luxc.host.exec{ ..., cgroup = cg }",
        ));
    }
    cg.add(pid)
        .map_err(|e| Failure::from_error(args.func(), &e))
}

/// `cg:procs()` → the pids in the cgroup.
fn procs(lua: &Lua, args: Args) -> LuaResult<Vec<i32>> {
    args.at_most(1)?;
    let (cg, _, _) = this(lua, &args)?;
    let _ = lua;
    cg.procs().map_err(|e| Failure::from_error(args.func(), &e))
}

/// `cg:frozen()` → whether it is frozen.
fn frozen(lua: &Lua, args: Args) -> LuaResult<bool> {
    args.at_most(1)?;
    let (cg, _, _) = this(lua, &args)?;
    cg.frozen()
        .map_err(|e| Failure::from_error(args.func(), &e))
}

/// `cg:destroy()`: kills its processes and removes it (and its journal entry).
fn destroy(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(1)?;
    let (_, lab, path) = this(lua, &args)?;
    let Some(lab) = lab else {
        return Err(Failure::new(
            args.func(),
            format!(
                "cgroup {path} was opened, not created by luxc: luxc removes only what it made"
            ),
        ));
    };
    let mut lab = lab.0.borrow_mut();
    engine(&args, lab.destroy_cgroup(&path))
}

/// The cgroup.procs files of the cgroup handle `v` (for `cgroup = cg`).
pub fn procs_files_of(lua: &Lua, args: &Args, v: Value) -> LuaResult<Vec<std::path::PathBuf>> {
    let (cg, _, path) = this(lua, &Args::single(args.func(), v))?;
    // A process joining a frozen group freezes before it can exec.
    if cg.frozen().unwrap_or(false) {
        let msg = format!("field 'cgroup': cgroup {path} is frozen (thaw it first)");
        return Err(Failure::new(args.func(), msg));
    }
    Ok(cg.procs_files())
}
