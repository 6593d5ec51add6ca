//! Network: the link types, qdiscs and nftables that lab topologies are built from.

use super::kconfig::{self, Symbol};
use super::{Host, Item};

const SECTION: &str = "Network";

/// A link type or packet feature, the config symbols it needs, and the way around it.
struct Feature {
    name: &'static str,
    symbols: &'static [Symbol],
    required: bool,
    missing_advice: &'static str,
}

const fn sym(config: &'static str, module: &'static str) -> Symbol {
    Symbol { config, module }
}

const FEATURES: &[Feature] = &[
    Feature {
        name: "veth",
        symbols: &[sym("VETH", "veth")],
        required: true,
        missing_advice: "every container link is a veth pair; use a kernel with CONFIG_VETH",
    },
    Feature {
        name: "bridge",
        symbols: &[sym("BRIDGE", "bridge")],
        required: true,
        missing_advice: "lab networks are bridges; use a kernel with CONFIG_BRIDGE",
    },
    Feature {
        name: "macvlan",
        symbols: &[sym("MACVLAN", "macvlan")],
        required: false,
        missing_advice: "attach containers through a bridge instead, or use the VM lab for macvlan",
    },
    Feature {
        name: "ipvlan",
        symbols: &[sym("IPVLAN", "ipvlan")],
        required: false,
        missing_advice: "use macvlan or a bridge instead, or the VM lab for ipvlan",
    },
    Feature {
        name: "vxlan",
        symbols: &[sym("VXLAN", "vxlan")],
        required: false,
        missing_advice: "use the VM lab for vxlan overlays",
    },
    Feature {
        name: "dummy",
        symbols: &[sym("DUMMY", "dummy")],
        required: false,
        missing_advice: "put test addresses on lo or on a bridge instead, or use the VM lab for dummy links",
    },
    Feature {
        name: "vlan (8021q)",
        symbols: &[sym("VLAN_8021Q", "8021q")],
        required: false,
        missing_advice: "use the VM lab for 802.1Q vlan links",
    },
    Feature {
        name: "tc tbf",
        symbols: &[sym("NET_SCH_TBF", "sch_tbf")],
        required: false,
        missing_advice: "link shaping (net.shape rate) needs tbf; use the VM lab",
    },
    Feature {
        name: "tc netem",
        symbols: &[sym("NET_SCH_NETEM", "sch_netem")],
        required: false,
        missing_advice: "delay/loss/jitter need netem; rate limits still work with tbf; use the VM lab for netem",
    },
    Feature {
        name: "nftables",
        symbols: &[sym("NF_TABLES", "nf_tables")],
        required: false,
        missing_advice: "net.nat and net.forward use nftables; use a kernel with CONFIG_NF_TABLES",
    },
    Feature {
        name: "nftables nat",
        symbols: &[sym("NFT_NAT", "nft_nat"), sym("NFT_MASQ", "nft_masq")],
        required: false,
        missing_advice: "net.nat needs nft nat and masquerade; use the VM lab for NAT",
    },
];

/// One item per feature, decided from the kernel config.
pub(super) fn items(host: &Host) -> Vec<Item> {
    FEATURES
        .iter()
        .map(|f| {
            let item = kconfig::feature(host, SECTION, f.name, f.symbols, f.missing_advice);
            item.require(f.required)
        })
        .collect()
}
