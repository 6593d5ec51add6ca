//! `luxc.json.encode` / `decode` / `null`.

use mlua::{Lua, LuaSerdeExt, Table, Value};

use super::args::{function, Args, LuaResult};

/// Registers `luxc.json`.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let json = lua.create_table()?;
    json.set("encode", function(lua, "luxc.json.encode", encode)?)?;
    json.set("decode", function(lua, "luxc.json.decode", decode)?)?;
    json.set("null", lua.null())?;
    luxc.set("json", json)
}

const ENCODE_OPTIONS: &[&str] = &["pretty"];

/// `luxc.json.encode(value, { pretty = bool })` → string; object keys sorted.
fn encode(lua: &Lua, args: Args) -> LuaResult<String> {
    args.at_most(2)?;
    let value = args.get(1);
    if matches!(value, Value::Function(_) | Value::Thread(_)) {
        return Err(args.expected(1, "a table, string, number, boolean or nil"));
    }
    let pretty = match args.options(2, ENCODE_OPTIONS)? {
        Some(opts) => opts.boolean("pretty")?.unwrap_or(false),
        None => false,
    };
    // Through serde_json::Value: its map is ordered, so output is stable.
    let tree: serde_json::Value = lua.from_value(value).map_err(|e| {
        args.fail(
            1,
            format!("cannot encode: {}", super::args::lua_message(&e)),
        )
    })?;
    let text = if pretty {
        serde_json::to_string_pretty(&tree)
    } else {
        serde_json::to_string(&tree)
    };
    text.map_err(|e| args.fail(1, format!("cannot encode: {e}")))
}

/// `luxc.json.decode(text)` → Lua value; JSON null becomes `luxc.json.null`.
fn decode(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let text = args.string(1)?;
    let tree: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| args.fail(1, format!("invalid JSON: {e}")))?;
    lua.to_value(&tree)
        .map_err(|e| args.fail(1, super::args::lua_message(&e)))
}
