//! `luxc.net`: network primitives that act now (not at `lab:up()`), each
//! journaled in the lab given as `lab = L` or in the script's default lab:
//! namespaces, links of every kind, addresses, routes, sysctls, NAT, port
//! forwards, shaping, and what the kernel supports.

use std::path::PathBuf;

use mlua::{Lua, Table, Value};

use super::args::{function, type_name, Args, Failure, LuaResult};
use super::handle;
use super::lab::{default_lab, engine, LabRef};
use super::lab_net::node_name;
use super::opts::Opts;
use crate::net::addr::Cidr;
use crate::net::{link, route, tc, Netlink};

/// Registers `luxc.net` and the containers' network methods.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let net = lua.create_table()?;
    net.set("netns", function(lua, "luxc.net.netns", netns)?)?;
    net.set("link", function(lua, "luxc.net.link", link_any)?)?;
    for kind in link::KINDS {
        let name: &'static str = match *kind {
            "bridge" => "luxc.net.bridge",
            "veth" => "luxc.net.veth",
            "dummy" => "luxc.net.dummy",
            "macvlan" => "luxc.net.macvlan",
            "ipvlan" => "luxc.net.ipvlan",
            "vxlan" => "luxc.net.vxlan",
            _ => "luxc.net.vlan",
        };
        let k: &'static str = kind;
        net.set(
            *kind,
            function(lua, name, move |lua, args| make_link(lua, args, Some(k)))?,
        )?;
    }
    net.set("links", function(lua, "luxc.net.links", links)?)?;
    net.set("addr_add", function(lua, "luxc.net.addr_add", addr_add)?)?;
    net.set("route_add", function(lua, "luxc.net.route_add", route_add)?)?;
    net.set("sysctl", function(lua, "luxc.net.sysctl", sysctl)?)?;
    net.set("nat", function(lua, "luxc.net.nat", nat)?)?;
    net.set("forward", function(lua, "luxc.net.forward", forward)?)?;
    net.set("shape", function(lua, "luxc.net.shape", shape)?)?;
    net.set("features", function(lua, "luxc.net.features", features)?)?;
    net.set("move", function(lua, "luxc.net.move", move_link)?)?;
    luxc.set("net", net)?;
    let m = handle::methods(lua, "container")?;
    m.set(
        "sysctl",
        function(lua, "container:sysctl", container_sysctl)?,
    )?;
    m.set(
        "addresses",
        function(lua, "container:addresses", container_addresses)?,
    )?;
    m.set("netns", function(lua, "container:netns", container_netns)?)?;
    Ok(())
}

fn lua_err(func: &'static str) -> impl Fn(mlua::Error) -> Failure {
    move |e| Failure::from_lua(func, &e)
}

/// The lab of option `lab` (a lab handle), or the script's default lab.
fn lab_opt(lua: &Lua, o: &Opts) -> LuaResult<LabRef> {
    let t = match o.raw("lab")? {
        // Without `lab`, a node or container given as the namespace names it.
        Value::Nil => match handle_lab(lua, o)? {
            Some(t) => t,
            None => default_lab(lua).map_err(lua_err(o.func()))?,
        },
        v @ Value::Table(_) if handle::is(lua, &v, "lab") => match v {
            Value::Table(t) => t,
            _ => unreachable!(),
        },
        other => {
            return Err(o.fail(
                "lab",
                format!("expected a lab (luxc.lab(name)), got {}", type_name(&other)),
            ))
        }
    };
    let r: mlua::AnyUserData = t.raw_get("_ref").map_err(lua_err(o.func()))?;
    let lab = r.borrow::<LabRef>().map_err(lua_err(o.func()))?.clone();
    Ok(lab)
}

/// The lab of the first node or container handle among the options that
/// name a namespace or a target.
fn handle_lab(lua: &Lua, o: &Opts) -> LuaResult<Option<Table>> {
    for key in ["netns", "peer_netns", "to"] {
        if !o.allowed(key) {
            continue;
        }
        let v = o.raw(key)?;
        if let Value::Table(t) = &v {
            if handle::is(lua, &v, "container") || handle::is(lua, &v, "node") {
                return t.raw_get("lab").map(Some).map_err(lua_err(o.func()));
            }
        }
    }
    Ok(None)
}

