//! Network namespaces, links, addresses and routes, over in-process netlink
//! (rtnetlink); no `ip` subprocesses.

pub mod addr;
pub mod link;
pub mod loopback;
mod netlink;
pub mod netns;
pub mod route;

pub use netlink::{NetError, Netlink};
