//! The API documentation, read from the LuaLS stubs (`stdlib/meta/luxc.lua`):
//! one source for editors, `:help` in the REPL and the stub sync test.

use std::collections::BTreeMap;

/// One documented name: a function or a field of the `luxc` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Dotted name, e.g. `luxc.host.exec`.
    pub name: String,
    /// `luxc.host.exec(cmd)` for functions, the name for fields.
    pub signature: String,
    /// True for functions.
    pub is_function: bool,
    /// Description lines (the `---` lines that are not annotations).
    pub doc: Vec<String>,
    /// Annotation lines (`@param …`, `@return …`, `@type …`), without `---`.
    pub tags: Vec<String>,
}

/// A `---@class` and its `@field` lines, for expanding option tables in help.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Class {
    /// Field lines, `name type description`.
    pub fields: Vec<String>,
}

/// Everything the stubs document.
#[derive(Debug, Default)]
pub struct Docs {
    /// Functions and fields by dotted name.
    pub entries: BTreeMap<String, Entry>,
    /// Classes by name.
    pub classes: BTreeMap<String, Class>,
}

impl Docs {
    /// Parses stub text. Each declaration (`function luxc.x(...) end` or
    /// `luxc.x = ...`) takes the `---` block right above it.
    /// Handle classes are declared as `---@class luxc.Lab` over `local Lab = {}`,
    /// and their methods as `function Lab:up() end` (entry `luxc.Lab:up`).
    pub fn parse(text: &str) -> Docs {
        let mut docs = Docs::default();
        let mut block: Vec<&str> = Vec::new();
        let mut aliases: BTreeMap<String, String> = BTreeMap::new();
        for raw in text.lines() {
            let line = raw.trim();
            if let Some(rest) = line.strip_prefix("---") {
                block.push(rest);
                continue;
            }
            collect_classes(&block, &mut docs.classes);
            if let Some((alias, class)) = class_alias(line, &block) {
                aliases.insert(alias, class);
            } else if let Some(entry) = declaration(&resolve_alias(line, &aliases), &block) {
                docs.entries.insert(entry.name.clone(), entry);
            }
            block.clear();
        }
        docs
    }

    /// Method names documented for handle class `class` (e.g. "luxc.Lab").
    pub fn methods(&self, class: &str) -> Vec<String> {
        let prefix = format!("{class}:");
        self.entries
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }

    /// The embedded stubs, parsed.
    pub fn builtin() -> Docs {
        Docs::parse(super::stdlib::META)
    }

    /// The documented name `query` means: itself, `luxc.` + it (`host.exec`),
    /// or the one entry it ends (`Container:wait`, `c:wait` → by method name).
    pub fn resolve(&self, query: &str) -> Option<&str> {
        if let Some((k, _)) = self.entries.get_key_value(query) {
            return Some(k);
        }
        if let Some((k, _)) = self.entries.get_key_value(&format!("luxc.{query}")) {
            return Some(k);
        }
        let tail = query.rsplit([':', '.']).next()?;
        let sep = if query.contains(':') { ":" } else { "" };
        let found: Vec<&str> = self
            .entries
            .keys()
            .filter(|k| {
                k.ends_with(&format!("{sep}{tail}"))
                    && k[..k.len() - tail.len()].ends_with([':', '.'])
            })
            .filter(|k| query.contains(':') == k.contains(':') || !query.contains(['.', ':']))
            .map(String::as_str)
            .collect();
        match found.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Help text for `name`: its signature, description and annotations, the
    /// fields of option classes it takes, or for a table the names it holds.
    pub fn help(&self, query: &str) -> Option<String> {
        let name = self.resolve(query)?;
        let entry = self.entries.get(name)?;
        let mut out = format!("{}\n", entry.signature);
        for line in &entry.doc {
            out.push_str(&format!("  {line}\n"));
        }
        for tag in &entry.tags {
            out.push_str(&format!("  @{tag}\n"));
            let mut words = tag.split_whitespace();
            if words.next() == Some("param") {
                let class = words.nth(1).unwrap_or("");
                if let Some(c) = self.classes.get(class) {
                    for f in &c.fields {
                        out.push_str(&format!("      {f}\n"));
                    }
                }
            }
        }
        let members: Vec<&str> = self
            .entries
            .keys()
            .filter(|k| {
                let rest = k
                    .strip_prefix(name)
                    .and_then(|r| r.strip_prefix('.').or_else(|| r.strip_prefix(':')));
                rest.is_some_and(|r| !r.contains(['.', ':']))
            })
            .map(String::as_str)
            .collect();
        if !members.is_empty() {
            out.push_str(&format!("  members: {}\n", members.join(", ")));
        }
        Some(out)
    }
}

/// `local Lab = {}` under a `---@class luxc.Lab` block → ("Lab", "luxc.Lab").
fn class_alias(line: &str, block: &[&str]) -> Option<(String, String)> {
    let rest = line.strip_prefix("local ")?;
    let (alias, value) = rest.split_once('=')?;
    if value.trim() != "{}" {
        return None;
    }
    let class = block.iter().find_map(|l| l.strip_prefix("@class "))?;
    let class = class.split_whitespace().next()?.to_string();
    Some((alias.trim().to_string(), class))
}

/// `function Lab:up()` → `function luxc.Lab:up()` for a known alias.
fn resolve_alias(line: &str, aliases: &BTreeMap<String, String>) -> String {
    if let Some(rest) = line.strip_prefix("function ") {
        if let Some((alias, method)) = rest.split_once(':') {
            if let Some(class) = aliases.get(alias.trim()) {
                return format!("function {class}:{method}");
            }
        }
    }
    line.to_string()
}

fn declaration(line: &str, block: &[&str]) -> Option<Entry> {
    let (name, signature, is_function) = if let Some(rest) = line.strip_prefix("function ") {
        let open = rest.find('(')?;
        let close = rest.find(')')?;
        let name = rest[..open].trim();
        (name, format!("{name}({})", &rest[open + 1..close]), true)
    } else {
        let eq = line.find('=')?;
        let name = line[..eq].trim();
        (name, name.to_string(), false)
    };
    let is_api = name == "luxc" || name.starts_with("luxc.");
    if !is_api
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == ':')
    {
        return None;
    }
    let doc = block
        .iter()
        .filter(|l| !l.starts_with('@'))
        .map(|l| l.trim().to_string())
        .collect();
    let tags = block
        .iter()
        .filter_map(|l| l.strip_prefix('@'))
        .filter(|l| !l.starts_with("class") && !l.starts_with("meta"))
        .map(|l| l.trim().to_string())
        .collect();
    Some(Entry {
        name: name.to_string(),
        signature,
        is_function,
        doc,
        tags,
    })
}

