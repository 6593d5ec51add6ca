//! Container handles (`lab:container{...}` returns one) and the process
//! handles `c:spawn{...}` returns.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;

use mlua::{AnyUserData, Lua, LuaSerdeExt, Table, UserData, Value};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::args::{function, Args, Failure, LuaResult};
use super::command;
use super::handle;
use super::lab::{engine, lab_of_container, seconds, signal, LabRef};
use crate::engine::container::{self as ctr, ExecRequest};

/// A container handle for `name` in the lab `lab_t`.
pub fn handle(lua: &Lua, lab_t: &Table, name: &str) -> mlua::Result<Table> {
    handle::new(
        lua,
        "container",
        vec![
            ("lab", Value::Table(lab_t.clone())),
            ("name", Value::String(lua.create_string(name)?)),
        ],
    )
}

/// Registers the container and process methods.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let m = handle::methods(lua, "container")?;
    m.set("start", function(lua, "container:start", start)?)?;
    m.set("exec", function(lua, "container:exec", exec)?)?;
    m.set("spawn", function(lua, "container:spawn", spawn)?)?;
    m.set("stop", function(lua, "container:stop", stop)?)?;
    m.set("wait", function(lua, "container:wait", wait)?)?;
    m.set("status", function(lua, "container:status", status)?)?;
    m.set("pid", function(lua, "container:pid", pid)?)?;
    m.set("ns", function(lua, "container:ns", ns)?)?;
    m.set(
        "read_file",
        function(lua, "container:read_file", read_file)?,
    )?;
    m.set(
        "write_file",
        function(lua, "container:write_file", write_file)?,
    )?;
    m.set("info", function(lua, "container:info", info)?)?;
    m.set("destroy", function(lua, "container:destroy", destroy)?)?;
    m.set(
        "set_limits",
        function(lua, "container:set_limits", set_limits)?,
    )?;
    m.set("stats", function(lua, "container:stats", stats)?)?;
    m.set("freeze", function(lua, "container:freeze", freeze)?)?;
    m.set("thaw", function(lua, "container:thaw", thaw)?)?;
    handle::metatable(lua, "container")?.set(
        "__tostring",
        lua.create_function(|_, t: Table| {
            let name: String = t.raw_get("name")?;
            let lab: Table = t.raw_get("lab")?;
            let lab_name: String = lab.raw_get("name")?;
            Ok(format!("container {lab_name}/{name}"))
        })?,
    )?;
    let p = handle::methods(lua, "process")?;
    p.set("pid", function(lua, "process:pid", proc_pid)?)?;
    p.set("wait", function(lua, "process:wait", proc_wait)?)?;
    p.set("kill", function(lua, "process:kill", proc_kill)?)?;
    handle::metatable(lua, "process")?.set(
        "__tostring",
        lua.create_function(|_, t: Table| {
            let pid: i64 = t.raw_get("_pid")?;
            Ok(format!("process {pid}"))
        })?,
    )?;
    Ok(())
}

fn lua_err(args: &Args) -> impl Fn(mlua::Error) -> Failure + '_ {
    move |e| Failure::from_lua(args.func(), &e)
}

/// The lab and container name behind `self`.
fn this(lua: &Lua, args: &Args) -> LuaResult<(LabRef, String)> {
    let t = handle::check(lua, args, 1, "container", "a container")?;
    // Under --plan nothing is running: what needs a live container ends
    // the script there (status and info still answer).
    const LIVE: &[&str] = &[
        "container:exec",
        "container:spawn",
        "container:stop",
        "container:wait",
        "container:ns",
        "container:pid",
        "container:read_file",
        "container:write_file",
        "container:destroy",
        "container:stats",
        "container:freeze",
        "container:thaw",
    ];
    if super::plan_mode(lua) && LIVE.contains(&args.func()) {
        return Err(Failure::new(args.func(), crate::engine::lab::PLAN_STOP));
    }
    lab_of_container(args, &t)
}

fn start(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    engine(&args, lab.0.borrow_mut().start(&name))?;
    Ok(args.get(1))
}

