//! The LuaLS stubs (stdlib/meta/luxc.lua) and what the binary registers must
//! name the same things: a function or field missing from either side fails.

use std::collections::BTreeSet;

use luxc::lua::docs::Docs;
use luxc::lua::{runtime, RuntimeOptions};
use mlua::{Table, Value};

/// Every dotted name reachable from `luxc`, tables included. The lazy stdlib
/// modules (`luxc.topo`, `luxc.test`) are indexed first, so they are loaded
/// and `pairs` sees them.
fn registered() -> BTreeSet<String> {
    let lua = runtime(&RuntimeOptions::default()).unwrap();
    for name in luxc::lua::stdlib::LAZY {
        lua.load(format!("local _ = luxc.{name}")).exec().unwrap();
    }
    let root: Table = lua.globals().get("luxc").unwrap();
    let mut names = BTreeSet::from(["luxc".to_string()]);
    walk(&root, "luxc", &mut names);
    names
}

fn walk(table: &Table, prefix: &str, names: &mut BTreeSet<String>) {
    for pair in table.pairs::<String, Value>() {
        let (key, value) = pair.unwrap();
        // Names starting with '_' are internals of the Lua modules
        // (topo._pool, test._primary, test._listening), not part of the API.
        if key.starts_with('_') {
            continue;
        }
        let name = format!("{prefix}.{key}");
        if let Value::Table(t) = &value {
            walk(t, &name, names);
        }
        names.insert(name);
    }
}

#[test]
fn stubs_and_registrations_match() {
    // Methods of handles (`luxc.Lab:up`) are checked by the test below.
    let documented: BTreeSet<String> = Docs::builtin()
        .entries
        .keys()
        .filter(|k| !k.contains(':'))
        .cloned()
        .collect();
    let registered = registered();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty(),
        "registered but missing from stdlib/meta/luxc.lua: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "documented in stdlib/meta/luxc.lua but not registered: {phantom:?}"
    );
}

#[test]
fn functions_are_documented_as_functions() {
    let lua = runtime(&RuntimeOptions::default()).unwrap();
    let docs = Docs::builtin();
    for (name, entry) in docs.entries.iter().filter(|(k, _)| !k.contains(':')) {
        let is_fn: bool = lua
            .load(format!("return type({name}) == 'function'"))
            .eval()
            .unwrap();
        assert_eq!(
            is_fn, entry.is_function,
            "{name}: stub kind differs from the binary"
        );
        assert!(!entry.doc.is_empty(), "{name}: stub has no doc line");
    }
}

#[test]
fn the_stub_file_is_valid_lua() {
    let lua = mlua::Lua::new();
    lua.load(luxc::lua::stdlib::META)
        .set_name("@stdlib/meta/luxc.lua")
        .exec()
        .expect("stubs parse and run as Lua");
}

/// Handle kinds (registry metatables) and the stub class documenting each.
const HANDLES: &[(&str, &str)] = &[
    ("lab", "luxc.Lab"),
    ("container", "luxc.Container"),
    ("process", "luxc.Process"),
    ("cgroup", "luxc.Cgroup"),
    ("node", "luxc.Node"),
    ("pci_device", "luxc.PciDevice"),
];

#[test]
fn handle_methods_match_their_stub_classes() {
    let lua = runtime(&RuntimeOptions::default()).unwrap();
    let docs = Docs::builtin();
    for (kind, class) in HANDLES {
        let mt: Table = lua
            .named_registry_value(&format!("luxc.mt.{kind}"))
            .unwrap_or_else(|_| panic!("no metatable for {kind}"));
        let methods: Table = mt.get("__methods").unwrap();
        let registered: BTreeSet<String> = methods
            .pairs::<String, Value>()
            .map(|p| p.unwrap().0)
            .collect();
        let documented: BTreeSet<String> = docs.methods(class).into_iter().collect();
        assert_eq!(registered, documented, "methods of {class}");
    }
}