/// The namespace of option `key`: nil (the host's), a node or container of
/// `lab` (handle or name), or the name of a pinned netns (/run/netns/NAME).
fn ns_opt(lua: &Lua, o: &Opts, key: &str, lab: &LabRef) -> LuaResult<Option<PathBuf>> {
    let v = o.raw(key)?;
    if v.is_nil() {
        return Ok(None);
    }
    let name = node_name(lua, o.func(), &format!("field '{key}'"), &v, lab)?;
    lab.0
        .borrow()
        .resolve_ns(Some(&name))
        .map_err(|e| o.fail(key, e.0))
}

fn open(p: &Option<PathBuf>, func: &'static str) -> LuaResult<Option<std::fs::File>> {
    p.as_ref()
        .map(|p| {
            std::fs::File::open(p)
                .map_err(|e| Failure::new(func, format!("open netns {}: {e}", p.display())))
        })
        .transpose()
}

fn netlink_in(p: &Option<PathBuf>, func: &'static str) -> LuaResult<Netlink> {
    let f = open(p, func)?;
    match &f {
        Some(f) => Netlink::open_in(f),
        None => Netlink::open(),
    }
    .map_err(|e| Failure::new(func, e))
}

/// The optional last argument `n`, a table of `allowed` options; absent, an
/// empty one.
fn trailing_opts(
    lua: &Lua,
    args: &Args,
    n: usize,
    allowed: &'static [&'static str],
    what: &str,
) -> LuaResult<Opts> {
    match args.get(n) {
        Value::Nil => {
            let empty = lua.create_table().map_err(lua_err(args.func()))?;
            Ok(Opts::new(args.func(), empty, allowed))
        }
        _ => opts(args, n, allowed, what),
    }
}

/// A sysctl value given as argument `n`: a string, an integer, or a boolean
/// (1 or 0).
fn sysctl_value(args: &Args, n: usize) -> LuaResult<String> {
    match args.get(n) {
        Value::String(s) => Ok(s.to_string_lossy()),
        Value::Integer(i) => Ok(i.to_string()),
        Value::Boolean(b) => Ok(if b { "1" } else { "0" }.to_string()),
        _ => Err(args.expected(n, "a value (string, integer or boolean)")),
    }
}

fn opts(args: &Args, n: usize, allowed: &'static [&'static str], what: &str) -> LuaResult<Opts> {
    let o = Opts::new(args.func(), args.table(n, what)?, allowed);
    o.reject_unknown(false)?;
    Ok(o)
}

/// `luxc.net.netns(name, { lab })` → `{ name, path }`: a new pinned
/// network namespace (`ip netns` sees it), journaled.
fn netns(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(2)?;
    let name = args.string(1)?;
    let o = trailing_opts(lua, &args, 2, &["lab"], "a table { lab = L }")?;
    let lab = lab_opt(lua, &o)?;
    let path = engine(&args, lab.0.borrow_mut().create_netns_now(&name))?;
    let t = lua.create_table().map_err(lua_err(args.func()))?;
    t.set("name", name).map_err(lua_err(args.func()))?;
    t.set("path", path.display().to_string())
        .map_err(lua_err(args.func()))?;
    Ok(t)
}

const LINK_OPTIONS: &[&str] = &[
    "kind",
    "name",
    "lab",
    "netns",
    "mtu",
    "mac",
    "up",
    "master",
    "address", // common
    "stp",
    "vlan_filtering", // bridge
    "peer",
    "peer_netns",
    "peer_mac", // veth
    "parent",
    "mode", // macvlan, ipvlan, vlan
    "vni",
    "port",
    "local",
    "remote",
    "group",
    "dev", // vxlan
    "id",  // vlan
];

/// Options that belong to other kinds than `kind` are refused.
fn kind_options(kind: &str) -> &'static [&'static str] {
    match kind {
        "bridge" => &["stp", "vlan_filtering"],
        "veth" => &["peer", "peer_netns", "peer_mac"],
        "macvlan" | "ipvlan" => &["parent", "mode"],
        "vxlan" => &["vni", "port", "local", "remote", "group", "dev"],
        "vlan" => &["parent", "id"],
        _ => &[],
    }
}