const EXEC_OPTIONS: &[&str] = &["env", "cwd", "user", "stdin", "timeout", "shell"];
const SPAWN_OPTIONS: &[&str] = &["env", "cwd", "user", "shell"];

fn request(args: &Args, cmd: command::Command) -> LuaResult<ExecRequest> {
    let user = super::container_opts::user(&cmd.opts, "user", cmd.opts.raw("user")?)?;
    Ok(ExecRequest {
        argv: cmd
            .argv
            .iter()
            .map(|a| {
                String::from_utf8(a.clone())
                    .map_err(|_| args.fail(1, "command items must be UTF-8"))
            })
            .collect::<LuaResult<_>>()?,
        env: cmd.env.into_iter().collect::<BTreeMap<_, _>>(),
        cwd: cmd.cwd,
        user,
        stdin: cmd.stdin,
        timeout: cmd.timeout,
        tty: false,
    })
}

/// `c:exec{ "cmd", ..., env, cwd, user, stdin, timeout, shell }` → `{ code, stdout, stderr, timed_out, signal }`.
fn exec(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(2)?;
    let (lab, name) = this(lua, &args)?;
    let shifted = args.shift();
    let cmd = command::parse(&shifted, EXEC_OPTIONS)?;
    let req = request(&shifted, cmd)?;
    let out = engine(&args, lab.0.borrow().exec(&name, &req))?;
    command::result_table(lua, &out).map_err(lua_err(&args))
}

/// A process started by `spawn`, and its exit status once waited for.
struct Proc {
    child: RefCell<Option<std::process::Child>>,
    status: RefCell<Option<(i32, Option<i32>)>>,
}

impl UserData for Proc {}

/// `c:spawn{ "cmd", ..., env, cwd, user, shell }` → a process handle; its
/// output goes to the container's log.
fn spawn(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(2)?;
    let (lab, name) = this(lua, &args)?;
    let shifted = args.shift();
    let cmd = command::parse(&shifted, SPAWN_OPTIONS)?;
    let req = request(&shifted, cmd)?;
    let lab = lab.0.borrow();
    let spec = engine(&args, lab.enter_spec(&name, &req))?;
    let paths = crate::engine::container::Paths {
        dir: lab.dir().join(&name),
    };
    let pid1 = lab.running(&name, "spawn").ok();
    let out = crate::engine::container::log_writer(pid1, &paths)
        .map_err(|e| Failure::new(args.func(), e))?;
    let err = out
        .try_clone()
        .map_err(|e| Failure::new(args.func(), format!("dup the log: {e}")))?;
    let child = crate::process::spawn(&spec, out.into(), err.into())
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    let pid = child.id();
    let ud = lua
        .create_userdata(Proc {
            child: RefCell::new(Some(child)),
            status: RefCell::new(None),
        })
        .map_err(lua_err(&args))?;
    handle::new(
        lua,
        "process",
        vec![
            ("_pid", Value::Integer(pid as i64)),
            ("_proc", Value::UserData(ud)),
        ],
    )
    .map_err(lua_err(&args))
}

fn proc_of(lua: &Lua, args: &Args) -> LuaResult<(Table, AnyUserData)> {
    let t = handle::check(lua, args, 1, "process", "a process")?;
    let ud: AnyUserData = t.raw_get("_proc").map_err(lua_err(args))?;
    Ok((t, ud))
}

/// `p:pid()` → host pid of the process.
fn proc_pid(lua: &Lua, args: Args) -> LuaResult<i64> {
    args.at_most(1)?;
    let (t, _) = proc_of(lua, &args)?;
    t.raw_get("_pid").map_err(lua_err(&args))
}

