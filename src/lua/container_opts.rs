//! The option table of `lab:container{...}` → a ContainerSpec.

use std::path::PathBuf;

use mlua::{Lua, Value};

use super::args::{type_name, Args, Failure, LuaResult};
use super::opts::Opts;
use crate::engine::spec::ContainerSpec;
use crate::fs::rootfs::MountSpec;
use crate::ns::Kind;
use crate::security::{self, Seccomp};

const OPTIONS: &[&str] = &[
    "name",
    "image",
    "hostname",
    "namespaces",
    "mounts",
    "env",
    "cwd",
    "user",
    "init",
    "readonly",
    "sysctl",
    "capabilities",
    "seccomp",
    "no_new_privs",
    "masked",
    "readonly_paths",
    "share",
    "idmap",
    "limits",
    "devices",
];

/// Reads argument `n` of `args` as container options for the lab `lab`.
pub fn parse(lua: &Lua, args: &Args, n: usize, lab: &mlua::Table) -> LuaResult<ContainerSpec> {
    let table = args.table(n, "a table of container options")?;
    let o = Opts::new(args.func(), table, OPTIONS);
    o.reject_unknown(false)?;
    let name = o
        .string("name")?
        .ok_or_else(|| o.fail("name", "expected a string, got nil"))?;
    let image = match o.raw("image")? {
        Value::Nil => crate::image::host(),
        v if super::handle::is(lua, &v, "image") => match v {
            Value::Table(t) => {
                super::image::from_lua(&t).map_err(|e| Failure::from_lua(args.func(), &e))?
            }
            _ => unreachable!("checked by handle::is"),
        },
        other => {
            return Err(o.fail(
                "image",
                format!(
                    "expected an image (luxc.image.host/dir/busybox), got {}",
                    type_name(&other)
                ),
            ))
        }
    };
    let mut spec = ContainerSpec::new(&name, image);
    if let Some(h) = o.string("hostname")? {
        spec.hostname = h;
    }
    if let Some(t) = o.sub_table("share", "a table { net = container, ... }")? {
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| Failure::from_lua(args.func(), &e))?;
            let kind = match &k {
                Value::String(s) => {
                    Kind::parse(&s.to_string_lossy()).map_err(|e| o.fail("share", e))?
                }
                other => {
                    return Err(o.fail(
                        "share",
                        format!(
                            "expected namespace kinds as keys, got a {} key",
                            type_name(other)
                        ),
                    ))
                }
            };
            let target = match &v {
                Value::Table(h) if super::handle::is(lua, &v, "container") => h.clone(),
                other => {
                    return Err(o.fail(
                        &format!("share.{}", kind.name()),
                        format!("expected a container, got {}", type_name(other)),
                    ))
                }
            };
            let same_lab = target
                .raw_get::<mlua::Table>("lab")
                .map(|l| l == *lab)
                .unwrap_or(false);
            if !same_lab {
                return Err(o.fail(
                    &format!("share.{}", kind.name()),
                    "expected a container of the same lab",
                ));
            }
            let name: String = target
                .raw_get("name")
                .map_err(|e| Failure::from_lua(args.func(), &e))?;
            spec.share.insert(kind, name);
        }
    }
    if let Some(t) = o.sub_table("idmap", "a table { uid = ..., gid = ..., count = ... }")? {
        let m = Opts::new(args.func(), t, &["uid", "gid", "count"]);
        m.reject_unknown(false)?;
        let id = |key: &str| -> LuaResult<Option<u32>> {
            match m.raw(key)? {
                Value::Nil => Ok(None),
                Value::Integer(i) if (0..=u32::MAX as i64).contains(&i) => Ok(Some(i as u32)),
                other => Err(o.fail(
                    &format!("idmap.{key}"),
                    format!("expected an id (integer >= 0), got {}", type_name(&other)),
                )),
            }
        };
        let uid = id("uid")?
            .ok_or_else(|| o.fail("idmap.uid", "expected an id (integer >= 0), got nil"))?;
        spec.idmap = Some(crate::engine::spec::IdMap {
            uid,
            gid: id("gid")?.unwrap_or(uid),
            count: id("count")?.unwrap_or(65536),
        });
    }
    match o.string_list("namespaces")? {
        Some(kinds) => {
            spec.namespaces = kinds
                .iter()
                .map(|k| Kind::parse(k).map_err(|e| o.fail("namespaces", e)))
                .collect::<LuaResult<Vec<_>>>()?;
        }
        None => {
            // Defaults follow the other options: shared kinds are joined,
            // not created; an idmap needs a user namespace.
            spec.namespaces.retain(|k| !spec.share.contains_key(k));
            if spec.idmap.is_some() {
                spec.namespaces.push(Kind::User);
            }
        }
    }
    spec.namespaces.sort();
    spec.namespaces.dedup();
    if let Some(t) = o.sub_table("mounts", "a list of mounts")? {
        spec.mounts = mounts(&o, &t)?;
    }
    if let Some(env) = o.string_map("env")? {
        spec.env = env.into_iter().collect();
    }
    if let Some(cwd) = o.string("cwd")? {
        spec.cwd = cwd;
    }
    spec.user = user(&o, "user", o.raw("user")?)?;
    spec.init = o.string_list("init")?;
    if let Some(t) = o.sub_table("limits", "a table of limits { memory = \"256M\", ... }")? {
        spec.limits = super::limits::parse(args.func(), t)?;
    }
    if let Some(t) = o.sub_table("devices", "a list of device grants")? {
        let (rules, binds) = super::device_grants::parse(lua, &o, &t)?;
        spec.devices = rules;
        spec.mounts.extend(binds);
    }
    spec.readonly = o.boolean("readonly")?.unwrap_or(false);
    if let Some(t) = o.sub_table("sysctl", "a table of sysctl values")? {
        for pair in t.pairs::<String, Value>() {
            let (k, v) = pair.map_err(|_| o.fail("sysctl", "expected string keys"))?;
            let value = match v {
                Value::String(s) => s.to_string_lossy(),
                // sysctl values are numbers in text; an integer is the natural way to write one.
                Value::Integer(i) => i.to_string(),
                other => {
                    return Err(o.fail(
                        &format!("sysctl.{k}"),
                        format!("expected a string or integer, got {}", type_name(&other)),
                    ))
                }
            };
            spec.sysctl.insert(k, value);
        }
    }
    if let Some(t) = o.sub_table("capabilities", "a table { add = {...}, drop = {...} }")? {
        let c = Opts::new(args.func(), t, &["add", "drop"]);
        c.reject_unknown(false)?;
        let add = c.string_list("add")?.unwrap_or_default();
        let drop = c.string_list("drop")?.unwrap_or_default();
        spec.security.capabilities =
            security::capabilities_with(&add, &drop).map_err(|e| o.fail("capabilities", e))?;
    }
    spec.security.seccomp = match o.raw("seccomp")? {
        Value::Nil => spec.security.seccomp,
        Value::String(s) if s.as_bytes() == b"default".as_slice() => Seccomp::Default {
            extra_deny: Vec::new(),
        },
        Value::String(s) if s.as_bytes() == b"off".as_slice() => Seccomp::Off,
        Value::Table(t) => {
            let s = Opts::new(args.func(), t, &["deny"]);
            s.reject_unknown(false)?;
            Seccomp::Default {
                extra_deny: s.string_list("deny")?.unwrap_or_default(),
            }
        }
        other => {
            return Err(o.fail(
                "seccomp",
                format!(
                    "expected \"default\", \"off\" or {{ deny = {{...}} }}, got {}",
                    describe_value(&other)
                ),
            ))
        }
    };
    if let Some(nnp) = o.boolean("no_new_privs")? {
        spec.security.no_new_privs = nnp;
    }
    // Resolves syscall names and checks the whole policy now (with its final
    // no_new_privs), so a mistake fails at declaration, not at start.
    security::prepare(&spec.security).map_err(|e| o.fail("seccomp", e))?;
    if let Some(m) = o.string_list("masked")? {
        spec.masked = m;
    }
    if let Some(r) = o.string_list("readonly_paths")? {
        spec.readonly_paths = r;
    }
    Ok(spec)
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{}\"", s.to_string_lossy()),
        other => type_name(other).to_string(),
    }
}

