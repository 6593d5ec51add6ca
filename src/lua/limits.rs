//! The `limits` table (`{ memory = "256M", cpus = 0.5, pids = 64, ... }`)
//! shared by `luxc.cgroup.create`, `cg:set` and containers → `Limits`.

use mlua::{Table, Value};

use super::args::{type_name, Failure, LuaResult};
use super::container_opts::size;
use super::opts::Opts;
use crate::cgroup::limits::{IoLimit, Limits};

const KEYS: &[&str] = &[
    "memory",
    "memory_high",
    "memory_swap",
    "cpus",
    "cpu_weight",
    "cpuset",
    "pids",
    "io",
    "hugetlb",
    "raw",
];

/// Reads a limits table; `func` names the caller in errors, `field` the key
/// it came in ("limits" for containers, "" for an argument).
pub fn parse(func: &'static str, table: Table) -> LuaResult<Limits> {
    let o = Opts::new(func, table, KEYS);
    o.reject_unknown(false)?;
    let mut l = Limits::default();
    let bytes = |key: &str| -> LuaResult<Option<u64>> {
        match o.raw(key)? {
            Value::Nil => Ok(None),
            v => size(&v).map(Some).map_err(|e| o.fail(key, e)),
        }
    };
    l.memory = bytes("memory")?;
    l.memory_high = bytes("memory_high")?;
    l.memory_swap = bytes("memory_swap")?;
    l.cpus = match o.number("cpus", "a number of CPUs (0.5 = half a CPU)")? {
        Some(c) if c > 0.0 => Some(c),
        Some(c) => return Err(o.fail("cpus", format!("expected a number of CPUs > 0, got {c}"))),
        None => None,
    };
    l.cpu_weight = count(&o, "cpu_weight")?;
    l.pids = count(&o, "pids")?;
    if let Some(t) = o.sub_table("cpuset", "a table { cpus = \"0-1\", mems = \"0\" }")? {
        let c = Opts::new(func, t, &["cpus", "mems"]);
        c.reject_unknown(false)?;
        l.cpuset_cpus = c.string("cpus")?;
        l.cpuset_mems = c.string("mems")?;
    }
    if let Some(t) = o.sub_table("io", "a table { weight = ..., [\"8:0\"] = { rbps = ... } }")? {
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| Failure::from_lua(func, &e))?;
            let key = match &k {
                Value::String(s) => s.to_string_lossy(),
                other => {
                    return Err(o.fail(
                        "io",
                        format!("expected string keys, got a {} key", type_name(other)),
                    ))
                }
            };
            if key == "weight" {
                l.io_weight = match v {
                    Value::Integer(i) if i > 0 => Some(i as u64),
                    other => {
                        return Err(o.fail(
                            "io.weight",
                            format!("expected an integer > 0, got {}", type_name(&other)),
                        ))
                    }
                };
                continue;
            }
            let dev_ok = key
                .split_once(':')
                .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
            if !dev_ok {
                return Err(o.fail(
                    "io",
                    format!("expected 'weight' or a device \"MAJOR:MINOR\", got '{key}'"),
                ));
            }
            let t = match v {
                Value::Table(t) => t,
                other => {
                    return Err(o.fail(
                        &format!("io.{key}"),
                        format!(
                            "expected a table {{ rbps = ... }}, got {}",
                            type_name(&other)
                        ),
                    ))
                }
            };
            let d = Opts::new(func, t, &["rbps", "wbps", "riops", "wiops"]);
            d.reject_unknown(false)?;
            let rate = |k: &str, bytes: bool| -> LuaResult<Option<u64>> {
                match d.raw(k)? {
                    Value::Nil => Ok(None),
                    v if bytes => size(&v)
                        .map(Some)
                        .map_err(|e| d.fail(&format!("io.{key}.{k}"), e)),
                    Value::Integer(i) if i > 0 => Ok(Some(i as u64)),
                    other => Err(d.fail(
                        &format!("io.{key}.{k}"),
                        format!("expected an integer > 0, got {}", type_name(&other)),
                    )),
                }
            };
            l.io_devices.insert(
                key.clone(),
                IoLimit {
                    rbps: rate("rbps", true)?,
                    wbps: rate("wbps", true)?,
                    riops: rate("riops", false)?,
                    wiops: rate("wiops", false)?,
                },
            );
        }
    }
    if let Some(t) = o.sub_table("hugetlb", "a table { [\"2MB\"] = size }")? {
        for pair in t.pairs::<String, Value>() {
            let (k, v) =
                pair.map_err(|_| o.fail("hugetlb", "expected page sizes like \"2MB\" as keys"))?;
            let n = size(&v).map_err(|e| o.fail(&format!("hugetlb.{k}"), e))?;
            l.hugetlb.insert(k, n);
        }
    }
    if let Some(raw) = o.string_map("raw")? {
        l.raw = raw.into_iter().collect();
    }
    Ok(l)
}

fn count(o: &Opts, key: &str) -> LuaResult<Option<u64>> {
    match o.raw(key)? {
        Value::Nil => Ok(None),
        Value::Integer(i) if i > 0 => Ok(Some(i as u64)),
        other => Err(o.fail(
            key,
            format!(
                "expected an integer > 0, got {}",
                super::args::describe(&other)
            ),
        )),
    }
}
