//! The lab's network methods: `lab:bridge`, `lab:netns`, `lab:link`,
//! `lab:router`, `lab:topology`, `lab:graph`, and the node handles
//! (bridges and plain namespaces) they return.

use mlua::{Lua, Table, Value};

use super::args::{function, type_name, Args, Failure, LuaResult};
use super::handle;
use super::lab::{engine, lab_of, LabRef};
use super::opts::Opts;
use crate::engine::lab::LinkOpts;
use crate::net::addr::Cidr;

/// Registers the lab's network methods and the node handle.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let m = handle::methods(lua, "lab")?;
    m.set("bridge", function(lua, "lab:bridge", bridge)?)?;
    m.set("netns", function(lua, "lab:netns", netns_node)?)?;
    m.set("link", function(lua, "lab:link", link)?)?;
    m.set("router", function(lua, "lab:router", router)?)?;
    m.set("topology", function(lua, "lab:topology", topology)?)?;
    m.set("graph", function(lua, "lab:graph", graph)?)?;
    m.set("node", function(lua, "lab:node", node)?)?;
    let n = handle::methods(lua, "node")?;
    n.set("info", function(lua, "node:info", node_info)?)?;
    let mt = handle::metatable(lua, "node")?;
    mt.set(
        "__tostring",
        lua.create_function(|_, t: Table| {
            let kind: String = t.raw_get("kind")?;
            let name: String = t.raw_get("name")?;
            Ok(format!("{kind} {name}"))
        })?,
    )?;
    Ok(())
}

fn lua_err(args: &Args) -> impl Fn(mlua::Error) -> Failure + '_ {
    move |e| Failure::from_lua(args.func(), &e)
}

/// The handle of lab node `name` (container, netns or bridge), if any.
pub fn member(
    lua: &Lua,
    lab_t: &Table,
    lab: &crate::engine::lab::Lab,
    name: &str,
) -> mlua::Result<Value> {
    use crate::engine::lab::End;
    Ok(match lab.end_of(name) {
        Ok(End::Container(n)) => Value::Table(super::container::handle(lua, lab_t, &n)?),
        Ok(End::Netns(n)) => Value::Table(node_handle(lua, lab_t, &n, "netns")?),
        Ok(End::Bridge(n)) => Value::Table(node_handle(lua, lab_t, &n, "bridge")?),
        Err(_) => Value::Nil,
    })
}

/// A node handle: `{ lab = <lab>, name = "br0", kind = "bridge" }`.
fn node_handle(lua: &Lua, lab_t: &Table, name: &str, kind: &str) -> mlua::Result<Table> {
    handle::new(
        lua,
        "node",
        vec![
            ("lab", Value::Table(lab_t.clone())),
            ("name", Value::String(lua.create_string(name)?)),
            ("kind", Value::String(lua.create_string(kind)?)),
        ],
    )
}

/// Option `key` as one string or a list of them; `expected` says what a
/// string should look like, for the error.
fn one_or_list(o: &Opts, key: &str, expected: &str) -> LuaResult<Vec<String>> {
    match o.raw(key)? {
        Value::Nil => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.to_string_lossy()]),
        Value::Table(_) => Ok(o.string_list(key)?.unwrap_or_default()),
        other => Err(o.fail(
            key,
            format!("expected {expected}, got {}", type_name(&other)),
        )),
    }
}

/// One address or a list of them ("10.0.0.1/24", { "10.0.0.1/24", "fd00::1/64" }).
pub fn cidrs(o: &Opts, key: &str) -> LuaResult<Vec<Cidr>> {
    one_or_list(o, key, "an address like \"10.0.0.1/24\" or a list of them")?
        .iter()
        .map(|s| s.parse::<Cidr>().map_err(|e| o.fail(key, e)))
        .collect()
}

/// Gateway addresses (one or a list, without prefix).
fn gateways(o: &Opts, key: &str) -> LuaResult<Vec<std::net::IpAddr>> {
    one_or_list(o, key, "an address like \"10.0.0.1\"")?
        .iter()
        .map(|s| {
            s.parse::<std::net::IpAddr>()
                .map_err(|_| o.fail(key, format!("'{s}' is not an IP address")))
        })
        .collect()
}

