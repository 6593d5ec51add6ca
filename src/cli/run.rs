//! The script runner: `luxc run FILE`, `luxc FILE`, `luxc -e CODE`, `luxc -`.
//!
//! Exit status: 0 on success, 1 on a Lua error (message and traceback with
//! `file:line` on stderr), the script's own status through `os.exit(n)`.
//!
//! The labs the script opened, when it ends: left up (so a person can go in
//! and look), except that what this run made is rolled back when Ctrl-C or
//! SIGTERM ended it, and every lab is taken down with `--rm`, however the
//! script ended (error, `os.exit`, interrupt).

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use mlua::{Function, Lua, MultiValue, Value};

use crate::lua::{runtime, RuntimeOptions};
use crate::process::interrupt;

/// What to run, as the command line gave it.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The original argv (for Lua's `arg`).
    pub argv: Vec<OsString>,
    /// Index of the script in argv (`-` for stdin), if one was given.
    pub script: Option<usize>,
    /// `-e` chunks, run in order before the script.
    pub chunks: Vec<String>,
    /// `--plan`: labs print what `up` would do and nothing is changed.
    pub plan: bool,
    /// `--rm`: take every lab the script opened down when it ends.
    pub rm: bool,
}

/// Runs the chunks and the script; returns the process exit status.
pub fn run(inv: &Invocation) -> i32 {
    let guard = interrupt::install();
    let result = try_run(inv);
    drop(guard);
    match result {
        Ok(()) => 0, // also when the script caught an interrupt and went on
        // Under --plan the first call that would change the host ends the
        // script: the plan up to there is the answer.
        Err(message) if inv.plan && message.contains(crate::engine::lab::PLAN_STOP) => {
            let first = message.lines().next().unwrap_or_default();
            eprintln!("luxc: {first}");
            0
        }
        Err(message) => {
            eprintln!("luxc: {message}");
            if interrupt::seen() {
                interrupt::EXIT_STATUS
            } else {
                1
            }
        }
    }
}

fn try_run(inv: &Invocation) -> Result<(), String> {
    let script = inv.script.map(|i| inv.argv[i].clone());
    let (source, chunk_name, dir) = match &script {
        None => (None, String::new(), None),
        Some(s) if crate::cli::is_stdin(s) => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            (Some(buf), "=stdin".to_string(), None)
        }
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot open {}: {e}", Path::new(path).display()))?;
            let dir = Path::new(path).parent().map(Path::to_path_buf);
            (Some(bytes), format!("@{}", path.to_string_lossy()), dir)
        }
    };
    tracing::debug!(script = ?script, chunks = inv.chunks.len(), "run");
    let lua = runtime(&RuntimeOptions {
        script_dir: dir,
        plan: inv.plan,
    })
    .map_err(|e| e.to_string())?;
    if inv.rm {
        exit_after_teardown(&lua).map_err(|e| e.to_string())?;
    }
    let result = run_script(&lua, inv, source, chunk_name);
    // Ctrl-C or SIGTERM ended the script (a script that caught the
    // interrupt and went on ended normally).
    let interrupted = result.is_err() && interrupt::seen();
    if interrupted {
        // Taken, so the teardown's waits do not stop early for it.
        interrupt::take();
    }
    let failures = end_labs(&lua, interrupted, inv.rm);
    match (result, failures.is_empty()) {
        (r, true) => r,
        (Ok(()), false) => Err(failures.join("\n")),
        (Err(e), false) => Err(format!("{e}\nluxc: {}", failures.join("\nluxc: "))),
    }
}

fn run_script(
    lua: &Lua,
    inv: &Invocation,
    source: Option<Vec<u8>>,
    chunk_name: String,
) -> Result<(), String> {
    set_arg_table(lua, &inv.argv, inv.script.unwrap_or(0)).map_err(|e| e.to_string())?;
    run_chunks(lua, &inv.chunks)?;
    if let Some(mut bytes) = source {
        strip_shebang(&mut bytes);
        let f = lua
            .load(&bytes[..])
            .set_name(chunk_name)
            .into_function()
            .map_err(|e| crate::lua::args::lua_message(&e))?;
        let first = inv.script.unwrap_or(0) + 1;
        let script_args = inv.argv[first.min(inv.argv.len())..]
            .iter()
            .map(|a| lua.create_string(a.as_bytes()).map(Value::String))
            .collect::<mlua::Result<MultiValue>>()
            .map_err(|e| e.to_string())?;
        call_traced(lua, f, script_args)?;
    }
    Ok(())
}

/// What happens to the labs the script opened when it ends (newest first):
/// after an interrupt each loses what this run made; with `rm` each is taken
/// down. Returns what failed, one message per lab.
fn end_labs(lua: &Lua, interrupted: bool, rm: bool) -> Vec<String> {
    let mut failures = Vec::new();
    if !interrupted && !rm {
        return failures;
    }
    for lab in crate::lua::lab_registry::opened(lua) {
        let Ok(mut lab) = lab.try_borrow_mut() else {
            // Only a lab in the middle of a call is borrowed; none is now.
            continue;
        };
        let name = lab.name().to_string();
        let mut step = |what: &str, r: Result<crate::engine::teardown::Report, _>| match r {
            Ok(report) if report.failed.is_empty() => true,
            Ok(report) => {
                let objects: Vec<String> = report
                    .failed
                    .iter()
                    .map(|(o, e)| format!("{o}: {e}"))
                    .collect();
                failures.push(format!(
                    "{what}: lab '{name}': could not remove: {}; `luxc down {name}` retries",
                    objects.join("; ")
                ));
                false
            }
            Err(crate::engine::lab::LabError(e)) => {
                failures.push(format!("{what}: lab '{name}': {e}"));
                false
            }
        };
        if interrupted {
            tracing::debug!(lab = %name, "interrupted: rolling back this run");
            if !step("interrupted", lab.rollback_run()) {
                continue;
            }
        }
        // A lab whose journal this run never opened (its `up` found it held
        // by another luxc) is not this run's to take down.
        if rm && lab.journaled_here() {
            step("--rm", lab.down());
        }
    }
    failures
}

