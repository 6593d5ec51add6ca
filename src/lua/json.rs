//! `luxc.json.encode` / `decode` / `null`.
//!
//! Encoding walks the Lua value itself rather than using a generic serde
//! bridge, so every value JSON cannot hold (NaN, a function, a table mixing
//! list items and named keys, bytes that are not UTF-8) is rejected with the
//! path to it instead of being dropped or turned into null.

use mlua::{Lua, LuaSerdeExt, Table, Value};
use serde_json::{Map, Number, Value as Json};

use super::args::{function, type_name, Args, LuaResult};

/// Nesting limit, as serde_json's own parser has.
const MAX_DEPTH: usize = 128;

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
    let mut path = String::new();
    let tree = to_json(lua, &value, &mut path, &mut Vec::new()).map_err(|what| {
        let at = if path.is_empty() {
            String::new()
        } else {
            format!(" at {path}")
        };
        args.fail(1, format!("cannot encode {what}{at}"))
    })?;
    let text = if pretty {
        serde_json::to_string_pretty(&tree)
    } else {
        serde_json::to_string(&tree)
    };
    text.map_err(|e| args.fail(1, format!("cannot encode: {e}")))
}

/// Converts one Lua value; on failure `path` is left pointing at the culprit.
fn to_json(lua: &Lua, v: &Value, path: &mut String, up: &mut Ancestors) -> Result<Json, String> {
    if up.len() > MAX_DEPTH {
        return Err(format!("a value nested deeper than {MAX_DEPTH} levels"));
    }
    Ok(match v {
        Value::Nil => Json::Null,
        Value::LightUserData(p) if p.0.is_null() => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::Number((*i).into()),
        Value::Number(x) => match Number::from_f64(*x) {
            Some(n) => Json::Number(n),
            None => return Err(format!("the number {x} (JSON has no NaN or infinity)")),
        },
        Value::String(s) => match s.to_str() {
            Ok(text) => Json::String(text.to_string()),
            Err(_) => return Err("a string that is not UTF-8".into()),
        },
        Value::Table(t) => table_to_json(lua, t, path, up)?,
        other => return Err(format!("a {}", type_name(other))),
    })
}

/// Tables on the path from the root to the value being converted: a table
/// met again among its own ancestors is a cycle.
type Ancestors = Vec<Table>;

fn table_to_json(
    lua: &Lua,
    t: &Table,
    path: &mut String,
    up: &mut Ancestors,
) -> Result<Json, String> {
    if up.iter().any(|a| a == t) {
        return Err("a table that contains itself".into());
    }
    up.push(t.clone());
    let out = table_body(lua, t, path, up);
    up.pop();
    out
}

fn table_body(lua: &Lua, t: &Table, path: &mut String, up: &mut Ancestors) -> Result<Json, String> {
    let is_array_mt = t.metatable().is_some_and(|m| m == lua.array_metatable());
    let mut ints: Vec<i64> = Vec::new();
    let mut named: Vec<(String, Value)> = Vec::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| super::args::lua_message(&e))?;
        match k {
            Value::Integer(i) => ints.push(i),
            Value::String(s) => match s.to_str() {
                Ok(name) => named.push((name.to_string(), v)),
                Err(_) => return Err("a key that is not UTF-8".into()),
            },
            other => return Err(format!("a table with a {} key", type_name(&other))),
        }
    }
    if !ints.is_empty() && !named.is_empty() {
        return Err("a table mixing list items and named keys".into());
    }
    if !ints.is_empty() || is_array_mt {
        ints.sort_unstable();
        let contiguous = ints.iter().enumerate().all(|(i, k)| *k == i as i64 + 1);
        if !contiguous {
            return Err("a list with holes (keys must be 1..n)".into());
        }
        let mut items = Vec::with_capacity(ints.len());
        for i in 1..=ints.len() {
            let mark = path.len();
            path.push_str(&format!("[{i}]"));
            let v: Value = t.raw_get(i).map_err(|e| super::args::lua_message(&e))?;
            items.push(to_json(lua, &v, path, up)?);
            path.truncate(mark);
        }
        return Ok(Json::Array(items));
    }
    let mut map = Map::new();
    for (name, v) in named {
        let mark = path.len();
        path.push('.');
        path.push_str(&name);
        map.insert(name, to_json(lua, &v, path, up)?);
        path.truncate(mark);
    }
    Ok(Json::Object(map))
}

/// `luxc.json.decode(text)` → Lua value; JSON null becomes `luxc.json.null`,
/// arrays keep a marker so they encode back as arrays (even when empty).
fn decode(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let text = args.string(1)?;
    let tree: Json =
        serde_json::from_str(&text).map_err(|e| args.fail(1, format!("invalid JSON: {e}")))?;
    lua.to_value(&tree)
        .map_err(|e| args.fail(1, super::args::lua_message(&e)))
}
