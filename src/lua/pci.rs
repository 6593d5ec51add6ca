//! `luxc.pci`: PCI devices as handles (`list`, `get`), their IOMMU group and
//! VFIO viability, and driver changes (`bind_vfio`, `bind`, `unbind`,
//! `restore`) journaled in a lab. A handle carries the fields read when it
//! was made (refreshed after a change it makes); its methods read sysfs
//! again, so `:info()` and `:vfio_status()` are current.

use std::path::PathBuf;

use mlua::{Lua, Table, Value};

use super::args::{function, type_name, Args, Failure, LuaResult};
use super::cgroup::to_lua;
use super::handle;
use super::lab::{default_lab, engine, LabRef};
use super::opts::Opts;
use crate::pci::{self, Address, BindOptions, Device, Filter};

/// Handle kind of a PCI device (its metatable's registry key).
const KIND: &str = "pci_device";

/// The host's root (or the `LUXC_PCI_ROOT` fixture): what every call here reads.
fn root() -> PathBuf {
    pci::host_root()
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
    m.set(
        "bind_vfio",
        function(lua, "pci_device:bind_vfio", bind_vfio)?,
    )?;
    m.set("bind", function(lua, "pci_device:bind", bind)?)?;
    m.set("unbind", function(lua, "pci_device:unbind", unbind)?)?;
    m.set("restore", function(lua, "pci_device:restore", restore)?)?;
    super::pci_gpu::register(lua)?;
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
    let devices = pci::list(&root(), &filter).map_err(pci_err(&args))?;
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
    let d = pci::get(&root(), &address).map_err(pci_err(&args))?;
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
    let g = pci::group(&root(), &address).map_err(pci_err(&args))?;
    let out = lua.create_table().map_err(lua_err(&args))?;
    for m in &g.members {
        let d = pci::get(&root(), &m.address).map_err(pci_err(&args))?;
        out.raw_push(device_handle(lua, &d).map_err(lua_err(&args))?)
            .map_err(lua_err(&args))?;
    }
    Ok(out)
}

/// `dev:vfio_status()` → `{ group, viable, bound, blockers, members, message }`.
fn vfio_status(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let address = this(lua, &args)?;
    let st = pci::vfio_status(&root(), &address).map_err(pci_err(&args))?;
    to_lua(lua, &st).map_err(lua_err(&args))
}

/// `dev:info()` → the device's fields as read now, as a plain table.
fn info(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let address = this(lua, &args)?;
    let d = pci::get(&root(), &address).map_err(pci_err(&args))?;
    to_lua(lua, &d).map_err(lua_err(&args))
}

/// The device handle `self` and its address.
fn this_handle(lua: &Lua, args: &Args) -> LuaResult<(Table, Address)> {
    let t = handle::check(lua, args, 1, KIND, "a PCI device")?;
    let address = this(lua, args)?;
    Ok((t, address))
}

/// The lab a driver change is journaled in: option `lab`, else the lab that
/// changed this handle's device before, else the script's default lab.
fn lab_for(
    lua: &Lua,
    o: Option<&Opts>,
    dev: &Table,
    func: &'static str,
) -> LuaResult<(Table, LabRef)> {
    let err = |e: mlua::Error| Failure::from_lua(func, &e);
    let given = match o {
        Some(o) => o.raw("lab")?,
        None => Value::Nil,
    };
    let t = match given {
        Value::Nil => match dev.raw_get::<Option<Table>>("_lab").map_err(err)? {
            Some(t) => t,
            None => default_lab(lua).map_err(err)?,
        },
        v @ Value::Table(_) if handle::is(lua, &v, "lab") => match v {
            Value::Table(t) => t,
            _ => unreachable!("matched a table"),
        },
        other => {
            let o = o.expect("a value came from the options");
            return Err(o.fail("lab", format!("expected a lab, got {}", type_name(&other))));
        }
    };
    let (_, lab) = super::lab::lab_of(lua, &Args::single(func, Value::Table(t.clone())), 1)?;
    Ok((t, lab))
}

/// After a change: the handle remembers its lab and shows the driver it has now.
fn refresh(dev: &Table, lab_t: &Table, address: &Address, func: &'static str) -> LuaResult<()> {
    let err = |e: mlua::Error| Failure::from_lua(func, &e);
    dev.raw_set("_lab", lab_t.clone()).map_err(err)?;
    if let Ok(d) = pci::get(&root(), address) {
        dev.raw_set("driver", d.driver).map_err(err)?;
    }
    Ok(())
}

