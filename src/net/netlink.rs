//! A small synchronous facade over rtnetlink: a current-thread tokio runtime
//! drives the connection task (luxc stays single-threaded because it forks
//! into namespaces later), plus a plain blocking netlink socket for dumps.

use std::fs::File;
use std::io;

use nix::sched::CloneFlags;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// Every error of the network primitives. Messages are lower case and name
/// the object: "create veth v1a-b/v1b-a: File exists (os error 17)".
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A netlink or system call on a named object failed.
    #[error("{what}: {source}")]
    Op { what: String, source: io::Error },
    /// A named network namespace operation failed.
    #[error("netns '{name}': {source}")]
    Netns { name: String, source: io::Error },
    /// A netns name outside 1..=32 chars of [A-Za-z0-9_.-].
    #[error("netns '{0}': invalid name (1 to 32 characters of A-Z a-z 0-9 _ . -)")]
    InvalidNetnsName(String),
    /// An address that is not ADDR/PREFIX.
    #[error("address '{0}': invalid cidr")]
    InvalidCidr(String),
    /// A link looked up by name does not exist.
    #[error("link '{0}': no such link")]
    NoSuchLink(String),
}

impl NetError {
    pub(crate) fn op(what: impl Into<String>, source: io::Error) -> Self {
        NetError::Op {
            what: what.into(),
            source,
        }
    }
}

/// rtnetlink's error as an io::Error: the kernel's errno where there is one.
pub(crate) fn io_err(e: rtnetlink::Error) -> io::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) if m.code.is_some() => m.to_io(),
        other => io::Error::other(other.to_string()),
    }
}

/// A netlink connection bound to one network namespace.
pub struct Netlink {
    rt: tokio::runtime::Runtime,
    handle: rtnetlink::Handle,
    dump: Socket,
}

impl Netlink {
    /// Opens a connection in the current network namespace.
    pub fn open() -> Result<Netlink, NetError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| NetError::op("netlink: runtime", e))?;
        Self::open_with(rt)
    }

    fn open_with(rt: tokio::runtime::Runtime) -> Result<Netlink, NetError> {
        // The tokio socket registers with the runtime's reactor on creation.
        let (conn, handle, _) = {
            let _guard = rt.enter();
            rtnetlink::new_connection().map_err(|e| NetError::op("netlink: socket", e))?
        };
        // Runs whenever block_on drives the runtime.
        rt.spawn(conn);
        let mut dump =
            Socket::new(NETLINK_ROUTE).map_err(|e| NetError::op("netlink: socket", e))?;
        dump.bind_auto()
            .map_err(|e| NetError::op("netlink: bind", e))?;
        dump.connect(&SocketAddr::new(0, 0))
            .map_err(|e| NetError::op("netlink: connect", e))?;
        Ok(Netlink { rt, handle, dump })
    }

    /// Opens a connection inside the network namespace `netns_file` (an
    /// open /run/netns/NAME or /proc/PID/ns/net): setns on this thread, open
    /// the sockets (they stay bound to the namespace they were created in),
    /// and setns back, even on error.
    pub fn open_in(netns_file: &File) -> Result<Netlink, NetError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| NetError::op("netlink: runtime", e))?;
        let orig = File::open("/proc/thread-self/ns/net")
            .or_else(|_| File::open("/proc/self/ns/net"))
            .map_err(|e| NetError::op("netlink: open own netns", e))?;
        nix::sched::setns(netns_file, CloneFlags::CLONE_NEWNET)
            .map_err(|e| NetError::op("netlink: enter netns", e.into()))?;
        let result = Self::open_with(rt);
        if let Err(e) = nix::sched::setns(&orig, CloneFlags::CLONE_NEWNET) {
            // Staying in the wrong namespace would silently misplace every
            // later link and socket of this thread.
            panic!("netlink: cannot return to the original netns: {e}");
        }
        result
    }

    /// Runs one rtnetlink request to completion.
    pub(crate) fn exec<F>(&self, what: impl FnOnce() -> String, fut: F) -> Result<(), NetError>
    where
        F: std::future::Future<Output = Result<(), rtnetlink::Error>>,
    {
        self.rt
            .block_on(fut)
            .map_err(|e| NetError::op(what(), io_err(e)))
    }

    pub(crate) fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    /// Sends a dump request (RTM_GET* with NLM_F_DUMP) on the blocking socket
    /// and collects the replies until NLMSG_DONE.
    pub(crate) fn dump(
        &self,
        what: &str,
        msg: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, NetError> {
        let fail = |e: io::Error| NetError::op(what.to_string(), e);
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.header.sequence_number = 1;
        req.finalize();
        let mut buf = vec![0u8; req.buffer_len()];
        req.serialize(&mut buf);
        self.dump.send(&buf, 0).map_err(fail)?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.dump.recv_from_full().map_err(fail)?;
            if data.is_empty() {
                return Err(fail(io::Error::from(io::ErrorKind::UnexpectedEof)));
            }
            let mut off = 0;
            while off < data.len() {
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[off..])
                    .map_err(|e| fail(io::Error::new(io::ErrorKind::InvalidData, e.to_string())))?;
                let len = m.header.length as usize;
                if len == 0 {
                    return Err(fail(io::Error::from(io::ErrorKind::InvalidData)));
                }
                off += (len + 3) & !3;
                match m.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) if e.code.is_some() => return Err(fail(e.to_io())),
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    _ => {}
                }
            }
        }
    }
}