fn ip_opt(o: &Opts, key: &str) -> LuaResult<Option<std::net::IpAddr>> {
    match o.string(key)? {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| o.fail(key, format!("'{s}' is not an IP address"))),
    }
}

/// `luxc.net.link{ kind = ..., ... }`.
fn link_any(lua: &Lua, args: Args) -> LuaResult<Table> {
    make_link(lua, args, None)
}

/// `luxc.net.<kind>{ name, netns, mtu, mac, up, master, address, lab, <kind options> }`
/// → `{ name, kind, netns }`: creates the link now, journaled.
fn make_link(lua: &Lua, args: Args, fixed: Option<&'static str>) -> LuaResult<Table> {
    args.at_most(1)?;
    let o = opts(&args, 1, LINK_OPTIONS, "a table of link options")?;
    let kind = match (fixed, o.string("kind")?) {
        (Some(k), None) => k.to_string(),
        (Some(k), Some(given)) if given == k => k.to_string(),
        (Some(k), Some(given)) => {
            return Err(o.fail("kind", format!("'{given}' given to luxc.net.{k}")))
        }
        (None, Some(k)) => k,
        (None, None) => {
            return Err(o.fail(
                "kind",
                format!("expected one of: {}", link::KINDS.join(", ")),
            ))
        }
    };
    if !link::KINDS.contains(&kind.as_str()) {
        return Err(o.fail(
            "kind",
            format!(
                "unknown link kind '{kind}' (expected one of: {})",
                link::KINDS.join(", ")
            ),
        ));
    }
    for other in link::KINDS.iter().filter(|k| **k != kind) {
        for key in kind_options(other) {
            if kind_options(&kind).contains(key) {
                continue;
            }
            if !o.raw(key)?.is_nil() {
                return Err(o.fail(key, format!("not an option of a {kind} link")));
            }
        }
    }
    let lab = lab_opt(lua, &o)?;
    let name = o
        .string("name")?
        .ok_or_else(|| o.fail("name", "expected a string, got nil"))?;
    link::validate_name(&name).map_err(|e| o.fail("name", e))?;
    let ns = ns_opt(lua, &o, "netns", &lab)?;
    let nl = netlink_in(&ns, args.func())?;
    let parent_index = |key: &str| -> LuaResult<u32> {
        let p = o
            .string(key)?
            .ok_or_else(|| o.fail(key, "expected the name of a link, got nil"))?;
        link::index(&nl, &p).map_err(|e| o.fail(key, e))
    };
    let mac = |key: &str| -> LuaResult<Option<[u8; 6]>> {
        o.string(key)?
            .map(|m| link::parse_mac(&m).map_err(|e| o.fail(key, e)))
            .transpose()
    };
    let mut peer_file = None;
    let k = match kind.as_str() {
        "bridge" => link::Kind::Bridge {
            stp: o.boolean("stp")?.unwrap_or(false),
            vlan_filtering: o.boolean("vlan_filtering")?.unwrap_or(false),
        },
        "veth" => {
            let peer = o
                .string("peer")?
                .ok_or_else(|| o.fail("peer", "expected the peer's name, got nil"))?;
            link::validate_name(&peer).map_err(|e| o.fail("peer", e))?;
            let pns = ns_opt(lua, &o, "peer_netns", &lab)?;
            peer_file = open(&pns, args.func())?;
            link::Kind::Veth {
                peer,
                peer_netns: peer_file.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
                peer_mac: mac("peer_mac")?,
                peer_index: None,
            }
        }
        "dummy" => link::Kind::Dummy,
        "macvlan" => link::Kind::Macvlan {
            parent: parent_index("parent")?,
            mode: o.string("mode")?.unwrap_or_else(|| "bridge".into()),
        },
        "ipvlan" => link::Kind::Ipvlan {
            parent: parent_index("parent")?,
            mode: o.string("mode")?.unwrap_or_else(|| "l2".into()),
        },
        "vxlan" => {
            let vni = o
                .number("vni", "a number (1 to 16777215)")?
                .ok_or_else(|| o.fail("vni", "expected a number (1 to 16777215), got nil"))?;
            if !(1.0..=16_777_215.0).contains(&vni) || vni.fract() != 0.0 {
                return Err(o.fail("vni", format!("{vni} is not a VNI (1 to 16777215)")));
            }
            let (remote, group) = (ip_opt(&o, "remote")?, ip_opt(&o, "group")?);
            if remote.is_some() && group.is_some() {
                return Err(o.fail(
                    "group",
                    "give remote (unicast) or group (multicast), not both",
                ));
            }
            let dev = match o.string("dev")? {
                Some(_) => Some(parent_index("dev")?),
                None => None,
            };
            link::Kind::Vxlan {
                vni: vni as u32,
                port: o
                    .number("port", "a UDP port")?
                    .map(|p| p as u16)
                    .unwrap_or(4789),
                local: ip_opt(&o, "local")?,
                remote,
                group,
                dev,
            }
        }
        _ => {
            let id = o
                .number("id", "a VLAN id (1 to 4094)")?
                .ok_or_else(|| o.fail("id", "expected a VLAN id (1 to 4094), got nil"))?;
            if !(1.0..=4094.0).contains(&id) {
                return Err(o.fail("id", format!("{id} is not a VLAN id (1 to 4094)")));
            }
            link::Kind::Vlan {
                parent: parent_index("parent")?,
                id: id as u16,
            }
        }
    };
    let mut new = link::NewLink::new(&name, k);
    new.mtu = o.number("mtu", "a number")?.map(|m| m as u32);
    new.mac = mac("mac")?;
    new.up = o.boolean("up")?.unwrap_or(true);
    if o.string("master")?.is_some() {
        new.master = Some(parent_index("master")?);
    }
    let addresses = super::lab_net::cidrs(&o, "address")?;
    drop(nl);
    engine(
        &args,
        lab.0
            .borrow_mut()
            .create_link_now(ns.clone(), &new, &addresses),
    )?;
    drop(peer_file);
    let t = lua.create_table().map_err(lua_err(args.func()))?;
    t.set("name", name).map_err(lua_err(args.func()))?;
    t.set("kind", kind).map_err(lua_err(args.func()))?;
    if let Some(p) = ns {
        t.set("netns", p.display().to_string())
            .map_err(lua_err(args.func()))?;
    }
    Ok(t)
}

