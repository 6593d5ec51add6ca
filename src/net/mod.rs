//! Network links and addresses. (So far: the loopback of a new network
//! namespace; links, addresses and routes over rtnetlink arrive later.)

pub mod loopback;