/// `p:wait()` → `{ code, signal }` once it ends.
fn proc_wait(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let (_, ud) = proc_of(lua, &args)?;
    let p = ud.borrow::<Proc>().map_err(lua_err(&args))?;
    if p.status.borrow().is_none() {
        let mut child = p.child.borrow_mut();
        if let Some(c) = child.as_mut() {
            use std::os::unix::process::ExitStatusExt;
            // Polled, not a blocking wait(2), so Ctrl-C can stop the script.
            let mut pause = std::time::Duration::from_micros(500);
            let st = loop {
                match c.try_wait() {
                    Ok(Some(st)) => break st,
                    Ok(None) => {}
                    Err(e) => return Err(Failure::new(args.func(), format!("wait: {e}"))),
                }
                if !crate::process::interrupt::sleep(pause) {
                    crate::process::interrupt::take();
                    return Err(Failure::new(args.func(), "interrupted"));
                }
                pause = (pause * 2).min(std::time::Duration::from_millis(20));
            };
            let sig = st.signal();
            *p.status.borrow_mut() =
                Some((st.code().unwrap_or_else(|| 128 + sig.unwrap_or(0)), sig));
        }
        *child = None;
    }
    let (code, sig) = p.status.borrow().expect("status set above");
    let t = lua.create_table().map_err(lua_err(&args))?;
    t.set("code", code).map_err(lua_err(&args))?;
    t.set("signal", sig).map_err(lua_err(&args))?;
    Ok(t)
}

/// `p:kill(sig)`: signals the process (and what it started: its group).
fn proc_kill(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(2)?;
    let (t, ud) = proc_of(lua, &args)?;
    let sig = match args.get(2) {
        Value::Nil => Signal::SIGTERM,
        v => signal(&v).map_err(|e| args.fail(2, e))?,
    };
    let p = ud.borrow::<Proc>().map_err(lua_err(&args))?;
    if p.status.borrow().is_some() {
        return Ok(()); // already waited for: the pid may be reused
    }
    let pid: i32 = t.raw_get("_pid").map_err(lua_err(&args))?;
    killpg(Pid::from_raw(pid), sig)
        .map_err(|e| Failure::new(args.func(), format!("kill {pid}: {e}")))
}

/// `c:stop{ signal = "TERM", timeout = 10 }` → true if it ended before the timeout.
fn stop(lua: &Lua, args: Args) -> LuaResult<bool> {
    args.at_most(2)?;
    let (lab, name) = this(lua, &args)?;
    let (sig, timeout) = match args.options(2, &["signal", "timeout"])? {
        None => (
            Signal::SIGTERM,
            seconds(None, 10.0).map_err(|e| args.fail(2, e))?,
        ),
        Some(o) => {
            let sig = match o.raw("signal")? {
                Value::Nil => Signal::SIGTERM,
                v => signal(&v).map_err(|e| o.fail("signal", e))?,
            };
            let t = seconds(o.number("timeout", "a number of seconds")?, 10.0)
                .map_err(|e| o.fail("timeout", e))?;
            (sig, t)
        }
    };
    let mut lab = lab.0.borrow_mut();
    engine(&args, lab.stop(&name, sig, timeout))
}

/// `c:wait{ timeout = 10 }` → true once PID 1 has ended (false on timeout);
/// without a timeout it waits as long as it takes.
fn wait(lua: &Lua, args: Args) -> LuaResult<bool> {
    args.at_most(2)?;
    let (lab, name) = this(lua, &args)?;
    let timeout = match args.options(2, &["timeout"])? {
        None => seconds(None, 1e12).map_err(|e| args.fail(2, e))?,
        Some(o) => seconds(o.number("timeout", "a number of seconds")?, 1e12)
            .map_err(|e| o.fail("timeout", e))?,
    };
    let lab = lab.0.borrow();
    let ended = engine(&args, lab.wait(&name, timeout))?;
    if !ended && crate::process::interrupt::take() {
        return Err(Failure::new(args.func(), "interrupted"));
    }
    Ok(ended)
}

/// `c:status()` → "declared", "running" or "stopped".
fn status(lua: &Lua, args: Args) -> LuaResult<&'static str> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    let lab = lab.0.borrow();
    Ok(engine(&args, lab.get(&name))?.status().as_str())
}

/// `c:pid()` → host pid of PID 1, or nil when not running.
fn pid(lua: &Lua, args: Args) -> LuaResult<Option<i32>> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    let lab = lab.0.borrow();
    Ok(lab.running(&name, "pid").ok().map(|p| p.pid))
}

