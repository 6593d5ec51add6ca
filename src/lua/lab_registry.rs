//! The labs a Lua state opened (`luxc.lab(name)`, the script's default lab),
//! so the runner can act on all of them when the script ends: roll back what
//! an interrupted run made, or take every lab down for `luxc run --rm`.
//!
//! The list holds strong references: a lab whose handles the script dropped
//! (and the garbage collector took) is still a lab the script opened, and
//! `--rm` must still remove it. The labs are released with the Lua state.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::Lua;

use super::lab::LabRef;
use crate::engine::lab::Lab;

/// The list, kept in the Lua state's app data.
#[derive(Default)]
struct Opened(Vec<Rc<RefCell<Lab>>>);

/// Wraps a newly opened lab for its Lua handle and adds it to the list.
pub fn adopt(lua: &Lua, lab: Lab) -> LabRef {
    let shared = Rc::new(RefCell::new(lab));
    if lua.app_data_ref::<Opened>().is_none() {
        lua.set_app_data(Opened::default());
    }
    if let Some(mut opened) = lua.app_data_mut::<Opened>() {
        opened.0.push(shared.clone());
    }
    LabRef(shared)
}

/// The labs this state opened, newest first (the order to undo them in).
pub fn opened(lua: &Lua) -> Vec<Rc<RefCell<Lab>>> {
    lua.app_data_ref::<Opened>()
        .map(|o| o.0.iter().rev().cloned().collect())
        .unwrap_or_default()
}
