//! A small synchronous rtnetlink client: one blocking NETLINK_ROUTE socket per
//! network namespace, requests answered by an ack (or the kernel's error and
//! its extended-ack message), dumps read to NLMSG_DONE. Messages are built and
//! parsed with netlink-packet-route; no async runtime and no helper thread, so
//! luxc stays single-threaded (it forks into namespaces) and a socket costs
//! one syscall, which matters when a lab opens one in each of 1,000
//! namespaces.

use std::cell::Cell;
use std::fs::File;
use std::io;

use nix::sched::CloneFlags;
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// Every error of the network primitives. Messages are lower case and name
/// the object: "create veth v1a/v1b: File exists (os error 17)".
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A netlink or system call on a named object failed.
    #[error("{what}: {source}")]
    Op { what: String, source: io::Error },
    /// A named network namespace operation failed.
    #[error("netns '{name}': {source}")]
    Netns { name: String, source: io::Error },
    /// A netns name outside 1..=100 chars of [A-Za-z0-9_.-].
    #[error("netns '{0}': invalid name (1 to 100 characters of A-Z a-z 0-9 _ . -)")]
    InvalidNetnsName(String),
    /// An address that is not ADDR/PREFIX.
    #[error("address '{0}': invalid cidr (expected ADDR/PREFIX, e.g. 10.0.0.1/24 or fd00::1/64)")]
    InvalidCidr(String),
    /// A link looked up by name does not exist.
    #[error("link '{0}': no such link")]
    NoSuchLink(String),
    /// Input the kernel was never asked about (a bad name, a bad value).
    #[error("{0}")]
    Invalid(String),
}

impl NetError {
    pub(crate) fn op(what: impl Into<String>, source: io::Error) -> Self {
        NetError::Op {
            what: what.into(),
            source,
        }
    }
}

/// NETLINK_EXT_ACK attribute carrying the kernel's message on an error.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// Flags of an error message: the request was capped / TLVs follow.
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// Receive buffer: a dump of 1,000 links arrives in many reads of this size.
const RECV_BUF: usize = 64 * 1024;

/// A netlink connection bound to one network namespace.
pub struct Netlink {
    sock: Socket,
    seq: Cell<u32>,
}