/// `luxc.net.links([netns])` → every link of a namespace: `{ name, index,
/// kind, up, mtu, mac, master, alias, addresses = {...} }`.
fn links(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let ns = match args.get(1) {
        Value::Nil => None,
        v => {
            let lab = match &v {
                Value::Table(t)
                    if handle::is(lua, &v, "container") || handle::is(lua, &v, "node") =>
                {
                    let lab_t: Table = t.raw_get("lab").map_err(lua_err(args.func()))?;
                    let r: mlua::AnyUserData =
                        lab_t.raw_get("_ref").map_err(lua_err(args.func()))?;
                    r.borrow::<LabRef>().map_err(lua_err(args.func()))?.clone()
                }
                _ => {
                    let t = default_lab(lua).map_err(lua_err(args.func()))?;
                    let r: mlua::AnyUserData = t.raw_get("_ref").map_err(lua_err(args.func()))?;
                    r.borrow::<LabRef>().map_err(lua_err(args.func()))?.clone()
                }
            };
            let name = node_name(lua, args.func(), "argument 1", &v, &lab)?;
            let r = lab.0.borrow().resolve_ns(Some(&name));
            engine(&args, r)?
        }
    };
    let nl = netlink_in(&ns, args.func())?;
    let all = link::list(&nl).map_err(|e| Failure::new(args.func(), e))?;
    let addrs = crate::net::addr::list(&nl, None).map_err(|e| Failure::new(args.func(), e))?;
    let out = lua.create_table().map_err(lua_err(args.func()))?;
    let e = lua_err(args.func());
    for l in all {
        let t = lua.create_table().map_err(&e)?;
        t.set("name", l.name.as_str()).map_err(&e)?;
        t.set("index", l.index).map_err(&e)?;
        t.set("kind", l.kind).map_err(&e)?;
        t.set("up", l.up).map_err(&e)?;
        t.set("mtu", l.mtu).map_err(&e)?;
        t.set("mac", l.mac).map_err(&e)?;
        t.set("master", l.master).map_err(&e)?;
        t.set("alias", l.alias).map_err(&e)?;
        let a: Vec<String> = addrs
            .iter()
            .filter(|(i, _)| *i == l.index)
            .map(|(_, c)| c.to_string())
            .collect();
        t.set("addresses", a).map_err(&e)?;
        out.push(t).map_err(&e)?;
    }
    Ok(out)
}

