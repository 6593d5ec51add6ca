//! Argument checking for binding functions, and the wrapper that turns a Rust
//! failure into a Lua error raised at the caller's line.
//!
//! Messages have one form everywhere:
//! `luxc.host.exec: argument 1: expected a list of strings, got number`,
//! `luxc.host.exec: field 'cwd': expected a string, got boolean`,
//! `luxc.host.exec: unknown option 'tmeout' (expected one of: cwd, env, …)`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Table, Value};

pub use super::opts::Opts;

/// A failure inside a binding function: the message the Lua caller sees.
#[derive(Debug)]
pub struct Failure(pub String);

impl Failure {
    /// A failure of `func` with `detail`, as `func: detail`.
    pub fn new(func: &str, detail: impl std::fmt::Display) -> Self {
        Failure(format!("{func}: {detail}"))
    }

    /// A library error of `func`, with its whole chain of causes.
    pub fn from_error(func: &str, err: &(dyn std::error::Error + 'static)) -> Self {
        Failure::new(func, crate::error::chain(err))
    }

    /// An error raised by Lua code that a binding called, keeping Lua's message.
    pub fn from_lua(func: &str, err: &mlua::Error) -> Self {
        Failure::new(func, lua_message(err))
    }
}

/// The result type of binding functions.
pub type LuaResult<T> = Result<T, Failure>;

/// The message of an mlua error without mlua's "runtime error:" prefix or the
/// Rust-side traceback (the Lua traceback is added where the error is reported).
pub fn lua_message(err: &mlua::Error) -> String {
    match err {
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        mlua::Error::RuntimeError(msg) => msg.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::ExternalError(e) => crate::error::chain(e.as_ref()),
        other => other.to_string(),
    }
}

/// The type name Lua itself would report for `v`.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::UserData(_) | Value::LightUserData(_) => "userdata",
        _ => "value",
    }
}

/// What a value is, for "got …": its type, or the value itself for numbers
/// that are not finite (a "got number" there would puzzle).
pub fn describe(v: &Value) -> String {
    match v {
        Value::Number(x) if !x.is_finite() => x.to_string(),
        other => type_name(other).to_string(),
    }
}

/// The longest wait luxc accepts, in seconds (about 31 million years): past
/// this a number is a mistake, not a duration.
const MAX_SECONDS: f64 = 1e15;

