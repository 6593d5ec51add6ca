//! NAT with nftables: masquerade (`luxc.net.nat`) and port forwarding
//! (`luxc.net.forward`) as rules in one table per lab (`inet luxc-LAB`), so
//! teardown removes exactly that table. Rules are loaded with the `nft` tool
//! (Debian's nftables package) run in the namespace concerned; its own error
//! text is passed on.

use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::addr::Cidr;
use super::NetError;

/// The nftables table of lab `lab`.
pub fn table_name(lab: &str) -> String {
    format!("luxc-{lab}")
}

/// Runs `nft -f -` with `script` in namespace `netns` (None: luxc's own).
fn nft(netns: Option<&File>, what: &str, script: &str) -> Result<(), NetError> {
    let mut cmd = Command::new("nft");
    cmd.args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(ns) = netns {
        let fd = ns.as_raw_fd();
        // SAFETY: setns is async-signal-safe; nothing else runs in the child.
        unsafe {
            cmd.pre_exec(move || {
                if nix::libc::setns(fd, nix::libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " (install Debian's nftables package: apt-get install nftables)"
        } else {
            ""
        };
        NetError::op(format!("{what}: run nft{hint}"), e)
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(script.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetError::op(format!("{what}: nft"), e))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let first = text
        .lines()
        .find(|l| l.contains("Error"))
        .or_else(|| text.lines().next())
        .unwrap_or("failed")
        .trim()
        .to_string();
    Err(NetError::op(what.to_string(), std::io::Error::other(first)))
}

/// Creates the lab's table with its nat chains (postrouting, prerouting,
/// output); an existing table of that name is an error, so luxc never adopts
/// a table it did not make.
pub fn create_table(netns: Option<&File>, table: &str) -> Result<(), NetError> {
    let script = format!(
        "create table inet {table}\n\
         add chain inet {table} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n\
         add chain inet {table} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n\
         add chain inet {table} output {{ type nat hook output priority -100; policy accept; }}\n"
    );
    nft(netns, &format!("create nft table inet {table}"), &script)
}

/// Deletes the lab's table (and its rules).
pub fn delete_table(netns: Option<&File>, table: &str) -> Result<(), NetError> {
    nft(
        netns,
        &format!("delete nft table inet {table}"),
        &format!("delete table inet {table}\n"),
    )
}

/// Masquerades traffic from `source` leaving through `out` (any interface
/// when None).
pub fn masquerade(
    netns: Option<&File>,
    table: &str,
    source: &Cidr,
    out: Option<&str>,
) -> Result<(), NetError> {
    let fam = if source.addr.is_ipv4() { "ip" } else { "ip6" };
    let oif = out.map(|o| format!(" oifname \"{o}\"")).unwrap_or_default();
    let rule = format!(
        "add rule inet {table} postrouting {fam} saddr {}{oif} masquerade\n",
        source.network()
    );
    nft(
        netns,
        &format!(
            "nat {}{}",
            source.network(),
            out.map(|o| format!(" out {o}")).unwrap_or_default()
        ),
        &rule,
    )
}

/// A port forward: connections to `port` (tcp or udp) on an address of
/// this namespace go to `to`:`to_port`, from outside (prerouting) and from
/// the namespace itself (output).
pub struct Forward<'a> {
    pub proto: &'a str,
    pub port: u16,
    pub to: IpAddr,
    pub to_port: u16,
}

/// Adds the DNAT rules of `f`.
pub fn forward(netns: Option<&File>, table: &str, f: &Forward) -> Result<(), NetError> {
    if f.proto != "tcp" && f.proto != "udp" {
        return Err(NetError::Invalid(format!(
            "proto '{}': expected tcp or udp",
            f.proto
        )));
    }
    let (fam, to) = match f.to {
        IpAddr::V4(a) => ("ip", format!("{a}:{}", f.to_port)),
        IpAddr::V6(a) => ("ip6", format!("[{a}]:{}", f.to_port)),
    };
    // `fib daddr type local`: only traffic addressed to this namespace's own
    // addresses is redirected, never traffic passing through to port N
    // elsewhere.
    let m = format!(
        "fib daddr type local {} dport {} dnat {fam} to {to}",
        f.proto, f.port
    );
    let script =
        format!("add rule inet {table} prerouting {m}\nadd rule inet {table} output {m}\n");
    nft(
        netns,
        &format!("forward {}/{} to {to}", f.proto, f.port),
        &script,
    )
}

/// Whether the table exists in `netns`.
pub fn table_exists(netns: Option<&File>, table: &str) -> Result<bool, NetError> {
    match nft(netns, "list", &format!("list table inet {table}\n")) {
        Ok(()) => Ok(true),
        Err(NetError::Op { source, .. }) if source.to_string().contains("No such file") => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