/// The name of node argument/value `v` for lab `lab_t`: a container or node
/// handle of this lab, or a name string. A handle of another lab is refused.
pub fn node_name(
    lua: &Lua,
    func: &'static str,
    what: &str,
    v: &Value,
    lab: &LabRef,
) -> LuaResult<String> {
    match v {
        Value::String(s) => Ok(s.to_string_lossy()),
        Value::Table(t) if handle::is(lua, v, "container") || handle::is(lua, v, "node") => {
            let err = |e: mlua::Error| Failure::from_lua(func, &e);
            let lab_t: Table = t.raw_get("lab").map_err(err)?;
            let r: mlua::AnyUserData = lab_t.raw_get("_ref").map_err(err)?;
            let other = r.borrow::<LabRef>().map_err(err)?.clone();
            let name: String = t.raw_get("name").map_err(err)?;
            if !std::rc::Rc::ptr_eq(&other.0, &lab.0) {
                let other_name = other.0.borrow().name().to_string();
                return Err(Failure::new(
                    func,
                    format!(
                        "{what}: '{name}' belongs to lab '{other_name}', not to lab '{}'",
                        lab.0.borrow().name()
                    ),
                ));
            }
            Ok(name)
        }
        other => Err(Failure::new(
            func,
            format!(
                "{what}: expected a container, a node (lab:bridge/lab:netns) or a name, got {}",
                type_name(other)
            ),
        )),
    }
}

const BRIDGE_OPTIONS: &[&str] = &["name", "address", "netns", "stp", "mtu"];

/// `lab:bridge{ name, address, netns, stp, mtu }` → a bridge node (declared).
fn bridge(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(2)?;
    let (lab_t, lab) = lab_of(lua, &args, 1)?;
    let o = Opts::new(
        args.func(),
        args.table(2, "a table of bridge options")?,
        BRIDGE_OPTIONS,
    );
    o.reject_unknown(false)?;
    let name = o
        .string("name")?
        .ok_or_else(|| o.fail("name", "expected a string, got nil"))?;
    let addresses = cidrs(&o, "address")?;
    let netns = match o.raw("netns")? {
        Value::Nil => None,
        v => Some(node_name(lua, args.func(), "field 'netns'", &v, &lab)?),
    };
    let stp = o.boolean("stp")?.unwrap_or(false);
    let mtu = o.number("mtu", "a number")?.map(|m| m as u32);
    engine(
        &args,
        lab.0
            .borrow_mut()
            .declare_bridge(&name, netns.as_deref(), addresses, stp, mtu),
    )?;
    node_handle(lua, &lab_t, &name, "bridge").map_err(lua_err(&args))
}

/// `lab:netns(name)` or `lab:netns{ name = ... }` → a namespace node.
fn netns_node(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(2)?;
    let (lab_t, lab) = lab_of(lua, &args, 1)?;
    let name = match args.get(2) {
        Value::String(s) => s.to_string_lossy(),
        Value::Table(t) => {
            let o = Opts::new(args.func(), t, &["name"]);
            o.reject_unknown(false)?;
            o.string("name")?
                .ok_or_else(|| o.fail("name", "expected a string, got nil"))?
        }
        _ => return Err(args.expected(2, "a name or { name = ... }")),
    };
    engine(&args, lab.0.borrow_mut().declare_netns(&name))?;
    node_handle(lua, &lab_t, &name, "netns").map_err(lua_err(&args))
}

const LINK_OPTIONS: &[&str] = &[
    "address",
    "peer_address",
    "gateway",
    "peer_gateway",
    "mtu",
    "ifname",
    "peer_ifname",
];

fn link_opts(o: &Opts) -> LuaResult<LinkOpts> {
    Ok(LinkOpts {
        address: cidrs(o, "address")?,
        peer_address: cidrs(o, "peer_address")?,
        gateway: gateways(o, "gateway")?,
        peer_gateway: gateways(o, "peer_gateway")?,
        mtu: o.number("mtu", "a number")?.map(|m| m as u32),
        ifname: o.string("ifname")?,
        peer_ifname: o.string("peer_ifname")?,
    })
}