/// `luxc.net.addr_add(link, cidr, { netns, lab })`: adds an address now
/// (it goes away with its link).
fn addr_add(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(3)?;
    let name = args.string(1)?;
    let cidr: Cidr = args.string(2)?.parse().map_err(|e| args.fail(2, e))?;
    let o = trailing_opts(lua, &args, 3, &["netns", "lab"], "a table { netns, lab }")?;
    let lab = lab_opt(lua, &o)?;
    let ns = ns_opt(lua, &o, "netns", &lab)?;
    let nl = netlink_in(&ns, args.func())?;
    let index = link::index(&nl, &name).map_err(|e| Failure::new(args.func(), e))?;
    crate::net::addr::add(&nl, index, &name, &cidr).map_err(|e| Failure::new(args.func(), e))
}

/// `luxc.net.route_add{ dst = "default" | cidr, via, dev, metric, table, netns, lab }`.
fn route_add(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(1)?;
    let o = opts(
        &args,
        1,
        &["dst", "via", "dev", "metric", "table", "netns", "lab"],
        "a table of route options",
    )?;
    let lab = lab_opt(lua, &o)?;
    let ns = ns_opt(lua, &o, "netns", &lab)?;
    let via = ip_opt(&o, "via")?;
    let dst_s = o.string("dst")?.unwrap_or_else(|| "default".into());
    let dst: Cidr = if dst_s == "default" {
        match via {
            Some(std::net::IpAddr::V6(_)) => "::/0".parse().expect("valid"),
            _ => "0.0.0.0/0".parse().expect("valid"),
        }
    } else {
        dst_s.parse().map_err(|e| o.fail("dst", e))?
    };
    let nl = netlink_in(&ns, args.func())?;
    let dev = match o.string("dev")? {
        Some(d) => Some((link::index(&nl, &d).map_err(|e| o.fail("dev", e))?, d)),
        None => None,
    };
    let r = route::Route {
        dst,
        via,
        dev,
        metric: o.number("metric", "a number")?.map(|m| m as u32),
        table: o.number("table", "a table number")?.map(|t| t as u32),
    };
    route::add(&nl, &r).map_err(|e| Failure::new(args.func(), e))
}

/// `luxc.net.sysctl(key, value, { netns, lab })` → the old value; the old
/// value is written back at teardown. Only `net.*` keys.
fn sysctl(lua: &Lua, args: Args) -> LuaResult<String> {
    args.at_most(3)?;
    let key = args.string(1)?;
    let value = sysctl_value(&args, 2)?;
    let o = trailing_opts(lua, &args, 3, &["netns", "lab"], "a table { netns, lab }")?;
    let lab = lab_opt(lua, &o)?;
    let ns = ns_opt(lua, &o, "netns", &lab)?;
    crate::net::sysctl::path(&key).map_err(|e| args.fail(1, e))?;
    let r = lab.0.borrow_mut().set_sysctl(ns, &key, &value);
    engine(&args, r)
}

/// `luxc.net.nat{ source, out, netns, lab }`: masquerade.
fn nat(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(1)?;
    let o = opts(
        &args,
        1,
        &["source", "out", "netns", "lab"],
        "a table of NAT options",
    )?;
    let lab = lab_opt(lua, &o)?;
    let source: Cidr = o
        .string("source")?
        .ok_or_else(|| {
            o.fail(
                "source",
                "expected a network like \"10.10.0.0/24\", got nil",
            )
        })?
        .parse()
        .map_err(|e| o.fail("source", e))?;
    let out = o.string("out")?;
    if let Some(name) = &out {
        link::validate_name(name).map_err(|e| o.fail("out", e))?;
    }
    let ns = ns_opt(lua, &o, "netns", &lab)?;
    let r = lab.0.borrow_mut().nat(ns, &source, out.as_deref());
    engine(&args, r)
}