/// A non-negative number of seconds as a Duration, or what was wrong with it.
pub fn duration(secs: f64) -> Result<std::time::Duration, String> {
    if secs < 0.0 {
        return Err(format!("expected a number of seconds >= 0, got {secs}"));
    }
    if secs >= MAX_SECONDS {
        return Err(format!(
            "expected a number of seconds below {MAX_SECONDS:e}, got {secs:e}"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

const WRAPPER: &str = r#"
local pack, unpack, error = table.pack, table.unpack, error
return function(f)
  return function(...)
    local r = pack(f(...))
    if r[1] then return unpack(r, 2, r.n) end
    error(r[2], 2)
  end
end
"#;

/// Creates the Lua function `name` from `f`. The Rust side returns `(true, …)`
/// or `(false, message)`; a small Lua wrapper raises the message at level 2, so
/// the error carries the `file:line` of the script line that made the call.
/// A panic in `f` is caught here and reported as a bug; it never unwinds into Lua.
pub fn function<R, F>(lua: &Lua, name: &'static str, f: F) -> mlua::Result<Function>
where
    R: IntoLuaMulti,
    F: Fn(&Lua, Args) -> LuaResult<R> + 'static,
{
    let raw = lua.create_function(move |lua, values: MultiValue| {
        let args = Args {
            func: name,
            values: values.into_vec(),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| f(lua, args)));
        let failure = match outcome {
            Ok(Ok(r)) => {
                let mut out = r.into_lua_multi(lua)?;
                out.push_front(Value::Boolean(true));
                return Ok(out);
            }
            Ok(Err(failure)) => failure,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                Failure::new(name, format!("internal error (a bug in luxc): {what}"))
            }
        };
        (false, failure.0).into_lua_multi(lua)
    })?;
    wrapper(lua)?.call(raw)
}

fn wrapper(lua: &Lua) -> mlua::Result<Function> {
    const KEY: &str = "luxc.wrapper";
    if let Ok(f) = lua.named_registry_value::<Function>(KEY) {
        return Ok(f);
    }
    let f: Function = lua.load(WRAPPER).set_name("=[luxc]").call(())?;
    lua.set_named_registry_value(KEY, &f)?;
    Ok(f)
}

/// The positional arguments of one call, with checks that name the function.
pub struct Args {
    func: &'static str,
    values: Vec<Value>,
}

impl Args {
    /// The name of the function being called, for messages.
    pub fn func(&self) -> &'static str {
        self.func
    }

    /// A one-argument call of `func`, for checking a value found elsewhere.
    pub fn single(func: &'static str, v: Value) -> Args {
        Args {
            func,
            values: vec![v],
        }
    }

    /// The same call without its first argument (`self` of a method), so
    /// option parsing numbers the rest from 1 as the user wrote them.
    pub fn shift(&self) -> Args {
        Args {
            func: self.func,
            values: self.values.iter().skip(1).cloned().collect(),
        }
    }

    /// How many arguments were passed.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the call had no arguments.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Argument `n` (1-based); nil when absent.
    pub fn get(&self, n: usize) -> Value {
        self.values.get(n - 1).cloned().unwrap_or(Value::Nil)
    }

    /// Fails unless at most `n` arguments were passed (extra ones are mistakes).
    pub fn at_most(&self, n: usize) -> LuaResult<()> {
        let extra = self.values.len();
        if extra > n && !self.values[n..].iter().all(|v| v.is_nil()) {
            let plural = if n == 1 { "" } else { "s" };
            return Err(self.fail(n + 1, format!("unexpected (takes {n} argument{plural})")));
        }
        Ok(())
    }

    /// A failure about argument `n`.
    pub fn fail(&self, n: usize, detail: impl std::fmt::Display) -> Failure {
        Failure::new(self.func, format!("argument {n}: {detail}"))
    }

    /// A failure for argument `n` not being `expected`.
    pub fn expected(&self, n: usize, expected: &str) -> Failure {
        let got = describe(&self.get(n));
        self.fail(n, format!("expected {expected}, got {got}"))
    }

    /// Argument `n` as a string (numbers are not silently converted).
    pub fn string(&self, n: usize) -> LuaResult<String> {
        match self.get(n) {
            Value::String(s) => Ok(s.to_string_lossy()),
            _ => Err(self.expected(n, "a string")),
        }
    }

    /// Argument `n` as a table, described as `expected` in a failure.
    pub fn table(&self, n: usize, expected: &str) -> LuaResult<Table> {
        match self.get(n) {
            Value::Table(t) => Ok(t),
            _ => Err(self.expected(n, expected)),
        }
    }

    /// Argument `n` as a finite number.
    pub fn number(&self, n: usize, expected: &str) -> LuaResult<f64> {
        match self.get(n) {
            Value::Integer(i) => Ok(i as f64),
            Value::Number(x) if x.is_finite() => Ok(x),
            _ => Err(self.expected(n, expected)),
        }
    }

    /// Argument `n` as an option table (absent → None), keys checked against `allowed`.
    pub fn options(&self, n: usize, allowed: &'static [&'static str]) -> LuaResult<Option<Opts>> {
        match self.get(n) {
            Value::Nil => Ok(None),
            Value::Table(t) => {
                let opts = Opts::new(self.func, t, allowed);
                opts.reject_unknown(false)?;
                Ok(Some(opts))
            }
            _ => Err(self.expected(n, "an option table")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_lua_error_naming_the_function() {
        let lua = Lua::new();
        let f = function(&lua, "t.boom", |_, _| -> LuaResult<()> { panic!("kaput") }).unwrap();
        lua.globals().set("boom", f).unwrap();
        let msg: String = lua
            .load("local ok, e = pcall(boom) assert(not ok) return e")
            .eval()
            .unwrap();
        assert_eq!(msg, "t.boom: internal error (a bug in luxc): kaput");
    }

    #[test]
    fn results_pass_through_the_wrapper() {
        let lua = Lua::new();
        let f = function(&lua, "t.two", |_, a: Args| -> LuaResult<(i64, String)> {
            Ok((a.len() as i64, a.string(1)?))
        })
        .unwrap();
        lua.globals().set("two", f).unwrap();
        let (n, s): (i64, String) = lua.load("return two('x', nil, nil)").eval().unwrap();
        assert_eq!((n, s.as_str()), (3, "x"));
    }
}
