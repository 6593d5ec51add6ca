//! Network namespaces, links, addresses, routes, sysctls and shaping, over
//! in-process netlink (a blocking NETLINK_ROUTE socket per namespace); no
//! `ip` or `tc` subprocesses. NAT rules go through the `nft` tool (nat.rs).

pub mod addr;
pub mod features;
pub mod link;
pub mod loopback;
pub mod nat;
mod netlink;
pub mod netns;
pub mod route;
pub mod sysctl;
pub mod tc;

pub use netlink::{errno, in_netns, NetError, Netlink};