impl Netlink {
    /// Opens a connection in the current network namespace.
    pub fn open() -> Result<Netlink, NetError> {
        let fail = |what: &str, e: io::Error| NetError::op(format!("netlink: {what}"), e);
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| fail("socket", e))?;
        sock.bind_auto().map_err(|e| fail("bind", e))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| fail("connect", e))?;
        // The kernel's own words on errors ("Unknown device type"), and only
        // the header of the failed request echoed back.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        Ok(Netlink {
            sock,
            seq: Cell::new(0),
        })
    }

    /// Opens a connection inside the network namespace `netns_file` (an
    /// open /run/netns/NAME or /proc/PID/ns/net): setns on this thread, open
    /// the socket (it stays bound to the namespace it was made in), and setns
    /// back, even on error.
    pub fn open_in(netns_file: &File) -> Result<Netlink, NetError> {
        in_netns(netns_file, Netlink::open)?
    }

    fn next_seq(&self) -> u32 {
        let s = self.seq.get().wrapping_add(1);
        self.seq.set(s);
        s
    }

    fn send(
        &self,
        what: &dyn Fn() -> String,
        mut req: NetlinkMessage<RouteNetlinkMessage>,
    ) -> Result<u32, NetError> {
        let seq = self.next_seq();
        req.header.sequence_number = seq;
        req.finalize();
        let mut buf = vec![0u8; req.buffer_len()];
        req.serialize(&mut buf);
        self.sock
            .send(&buf, 0)
            .map_err(|e| NetError::op(what(), e))?;
        Ok(seq)
    }

    /// Sends `msg` with NLM_F_REQUEST | NLM_F_ACK | `flags` and waits for the
    /// kernel's answer: Ok on its ack, the kernel's error otherwise.
    pub fn request(
        &self,
        what: impl Fn() -> String,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(), NetError> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        let seq = self.send(&what, req)?;
        self.wait_ack(&what, seq)
    }

    /// Sends a message built by hand (type, flags, payload after the
    /// netlink header) and waits for its ack: for the traffic-control
    /// options netlink-packet-route does not model.
    pub fn request_raw(
        &self,
        what: impl Fn() -> String,
        msg_type: u16,
        flags: u16,
        payload: &[u8],
    ) -> Result<(), NetError> {
        let seq = self.next_seq();
        let len = 16 + payload.len();
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(&(len as u32).to_ne_bytes());
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(payload);
        self.sock
            .send(&buf, 0)
            .map_err(|e| NetError::op(what(), e))?;
        self.wait_ack(&what, seq)
    }

    /// Reads until the ack or error of request `seq`.
    fn wait_ack(&self, what: &dyn Fn() -> String, seq: u32) -> Result<(), NetError> {
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let n = self.recv(what, &mut buf)?;
            for raw in frames(&buf[..n]) {
                let (ty, flags, rseq) = (raw.ty, raw.flags, raw.seq);
                if rseq != seq || ty != NLMSG_ERROR {
                    continue;
                }
                return match error_of(raw.payload, flags) {
                    None => Ok(()),
                    Some(e) => Err(NetError::op(what(), e)),
                };
            }
        }
    }

    fn recv(&self, what: &dyn Fn() -> String, buf: &mut [u8]) -> Result<usize, NetError> {
        loop {
            let mut slice = &mut *buf;
            match self.sock.recv(&mut slice, 0) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(NetError::op(what(), e)),
            }
        }
    }

    /// Sends a get request (no dump) and returns the one answer, or None
    /// when the kernel says the object does not exist (ENODEV, ENOENT,
    /// ESRCH, EADDRNOTAVAIL).
    pub fn get(
        &self,
        what: impl Fn() -> String,
        msg: RouteNetlinkMessage,
    ) -> Result<Option<RouteNetlinkMessage>, NetError> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST;
        let seq = self.send(&what, req)?;
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let n = self.recv(&what, &mut buf)?;
            for raw in frames(&buf[..n]) {
                if raw.seq != seq {
                    continue;
                }
                if raw.ty == NLMSG_ERROR {
                    return match error_of(raw.payload, raw.flags) {
                        None => Ok(None),
                        Some(e) if is_not_found(&e) => Ok(None),
                        Some(e) => Err(NetError::op(what(), e)),
                    };
                }
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(raw.whole)
                    .map_err(|e| NetError::op(what(), invalid(e)))?;
                if let NetlinkPayload::InnerMessage(inner) = m.payload {
                    return Ok(Some(inner));
                }
            }
        }
    }

    /// Sends a dump request (RTM_GET* with NLM_F_DUMP) and collects the
    /// replies until NLMSG_DONE.
    pub fn dump(
        &self,
        what: &str,
        msg: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, NetError> {
        let what_f = || what.to_string();
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let seq = self.send(&what_f, req)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let n = self.recv(&what_f, &mut buf)?;
            if n == 0 {
                return Err(NetError::op(
                    what,
                    io::Error::from(io::ErrorKind::UnexpectedEof),
                ));
            }
            for raw in frames(&buf[..n]) {
                if raw.seq != seq {
                    continue;
                }
                match raw.ty {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        if let Some(e) = error_of(raw.payload, raw.flags) {
                            return Err(NetError::op(what, e));
                        }
                    }
                    _ => {
                        let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(raw.whole)
                            .map_err(|e| NetError::op(what, invalid(e)))?;
                        if let NetlinkPayload::InnerMessage(inner) = m.payload {
                            out.push(inner);
                        }
                    }
                }
            }
        }
    }
}

/// Runs `f` with this thread in the network namespace `netns_file`, then
/// returns to the original one. luxc is single-threaded, so nothing else
/// runs meanwhile; failing to return is fatal (every later socket and link
/// would silently land in the wrong namespace).
pub fn in_netns<T>(netns_file: &File, f: impl FnOnce() -> T) -> Result<T, NetError> {
    let orig = File::open("/proc/thread-self/ns/net")
        .or_else(|_| File::open("/proc/self/ns/net"))
        .map_err(|e| NetError::op("open own netns", e))?;
    nix::sched::setns(netns_file, CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetError::op("enter netns", e.into()))?;
    let result = f();
    if let Err(e) = nix::sched::setns(&orig, CloneFlags::CLONE_NEWNET) {
        panic!("netlink: cannot return to the original netns: {e}");
    }
    Ok(result)
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// The kernel's "does not exist" answers to a get.
fn is_not_found(e: &io::Error) -> bool {
    matches!(
        errno(e),
        Some(nix::libc::ENODEV)
            | Some(nix::libc::ENOENT)
            | Some(nix::libc::ESRCH)
            | Some(nix::libc::EADDRNOTAVAIL)
    )
}

/// The kernel's error with its extended-ack text ("File exists (os error
/// 17): Unknown device type"); the errno stays readable through `errno`.
#[derive(Debug)]
struct KernelError {
    errno: i32,
    text: String,
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for KernelError {}

/// The errno behind an error of the network primitives, with or without
/// the kernel's extended-ack text.
pub fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<KernelError>())
            .map(|k| k.errno)
    })
}