const BIND_VFIO_OPTIONS: &[&str] = &["group", "force", "lab"];

/// `dev:bind_vfio{ group = false, force = false, lab = L }` → the plan carried
/// out: `{ address, group, driver, moves = { { address, from } }, forced }`.
fn bind_vfio(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(2)?;
    let (dev, address) = this_handle(lua, &args)?;
    let o = args.options(2, BIND_VFIO_OPTIONS)?;
    let opts = match &o {
        Some(o) => BindOptions {
            group: o.boolean("group")?.unwrap_or(false),
            force: o.boolean("force")?.unwrap_or(false),
        },
        None => BindOptions::default(),
    };
    let (lab_t, lab) = lab_for(lua, o.as_ref(), &dev, args.func())?;
    let plan = engine(
        &args,
        lab.0.borrow_mut().pci_bind_vfio(&root(), &address, opts),
    )?;
    refresh(&dev, &lab_t, &address, args.func())?;
    to_lua(lua, &plan).map_err(lua_err(&args))
}

const FORCE_OPTIONS: &[&str] = &["force", "lab"];

/// `{ address, from, to }` of a change, for Lua.
fn change_table(lua: &Lua, args: &Args, c: &pci::Change) -> LuaResult<Value> {
    let t = lua.create_table().map_err(lua_err(args))?;
    t.set("address", c.address.to_string())
        .map_err(lua_err(args))?;
    t.set("from", c.from.clone()).map_err(lua_err(args))?;
    t.set("to", c.to.clone()).map_err(lua_err(args))?;
    t.set("changed", !c.writes.is_empty())
        .map_err(lua_err(args))?;
    Ok(Value::Table(t))
}

/// `dev:bind("e1000e", { force = false, lab = L })` → `{ address, from, to, changed }`.
fn bind(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(3)?;
    let (dev, address) = this_handle(lua, &args)?;
    let driver = match args.get(2) {
        Value::String(s) => s.to_string_lossy(),
        _ => return Err(args.expected(2, "a driver name (\"e1000e\", \"vfio-pci\")")),
    };
    let o = args.options(3, FORCE_OPTIONS)?;
    let force = match &o {
        Some(o) => o.boolean("force")?.unwrap_or(false),
        None => false,
    };
    let (lab_t, lab) = lab_for(lua, o.as_ref(), &dev, args.func())?;
    let c = engine(
        &args,
        lab.0
            .borrow_mut()
            .pci_bind(&root(), &address, &driver, force),
    )?;
    refresh(&dev, &lab_t, &address, args.func())?;
    change_table(lua, &args, &c)
}

/// `dev:unbind{ force = false, lab = L }` → `{ address, from, to = nil, changed }`.
fn unbind(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(2)?;
    let (dev, address) = this_handle(lua, &args)?;
    let o = args.options(2, FORCE_OPTIONS)?;
    let force = match &o {
        Some(o) => o.boolean("force")?.unwrap_or(false),
        None => false,
    };
    let (lab_t, lab) = lab_for(lua, o.as_ref(), &dev, args.func())?;
    let c = engine(
        &args,
        lab.0.borrow_mut().pci_unbind(&root(), &address, force),
    )?;
    refresh(&dev, &lab_t, &address, args.func())?;
    change_table(lua, &args, &c)
}

/// `dev:restore{ lab = L }` → `{ address, from, to, changed }`: back on the
/// driver the lab found it on. An error when the lab never changed it.
fn restore(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(2)?;
    let (dev, address) = this_handle(lua, &args)?;
    let o = args.options(2, &["lab"])?;
    let (lab_t, lab) = lab_for(lua, o.as_ref(), &dev, args.func())?;
    let lab_name: String = lab_t.raw_get("name").map_err(lua_err(&args))?;
    let c = engine(&args, lab.0.borrow_mut().pci_restore(&root(), &address))?;
    let Some(c) = c else {
        return Err(Failure::new(
            args.func(),
            format!("lab '{lab_name}' has not changed the driver of {address}: nothing to restore"),
        ));
    };
    refresh(&dev, &lab_t, &address, args.func())?;
    change_table(lua, &args, &c)
}