fn collect_classes(block: &[&str], classes: &mut BTreeMap<String, Class>) {
    let mut current: Option<String> = None;
    for line in block {
        if let Some(rest) = line.strip_prefix("@class ") {
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            classes.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(rest), Some(c)) = (line.strip_prefix("@field "), &current) {
            if let Some(class) = classes.get_mut(c) {
                class.fields.push(rest.trim().to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---@meta\n\n---Top.\n---@class luxc\nluxc = {}\n\n\
        ---Opts.\n---@class luxc.Opts\n---@field a? string the a\n\n\
        ---Does x.\n---@param o luxc.Opts the options\n---@return integer\nfunction luxc.x(o) end\n\n\
        ---A value.\n---@type string\nluxc.v = \"\"\n\nlocal helper = 1\n\n\
        ---A handle.\n---@class luxc.H\nlocal H = {}\n\n---Does m.\nfunction H:m(a) end\n";

    #[test]
    fn parses_functions_fields_and_classes() {
        let d = Docs::parse(SAMPLE);
        let names: Vec<&str> = d.entries.keys().map(String::as_str).collect();
        assert_eq!(names, ["luxc", "luxc.H:m", "luxc.v", "luxc.x"]);
        assert_eq!(d.methods("luxc.H"), ["m"]);
        assert_eq!(d.entries["luxc.H:m"].signature, "luxc.H:m(a)");
        let x = &d.entries["luxc.x"];
        assert!(x.is_function);
        assert_eq!(x.signature, "luxc.x(o)");
        assert_eq!(x.doc, ["Does x."]);
        assert_eq!(x.tags, ["param o luxc.Opts the options", "return integer"]);
        assert_eq!(d.classes["luxc.Opts"].fields, ["a? string the a"]);
    }

    #[test]
    fn help_expands_option_classes_and_members() {
        let d = Docs::parse(SAMPLE);
        let h = d.help("luxc.x").unwrap();
        assert!(h.starts_with("luxc.x(o)\n  Does x.\n"), "{h}");
        assert!(h.contains("      a? string the a"), "{h}");
        assert!(d.help("luxc").unwrap().contains("members: luxc.v, luxc.x"));
        assert!(d.help("luxc.nope").is_none());
        assert_eq!(d.resolve("x"), Some("luxc.x"), "luxc. prefix optional");
        assert_eq!(
            d.resolve("H:m"),
            Some("luxc.H:m"),
            "method by class and name"
        );
        assert_eq!(
            d.resolve("c:m"),
            Some("luxc.H:m"),
            "method through any handle name"
        );
        assert_eq!(d.resolve("m"), Some("luxc.H:m"), "a unique bare name");
    }
}