/// `user = 1000`, `user = { uid = 1000, gid = 1000 }` → (uid, gid).
pub fn user(o: &Opts, key: &str, v: Value) -> LuaResult<Option<(u32, u32)>> {
    let id = |v: Value, what: &str| -> LuaResult<u32> {
        match v {
            Value::Integer(i) if (0..=u32::MAX as i64).contains(&i) => Ok(i as u32),
            other => Err(o.fail(
                &format!("{key}.{what}"),
                format!("expected an id (integer >= 0), got {}", type_name(&other)),
            )),
        }
    };
    match v {
        Value::Nil => Ok(None),
        Value::Integer(_) => {
            let uid = id(v, "uid")?;
            Ok(Some((uid, uid)))
        }
        Value::Table(t) => {
            let u = Opts::new(o.func(), t, &["uid", "gid"]);
            u.reject_unknown(false)?;
            let uid = id(u.raw("uid")?, "uid")?;
            let gid = match u.raw("gid")? {
                Value::Nil => uid,
                g => id(g, "gid")?,
            };
            Ok(Some((uid, gid)))
        }
        other => Err(o.fail(
            key,
            format!(
                "expected a uid or {{ uid = ..., gid = ... }}, got {}",
                type_name(&other)
            ),
        )),
    }
}

fn mounts(o: &Opts, list: &mlua::Table) -> LuaResult<Vec<MountSpec>> {
    let mut out = Vec::new();
    for i in 1..=list.raw_len() {
        let key = format!("mounts[{i}]");
        let t = match list.raw_get::<Value>(i) {
            Ok(Value::Table(t)) => t,
            Ok(other) => {
                return Err(o.fail(
                    &key,
                    format!("expected a mount table, got {}", type_name(&other)),
                ))
            }
            Err(e) => return Err(Failure::from_lua(o.func(), &e)),
        };
        let m = Opts::new(
            o.func(),
            t,
            &["type", "source", "target", "readonly", "size"],
        );
        m.reject_unknown(false)?;
        let target = m
            .string("target")?
            .ok_or_else(|| o.fail(&format!("{key}.target"), "expected a string, got nil"))?;
        let kind = m.string("type")?.unwrap_or_else(|| "bind".into());
        out.push(match kind.as_str() {
            "bind" => MountSpec::Bind {
                source: PathBuf::from(m.string("source")?.ok_or_else(|| {
                    o.fail(&format!("{key}.source"), "expected a string, got nil")
                })?),
                target,
                readonly: m.boolean("readonly")?.unwrap_or(false),
            },
            "tmpfs" => MountSpec::Tmpfs {
                target,
                size: match m.raw("size")? {
                    Value::Nil => None,
                    v => Some(size(&v).map_err(|e| o.fail(&format!("{key}.size"), e))?),
                },
            },
            other => {
                return Err(o.fail(
                    &format!("{key}.type"),
                    format!("expected \"bind\" or \"tmpfs\", got \"{other}\""),
                ))
            }
        });
    }
    Ok(out)
}

/// A size: a number of bytes or "64M" / "1G" / "512k".
pub fn size(v: &Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) if *i >= 0 => Ok(*i as u64),
        Value::String(s) => {
            let text = s.to_string_lossy();
            let t = text.trim();
            let (num, mult) = match t.char_indices().last() {
                Some((i, c)) if c.is_ascii_alphabetic() => {
                    let m: u64 = match c.to_ascii_uppercase() {
                        'K' => 1 << 10,
                        'M' => 1 << 20,
                        'G' => 1 << 30,
                        'T' => 1 << 40,
                        _ => return Err(format!("expected a size like 64M, got \"{text}\"")),
                    };
                    (&t[..i], m)
                }
                _ => (t, 1),
            };
            let n: u64 = num
                .parse()
                .map_err(|_| format!("expected a size like 64M, got \"{text}\""))?;
            n.checked_mul(mult)
                .ok_or_else(|| format!("size \"{text}\" is too large"))
        }
        other => Err(format!(
            "expected bytes or a size like \"64M\", got {}",
            type_name(other)
        )),
    }
}
