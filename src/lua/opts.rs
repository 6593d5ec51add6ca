//! Option tables (`{ cwd = "/", timeout = 5 }`): unknown keys rejected, each
//! field read with a type check whose message names the field.

use mlua::{Table, Value};

use super::args::{describe, type_name, Failure, LuaResult};

/// An option table (`{ cwd = "/", timeout = 5 }`) with typed, named accessors.
pub struct Opts {
    func: &'static str,
    table: Table,
    allowed: &'static [&'static str],
}

impl Opts {
    /// Wraps `table` as the options of `func` that accept the keys `allowed`.
    pub fn new(func: &'static str, table: Table, allowed: &'static [&'static str]) -> Self {
        Opts {
            func,
            table,
            allowed,
        }
    }

    /// Whether `key` is one of this function's options.
    pub fn allowed(&self, key: &str) -> bool {
        self.allowed.contains(&key)
    }

    /// The raw table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Fails on any key that is not an allowed option name; with `list_part`,
    /// integer keys 1..n of the sequence are allowed too.
    pub fn reject_unknown(&self, list_part: bool) -> LuaResult<()> {
        let len = if list_part { self.table.raw_len() } else { 0 };
        for pair in self.table.pairs::<Value, Value>() {
            let (key, _) = pair.map_err(|e| Failure::from_lua(self.func, &e))?;
            match &key {
                Value::String(s) => {
                    let name = s.to_string_lossy();
                    if !self.allowed.contains(&name.as_str()) {
                        return Err(self.unknown(&format!("'{name}'")));
                    }
                }
                Value::Integer(i) if list_part && *i >= 1 && (*i as usize) <= len => {}
                Value::Integer(i) => return Err(self.unknown(&format!("[{i}]"))),
                other => return Err(self.unknown(&format!("key of type {}", type_name(other)))),
            }
        }
        Ok(())
    }

    fn unknown(&self, what: &str) -> Failure {
        let mut names: Vec<&str> = self.allowed.to_vec();
        names.sort_unstable();
        Failure::new(
            self.func,
            format!(
                "unknown option {what} (expected one of: {})",
                names.join(", ")
            ),
        )
    }

    /// A failure about field `key`.
    pub fn fail(&self, key: &str, detail: impl std::fmt::Display) -> Failure {
        Failure::new(self.func, format!("field '{key}': {detail}"))
    }

    fn value(&self, key: &str) -> LuaResult<Value> {
        debug_assert!(self.allowed.contains(&key), "option {key} not declared");
        self.table
            .raw_get(key)
            .map_err(|e| Failure::from_lua(self.func, &e))
    }

    fn expected(&self, key: &str, expected: &str, got: &Value) -> Failure {
        self.fail(key, format!("expected {expected}, got {}", describe(got)))
    }

    /// Field `key` as a string, if set.
    pub fn string(&self, key: &str) -> LuaResult<Option<String>> {
        match self.value(key)? {
            Value::Nil => Ok(None),
            Value::String(s) => Ok(Some(s.to_string_lossy())),
            other => Err(self.expected(key, "a string", &other)),
        }
    }

    /// Field `key` as raw bytes (a Lua string may hold any bytes), if set.
    pub fn bytes(&self, key: &str) -> LuaResult<Option<Vec<u8>>> {
        match self.value(key)? {
            Value::Nil => Ok(None),
            Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
            other => Err(self.expected(key, "a string", &other)),
        }
    }

    /// Field `key` as a boolean, if set.
    pub fn boolean(&self, key: &str) -> LuaResult<Option<bool>> {
        match self.value(key)? {
            Value::Nil => Ok(None),
            Value::Boolean(b) => Ok(Some(b)),
            other => Err(self.expected(key, "a boolean", &other)),
        }
    }

    /// Field `key` as a finite number, if set; `expected` describes it in a failure.
    pub fn number(&self, key: &str, expected: &str) -> LuaResult<Option<f64>> {
        match self.value(key)? {
            Value::Nil => Ok(None),
            Value::Integer(i) => Ok(Some(i as f64)),
            Value::Number(x) if x.is_finite() => Ok(Some(x)),
            other => Err(self.expected(key, expected, &other)),
        }
    }

    /// Field `key` as a map of string to string (`env = { HOME = "/root" }`), if set.
    pub fn string_map(&self, key: &str) -> LuaResult<Option<Vec<(String, String)>>> {
        let table = match self.value(key)? {
            Value::Nil => return Ok(None),
            Value::Table(t) => t,
            other => return Err(self.expected(key, "a table of strings", &other)),
        };
        let mut out = Vec::new();
        for pair in table.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| Failure::from_lua(self.func, &e))?;
            let name = match &k {
                Value::String(s) => s.to_string_lossy(),
                other => {
                    return Err(self.fail(
                        key,
                        format!("expected string keys, got a {} key", type_name(other)),
                    ))
                }
            };
            let value = match &v {
                Value::String(s) => s.to_string_lossy(),
                other => {
                    return Err(self.fail(
                        &format!("{key}.{name}"),
                        format!("expected a string, got {}", type_name(other)),
                    ))
                }
            };
            out.push((name, value));
        }
        out.sort();
        Ok(Some(out))
    }
}

impl Opts {
    /// Field `key` as a list of strings, if set.
    pub fn string_list(&self, key: &str) -> LuaResult<Option<Vec<String>>> {
        let table = match self.value(key)? {
            Value::Nil => return Ok(None),
            Value::Table(t) => t,
            other => return Err(self.expected(key, "a list of strings", &other)),
        };
        let mut out = Vec::new();
        for i in 1..=table.raw_len() {
            match table.raw_get::<Value>(i) {
                Ok(Value::String(s)) => out.push(s.to_string_lossy()),
                Ok(other) => {
                    return Err(self.fail(
                        &format!("{key}[{i}]"),
                        format!("expected a string, got {}", type_name(&other)),
                    ))
                }
                Err(e) => return Err(Failure::from_lua(self.func, &e)),
            }
        }
        Ok(Some(out))
    }

    /// Field `key` as a table, if set.
    pub fn sub_table(&self, key: &str, expected: &str) -> LuaResult<Option<Table>> {
        match self.value(key)? {
            Value::Nil => Ok(None),
            Value::Table(t) => Ok(Some(t)),
            other => Err(self.expected(key, expected, &other)),
        }
    }

    /// Field `key` as it is (for fields that take several shapes).
    pub fn raw(&self, key: &str) -> LuaResult<Value> {
        self.value(key)
    }

    /// The function name, for messages.
    pub fn func(&self) -> &'static str {
        self.func
    }
}