/// `luxc.net.forward{ host_port, to, port, proto, netns, lab }`: DNAT of
/// `proto` `host_port` on the namespace's own addresses to `to` (a
/// container, whose first declared IPv4 address is used, or an address).
fn forward(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(1)?;
    let o = opts(
        &args,
        1,
        &["host_port", "to", "port", "proto", "netns", "lab"],
        "a table of forward options",
    )?;
    let lab = lab_opt(lua, &o)?;
    let port_of = |key: &str| -> LuaResult<u16> {
        let p = o
            .number(key, "a port (1 to 65535)")?
            .ok_or_else(|| o.fail(key, "expected a port (1 to 65535), got nil"))?;
        if !(1.0..=65535.0).contains(&p) || p.fract() != 0.0 {
            return Err(o.fail(key, format!("{p} is not a port (1 to 65535)")));
        }
        Ok(p as u16)
    };
    let host_port = port_of("host_port")?;
    let port = match o.raw("port")? {
        Value::Nil => host_port,
        _ => port_of("port")?,
    };
    let proto = o.string("proto")?.unwrap_or_else(|| "tcp".into());
    let to: std::net::IpAddr = match o.raw("to")? {
        Value::String(s) if s.to_string_lossy().parse::<std::net::IpAddr>().is_ok() => {
            s.to_string_lossy().parse().expect("checked")
        }
        Value::Nil => return Err(o.fail("to", "expected a container or an address, got nil")),
        v => {
            let name = node_name(lua, args.func(), "field 'to'", &v, &lab)?;
            let addrs = lab.0.borrow().addresses_of(&name);
            addrs
                .iter()
                .find(|c| c.addr.is_ipv4())
                .or(addrs.first())
                .map(|c| c.addr)
                .ok_or_else(|| {
                    o.fail(
                        "to",
                        format!("'{name}' has no address (give it one with lab:link)"),
                    )
                })?
        }
    };
    let ns = ns_opt(lua, &o, "netns", &lab)?;
    let r = lab.0.borrow_mut().forward(ns, &proto, host_port, to, port);
    engine(&args, r)
}

fn duration_opt(o: &Opts, key: &str) -> LuaResult<Option<std::time::Duration>> {
    match o.raw(key)? {
        Value::Nil => Ok(None),
        Value::Integer(i) => super::args::duration(i as f64)
            .map(Some)
            .map_err(|e| o.fail(key, e)),
        Value::Number(n) => super::args::duration(n)
            .map(Some)
            .map_err(|e| o.fail(key, e)),
        Value::String(s) => {
            let s = s.to_string_lossy();
            let t = s.trim();
            let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
                (n, 1e-3)
            } else if let Some(n) = t.strip_suffix("us") {
                (n, 1e-6)
            } else if let Some(n) = t.strip_suffix('s') {
                (n, 1.0)
            } else {
                return Err(o.fail(
                    key,
                    format!("'{s}': expected a time like \"20ms\", \"1s\" or seconds"),
                ));
            };
            let v: f64 = num
                .trim()
                .parse()
                .map_err(|_| o.fail(key, format!("'{s}': expected a time like \"20ms\"")))?;
            super::args::duration(v * scale)
                .map(Some)
                .map_err(|e| o.fail(key, e))
        }
        other => Err(o.fail(
            key,
            format!("expected a time like \"20ms\", got {}", type_name(&other)),
        )),
    }
}

