//! Tab completion for the REPL: globals, and fields through dots and colons
//! (`luxc.ve` → `luxc.version`, `t:me` → methods), read from the live Lua state.

use mlua::{Lua, Table, Value};

/// Where the word being completed starts in `line`, and the candidates that
/// replace it from there (functions get a `(`).
pub fn candidates(lua: &Lua, line: &str, pos: usize) -> (usize, Vec<String>) {
    let head = &line[..pos];
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || matches!(c, '_' | '.' | ':'))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(pos);
    let word = &head[start..];
    let (path, methods_only, partial, partial_at) = match word.rfind(['.', ':']) {
        Some(i) => (
            &word[..i],
            word[i..].starts_with(':'),
            &word[i + 1..],
            start + i + 1,
        ),
        None => ("", false, word, start),
    };
    let Some(target) = resolve(lua, path) else {
        return (partial_at, Vec::new());
    };
    let mut names: Vec<String> = Vec::new();
    for (name, value) in members(&target) {
        let is_fn = matches!(value, Value::Function(_));
        if !name.starts_with(partial) || (methods_only && !is_fn) {
            continue;
        }
        names.push(if is_fn { format!("{name}(") } else { name });
    }
    names.sort();
    names.dedup();
    (partial_at, names)
}

/// The value at a dotted path from the globals (`""` is the globals table).
fn resolve(lua: &Lua, path: &str) -> Option<Value> {
    let mut current = Value::Table(lua.globals());
    if path.is_empty() {
        return Some(current);
    }
    for seg in path.split(['.', ':']) {
        current = match &current {
            Value::Table(t) => t.get::<Value>(seg).ok()?,
            Value::UserData(u) => index_table(u.metatable().ok()?.get::<Value>("__index").ok()?)?
                .get::<Value>(seg)
                .ok()?,
            _ => return None,
        };
    }
    Some(current)
}

fn index_table(v: Value) -> Option<Table> {
    match v {
        Value::Table(t) => Some(t),
        _ => None,
    }
}

/// Identifier-named fields of a table, plus those its metatable's `__index`
/// table provides (how handles expose methods).
fn members(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let (own, meta) = match v {
        Value::Table(t) => (Some(t.clone()), t.metatable()),
        Value::UserData(u) => (
            None,
            u.metatable()
                .ok()
                .and_then(|m| m.get::<Value>("__index").ok())
                .and_then(index_table),
        ),
        _ => (None, None),
    };
    // Fields loaded on first use (luxc.topo, luxc.test) are listed in the
    // metatable's `__lazy`; indexing one loads it.
    if let (Value::Table(t), Some(m)) = (v, &meta) {
        if let Ok(names) = m.get::<Vec<String>>("__lazy") {
            for name in names {
                if let Ok(val) = t.get::<Value>(name.as_str()) {
                    out.push((name, val));
                }
            }
        }
    }
    let meta = match (v, meta) {
        // A handle whose `__index` is a function keeps its methods in `__methods`.
        (Value::Table(_), Some(m)) => m
            .get::<Value>("__methods")
            .ok()
            .and_then(index_table)
            .or_else(|| m.get::<Value>("__index").ok().and_then(index_table)),
        (_, m) => m,
    };
    for t in own.into_iter().chain(meta) {
        for (k, val) in t.pairs::<Value, Value>().flatten() {
            if let Value::String(s) = k {
                let name = s.to_string_lossy();
                if is_identifier(&name) {
                    out.push((name, val));
                }
            }
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lua::{runtime, RuntimeOptions};

    #[test]
    fn completes_through_dots() {
        let lua = runtime(&RuntimeOptions::default()).unwrap();
        assert_eq!(
            candidates(&lua, "luxc.ve", 7),
            (5, vec!["version".to_string()])
        );
        let (at, c) = candidates(&lua, "x = luxc.host.ex", 16);
        assert_eq!((at, c), (14, vec!["exec(".to_string()]));
        // Stdlib modules loaded on first use complete too, and through them.
        let (_, c) = candidates(&lua, "luxc.to", 7);
        assert_eq!(c, vec!["topo".to_string()]);
        let (_, c) = candidates(&lua, "luxc.test.pin", 13);
        assert_eq!(c, vec!["ping(".to_string(), "pingall(".to_string()]);
    }

    #[test]
    fn completes_globals_and_methods() {
        let lua = runtime(&RuntimeOptions::default()).unwrap();
        let (at, c) = candidates(&lua, "lu", 2);
        assert_eq!((at, c), (0, vec!["luxc".to_string()]));
        let (_, c) = candidates(&lua, "s:up", 4);
        assert!(c.is_empty(), "no global s: {c:?}");
        lua.load("s = 'x'").exec().unwrap();
        let (_, c) = candidates(&lua, "string.up", 9);
        assert_eq!(c, ["upper("]);
        let (_, c) = candidates(&lua, "nosuch.x", 8);
        assert!(c.is_empty());
    }
}
