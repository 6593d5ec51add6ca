//! `luxc.lab(name)`, the lab handle and its containers' handles.
//!
//! A lab handle is `{ name = "demo", _ref = <the engine's lab> }`; a
//! container handle is `{ lab = <lab handle>, name = "a" }` and looks its
//! container up on every call.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use mlua::{AnyUserData, Lua, Table, UserData, Value};
use nix::sys::signal::Signal;

use super::args::{function, Args, Failure, LuaResult};
use super::container_opts;
use super::handle;
use crate::engine::lab::{Lab, STATE_ROOT};

/// The engine's lab, shared by the lab handle and its container handles.
#[derive(Clone)]
pub struct LabRef(pub Rc<RefCell<Lab>>);

impl UserData for LabRef {}

/// Registers `luxc.lab` and the lab and container methods.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    // `luxc.lab(name)` and `luxc.lab.open(name)`: a table that can be called.
    let labs = lua.create_table()?;
    labs.set("open", function(lua, "luxc.lab.open", open_lab)?)?;
    let call: mlua::Function = lua
        .load("local new = ...; return function(_, ...) return new(...) end")
        .set_name("=[luxc]")
        .call(function(lua, "luxc.lab", new_lab)?)?;
    let labs_mt = lua.create_table()?;
    labs_mt.set("__call", call)?;
    labs.set_metatable(Some(labs_mt))?;
    luxc.set("lab", labs)?;
    let m = handle::methods(lua, "lab")?;
    m.set("container", function(lua, "lab:container", declare)?)?;
    m.set("up", function(lua, "lab:up", up)?)?;
    m.set("plan", function(lua, "lab:plan", plan)?)?;
    m.set("down", function(lua, "lab:down", down)?)?;
    m.set("containers", function(lua, "lab:containers", containers)?)?;
    m.set("info", function(lua, "lab:info", lab_info)?)?;
    let mt = handle::metatable(lua, "lab")?;
    // `lab.a` is the handle of the lab's container or node `a` (methods
    // first: a node named like a method is reached with lab:node(name)).
    let index: mlua::Function = lua
        .load("local methods, find = ...; return function(t, k) local m = methods[k]; if m ~= nil then return m end; if type(k) == 'string' then return find(t, k) end end")
        .set_name("=[luxc]")
        .call((m.clone(), lua.create_function(find_member)?))?;
    mt.set("__index", index)?;
    mt.set(
        "__tostring",
        lua.create_function(|_, t: Table| {
            let r: AnyUserData = t.raw_get("_ref")?;
            let lab = r.borrow::<LabRef>()?;
            let lab = lab.0.borrow();
            let n = lab.containers().len();
            let plural = if n == 1 { "" } else { "s" };
            Ok(format!("lab {} ({n} container{plural})", lab.name()))
        })?,
    )?;
    super::container::register(lua)
}

/// The engine lab behind argument `n` (a lab handle).
pub fn lab_of(lua: &Lua, args: &Args, n: usize) -> LuaResult<(Table, LabRef)> {
    let t = handle::check(lua, args, n, "lab", "a lab")?;
    let lab = lab_ref(args, &t)?;
    Ok((t, lab))
}

/// The lab and name behind a container handle `t`.
pub fn lab_of_container(args: &Args, t: &Table) -> LuaResult<(LabRef, String)> {
    let err = |e: mlua::Error| Failure::from_lua(args.func(), &e);
    let lab_t: Table = t.raw_get("lab").map_err(err)?;
    let name: String = t.raw_get("name").map_err(err)?;
    Ok((lab_ref(args, &lab_t)?, name))
}

/// The engine lab a lab handle holds.
fn lab_ref(args: &Args, lab_t: &Table) -> LuaResult<LabRef> {
    let err = |e: mlua::Error| Failure::from_lua(args.func(), &e);
    let r: AnyUserData = lab_t.raw_get("_ref").map_err(err)?;
    let lab = r.borrow::<LabRef>().map_err(err)?.clone();
    Ok(lab)
}

/// Runs `f` and turns an engine error into a failure of `args`' function.
pub fn engine<T>(args: &Args, r: Result<T, crate::engine::lab::LabError>) -> LuaResult<T> {
    r.map_err(|e| Failure::new(args.func(), e.0))
}