/// `luxc.net.shape(link, { rate, burst, latency, delay, jitter, loss, netns, lab })`.
fn shape(lua: &Lua, args: Args) -> LuaResult<()> {
    args.at_most(2)?;
    let name = args.string(1)?;
    let o = opts(
        &args,
        2,
        &[
            "rate", "burst", "latency", "delay", "jitter", "loss", "netns", "lab",
        ],
        "a table of shaping options",
    )?;
    let lab = lab_opt(lua, &o)?;
    let rate = match o.raw("rate")? {
        Value::Nil => None,
        Value::String(s) => {
            Some(tc::parse_rate(&s.to_string_lossy()).map_err(|e| o.fail("rate", e))?)
        }
        Value::Integer(i) if i > 0 => Some(i as u64),
        other => {
            return Err(o.fail(
                "rate",
                format!(
                    "expected a rate like \"10mbit\", got {}",
                    super::args::describe(&other)
                ),
            ))
        }
    };
    let s = tc::Shape {
        rate,
        burst: o.number("burst", "a size in bytes")?.map(|b| b as u32),
        latency: duration_opt(&o, "latency")?,
        delay: duration_opt(&o, "delay")?,
        jitter: duration_opt(&o, "jitter")?,
        loss: o.number("loss", "a percentage")?,
    };
    s.check().map_err(|e| Failure::new(args.func(), e))?;
    let ns = ns_opt(lua, &o, "netns", &lab)?;
    let r = lab.0.borrow_mut().shape(ns, &name, &s);
    engine(&args, r)
}

/// `luxc.net.features()` → `{ bridge = true, netem = false, vlan = ..., ... }`,
/// tried in a scratch namespace.
fn features(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(0)?;
    let f = crate::net::features::probe().map_err(|e| Failure::new(args.func(), e))?;
    let t = lua.create_table().map_err(lua_err(args.func()))?;
    for (k, v) in f {
        t.set(k, v).map_err(lua_err(args.func()))?;
    }
    Ok(t)
}

fn container_of(lua: &Lua, args: &Args) -> LuaResult<(LabRef, String)> {
    let t = handle::check(lua, args, 1, "container", "a container")?;
    super::lab::lab_of_container(args, &t)
}

/// `c:sysctl(key [, value])` → the value (reading), or the old value
/// (writing; journaled, restored at teardown).
fn container_sysctl(lua: &Lua, args: Args) -> LuaResult<String> {
    args.at_most(3)?;
    let (lab, name) = container_of(lua, &args)?;
    let key = args.string(2)?;
    let ns = engine(&args, lab.0.borrow().netns_path(&name))?;
    match args.get(3) {
        Value::Nil => {
            let f = open(&ns, args.func())?;
            crate::net::sysctl::read(f.as_ref(), &key).map_err(|e| Failure::new(args.func(), e))
        }
        _ => {
            let value = sysctl_value(&args, 3)?;
            let r = lab.0.borrow_mut().set_sysctl(ns, &key, &value);
            engine(&args, r)
        }
    }
}

/// `c:addresses()` → `{ eth0 = { "10.0.0.2/24" }, ... }` as declared.
fn container_addresses(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let (lab, name) = container_of(lua, &args)?;
    let map = lab.0.borrow().interfaces_of(&name);
    let t = lua.create_table().map_err(lua_err(args.func()))?;
    for (k, v) in map {
        t.set(k, v).map_err(lua_err(args.func()))?;
    }
    Ok(t)
}

/// `c:netns()` → the path of its network namespace (/run/netns/LAB-NAME).
fn container_netns(lua: &Lua, args: Args) -> LuaResult<String> {
    args.at_most(1)?;
    let (lab, name) = container_of(lua, &args)?;
    let p = engine(&args, lab.0.borrow().netns_path(&name))?;
    Ok(p.map(|p| p.display().to_string()).unwrap_or_default())
}

/// `luxc.net.move(link, { to = container|node|netns name, name, lab })` →
/// the link's name there: moves a link of the host (a NIC) into a
/// namespace; teardown moves it back under its own name.
fn move_link(lua: &Lua, args: Args) -> LuaResult<String> {
    args.at_most(2)?;
    let name = args.string(1)?;
    link::validate_name(&name).map_err(|e| args.fail(1, e))?;
    let o = opts(
        &args,
        2,
        &["to", "name", "lab"],
        "a table { to = container, name, lab }",
    )?;
    let lab = lab_opt(lua, &o)?;
    if o.raw("to")?.is_nil() {
        return Err(o.fail(
            "to",
            "expected a container, a node or a netns name, got nil",
        ));
    }
    let ns = ns_opt(lua, &o, "to", &lab)?
        .ok_or_else(|| o.fail("to", "the host is where it is already"))?;
    let as_name = o.string("name")?;
    let r = lab.0.borrow_mut().move_link(&name, ns, as_name.as_deref());
    engine(&args, r)
}
