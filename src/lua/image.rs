//! `luxc.image`: the root filesystems containers start from.

use std::path::{Path, PathBuf};

use mlua::{Lua, Table, Value};

use super::args::{function, Args, Failure, LuaResult};
use super::handle;
use crate::image::{self, Image};

/// Registers `luxc.image`.
pub fn register(lua: &Lua, luxc: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set("host", function(lua, "luxc.image.host", host)?)?;
    t.set("dir", function(lua, "luxc.image.dir", dir)?)?;
    t.set("busybox", function(lua, "luxc.image.busybox", busybox)?)?;
    let mt = handle::metatable(lua, "image")?;
    mt.set(
        "__tostring",
        lua.create_function(|_, t: Table| {
            let kind: String = t.raw_get("kind")?;
            let path: Option<String> = t.raw_get("path")?;
            Ok(match path {
                Some(p) if kind != "host" => format!("image {kind} {p}"),
                _ => format!("image {kind}"),
            })
        })?,
    )?;
    luxc.set("image", t)
}

/// A Lua handle for `img`: a table `{ kind = "dir", path = "/srv/rootfs" }`.
pub fn to_lua(lua: &Lua, img: &Image) -> mlua::Result<Table> {
    let (kind, path) = match img {
        Image::Host => ("host", Path::new("/")),
        Image::Dir { path } => ("dir", path.as_path()),
        Image::Busybox { path } => ("busybox", path.as_path()),
    };
    handle::new(
        lua,
        "image",
        vec![
            ("kind", Value::String(lua.create_string(kind)?)),
            (
                "path",
                Value::String(lua.create_string(path.as_os_str().as_encoded_bytes())?),
            ),
        ],
    )
}

/// The Image behind a handle made by `to_lua`.
pub fn from_lua(t: &Table) -> mlua::Result<Image> {
    let kind: String = t.raw_get("kind")?;
    let path: PathBuf = PathBuf::from(t.raw_get::<String>("path")?);
    Ok(match kind.as_str() {
        "host" => Image::Host,
        "dir" => Image::Dir { path },
        _ => Image::Busybox { path },
    })
}

fn host(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(0)?;
    to_lua(lua, &image::host()).map_err(|e| Failure::from_lua(args.func(), &e))
}

fn dir(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(1)?;
    let path = args.string(1)?;
    let img = image::dir(Path::new(&path)).map_err(|e| Failure::from_error(args.func(), &e))?;
    to_lua(lua, &img).map_err(|e| Failure::from_lua(args.func(), &e))
}

fn busybox(lua: &Lua, args: Args) -> LuaResult<Table> {
    args.at_most(0)?;
    let img = image::busybox(Path::new(image::DEFAULT_CACHE_ROOT))
        .map_err(|e| Failure::from_error(args.func(), &e))?;
    to_lua(lua, &img).map_err(|e| Failure::from_lua(args.func(), &e))
}
