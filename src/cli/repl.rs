//! `luxc repl`: an interactive prompt over the same Lua state the runner uses.
//!
//! Continuation lines for incomplete chunks, readable results, Tab completion,
//! `:help NAME` from the stubs, persistent history, Ctrl-C cancels the line (or
//! interrupts running code), Ctrl-D exits.

use std::path::PathBuf;

use mlua::{Lua, MultiValue, Value};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::cli::run::{call_traced, run_chunks, set_arg_table};
use crate::lua::docs::Docs;
use crate::lua::{runtime, RuntimeOptions};
use crate::process::interrupt;

/// Runs the REPL until Ctrl-D or `:quit`; returns the exit status.
pub fn run(argv: &[std::ffi::OsString], chunks: &[String], lab: Option<&str>) -> i32 {
    match try_run(argv, chunks, lab) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("luxc repl: {e}");
            1
        }
    }
}

/// `luxc repl --lab NAME`: the live lab as the global `lab`, and a line
/// naming what it has.
const OPEN_LAB: &str = r#"
local name = ...
lab = luxc.lab.open(name)
local parts = {}
for _, c in ipairs(lab:containers()) do
  parts[#parts + 1] = c.name .. " (" .. c:status() .. ")"
end
print(("lab %s is `lab`; containers: %s — e.g. lab.%s:exec{ \"ip\", \"addr\" }"):format(
  name, #parts > 0 and table.concat(parts, ", ") or "none", parts[1] and lab:containers()[1].name or "NAME"))
"#;

fn try_run(
    argv: &[std::ffi::OsString],
    chunks: &[String],
    lab: Option<&str>,
) -> Result<(), String> {
    let lua = runtime(&RuntimeOptions::default()).map_err(|e| e.to_string())?;
    set_arg_table(&lua, argv, 0).map_err(|e| e.to_string())?;
    if let Some(name) = lab {
        let f = lua
            .load(OPEN_LAB)
            .set_name("=(repl --lab)")
            .into_function()
            .map_err(|e| e.to_string())?;
        let mut args = mlua::MultiValue::new();
        args.push_back(mlua::Value::String(
            lua.create_string(name).map_err(|e| e.to_string())?,
        ));
        super::run::call_traced(&lua, f, args)
            .map_err(|e| e.lines().next().unwrap_or_default().to_string())?;
    }
    // As `lua -e CODE -i`: the chunks run first; an error stops before the prompt.
    run_chunks(&lua, chunks)?;
    let docs = Docs::builtin();
    let mut editor: Editor<ReplHelper, _> = Editor::new().map_err(|e| e.to_string())?;
    editor.set_helper(Some(ReplHelper { lua: lua.clone() }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!(
        "luxc {} (Lua 5.4) — :help NAME for docs, Ctrl-D to exit",
        crate::VERSION
    );
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() { "> " } else { ">> " };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.to_string()),
        };
        if pending.is_empty() && line.trim_start().starts_with(':') {
            if !command(line.trim(), &docs) {
                break;
            }
            remember(&mut editor, line.trim(), history.as_ref());
            continue;
        }
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(&line);
        if eval(&lua, &pending) == Eval::Incomplete {
            continue;
        }
        let entry = std::mem::take(&mut pending);
        if !entry.trim().is_empty() {
            remember(&mut editor, &entry, history.as_ref());
        }
    }
    Ok(())
}

/// Adds an entry to history and appends it to the file at once, so a crash
/// or `os.exit` keeps it.
fn remember(
    editor: &mut Editor<ReplHelper, rustyline::history::DefaultHistory>,
    entry: &str,
    file: Option<&PathBuf>,
) {
    let _ = editor.add_history_entry(entry);
    if let Some(path) = file {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.append_history(path);
    }
}

/// `$XDG_STATE_HOME/luxc/history`, else `~/.local/state/luxc/history`.
pub fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("luxc").join("history"))
}

/// Handles `:help`, `:quit`; returns false to leave the REPL.
fn command(line: &str, docs: &Docs) -> bool {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some(":q") | Some(":quit") | Some(":exit"), _) => return false,
        (Some(":help") | Some(":h"), Some(name)) => match docs.help(name) {
            Some(text) => print!("{text}"),
            None => println!("no documentation for '{name}' (try :help luxc)"),
        },
        (Some(":help") | Some(":h"), None) => {
            println!(":help NAME   documentation of an API name (e.g. :help luxc.host.exec)");
            println!(":quit        leave (or Ctrl-D)");
            print!("{}", docs.help("luxc").unwrap_or_default());
        }
        (Some(other), _) => println!("unknown command {other} (try :help)"),
        (None, _) => {}
    }
    true
}

#[derive(Debug, PartialEq, Eq)]
enum Eval {
    Done,
    Incomplete,
}

/// Compiles `source` as an expression (to print its values) or as statements,
/// and runs it. A syntax error at end of input asks for another line.
fn eval(lua: &Lua, source: &str) -> Eval {
    let compiled = match lua
        .load(format!("return {source}\n"))
        .set_name("=stdin")
        .into_function()
    {
        Ok(f) => Ok(f),
        Err(_) => lua.load(source).set_name("=stdin").into_function(),
    };
    let f = match compiled {
        Ok(f) => f,
        Err(mlua::Error::SyntaxError {
            incomplete_input: true,
            ..
        }) => return Eval::Incomplete,
        Err(e) => {
            eprintln!("{}", crate::lua::args::lua_message(&e));
            return Eval::Done;
        }
    };
    interrupt::reset();
    let guard = interrupt::install();
    let result = call_traced(lua, f, MultiValue::new());
    drop(guard);
    // C stdio buffers io.write output without a newline; show it before the prompt.
    // SAFETY: fflush(NULL) flushes all open C streams; no Rust invariant is involved.
    unsafe { nix::libc::fflush(std::ptr::null_mut()) };
    match result {
        Ok(values) if !values.is_empty() => print_values(lua, values),
        Ok(_) => {}
        Err(msg) => eprintln!("{msg}"),
    }
    Eval::Done
}

fn print_values(lua: &Lua, values: MultiValue) {
    let inspect = match crate::lua::stdlib::inspect_fn(lua) {
        Ok(f) => f,
        Err(e) => return eprintln!("{e}"),
    };
    let parts: Vec<String> = values
        .into_iter()
        .map(|v: Value| {
            inspect
                .call::<String>(v)
                .unwrap_or_else(|e| format!("<{}>", crate::lua::args::lua_message(&e)))
        })
        .collect();
    println!("{}", parts.join("\t"));
}

/// The rustyline helper: completion from the live Lua state.
struct ReplHelper {
    lua: Lua,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, names) = super::complete::candidates(&self.lua, line, pos);
        let pairs = names
            .into_iter()
            .map(|n| Pair {
                display: n.clone(),
                replacement: n,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}
impl Highlighter for ReplHelper {}
impl Validator for ReplHelper {}
impl Helper for ReplHelper {}