/// `c:ns()` → `{ mount = id, pid = id, ... }` for the running container.
fn ns(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    let pid1 = engine(&args, lab.0.borrow().running(&name, "ns"))?;
    let ids = crate::ns::ids(std::path::Path::new("/proc"), &pid1.pid.to_string())
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    let t = lua.create_table().map_err(lua_err(&args))?;
    for (k, id) in ids {
        t.set(k.name(), id).map_err(lua_err(&args))?;
    }
    Ok(t)
}

/// `c:read_file(path)` → contents of a file inside the running container.
fn read_file(lua: &Lua, args: Args) -> LuaResult<mlua::LuaString> {
    args.at_most(2)?;
    let (lab, name) = this(lua, &args)?;
    let path = args.string(2)?;
    let pid1 = engine(&args, lab.0.borrow().running(&name, "read_file"))?;
    let mut f = ctr::open_inside(pid1, &path, None).map_err(|e| Failure::new(args.func(), e))?;
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut data)
        .map_err(|e| Failure::new(args.func(), format!("{path}: {e}")))?;
    lua.create_string(&data).map_err(lua_err(&args))
}

/// `c:write_file(path, data, mode)`: writes a file inside the running container.
fn write_file(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(4)?;
    let (lab, name) = this(lua, &args)?;
    let path = args.string(2)?;
    let data = match args.get(3) {
        Value::String(s) => s.as_bytes().to_vec(),
        _ => return Err(args.expected(3, "a string")),
    };
    let mode = match args.get(4) {
        Value::Nil => 0o644,
        Value::Integer(m) if (0..=0o7777).contains(&m) => m as u32,
        _ => return Err(args.expected(4, "a file mode (integer, e.g. tonumber('644', 8))")),
    };
    let pid1 = engine(&args, lab.0.borrow().running(&name, "write_file"))?;
    let mut f =
        ctr::open_inside(pid1, &path, Some(mode)).map_err(|e| Failure::new(args.func(), e))?;
    f.write_all(&data)
        .map_err(|e| Failure::new(args.func(), format!("{path}: {e}")))
}

/// `c:info()` → a plain table: spec, status, pid, security, dirs.
fn info(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    let lab = lab.0.borrow();
    let c = engine(&args, lab.get(&name))?;
    let mut v = serde_json::to_value(&c.spec).map_err(|e| Failure::new(args.func(), e))?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("status".into(), c.status().as_str().into());
        obj.insert("lab".into(), lab.name().into());
        obj.insert(
            "dir".into(),
            lab.dir().join(&name).display().to_string().into(),
        );
        if let Ok(p) = lab.running(&name, "info") {
            obj.insert("pid".into(), p.pid.into());
        }
        obj.insert("image".into(), c.spec.image.name().into());
    }
    strip_nulls(&mut v);
    lua.to_value(&v).map_err(lua_err(&args))
}

/// Unset options (None) become absent keys, so `if info.user then` works.
fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// `c:destroy()`: stops it and removes everything it created.
fn destroy(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    let mut lab = lab.0.borrow_mut();
    engine(&args, lab.destroy(&name))
}

/// `c:set_limits{ memory = "128M", ... }`: changes the running container's limits.
fn set_limits(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(2)?;
    let (lab, name) = this(lua, &args)?;
    let limits = super::limits::parse(args.func(), args.table(2, "a table of limits")?)?;
    let mut lab = lab.0.borrow_mut();
    engine(&args, lab.set_limits(&name, &limits))
}

/// `c:stats()` → `{ memory = {...}, cpu = {...}, pids = {...}, io = {...} }`.
fn stats(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    let cg = engine(&args, lab.0.borrow_mut().cgroup(&name))?;
    let st = cg
        .stats()
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    super::cgroup::to_lua(lua, &st).map_err(lua_err(&args))
}

/// `c:freeze()`: stops every process of the container (cgroup freezer).
fn freeze(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    let cg = engine(&args, lab.0.borrow_mut().cgroup(&name))?;
    cg.freeze()
        .map_err(|e| Failure::from_error(args.func(), &e))
}

/// `c:thaw()`: lets a frozen container run again.
fn thaw(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(1)?;
    let (lab, name) = this(lua, &args)?;
    let cg = engine(&args, lab.0.borrow_mut().cgroup(&name))?;
    cg.thaw().map_err(|e| Failure::from_error(args.func(), &e))
}