fn lua_err(args: &Args) -> impl Fn(mlua::Error) -> Failure + '_ {
    move |e| Failure::from_lua(args.func(), &e)
}

/// `lab.NAME`: the container or node NAME of the lab, or nil.
fn find_member(lua: &Lua, (t, key): (Table, String)) -> mlua::Result<Value> {
    let r: AnyUserData = t.raw_get("_ref")?;
    let lab = r.borrow::<LabRef>()?.clone();
    let lab = lab.0.borrow();
    super::lab_net::member(lua, &t, &lab, &key)
}

/// `luxc.lab.open(name)` → the handle of a lab that is up (made by an
/// earlier script), with its containers and nodes as they are: `lab.a:exec{...}`.
fn open_lab(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let name = args.string(1)?;
    let mut lab = engine(&args, Lab::open(&name, Path::new(STATE_ROOT)))?;
    if super::plan_mode(lua) {
        lab.set_plan_only();
    }
    lab_handle(lua, &args, &name, lab)
}

/// `luxc.lab(name)` → a lab handle; nothing is created until `up`/`start`.
/// On a lab that is up already, the script attaches to it (reconcile).
fn new_lab(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let name = args.string(1)?;
    let mut lab = engine(&args, Lab::new(&name, Path::new(STATE_ROOT)))?;
    if super::plan_mode(lua) {
        lab.set_plan_only();
    }
    lab_handle(lua, &args, &name, lab)
}

fn lab_handle(lua: &Lua, args: &Args, name: &str, lab: Lab) -> LuaResult<Table> {
    let r = lua
        .create_userdata(super::lab_registry::adopt(lua, lab))
        .map_err(lua_err(args))?;
    handle::new(
        lua,
        "lab",
        vec![
            (
                "name",
                Value::String(lua.create_string(name).map_err(lua_err(args))?),
            ),
            ("_ref", Value::UserData(r)),
        ],
    )
    .map_err(lua_err(args))
}

/// `lab:container{ name = ..., ... }` → a container handle (declared).
fn declare(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(2)?;
    let (lab_t, lab) = lab_of(lua, &args, 1)?;
    let spec = container_opts::parse(lua, &args, 2, &lab_t)?;
    let name = spec.name.clone();
    engine(&args, lab.0.borrow_mut().declare(spec))?;
    super::container::handle(lua, &lab_t, &name).map_err(lua_err(&args))
}

/// `lab:up()`: creates what is declared and not created (on a lab that
/// was up before this run: also removes and changes what differs, and says
/// what it did on stderr); rolls back on failure. Under `--plan` it prints
/// the plan instead.
fn up(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let (t, lab) = lab_of(lua, &args, 1)?;
    if super::plan_mode(lua) {
        let lab = lab.0.borrow();
        println!("{}", lab.plan().render(lab.name(), false));
        return Ok(t);
    }
    let report = engine(&args, lab.0.borrow_mut().up())?;
    if report.attached {
        let name = lab.0.borrow().name().to_string();
        eprintln!("luxc: {}", report.render(&name, true));
    }
    Ok(t)
}

/// `lab:plan()` → `{ create, change, remove, unchanged }`: what `up` would
/// do, printed and returned; nothing is touched.
fn plan(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let (_, lab) = lab_of(lua, &args, 1)?;
    let lab = lab.0.borrow();
    let p = lab.plan();
    println!("{}", p.render(lab.name(), false));
    let t = lua.create_table().map_err(lua_err(&args))?;
    for (k, list) in [
        ("create", &p.create),
        ("change", &p.change),
        ("remove", &p.remove),
    ] {
        t.set(k, list.clone()).map_err(lua_err(&args))?;
    }
    t.set("unchanged", p.unchanged).map_err(lua_err(&args))?;
    Ok(t)
}