/// `lab:link(a, b, opts)` → `{ a, a_if, b, b_if }` (declared; made by `up`).
fn link(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(4)?;
    let (_, lab) = lab_of(lua, &args, 1)?;
    let a = node_name(lua, args.func(), "argument 1", &args.get(2), &lab)?;
    let b = node_name(lua, args.func(), "argument 2", &args.get(3), &lab)?;
    let opts = match args.get(4) {
        Value::Nil => LinkOpts::default(),
        Value::Table(t) => {
            let o = Opts::new(args.func(), t, LINK_OPTIONS);
            o.reject_unknown(false)?;
            link_opts(&o)?
        }
        _ => return Err(args.expected(4, "a table of link options")),
    };
    let (a_if, b_if) = engine(&args, lab.0.borrow_mut().declare_link(&a, &b, opts))?;
    let t = lua.create_table().map_err(lua_err(&args))?;
    for (k, v) in [("a", a), ("a_if", a_if), ("b", b), ("b_if", b_if)] {
        t.set(k, v).map_err(lua_err(&args))?;
    }
    Ok(t)
}

/// `lab:router{ name, interfaces = { { bridge|to = node, address, gateway, ... } }, <container options> }`
/// → a container handle: a container with IPv4 and IPv6 forwarding on, linked
/// as listed.
fn router(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(2)?;
    let (lab_t, lab) = lab_of(lua, &args, 1)?;
    let given = args.table(2, "a table of router options")?;
    // The container's own options, plus forwarding; `interfaces` is ours.
    let copy = lua.create_table().map_err(lua_err(&args))?;
    let mut interfaces = Value::Nil;
    for pair in given.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(lua_err(&args))?;
        if matches!(&k, Value::String(s) if s.to_string_lossy() == "interfaces") {
            interfaces = v;
        } else {
            copy.raw_set(k, v).map_err(lua_err(&args))?;
        }
    }
    let sysctl = match copy.raw_get::<Value>("sysctl").map_err(lua_err(&args))? {
        Value::Table(t) => t,
        _ => lua.create_table().map_err(lua_err(&args))?,
    };
    for key in ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"] {
        if sysctl
            .raw_get::<Value>(key)
            .map_err(lua_err(&args))?
            .is_nil()
        {
            sysctl.raw_set(key, "1").map_err(lua_err(&args))?;
        }
    }
    copy.raw_set("sysctl", sysctl).map_err(lua_err(&args))?;
    let cargs = Args::single(args.func(), Value::Table(copy));
    let spec = super::container_opts::parse(lua, &cargs, 1, &lab_t)?;
    let name = spec.name.clone();
    // Interfaces are checked before anything is declared.
    let mut links: Vec<(String, LinkOpts)> = Vec::new();
    match interfaces {
        Value::Nil => {}
        Value::Table(list) => {
            for (i, item) in list.sequence_values::<Value>().enumerate() {
                let item = item.map_err(lua_err(&args))?;
                let Value::Table(t) = item else {
                    return Err(Failure::new(
                        args.func(),
                        format!("field 'interfaces'[{}]: expected a table {{ bridge = ..., address = ... }}", i + 1),
                    ));
                };
                let o = Opts::new(
                    args.func(),
                    t,
                    &[
                        "bridge",
                        "to",
                        "address",
                        "peer_address",
                        "gateway",
                        "peer_gateway",
                        "mtu",
                        "ifname",
                        "peer_ifname",
                    ],
                );
                o.reject_unknown(false)?;
                let target = match (o.raw("bridge")?, o.raw("to")?) {
                    (Value::Nil, Value::Nil) => {
                        return Err(
                            o.fail("bridge", "each interface needs bridge = node or to = node")
                        )
                    }
                    (v, Value::Nil) | (Value::Nil, v) => {
                        node_name(lua, args.func(), "field 'bridge'", &v, &lab)?
                    }
                    _ => return Err(o.fail("to", "give bridge or to, not both")),
                };
                links.push((target, link_opts(&o)?));
            }
        }
        other => {
            return Err(Failure::new(
                args.func(),
                format!(
                    "field 'interfaces': expected a list of tables, got {}",
                    type_name(&other)
                ),
            ))
        }
    }
    engine(&args, lab.0.borrow_mut().declare(spec))?;
    for (target, opts) in links {
        let r = lab.0.borrow_mut().declare_link(&name, &target, opts);
        if let Err(e) = r {
            // Nothing of a router whose interfaces fail stays declared.
            lab.0.borrow_mut().undeclare(&name);
            return Err(Failure::new(
                args.func(),
                format!("router '{name}': {}", e.0),
            ));
        }
    }
    super::container::handle(lua, &lab_t, &name).map_err(lua_err(&args))
}

