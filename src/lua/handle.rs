//! Handles: Lua tables with a shared metatable per type (`__index` = the
//! methods, `__tostring`, `__name`). A handle holds only a reference to the
//! Rust object and a name; each call looks the object up again and fails
//! clearly when it is gone (wezterm's pattern). Methods called with `.`
//! instead of `:` get a clear error about `self`.

use mlua::{Lua, Table, Value};

use super::args::{type_name, Args, Failure, LuaResult};

/// The metatable of handle type `kind` (created once, kept in the registry).
pub fn metatable(lua: &Lua, kind: &str) -> mlua::Result<Table> {
    let key = format!("luxc.mt.{kind}");
    if let Ok(t) = lua.named_registry_value::<Table>(&key) {
        return Ok(t);
    }
    let mt = lua.create_table()?;
    mt.set("__name", format!("luxc.{kind}"))?;
    let methods = lua.create_table()?;
    mt.set("__index", &methods)?;
    // Also here, for when `__index` becomes a function (a lab handle also
    // finds its containers by name): registration and REPL completion.
    mt.set("__methods", methods)?;
    lua.set_named_registry_value(&key, &mt)?;
    Ok(mt)
}

/// The methods table of handle type `kind`, to register methods into.
pub fn methods(lua: &Lua, kind: &str) -> mlua::Result<Table> {
    metatable(lua, kind)?.get("__methods")
}

/// A new handle of type `kind` with the given fields.
pub fn new(lua: &Lua, kind: &str, fields: Vec<(&str, Value)>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (k, v) in fields {
        t.raw_set(k, v)?;
    }
    t.set_metatable(Some(metatable(lua, kind)?))?;
    Ok(t)
}

/// Argument `n` as a handle of type `kind` (`what` names it in errors: "a lab").
pub fn check(lua: &Lua, args: &Args, n: usize, kind: &str, what: &str) -> LuaResult<Table> {
    let v = args.get(n);
    if let Value::Table(t) = &v {
        let mt = metatable(lua, kind).map_err(|e| Failure::from_lua(args.func(), &e))?;
        if t.metatable().is_some_and(|m| m == mt) {
            return Ok(t.clone());
        }
    }
    if n == 1 {
        return Err(Failure::new(
            args.func(),
            format!(
                "self: expected {what}, got {} (call it with ':')",
                type_name(&v)
            ),
        ));
    }
    Err(args.expected(n, what))
}

/// Whether `v` is a handle of type `kind`.
pub fn is(lua: &Lua, v: &Value, kind: &str) -> bool {
    match (v, metatable(lua, kind)) {
        (Value::Table(t), Ok(mt)) => t.metatable().is_some_and(|m| m == mt),
        _ => false,
    }
}
