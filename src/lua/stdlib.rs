//! The embedded stdlib: Lua modules compiled into the binary (`include_str!`),
//! found by `require` through a searcher placed before the file searchers.

use mlua::{Function, Lua, Table, Value};

use super::args::{function, Args, Failure, LuaResult};

/// Embedded modules: `require` name and source.
pub const MODULES: &[(&str, &str)] = &[
    ("luxc.inspect", include_str!("../../stdlib/inspect.lua")),
    ("luxc.topo", include_str!("../../stdlib/topo.lua")),
    ("luxc.test", include_str!("../../stdlib/test.lua")),
    ("luxc.gpu", include_str!("../../stdlib/gpu.lua")),
];

/// Stdlib modules that appear as `luxc.<name>` on first use (loaded then, so
/// a script that does not use them does not pay for compiling them).
pub const LAZY: &[&str] = &["topo", "test", "gpu"];

const LAZY_INDEX: &str = r#"
local lazy = ...
return function(t, k)
  if lazy[k] then
    local m = require("luxc." .. k)
    rawset(t, k, m)
    return m
  end
end
"#;

/// The LuaLS stubs describing the API, embedded for `:help`.
pub const META: &str = include_str!("../../stdlib/meta/luxc.lua");

/// Installs the searcher and the stdlib functions that hang off `luxc`.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let package: Table = lua.globals().get("package")?;
    let searchers: Table = package.get("searchers")?;
    let searcher = lua.create_function(|lua, name: String| search(lua, &name))?;
    // After package.preload (1), before the path searchers, so stdlib names win.
    searchers.raw_insert(2, searcher)?;
    luxc.set("inspect", function(lua, "luxc.inspect", inspect)?)?;
    let lazy = lua.create_table()?;
    for name in LAZY {
        lazy.set(*name, true)?;
    }
    let index: Function = lua.load(LAZY_INDEX).set_name("=[luxc]").call(lazy)?;
    let mt = lua.create_table()?;
    mt.set("__index", index)?;
    // For the REPL's completion, which cannot see fields an __index makes.
    mt.set("__lazy", LAZY.to_vec())?;
    luxc.set_metatable(Some(mt))?;
    Ok(())
}

fn search(lua: &Lua, name: &str) -> mlua::Result<Value> {
    match MODULES.iter().find(|(n, _)| *n == name) {
        Some((n, source)) => {
            let chunk_name = format!("@[luxc]/{}.lua", n.trim_start_matches("luxc."));
            let loader = lua.load(*source).set_name(chunk_name).into_function()?;
            Ok(Value::Function(loader))
        }
        None => Ok(Value::String(
            lua.create_string(format!("no embedded module '{name}'"))?,
        )),
    }
}

/// `luxc.inspect(value)` → a readable, stable rendering: nested tables indented
/// with sorted keys, handles by their `__tostring`. The REPL prints with it.
fn inspect(lua: &Lua, args: Args) -> LuaResult<String> {
    args.at_most(1)?;
    let render = inspect_fn(lua).map_err(|e| Failure::from_lua(args.func(), &e))?;
    render
        .call(args.get(1))
        .map_err(|e| Failure::from_lua(args.func(), &e))
}

/// The Lua function behind `luxc.inspect`, loaded once.
pub fn inspect_fn(lua: &Lua) -> mlua::Result<Function> {
    let require: Function = lua.globals().get("require")?;
    require.call("luxc.inspect")
}