/// `lab:topology()` → `{ lab, nodes = { {name, kind, status} }, edges = { {a, a_if, a_addresses, b, ...} } }`.
fn topology(lua: &Lua, args: Args) -> LuaResult<Value> {
    args.at_most(1)?;
    let (_, lab) = lab_of(lua, &args, 1)?;
    let topo = lab.0.borrow().topology();
    mlua::LuaSerdeExt::to_value(lua, &topo).map_err(lua_err(&args))
}

/// `lab:graph([format])` → Graphviz DOT ("dot", the default) or Mermaid
/// ("mermaid") text.
fn graph(lua: &Lua, args: Args) -> LuaResult<String> {
    args.at_most(2)?;
    let (_, lab) = lab_of(lua, &args, 1)?;
    let format = match args.get(2) {
        Value::Nil => "dot".to_string(),
        Value::String(s) => s.to_string_lossy(),
        _ => return Err(args.expected(2, "\"dot\" or \"mermaid\"")),
    };
    let topo = lab.0.borrow().topology();
    match format.as_str() {
        "dot" => Ok(topo.dot()),
        "mermaid" => Ok(topo.mermaid()),
        other => Err(args.fail(
            2,
            format!("unknown format '{other}' (expected dot or mermaid)"),
        )),
    }
}

/// `node:info()` → `{ name, kind, lab, addresses, netns }`.
fn node_info(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let t = handle::check(lua, &args, 1, "node", "a node")?;
    let err = lua_err(&args);
    let lab_t: Table = t.raw_get("lab").map_err(&err)?;
    let name: String = t.raw_get("name").map_err(&err)?;
    let kind: String = t.raw_get("kind").map_err(&err)?;
    let r: mlua::AnyUserData = lab_t.raw_get("_ref").map_err(&err)?;
    let lab = r.borrow::<LabRef>().map_err(&err)?.clone();
    let lab = lab.0.borrow();
    let out = lua.create_table().map_err(&err)?;
    out.set("name", name.as_str()).map_err(&err)?;
    out.set("kind", kind).map_err(&err)?;
    out.set("lab", lab.name()).map_err(&err)?;
    let addrs: Vec<String> = lab
        .addresses_of(&name)
        .iter()
        .map(|c| c.to_string())
        .collect();
    out.set("addresses", addrs).map_err(&err)?;
    if let Ok(Some(p)) = lab.netns_path(&name) {
        out.set("netns", p.display().to_string()).map_err(&err)?;
    }
    Ok(out)
}

/// `lab:node(name)` → the handle of node `name`: a container handle, or a
/// bridge / netns node handle.
fn node(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(2)?;
    let (lab_t, lab) = lab_of(lua, &args, 1)?;
    let name = args.string(2)?;
    let end = engine(&args, lab.0.borrow().end_of(&name))?;
    match end {
        crate::engine::lab::End::Container(n) => super::container::handle(lua, &lab_t, &n),
        crate::engine::lab::End::Netns(n) => node_handle(lua, &lab_t, &n, "netns"),
        crate::engine::lab::End::Bridge(n) => node_handle(lua, &lab_t, &n, "bridge"),
    }
    .map_err(lua_err(&args))
}