/// One netlink message in a receive buffer.
struct Frame<'a> {
    ty: u16,
    flags: u16,
    seq: u32,
    /// The message after its 16-byte header.
    payload: &'a [u8],
    /// The whole message, header included.
    whole: &'a [u8],
}

/// Splits a receive buffer into messages (4-byte aligned, as the kernel
/// sends them); a truncated tail is dropped.
fn frames(buf: &[u8]) -> Vec<Frame<'_>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
        if len < 16 || off + len > buf.len() {
            break;
        }
        out.push(Frame {
            ty: u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap()),
            flags: u16::from_ne_bytes(buf[off + 6..off + 8].try_into().unwrap()),
            seq: u32::from_ne_bytes(buf[off + 8..off + 12].try_into().unwrap()),
            payload: &buf[off + 16..off + len],
            whole: &buf[off..off + len],
        });
        off += (len + 3) & !3;
    }
    out
}

/// The error an NLMSG_ERROR payload carries (None for an ack), with the
/// kernel's extended-ack message appended when it sent one.
fn error_of(payload: &[u8], flags: u16) -> Option<io::Error> {
    if payload.len() < 4 {
        return Some(io::Error::new(
            io::ErrorKind::InvalidData,
            "short netlink error",
        ));
    }
    let code = i32::from_ne_bytes(payload[0..4].try_into().unwrap());
    if code == 0 {
        return None;
    }
    let errno = -code;
    let base = io::Error::from_raw_os_error(errno);
    // After the errno: the failed request's header (all of it when not
    // capped), then TLVs.
    let mut off = 4;
    if payload.len() >= off + 16 {
        let req_len = u32::from_ne_bytes(payload[off..off + 4].try_into().unwrap()) as usize;
        off += if flags & NLM_F_CAPPED != 0 {
            16
        } else {
            req_len.max(16)
        };
    }
    if flags & NLM_F_ACK_TLVS != 0 {
        while off + 4 <= payload.len() {
            let len = u16::from_ne_bytes(payload[off..off + 2].try_into().unwrap()) as usize;
            let ty = u16::from_ne_bytes(payload[off + 2..off + 4].try_into().unwrap()) & 0x3fff;
            if len < 4 || off + len > payload.len() {
                break;
            }
            if ty == NLMSGERR_ATTR_MSG {
                let text = &payload[off + 4..off + len];
                let text = String::from_utf8_lossy(text.split(|b| *b == 0).next().unwrap_or(&[]));
                if !text.is_empty() {
                    return Some(io::Error::new(
                        base.kind(),
                        KernelError {
                            errno,
                            text: format!("{base}: {text}"),
                        },
                    ));
                }
            }
            off += (len + 3) & !3;
        }
    }
    Some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u32).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn acks_errors_and_extended_acks_are_read() {
        let ack = msg(NLMSG_ERROR, 0, 7, &[0, 0, 0, 0]);
        let f = frames(&ack);
        assert_eq!((f.len(), f[0].seq), (1, 7));
        assert!(error_of(f[0].payload, f[0].flags).is_none());

        // EEXIST with a capped request header and an extack message.
        let mut p = (-17i32).to_ne_bytes().to_vec();
        p.extend_from_slice(&msg(16, 0, 7, &[]));
        let text = b"Unknown device type\0";
        let tlv_len = 4 + text.len();
        p.extend_from_slice(&(tlv_len as u16).to_ne_bytes());
        p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        p.extend_from_slice(text);
        let two = [msg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 8, &p), ack].concat();
        let f = frames(&two);
        assert_eq!(f.len(), 2);
        let e = error_of(f[0].payload, f[0].flags).unwrap();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(errno(&e), Some(17));
        assert!(e.to_string().ends_with(": Unknown device type"), "{e}");
        // A truncated tail is not a message.
        assert_eq!(frames(&two[..two.len() - 2]).len(), 1);
    }
}