/// `--rm` holds for a script that calls `os.exit` too: Lua's `os.exit` ends
/// the process at once (C `exit`, no unwinding back to the runner), so it is
/// wrapped to take the labs down first. A failed teardown turns status 0
/// into 1.
fn exit_after_teardown(lua: &Lua) -> mlua::Result<()> {
    let os: mlua::Table = lua.globals().get("os")?;
    let exit: Function = os.get("exit")?;
    let wrapped = lua.create_function(move |lua, mut args: MultiValue| {
        let failures = end_labs(lua, false, true);
        for f in &failures {
            eprintln!("luxc: {f}");
        }
        let status = match args.front() {
            None | Some(Value::Nil) | Some(Value::Boolean(true)) => Some(0),
            Some(Value::Integer(0)) => Some(0),
            _ => None,
        };
        if !failures.is_empty() && status == Some(0) {
            match args.front_mut() {
                Some(first) => *first = Value::Integer(1),
                None => args.push_back(Value::Integer(1)),
            }
        }
        exit.call::<()>(args)
    })?;
    os.set("exit", wrapped)
}

/// Runs `-e` chunks in order; the first error stops them.
pub fn run_chunks(lua: &Lua, chunks: &[String]) -> Result<(), String> {
    for code in chunks {
        let f = lua
            .load(code.as_str())
            .set_name("=(command line)")
            .into_function()
            .map_err(|e| crate::lua::args::lua_message(&e))?;
        call_traced(lua, f, MultiValue::new())?;
    }
    Ok(())
}

/// `arg` as lua(1) builds it: the script at 0, its arguments at 1.., and what
/// came before the script (the interpreter, options) at negative indices.
pub fn set_arg_table(lua: &Lua, argv: &[OsString], script: usize) -> mlua::Result<()> {
    let arg = lua.create_table()?;
    for (i, a) in argv.iter().enumerate() {
        arg.raw_set(i as i64 - script as i64, lua.create_string(a.as_bytes())?)?;
    }
    lua.globals().set("arg", arg)
}

/// Blanks a `#!` first line but keeps the newline, so line numbers stay right.
fn strip_shebang(bytes: &mut Vec<u8>) {
    if bytes.starts_with(b"#") {
        let end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(bytes.len());
        bytes.drain(..end);
    }
}

const TRACED_CALL: &str = r#"
local f = ...
local function handler(e)
  if type(e) == "userdata" then
    -- An error raised on the Rust side (e.g. an interrupt): mlua's text, less
    -- its "runtime error: " prefix and its own traceback.
    local ok, s = pcall(tostring, e)
    if ok and type(s) == "string" then
      e = s:gsub("^runtime error: ", ""):gsub("\nstack traceback:.*$", "")
    end
  end
  if type(e) ~= "string" then
    local mt = getmetatable(e)
    e = (mt and mt.__tostring) and tostring(e) or ("(error object is a " .. type(e) .. " value)")
  end
  return debug.traceback(e, 2)
end
return xpcall(f, handler, select(2, ...))
"#;

/// Calls `f` with a traceback handler; on error returns the message followed
/// by the Lua traceback (frames of luxc's own call wrapper trimmed).
pub fn call_traced(lua: &Lua, f: Function, args: MultiValue) -> Result<MultiValue, String> {
    let caller: Function = lua
        .load(TRACED_CALL)
        .set_name("=[luxc]")
        .into_function()
        .map_err(|e| e.to_string())?;
    let mut all = MultiValue::new();
    all.push_back(Value::Function(f));
    all.extend(args);
    let mut out: MultiValue = caller
        .call(all)
        .map_err(|e| crate::lua::args::lua_message(&e))?;
    match out.pop_front() {
        Some(Value::Boolean(true)) => Ok(out),
        _ => {
            let msg = match out.pop_front() {
                Some(Value::String(s)) => s.to_string_lossy(),
                _ => "error".to_string(),
            };
            Err(trim_traceback(&msg))
        }
    }
}

/// Drops the traceback frames below the script (xpcall and luxc's caller).
fn trim_traceback(msg: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in msg.lines() {
        if line.contains("in function 'xpcall'") {
            break;
        }
        out.push(line);
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_is_blanked_keeping_line_numbers() {
        let mut b = b"#!/usr/bin/env luxc\nprint(1)\n".to_vec();
        strip_shebang(&mut b);
        assert_eq!(b, b"\nprint(1)\n");
    }

    #[test]
    fn traceback_stops_at_the_script() {
        let msg = "a.lua:1: boom\nstack traceback:\n\t[C]: in function 'error'\n\ta.lua:1: in main chunk\n\t[C]: in function 'xpcall'\n\t[luxc]:9: in main chunk";
        assert_eq!(
            trim_traceback(msg),
            "a.lua:1: boom\nstack traceback:\n\t[C]: in function 'error'\n\ta.lua:1: in main chunk"
        );
    }
}
