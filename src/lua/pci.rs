//! `luxc.pci`: PCI devices as handles (`list`, `get`), their IOMMU group and
//! VFIO viability. A handle carries the fields read when it was made; its
//! methods read sysfs again, so `:info()` and `:vfio_status()` are current.

use std::path::Path;

use mlua::{Lua, Table, Value};

use super::args::{function, type_name, Args, Failure, LuaResult};
use super::cgroup::to_lua;
use super::handle;
use super::opts::Opts;
use crate::pci::{self, Address, Device, Filter};

/// Handle kind of a PCI device (its metatable's registry key).
const KIND: &str = "pci_device";

/// The host's root: what every call here reads.
fn root() -> &'static Path {
    Path::new("/")
}

/// Registers `luxc.pci` and the device handle's methods.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set("list", function(lua, "luxc.pci.list", list)?)?;
    t.set("get", function(lua, "luxc.pci.get", get)?)?;
    luxc.set("pci", t)?;
    let m = handle::methods(lua, KIND)?;
    m.set("group", function(lua, "pci_device:group", group)?)?;
    m.set(
        "vfio_status",
        function(lua, "pci_device:vfio_status", vfio_status)?,
    )?;
    m.set("info", function(lua, "pci_device:info", info)?)?;
    handle::metatable(lua, KIND)?.set(
        "__tostring",
        lua.create_function(|_, t: Table| {
            let address: String = t.raw_get("address")?;
            let class: String = t.raw_get("class")?;
            let vendor: String = t.raw_get("vendor")?;
            let device: String = t.raw_get("device")?;
            let driver: Option<String> = t.raw_get("driver")?;
            let driver = driver.unwrap_or_else(|| "no driver".into());
            Ok(format!(
                "pci {address} [{class}] {vendor}:{device} ({driver})"
            ))
        })?,
    )?;
    Ok(())
}

fn lua_err(args: &Args) -> impl Fn(mlua::Error) -> Failure + '_ {
    move |e| Failure::from_lua(args.func(), &e)
}

fn pci_err(args: &Args) -> impl Fn(pci::PciError) -> Failure + '_ {
    move |e| Failure::from_error(args.func(), &e)
}

/// A device handle: the device's fields (ids as hex strings, absent ones nil).
fn device_handle(lua: &Lua, d: &Device) -> mlua::Result<Table> {
    let Value::Table(t) = to_lua(lua, d)? else {
        unreachable!("a struct serializes to a table")
    };
    t.set_metatable(Some(handle::metatable(lua, KIND)?))?;
    Ok(t)
}

const LIST_OPTIONS: &[&str] = &["class", "vendor", "device", "driver"];

/// `luxc.pci.list{ class=, vendor=, device=, driver= }` → device handles in address order.
fn list(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let filter = match args.options(1, LIST_OPTIONS)? {
        None => Filter::default(),
        Some(o) => Filter {
            class: class(&o)?,
            vendor: id(&o, "vendor")?,
            device: id(&o, "device")?,
            driver: o.string("driver")?,
        },
    };
    let devices = pci::list(root(), &filter).map_err(pci_err(&args))?;
    let out = lua.create_table().map_err(lua_err(&args))?;
    for d in &devices {
        out.raw_push(device_handle(lua, d).map_err(lua_err(&args))?)
            .map_err(lua_err(&args))?;
    }
    Ok(out)
}

/// The class option: 2, 4 or 6 hex digits as a string. A number is refused:
/// 3 could mean class 03 or 0x000003.
fn class(o: &Opts) -> LuaResult<Option<String>> {
    match o.raw("class")? {
        Value::Nil => Ok(None),
        Value::String(s) => Filter::parse_class(&s.to_string_lossy())
            .map(Some)
            .map_err(|e| o.fail("class", e)),
        other => Err(o.fail(
            "class",
            format!(
                "expected a string of hex digits (\"03\", \"0300\", \"030000\"), got {}",
                type_name(&other)
            ),
        )),
    }
}

/// A vendor or device id option: an integer 0..0xffff or 4 hex digits.
fn id(o: &Opts, key: &str) -> LuaResult<Option<u16>> {
    match o.raw(key)? {
        Value::Nil => Ok(None),
        Value::Integer(i) => u16::try_from(i)
            .map(Some)
            .map_err(|_| o.fail(key, format!("expected an id from 0 to 0xffff, got {i}"))),
        Value::String(s) => Filter::parse_id(&s.to_string_lossy())
            .map(Some)
            .map_err(|e| o.fail(key, e)),
        other => Err(o.fail(
            key,
            format!(
                "expected an id (integer or hex string like \"8086\"), got {}",
                type_name(&other)
            ),
        )),
    }
}

/// `luxc.pci.get("0000:01:00.0")` → the device's handle.
fn get(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let address = address_arg(&args)?;
    let d = pci::get(root(), &address).map_err(pci_err(&args))?;
    device_handle(lua, &d).map_err(lua_err(&args))
}

fn address_arg(args: &Args) -> LuaResult<Address> {
    let text = match args.get(1) {
        Value::String(s) => s.to_string_lossy(),
        _ => return Err(args.expected(1, "a PCI address string (\"0000:01:00.0\")")),
    };
    Address::parse(&text).map_err(|e| args.fail(1, e))
}

/// The address of the device handle `self`.
fn this(lua: &Lua, args: &Args) -> LuaResult<Address> {
    let t = handle::check(lua, args, 1, KIND, "a PCI device")?;
    let text: String = t.raw_get("address").map_err(lua_err(args))?;
    Address::parse(&text).map_err(|e| Failure::from_error(args.func(), &e))
}

/// `dev:group()` → handles of every device in its IOMMU group (itself included).
fn group(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let address = this(lua, &args)?;
    let g = pci::group(root(), &address).map_err(pci_err(&args))?;
    let out = lua.create_table().map_err(lua_err(&args))?;
    for m in &g.members {
        let d = pci::get(root(), &m.address).map_err(pci_err(&args))?;
        out.raw_push(device_handle(lua, &d).map_err(lua_err(&args))?)
            .map_err(lua_err(&args))?;
    }
    Ok(out)
}

/// `dev:vfio_status()` → `{ group, viable, bound, blockers, members, message }`.
fn vfio_status(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let address = this(lua, &args)?;
    let st = pci::vfio_status(root(), &address).map_err(pci_err(&args))?;
    to_lua(lua, &st).map_err(lua_err(&args))
}

/// `dev:info()` → the device's fields as read now, as a plain table.
fn info(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let address = this(lua, &args)?;
    let d = pci::get(root(), &address).map_err(pci_err(&args))?;
    to_lua(lua, &d).map_err(lua_err(&args))
}
