//! The Rust side of `luxc.gpu` (stdlib/gpu.lua): `dev:gpu_nodes()` reads what
//! Lua cannot (links under /sys/class/drm, the owner of a device node);
//! `c:assign(gpu, { libraries = true })` gives a declared container a GPU's
//! nodes and libraries; `dev:host_uses()` says whether the host stands on a
//! device, so scripts can keep away from it before they ask for a bind.

use mlua::{Lua, Table, Value};

use super::args::{function, Args, Failure, LuaResult};
use super::cgroup::to_lua;
use super::handle;
use super::lab::{engine, lab_of_container};
use super::opts::Opts;
use crate::fs::rootfs::MountSpec;
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
    handle::methods(lua, "container")?.set("assign", function(lua, "container:assign", assign)?)?;
    Ok(())
}

fn this(lua: &Lua, args: &Args) -> LuaResult<Address> {
    address_of(lua, args, 1, "a PCI device")
}

/// The address of the PCI device handle at argument `n`.
fn address_of(lua: &Lua, args: &Args, n: usize, what: &str) -> LuaResult<Address> {
    let t: Table = handle::check(lua, args, n, KIND, what)?;
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
    let nodes = profile(&args, &address, 2)?;
    to_lua(lua, &nodes).map_err(|e| Failure::from_lua(args.func(), &e))
}

/// The GPU profile of `address`, with the `libraries` option at argument `n`.
fn profile(args: &Args, address: &Address, n: usize) -> LuaResult<pci::GpuNodes> {
    let libraries = match args.options(n, &["libraries"])? {
        Some(o) => o.boolean("libraries")?.unwrap_or(false),
        None => false,
    };
    let root = pci::host_root();
    let perr = |e: pci::PciError| Failure::from_error(args.func(), &e);
    let d = pci::get(&root, address).map_err(perr)?;
    pci::gpu_nodes(&root, &d, libraries).map_err(perr)
}

/// `c:assign(gpu, { libraries = false })` → the GPU's profile (as
/// `dev:gpu_nodes`): its nodes become the container's device grants (as
/// `devices = { { path = NODE, access = "rw" } }` would) and its libraries
/// read-only binds. Only before the container starts.
fn assign(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(3)?;
    let c = handle::check(lua, &args, 1, "container", "a container")?;
    let (lab, name) = lab_of_container(&args, &c)?;
    let address = address_of(
        lua,
        &args,
        2,
        "a GPU (a PCI device from luxc.gpu.list or luxc.pci.get)",
    )?;
    engine(&args, lab.0.borrow().check_not_started(&name))?;
    let p = profile(&args, &address, 3)?;
    if p.nodes.is_empty() {
        return Err(Failure::new(
            args.func(),
            format!(
                "GPU {address} has no device nodes (a GPU on vfio-pci is given as a PCI device in `devices`)"
            ),
        ));
    }
    let lerr = |e: mlua::Error| Failure::from_lua(args.func(), &e);
    // The nodes go through the `devices` option's own parser: same checks,
    // same messages ("field 'devices[2]': /dev/nvidia-uvm: no such device node").
    let list = lua.create_table().map_err(lerr)?;
    for n in &p.nodes {
        let entry = lua.create_table().map_err(lerr)?;
        entry.set("path", n.path.as_str()).map_err(lerr)?;
        entry.set("access", "rw").map_err(lerr)?;
        list.raw_push(entry).map_err(lerr)?;
    }
    let holder = lua.create_table().map_err(lerr)?;
    holder.set("devices", list.clone()).map_err(lerr)?;
    let o = Opts::new(args.func(), holder, &["devices"]);
    let (rules, mut mounts) = super::device_grants::parse(lua, &o, &list)?;
    for lib in &p.libraries {
        mounts.push(MountSpec::Bind {
            source: lib.into(),
            target: lib.clone(),
            readonly: true,
        });
    }
    engine(&args, lab.0.borrow_mut().add_grants(&name, rules, mounts))?;
    to_lua(lua, &p).map_err(lerr)
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
