//! The `devices` option of a container: which device nodes it may use.
//!
//! ```lua
//! devices = {
//!   "/dev/net/tun",                                   -- a node, rwm
//!   { path = "/dev/dri/renderD128", access = "rw" },  -- a node, given access
//!   { type = "c", major = 10, minor = 200 },          -- a cgroup rule only
//!   nic,                                              -- a PCI device on vfio-pci
//! }
//! ```
//!
//! A node is bound from the host's /dev into the container's fresh /dev at
//! the same path: the same inode, so its major:minor, mode and owner are the
//! host's (mknod would not work in a user namespace), and its cgroup rule
//! allows that major:minor. A PCI device on vfio-pci grants the VFIO
//! container node /dev/vfio/vfio and its group's node /dev/vfio/GROUP.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use mlua::{Lua, Table, Value};

use super::args::{type_name, Failure, LuaResult};
use super::opts::Opts;
use crate::cgroup::devices::DeviceRule;
use crate::fs::rootfs::MountSpec;
use crate::pci::{self, Address};

/// The cgroup rules, and for nodes the bind mounts that put them inside.
pub fn parse(lua: &Lua, o: &Opts, list: &Table) -> LuaResult<(Vec<DeviceRule>, Vec<MountSpec>)> {
    let mut g = Grants::default();
    for i in 1..=list.raw_len() {
        let key = format!("devices[{i}]");
        let v = list
            .raw_get::<Value>(i)
            .map_err(|e| Failure::from_lua(o.func(), &e))?;
        match v {
            Value::String(s) => g.node(o, &key, &s.to_string_lossy(), "rwm")?,
            Value::Table(ref t) if super::handle::is(lua, &v, "pci_device") => {
                g.pci(o, &key, t)?
            }
            Value::Table(t) if t.contains_key("path").unwrap_or(false) => {
                let d = Opts::new(o.func(), t, &["path", "access"]);
                d.reject_unknown(false)
                    .map_err(|_| o.fail(&key, "a node grant takes only 'path' and 'access'"))?;
                let path = d
                    .string("path")?
                    .ok_or_else(|| o.fail(&format!("{key}.path"), "expected a device path"))?;
                let access = d.string("access")?.unwrap_or_else(|| "rwm".into());
                g.node(o, &key, &path, &access)?;
            }
            Value::Table(t) => g.rule(o, &key, t)?,
            other => {
                return Err(o.fail(
                    &key,
                    format!(
                        "expected a device path, a {{ path = ..., access = ... }} table, a rule table or a PCI device, got {}",
                        type_name(&other)
                    ),
                ))
            }
        }
    }
    crate::cgroup::devices::validate(&g.rules).map_err(|e| o.fail("devices", e))?;
    Ok((g.rules, g.binds))
}

#[derive(Default)]
struct Grants {
    rules: Vec<DeviceRule>,
    binds: Vec<MountSpec>,
}

impl Grants {
    /// A host device node at `path`, with `access` (r, w, m).
    fn node(&mut self, o: &Opts, key: &str, path: &str, access: &str) -> LuaResult<()> {
        if !path.starts_with("/dev/") {
            return Err(o.fail(
                key,
                format!("expected a device node under /dev, got '{path}'"),
            ));
        }
        let meta = std::fs::metadata(path)
            .map_err(|e| o.fail(key, format!("{path}: no such device node ({e})")))?;
        let ft = meta.file_type();
        let kind = if ft.is_char_device() {
            'c'
        } else if ft.is_block_device() {
            'b'
        } else {
            return Err(o.fail(key, format!("{path} is not a device node")));
        };
        let rdev = meta.rdev();
        let (major, minor) = (
            nix::sys::stat::major(rdev) as u32,
            nix::sys::stat::minor(rdev) as u32,
        );
        DeviceRule::parse_access(access).map_err(|e| o.fail(&format!("{key}.access"), e))?;
        self.rules
            .push(DeviceRule::allow(kind, Some(major), Some(minor), access));
        // The same node twice (two vfio devices share /dev/vfio/vfio) is bound once.
        let already = self
            .binds
            .iter()
            .any(|b| matches!(b, MountSpec::Bind { target, .. } if target == path));
        if !already {
            self.binds.push(MountSpec::Bind {
                source: path.into(),
                target: path.to_string(),
                readonly: false,
            });
        }
        Ok(())
    }

    /// A PCI device: on vfio-pci, its group's node and the VFIO container node.
    fn pci(&mut self, o: &Opts, key: &str, t: &Table) -> LuaResult<()> {
        let text: String = t
            .raw_get("address")
            .map_err(|e| Failure::from_lua(o.func(), &e))?;
        let address = Address::parse(&text).map_err(|e| o.fail(key, e))?;
        let d = pci::get(&pci::host_root(), &address).map_err(|e| o.fail(key, e))?;
        if d.driver.as_deref() != Some(pci::VFIO_DRIVER) {
            let on = d
                .driver
                .map_or("no driver".to_string(), |d| format!("driver {d}"));
            return Err(o.fail(
                key,
                format!(
                    "PCI device {address} is on {on}, not {}: call dev:bind_vfio() first (only a VFIO device can be granted)",
                    pci::VFIO_DRIVER
                ),
            ));
        }
        let group = d.iommu_group.ok_or_else(|| {
            o.fail(
                key,
                format!(
                    "PCI device {address} is in no IOMMU group: {}",
                    pci::IOMMU_HINT
                ),
            )
        })?;
        let (container, group_node) = pci::vfio_nodes(std::path::Path::new("/dev"), group);
        self.node(o, key, &container.to_string_lossy(), "rw")?;
        self.node(o, key, &group_node.to_string_lossy(), "rw")
    }

    /// A cgroup rule `{ type = "c", major = 10, minor = 200, access = "rwm" }`.
    fn rule(&mut self, o: &Opts, key: &str, t: Table) -> LuaResult<()> {
        let d = Opts::new(o.func(), t, &["type", "major", "minor", "access"]);
        d.reject_unknown(false)?;
        let kind = match d.string("type")?.as_deref() {
            Some("c") => 'c',
            Some("b") => 'b',
            Some("a") => 'a',
            other => {
                let got = other.map_or("nil".to_string(), |t| format!("\"{t}\""));
                return Err(o.fail(
                    &format!("{key}.type"),
                    format!("expected \"c\", \"b\" or \"a\", got {got}"),
                ));
            }
        };
        let num = |k: &str| -> LuaResult<Option<u32>> {
            match d.raw(k)? {
                Value::Nil => Ok(None),
                Value::String(s) if s.as_bytes() == b"*".as_slice() => Ok(None),
                Value::Integer(n) if (0..=u32::MAX as i64).contains(&n) => Ok(Some(n as u32)),
                other => Err(o.fail(
                    &format!("{key}.{k}"),
                    format!("expected a number or \"*\", got {}", type_name(&other)),
                )),
            }
        };
        let access = d.string("access")?.unwrap_or_else(|| "rwm".into());
        self.rules.push(DeviceRule::allow(
            kind,
            num("major")?,
            num("minor")?,
            &access,
        ));
        Ok(())
    }
}