/// `lab:down()` → `{ removed = n }`: removes everything the lab created.
fn down(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let (_, lab) = lab_of(lua, &args, 1)?;
    let report = engine(&args, lab.0.borrow_mut().down())?;
    if !report.failed.is_empty() {
        let what: Vec<String> = report
            .failed
            .iter()
            .map(|(o, e)| format!("{o}: {e}"))
            .collect();
        return Err(Failure::new(
            args.func(),
            format!("could not remove: {}", what.join("; ")),
        ));
    }
    let t = lua.create_table().map_err(lua_err(&args))?;
    t.set("removed", report.removed).map_err(lua_err(&args))?;
    Ok(t)
}

/// `lab:containers()` → list of container handles, in declaration order.
fn containers(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let (lab_t, lab) = lab_of(lua, &args, 1)?;
    let names: Vec<String> = lab
        .0
        .borrow()
        .containers()
        .iter()
        .map(|c| c.spec.name.clone())
        .collect();
    let list = lua.create_table().map_err(lua_err(&args))?;
    for n in names {
        let h = super::container::handle(lua, &lab_t, &n).map_err(lua_err(&args))?;
        list.push(h).map_err(lua_err(&args))?;
    }
    Ok(list)
}

/// `lab:info()` → `{ name, dir, containers = { name = status, ... } }`.
fn lab_info(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let (_, lab) = lab_of(lua, &args, 1)?;
    let lab = lab.0.borrow();
    let t = lua.create_table().map_err(lua_err(&args))?;
    t.set("name", lab.name()).map_err(lua_err(&args))?;
    t.set("dir", lab.dir().display().to_string())
        .map_err(lua_err(&args))?;
    let cs = lua.create_table().map_err(lua_err(&args))?;
    for c in lab.containers() {
        cs.set(c.spec.name.as_str(), c.status().as_str())
            .map_err(lua_err(&args))?;
    }
    t.set("containers", cs).map_err(lua_err(&args))?;
    Ok(t)
}

/// Parses a signal: "TERM", "SIGTERM", "term" or a number.
pub fn signal(v: &Value) -> Result<Signal, String> {
    match v {
        Value::Integer(n) => Signal::try_from(*n as i32).map_err(|_| format!("no signal {n}")),
        Value::String(s) => {
            let name = s.to_string_lossy().to_uppercase();
            let full = if name.starts_with("SIG") {
                name
            } else {
                format!("SIG{name}")
            };
            full.parse::<Signal>()
                .map_err(|_| format!("unknown signal '{}'", s.to_string_lossy()))
        }
        other => Err(format!(
            "expected a signal name or number, got {}",
            super::args::type_name(other)
        )),
    }
}

/// A duration option in seconds, with a default.
pub fn seconds(v: Option<f64>, default: f64) -> Result<Duration, String> {
    super::args::duration(v.unwrap_or(default))
}

/// The script's default lab, for primitives called without `lab = L`: named
/// after the script (`arg[0]`'s file name, `luxc` for -e and the REPL), made on
/// first use and kept for the rest of the run.
pub fn default_lab(lua: &Lua) -> mlua::Result<Table> {
    const KEY: &str = "luxc.default_lab";
    if let Ok(t) = lua.named_registry_value::<Table>(KEY) {
        return Ok(t);
    }
    let script: Option<String> = lua
        .globals()
        .get::<Table>("arg")
        .ok()
        .and_then(|a| a.raw_get::<Option<String>>(0).ok().flatten());
    let stem = script
        .as_deref()
        .filter(|s| *s != "-" && !s.ends_with("luxc"))
        .and_then(|s| Path::new(s).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "luxc".into());
    // Suffixed, so a script that names its own lab after its file (demo.lua
    // with luxc.lab("demo")) does not collide with it.
    let stem: String = stem.chars().take(24).collect::<String>() + "-default";
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    if name.starts_with(['.', '-']) {
        name.replace_range(0..1, "_");
    }
    let lab = Lab::new(&name, Path::new(STATE_ROOT)).map_err(|e| mlua::Error::RuntimeError(e.0))?;
    let r = lua.create_userdata(super::lab_registry::adopt(lua, lab))?;
    let t = handle::new(
        lua,
        "lab",
        vec![
            ("name", Value::String(lua.create_string(&name)?)),
            ("_ref", Value::UserData(r)),
        ],
    )?;
    lua.set_named_registry_value(KEY, &t)?;
    Ok(t)
}
