//! A lab's topology (nodes and links) as data, and as Graphviz DOT or
//! Mermaid text: `lab:graph()`, `lab:graph("mermaid")`, `luxc graph LAB`.

use serde::{Deserialize, Serialize};

/// Where `lab:up()` keeps the topology in the lab's state dir.
pub const TOPOLOGY_FILE: &str = "topology.json";

/// A node: a container, a plain netns, or a bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    /// "container", "netns" or "bridge".
    pub kind: String,
    /// "declared", "running", "stopped" or "created".
    pub status: String,
}

/// A link: two ends, each a node, an interface and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    pub a: String,
    pub a_if: String,
    pub a_addresses: Vec<String>,
    pub b: String,
    pub b_if: String,
    pub b_addresses: Vec<String>,
}

/// A lab's nodes and links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    pub lab: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// A quoted DOT string.
fn q(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

fn end_label(ifname: &str, addrs: &[String]) -> String {
    std::iter::once(ifname.to_string())
        .chain(addrs.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Topology {
    /// Graphviz DOT: containers as boxes, namespaces as ellipses, bridges
    /// as diamonds; each link labelled with its interfaces and addresses.
    pub fn dot(&self) -> String {
        let mut out = format!(
            "graph {} {{\n  node [fontname=\"monospace\"];\n",
            q(&self.lab)
        );
        for n in &self.nodes {
            let shape = match n.kind.as_str() {
                "bridge" => "diamond",
                "netns" => "ellipse",
                _ => "box",
            };
            out += &format!("  {} [shape={shape}];\n", q(&n.name));
        }
        for e in &self.edges {
            out += &format!(
                "  {} -- {} [taillabel={}, headlabel={}];\n",
                q(&e.a),
                q(&e.b),
                q(&end_label(&e.a_if, &e.a_addresses)),
                q(&end_label(&e.b_if, &e.b_addresses))
            );
        }
        out += "}\n";
        out
    }

    /// Mermaid flowchart text.
    pub fn mermaid(&self) -> String {
        // Mermaid ids: letters, digits and '_' only.
        let id = |s: &str| {
            let mut v: String = s
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            v.insert_str(0, "n_");
            v
        };
        let text = |s: &str| s.replace('"', "'");
        let mut out = String::from("graph LR\n");
        for n in &self.nodes {
            let shape = match n.kind.as_str() {
                "bridge" => format!("{{{{\"{}\"}}}}", text(&n.name)),
                "netns" => format!("([\"{}\"])", text(&n.name)),
                _ => format!("[\"{}\"]", text(&n.name)),
            };
            out += &format!("  {}{shape}\n", id(&n.name));
        }
        for e in &self.edges {
            let a = std::iter::once(e.a_if.clone())
                .chain(e.a_addresses.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            let b = std::iter::once(e.b_if.clone())
                .chain(e.b_addresses.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ");
            out += &format!(
                "  {} ---|\"{} / {}\"| {}\n",
                id(&e.a),
                text(&a),
                text(&b),
                id(&e.b)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo() -> Topology {
        Topology {
            lab: "demo".into(),
            nodes: vec![
                Node {
                    name: "a".into(),
                    kind: "container".into(),
                    status: "running".into(),
                },
                Node {
                    name: "br0".into(),
                    kind: "bridge".into(),
                    status: "created".into(),
                },
            ],
            edges: vec![Edge {
                a: "a".into(),
                a_if: "eth0".into(),
                a_addresses: vec!["10.0.0.2/24".into()],
                b: "br0".into(),
                b_if: "lx0000000000001".into(),
                b_addresses: vec![],
            }],
        }
    }

    #[test]
    fn dot_and_mermaid_show_nodes_and_links() {
        let d = topo().dot();
        assert!(d.starts_with("graph \"demo\" {"), "{d}");
        assert!(
            d.contains("\"a\" [shape=box];") && d.contains("\"br0\" [shape=diamond];"),
            "{d}"
        );
        assert!(
            d.contains("\"a\" -- \"br0\" [taillabel=\"eth0\\n10.0.0.2/24\""),
            "{d}"
        );
        let m = topo().mermaid();
        assert!(m.starts_with("graph LR\n"), "{m}");
        assert!(
            m.contains("n_a[\"a\"]") && m.contains("n_br0{{\"br0\"}}"),
            "{m}"
        );
        assert!(
            m.contains("n_a ---|\"eth0 10.0.0.2/24 / lx0000000000001\"| n_br0"),
            "{m}"
        );
    }
}
