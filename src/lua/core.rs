//! `luxc.version`, `luxc.sleep`.

use mlua::{Lua, Table};

use super::args::{function, Args, LuaResult};

/// Registers the top-level values and functions of `luxc`.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    luxc.set("version", crate::VERSION)?;
    luxc.set("sleep", function(lua, "luxc.sleep", sleep)?)?;
    luxc.set("now", function(lua, "luxc.now", now)?)?;
    Ok(())
}

/// `luxc.now()` → seconds (float, microsecond resolution) on a monotonic
/// clock, for timing parts of a script (os.clock counts CPU time only).
fn now(_: &Lua, args: Args) -> LuaResult<f64> {
    args.at_most(0)?;
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map_err(|e| args.fail(0, e))?;
    Ok(t.tv_sec() as f64 + t.tv_nsec() as f64 / 1e9)
}

/// `luxc.sleep(seconds)`: blocks this script for a (fractional) number of seconds.
fn sleep(_: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(1)?;
    let secs = args.number(1, "a number of seconds")?;
    if secs < 0.0 {
        return Err(args.fail(1, format!("expected a number of seconds >= 0, got {secs}")));
    }
    let d = super::args::duration(secs).map_err(|e| args.fail(1, e))?;
    if crate::process::interrupt::sleep(d) {
        Ok(())
    } else {
        crate::process::interrupt::take();
        Err(super::args::Failure::new(args.func(), "interrupted"))
    }
}
