//! The Rust side of `luxc.gpu` (stdlib/gpu.lua): `dev:gpu_nodes()` reads what
//! Lua cannot (links under /sys/class/drm, the owner of a device node), and
//! `dev:host_uses()` says whether the host stands on a device, so scripts can
//! keep away from it before they ask for a bind.

use mlua::{Lua, Table, Value};

use super::args::{function, Args, Failure, LuaResult};
use super::cgroup::to_lua;
use super::handle;
use crate::pci::{self, Address};

const KIND: &str = "pci_device";

/// Adds the methods to the PCI device handle.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let m = handle::methods(lua, KIND)?;
    m.set(
        "gpu_nodes",
        function(lua, "pci_device:gpu_nodes", gpu_nodes)?,
    )?;
    m.set(
        "host_uses",
        function(lua, "pci_device:host_uses", host_uses)?,
    )?;
    Ok(())
}

fn this(lua: &Lua, args: &Args) -> LuaResult<Address> {
    let t: Table = handle::check(lua, args, 1, KIND, "a PCI device")?;
    let text: String = t
        .raw_get("address")
        .map_err(|e| Failure::from_lua(args.func(), &e))?;
    Address::parse(&text).map_err(|e| Failure::from_error(args.func(), &e))
}

/// `dev:gpu_nodes{ libraries = false }` → `{ address, nodes = { { path, gid,
/// kind } }, gids = { ... }, libraries = { ... } }`, read now.
fn gpu_nodes(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(2)?;
    let address = this(lua, &args)?;
    let libraries = match args.options(2, &["libraries"])? {
        Some(o) => o.boolean("libraries")?.unwrap_or(false),
        None => false,
    };
    let root = pci::host_root();
    let perr = |e: pci::PciError| Failure::from_error(args.func(), &e);
    let d = pci::get(&root, &address).map_err(perr)?;
    let nodes = pci::gpu_nodes(&root, &d, libraries).map_err(perr)?;
    to_lua(lua, &nodes).map_err(|e| Failure::from_lua(args.func(), &e))
}

/// `dev:host_uses()` → `{ "carries the host's default route (eth0)", ... }`:
/// why binding it away would hurt the host (empty: nothing of the host's).
fn host_uses(lua: &Lua, args: Args) -> LuaResult<Vec<String>> {
    args.at_most(1)?;
    let address = this(lua, &args)?;
    let uses = pci::host_uses(&pci::host_root(), &address)
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    Ok(uses.iter().map(ToString::to_string).collect())
}
