//! Device access control for container cgroups: deny by default, explicit grants.
//!
//! A container's device policy is one ordered list of [`DeviceRule`]s with these
//! semantics, the same on every host:
//!
//! - rules are tried in order and the first rule that matches a request decides it;
//!   a request no rule matches is denied;
//! - an **allow** rule matches when the device matches and every requested access bit
//!   is in the rule (an open for read and write needs a rule granting both);
//! - a **deny** rule matches when the device matches and any requested access bit is
//!   in the rule (a rule denying `w` denies an open for read and write);
//! - kind `a` means both character and block devices, `None` major/minor any number.
//!
//! Those are exactly the checks the cgroup v1 kernel does (an allow-list group needs one
//! exception covering the whole request, a deny-list group refuses a request touching
//! any denied bit), so a list is enforced identically by:
//!
//! - cgroup v2 ([`apply_v2`]): an eBPF `BPF_PROG_TYPE_CGROUP_DEVICE` program built by
//!   [`program`], attached to the container's cgroup, as runc, crun and youki do.
//!   cgroups-rs (0.5) has no v2 device support at all, hence this code.
//! - cgroup v1 ([`apply_v1`]): `devices.deny`/`devices.allow` writes computed by
//!   [`v1_plan`]. v1 cannot express every ordered list (it has one default and one list
//!   of exceptions, and cannot punch a hole into a wildcard exception); such lists are
//!   refused with [`DeviceError::V1Unsupported`] rather than enforced differently.

use std::fmt;
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::libc;

/// One device grant or refusal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRule {
    /// `'c'` (character), `'b'` (block) or `'a'` (both).
    pub kind: char,
    /// Major number; `None` matches any.
    pub major: Option<u32>,
    /// Minor number; `None` matches any.
    pub minor: Option<u32>,
    /// A non-empty subset of `"rwm"`: read, write, mknod.
    pub access: String,
    /// `true` grants, `false` refuses.
    pub allow: bool,
}

/// Highest major number the kernel's `dev_t` can carry (12 bits).
pub const MAX_MAJOR: u32 = (1 << 12) - 1;
/// Highest minor number the kernel's `dev_t` can carry (20 bits).
pub const MAX_MINOR: u32 = (1 << 20) - 1;

/// Access bits as the kernel passes them in `bpf_cgroup_dev_ctx.access_type >> 16`.
pub const ACC_MKNOD: u32 = 1;
/// Read access bit.
pub const ACC_READ: u32 = 2;
/// Write access bit.
pub const ACC_WRITE: u32 = 4;
const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;
/// Device type as the kernel passes it in `bpf_cgroup_dev_ctx.access_type & 0xffff`.
pub const DEV_BLOCK: u32 = 1;
/// Character device type.
pub const DEV_CHAR: u32 = 2;

impl DeviceRule {
    /// A rule granting `access` to the devices matched by `kind`, `major` and `minor`.
    pub fn allow(kind: char, major: Option<u32>, minor: Option<u32>, access: &str) -> Self {
        DeviceRule {
            kind,
            major,
            minor,
            access: access.to_owned(),
            allow: true,
        }
    }

    /// A rule refusing `access` to the devices matched by `kind`, `major` and `minor`.
    pub fn deny(kind: char, major: Option<u32>, minor: Option<u32>, access: &str) -> Self {
        DeviceRule {
            allow: false,
            ..DeviceRule::allow(kind, major, minor, access)
        }
    }

    /// Parses an access string (a non-empty subset of `"rwm"`, in any order, repeats
    /// allowed) into the kernel's bits: [`ACC_MKNOD`] | [`ACC_READ`] | [`ACC_WRITE`].
    pub fn parse_access(access: &str) -> Result<u32, DeviceError> {
        let bad = |reason: String| DeviceError::Access {
            access: access.to_owned(),
            reason,
        };
        if access.is_empty() {
            return Err(bad("is empty; expected a subset of \"rwm\"".into()));
        }
        access.chars().try_fold(0, |bits, c| match c {
            'r' => Ok(bits | ACC_READ),
            'w' => Ok(bits | ACC_WRITE),
            'm' => Ok(bits | ACC_MKNOD),
            other => Err(bad(format!("has {other:?}; expected a subset of \"rwm\""))),
        })
    }

    /// Parses a line in the cgroup v1 format, `"c 1:3 rwm"`, `"c 136:* rw"`, `"a"`.
    pub fn parse_v1_line(line: &str, allow: bool) -> Result<Self, DeviceError> {
        let bad = |reason: &str| DeviceError::Line {
            line: line.to_owned(),
            reason: reason.to_owned(),
        };
        let mut words = line.split_whitespace();
        let kind = match words.next() {
            Some("a") => 'a',
            Some("c") => 'c',
            Some("b") => 'b',
            _ => return Err(bad("expected type a, c or b first")),
        };
        let numbers = words.next();
        let access = words.next();
        if words.next().is_some() {
            return Err(bad(
                "expected at most three fields: type major:minor access",
            ));
        }
        let (major, minor) = match numbers {
            None => (None, None),
            Some(numbers) => {
                let (major, minor) = numbers
                    .split_once(':')
                    .ok_or_else(|| bad("expected major:minor"))?;
                let number = |s: &str| match s {
                    "*" => Ok(None),
                    s => s
                        .parse::<u32>()
                        .map(Some)
                        .map_err(|_| bad("expected a number or * for major and minor")),
                };
                (number(major)?, number(minor)?)
            }
        };
        let rule = DeviceRule {
            kind,
            major,
            minor,
            access: access.unwrap_or("rwm").to_owned(),
            allow,
        };
        validate(std::slice::from_ref(&rule))?;
        Ok(rule)
    }

    /// The rule as cgroup v1 writes and lists it: `"c 1:3 rwm"`, `"c 136:* rwm"`,
    /// `"a *:* rwm"`. Access is printed in the kernel's order (r, w, m) whatever order
    /// the rule spells it in.
    pub fn v1_line(&self) -> String {
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        let bits = access_bits_lenient(&self.access);
        let mut access = String::with_capacity(3);
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if bits & bit != 0 {
                access.push(c);
            }
        }
        format!(
            "{} {}:{} {}",
            self.kind,
            number(self.major),
            number(self.minor),
            access
        )
    }
}

impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.allow { "allow" } else { "deny" };
        write!(f, "{verb} {}", self.v1_line())
    }
}

/// Why a device policy could not be checked or applied.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// An access string is not a non-empty subset of "rwm".
    #[error("device access '{access}' {reason}")]
    Access { access: String, reason: String },
    /// A rule is malformed (kind, numbers or access).
    #[error("device rule '{rule}': {reason}")]
    Rule { rule: String, reason: String },
    /// A v1-format line could not be parsed.
    #[error("parse device rule '{line}': {reason}")]
    Line { line: String, reason: String },
    /// The ordered list cannot be enforced by cgroup v1 exactly as on v2.
    #[error("device rule '{rule}' cannot be expressed with cgroup v1 devices.allow/devices.deny: {reason}")]
    V1Unsupported { rule: String, reason: String },
    /// Writing a rule to devices.allow or devices.deny failed.
    #[error("write '{line}' to {}: {source}", path.display())]
    Write {
        line: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The cgroup directory could not be opened for BPF attachment.
    #[error("open cgroup directory {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A bpf(2) command failed.
    #[error("bpf({op}) {what}: {}{}", errno.desc(), log_suffix(log))]
    Bpf {
        /// The command, e.g. "BPF_PROG_LOAD".
        op: &'static str,
        /// What it was done on, e.g. "device filter to /sys/fs/cgroup/x".
        what: String,
        errno: Errno,
        /// The verifier's log, for BPF_PROG_LOAD.
        log: Option<String>,
    },
}

fn log_suffix(log: &Option<String>) -> String {
    match log {
        Some(log) if !log.trim().is_empty() => {
            format!(" (verifier log: {})", log.trim().replace('\n', "; "))
        }
        _ => String::new(),
    }
}

/// What every container may use: the null, zero, full, random, urandom, tty and ptmx
/// character devices and the pseudo-terminals (136:*), read, write and mknod; plus
/// mknod (but no access) of any character or block device, as Docker allows.
pub fn default_allowed() -> Vec<DeviceRule> {
    let mut rules: Vec<DeviceRule> = [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 2)]
        .into_iter()
        .map(|(major, minor)| DeviceRule::allow('c', Some(major), Some(minor), "rwm"))
        .collect();
    rules.push(DeviceRule::allow('c', Some(136), None, "rwm"));
    rules.push(DeviceRule::allow('c', None, None, "m"));
    rules.push(DeviceRule::allow('b', None, None, "m"));
    rules
}

/// Checks every rule: kind `c`, `b` or `a`; access a non-empty subset of "rwm"; major
/// at most [`MAX_MAJOR`] and minor at most [`MAX_MINOR`].
pub fn validate(rules: &[DeviceRule]) -> Result<(), DeviceError> {
    for rule in rules {
        let bad = |reason: String| DeviceError::Rule {
            rule: rule_text(rule),
            reason,
        };
        if !matches!(rule.kind, 'c' | 'b' | 'a') {
            return Err(bad(format!("type {:?} is not c, b or a", rule.kind)));
        }
        DeviceRule::parse_access(&rule.access).map_err(|e| bad(e.to_string()))?;
        if let Some(major) = rule.major.filter(|&m| m > MAX_MAJOR) {
            return Err(bad(format!("major {major} is above {MAX_MAJOR}")));
        }
        if let Some(minor) = rule.minor.filter(|&m| m > MAX_MINOR) {
            return Err(bad(format!("minor {minor} is above {MAX_MINOR}")));
        }
    }
    Ok(())
}

/// A rule as text for messages, without normalising its access (which may be invalid).
fn rule_text(rule: &DeviceRule) -> String {
    let number = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
    let verb = if rule.allow { "allow" } else { "deny" };
    format!(
        "{verb} {} {}:{} {}",
        rule.kind,
        number(rule.major),
        number(rule.minor),
        rule.access
    )
}

/// Access bits of a string, ignoring characters other than r, w and m.
fn access_bits_lenient(access: &str) -> u32 {
    access.chars().fold(0, |bits, c| match c {
        'r' => bits | ACC_READ,
        'w' => bits | ACC_WRITE,
        'm' => bits | ACC_MKNOD,
        _ => bits,
    })
}

// ---------------------------------------------------------------------------------
// cgroup v1
// ---------------------------------------------------------------------------------

/// What to write to a v1 devices group to enforce an ordered list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Plan {
    /// `false`: write "a" to devices.deny, then each exception to devices.allow
    /// (allow-list group). `true`: write "a" to devices.allow, then each exception to
    /// devices.deny (deny-list group).
    pub default_allow: bool,
    /// The exceptions, kind `c` or `b` only, each device tuple once.
    pub exceptions: Vec<DeviceRule>,
}

/// One rule with kind `c` or `b`, access as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    kind: char,
    major: Option<u32>,
    minor: Option<u32>,
    access: u32,
}

impl Piece {
    fn rule(self, allow: bool) -> DeviceRule {
        let mut access = String::new();
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        DeviceRule {
            kind: self.kind,
            major: self.major,
            minor: self.minor,
            access,
            allow,
        }
    }

    fn same_device(&self, other: &Piece) -> bool {
        (self.kind, self.major, self.minor) == (other.kind, other.major, other.minor)
    }

    /// No device matches both.
    fn disjoint(&self, other: &Piece) -> bool {
        let differ =
            |a: Option<u32>, b: Option<u32>| matches!((a, b), (Some(a), Some(b)) if a != b);
        self.kind != other.kind
            || differ(self.major, other.major)
            || differ(self.minor, other.minor)
    }

    /// Every device `other` matches, `self` matches too.
    fn covers(&self, other: &Piece) -> bool {
        let covers = |a: Option<u32>, b: Option<u32>| a.is_none() || a == b;
        self.kind == other.kind
            && covers(self.major, other.major)
            && covers(self.minor, other.minor)
    }
}

/// The rules with kind `a` split into `c` and `b`, access as bits.
fn pieces(rules: &[DeviceRule]) -> Vec<(Piece, bool, &DeviceRule)> {
    let mut out = Vec::new();
    for rule in rules {
        let kinds: &[char] = match rule.kind {
            'a' => &['c', 'b'],
            'c' => &['c'],
            _ => &['b'],
        };
        for &kind in kinds {
            let piece = Piece {
                kind,
                major: rule.major,
                minor: rule.minor,
                access: access_bits_lenient(&rule.access),
            };
            out.push((piece, rule.allow, rule));
        }
    }
    out
}

/// Computes the cgroup v1 writes that enforce `rules` with the semantics of the module
/// documentation (the same decisions as [`program`] on v2), or says why v1 cannot.
///
/// An allow-list group is used when possible: every allow rule, minus what earlier
/// deny rules take away, becomes an exception. Where an earlier deny rule would punch
/// a hole into a wildcard grant (deny `c 1:3` before allow `a`), a deny-list group is
/// tried instead, which needs an unconditional grant of each type (`a *:* rwm`) in the
/// list: then every deny rule before it, minus what earlier grants take away, becomes
/// an exception.
pub fn v1_plan(rules: &[DeviceRule]) -> Result<V1Plan, DeviceError> {
    validate(rules)?;
    let pieces = pieces(rules);
    match allow_list_plan(&pieces) {
        Ok(plan) => Ok(plan),
        Err(allow_list_err) => deny_list_plan(&pieces).ok_or(allow_list_err),
    }
}

fn unsupported(rule: &DeviceRule, reason: String) -> DeviceError {
    DeviceError::V1Unsupported {
        rule: rule.to_string(),
        reason,
    }
}

fn allow_list_plan(pieces: &[(Piece, bool, &DeviceRule)]) -> Result<V1Plan, DeviceError> {
    let mut exceptions: Vec<Piece> = Vec::new();
    let mut origin: Vec<&DeviceRule> = Vec::new();
    for (i, &(grant, allow, rule)) in pieces.iter().enumerate() {
        if !allow {
            continue;
        }
        // The requests this grant decides: those no earlier deny rule takes first.
        let mut left = Some(grant);
        for &(deny, deny_allow, deny_rule) in &pieces[..i] {
            let Some(piece) = left else { break };
            if deny_allow || piece.disjoint(&deny) || piece.access & deny.access == 0 {
                continue;
            }
            if !deny.covers(&piece) {
                return Err(unsupported(
                    rule,
                    format!("the earlier rule '{deny_rule}' would punch a hole into it"),
                ));
            }
            let access = piece.access & !deny.access;
            left = (access != 0).then_some(Piece { access, ..piece });
        }
        let Some(piece) = left else { continue };
        // The kernel merges exceptions of one device into one, or-ing their access;
        // that only keeps the decisions when one of them already holds the other's bits.
        if let Some(j) = exceptions.iter().position(|e| e.same_device(&piece)) {
            let merged = exceptions[j].access | piece.access;
            if merged != exceptions[j].access && merged != piece.access {
                return Err(unsupported(
                    rule,
                    format!(
                        "the kernel would merge it with '{}' into '{}'",
                        origin[j],
                        Piece {
                            access: merged,
                            ..piece
                        }
                        .rule(true)
                    ),
                ));
            }
            exceptions[j].access = merged;
        } else {
            exceptions.push(piece);
            origin.push(rule);
        }
    }
    Ok(V1Plan {
        default_allow: false,
        exceptions: exceptions.into_iter().map(|p| p.rule(true)).collect(),
    })
}

fn deny_list_plan(pieces: &[(Piece, bool, &DeviceRule)]) -> Option<V1Plan> {
    // Where each type is granted unconditionally; later rules of that type never decide.
    let cutoff = |kind: char| {
        pieces.iter().position(|(p, allow, _)| {
            *allow
                && p.kind == kind
                && p.major.is_none()
                && p.minor.is_none()
                && p.access == ACC_ALL
        })
    };
    let (char_cut, block_cut) = (cutoff('c')?, cutoff('b')?);
    let mut exceptions: Vec<Piece> = Vec::new();
    for (i, &(refusal, allow, _)) in pieces.iter().enumerate() {
        let cut = if refusal.kind == 'c' {
            char_cut
        } else {
            block_cut
        };
        if allow || i > cut {
            continue;
        }
        // The requests this refusal decides: those no earlier grant takes first.
        let mut left = Some(refusal);
        for &(grant, grant_allow, _) in &pieces[..i] {
            let Some(piece) = left else { break };
            if !grant_allow || piece.disjoint(&grant) || piece.access & grant.access == 0 {
                continue;
            }
            if grant.covers(&piece) && grant.access == ACC_ALL {
                left = None;
            } else {
                return None;
            }
        }
        let Some(piece) = left else { continue };
        // Deny-list exceptions refuse any overlapping bit, so merging keeps decisions.
        match exceptions.iter_mut().find(|e| e.same_device(&piece)) {
            Some(e) => e.access |= piece.access,
            None => exceptions.push(piece),
        }
    }
    Some(V1Plan {
        default_allow: true,
        exceptions: exceptions.into_iter().map(|p| p.rule(false)).collect(),
    })
}

/// Enforces `rules` on a cgroup v1 devices group: `dir` is the group's directory in
/// the devices hierarchy (e.g. /sys/fs/cgroup/devices/lab/c1). Resets the group
/// ("a" to devices.deny, or to devices.allow for a deny-list plan), then writes each
/// exception of [`v1_plan`]. The group must have no child groups yet (the kernel
/// refuses to reset a group with children), and a group can only be granted what its
/// parent has.
pub fn apply_v1(dir: &Path, rules: &[DeviceRule]) -> Result<(), DeviceError> {
    let plan = v1_plan(rules)?;
    let (reset_file, exception_file) = if plan.default_allow {
        ("devices.allow", "devices.deny")
    } else {
        ("devices.deny", "devices.allow")
    };
    write_v1(&dir.join(reset_file), "a")?;
    let path = dir.join(exception_file);
    for exception in &plan.exceptions {
        write_v1(&path, &exception.v1_line())?;
    }
    Ok(())
}

/// One rule per write(2), as the kernel parses one rule per write.
fn write_v1(path: &Path, line: &str) -> Result<(), DeviceError> {
    fs::write(path, line).map_err(|source| DeviceError::Write {
        line: line.to_owned(),
        path: path.to_owned(),
        source,
    })
}

// ---------------------------------------------------------------------------------
// The eBPF program
// ---------------------------------------------------------------------------------

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    /// Opcode.
    pub code: u8,
    /// Destination register (low nibble on little-endian) and source register.
    pub regs: u8,
    /// Signed offset: jump distance in instructions, or memory offset.
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

/// Opcodes the device filter uses.
pub mod op {
    /// `dst = *(u32 *)(src + off)`
    pub const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
    /// `dst = (u32)dst & imm`
    pub const AND32_IMM: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
    /// `dst = (u32)dst >> imm`
    pub const RSH32_IMM: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
    /// `dst = (u32)src`
    pub const MOV32_REG: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
    /// `dst = imm` (64-bit)
    pub const MOV64_IMM: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    /// `if dst != imm goto pc + 1 + off`
    pub const JNE_IMM: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
    /// `if dst == imm goto pc + 1 + off`
    pub const JEQ_IMM: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    /// `return r0`
    pub const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT
}

impl BpfInsn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        #[cfg(target_endian = "little")]
        let regs = (src << 4) | (dst & 0x0f);
        #[cfg(target_endian = "big")]
        let regs = (dst << 4) | (src & 0x0f);
        BpfInsn {
            code,
            regs,
            off,
            imm,
        }
    }

    /// Destination register.
    pub fn dst(&self) -> u8 {
        #[cfg(target_endian = "little")]
        return self.regs & 0x0f;
        #[cfg(target_endian = "big")]
        return self.regs >> 4;
    }

    /// Source register.
    pub fn src(&self) -> u8 {
        #[cfg(target_endian = "little")]
        return self.regs >> 4;
        #[cfg(target_endian = "big")]
        return self.regs & 0x0f;
    }

    /// The instruction as one 64-bit word, as it lies in memory.
    pub fn to_u64(self) -> u64 {
        let mut bytes = [0u8; 8];
        bytes[0] = self.code;
        bytes[1] = self.regs;
        bytes[2..4].copy_from_slice(&self.off.to_ne_bytes());
        bytes[4..8].copy_from_slice(&self.imm.to_ne_bytes());
        u64::from_ne_bytes(bytes)
    }
}

impl fmt::Display for BpfInsn {
    /// A disassembly in the style of the kernel's verifier log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, s, off, imm) = (self.dst(), self.src(), self.off, self.imm);
        match self.code {
            op::LDX_W => write!(f, "r{d} = *(u32 *)(r{s} {off:+})"),
            op::AND32_IMM => write!(f, "w{d} &= {:#x}", imm as u32),
            op::RSH32_IMM => write!(f, "w{d} >>= {imm}"),
            op::MOV32_REG => write!(f, "w{d} = w{s}"),
            op::MOV64_IMM => write!(f, "r{d} = {imm}"),
            op::JNE_IMM => write!(f, "if r{d} != {imm} goto {off:+}"),
            op::JEQ_IMM => write!(f, "if r{d} == {imm} goto {off:+}"),
            op::EXIT => write!(f, "exit"),
            code => write!(f, "<{code:#04x} r{d} r{s} {off} {imm}>"),
        }
    }
}

// Registers of the program.
const R_RET: u8 = 0;
const R_CTX: u8 = 1;
const R_TMP: u8 = 1; // the context pointer is dead once the fields are loaded
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;

/// The eBPF program enforcing `rules` (a `BPF_PROG_TYPE_CGROUP_DEVICE` program; the
/// context is `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
/// 1 = allow, 0 = deny). Layout:
///
/// ```text
///   r2 = *(u32 *)(r1 + 0); w2 &= 0xffff    device type: 1 block, 2 char
///   r3 = *(u32 *)(r1 + 0); w3 >>= 16       access: 1 mknod, 2 read, 4 write
///   r4 = *(u32 *)(r1 + 4)                  major
///   r5 = *(u32 *)(r1 + 8)                  minor
/// per rule, each test jumping to the next rule when it fails:
///   if r2 != TYPE goto next                unless kind 'a'
///   w1 = w3; w1 &= ~ACCESS & 7             allow rule, unless access is rwm:
///   if r1 != 0 goto next                     every requested bit granted
///   w1 = w3; w1 &= ACCESS                  deny rule, unless access is rwm:
///   if r1 == 0 goto next                     some requested bit refused
///   if r4 != MAJOR goto next               unless major is any
///   if r5 != MINOR goto next               unless minor is any
///   r0 = 1 (allow) or 0 (deny); exit
/// after the rules:
///   r0 = 0; exit
/// ```
///
/// A rule that matches every request ends the program (the verifier refuses
/// unreachable instructions); the loads are left out when no rule needs them. Rules
/// failing [`validate`] are left out (they never match, so never grant anything).
pub fn program(rules: &[DeviceRule]) -> Vec<BpfInsn> {
    let valid: Vec<&DeviceRule> = rules
        .iter()
        .filter(|rule| validate(std::slice::from_ref(*rule)).is_ok())
        .collect();
    let mut insns = Vec::new();
    if !valid.is_empty() {
        insns.extend([
            BpfInsn::new(op::LDX_W, R_TYPE, R_CTX, 0, 0),
            BpfInsn::new(op::AND32_IMM, R_TYPE, 0, 0, 0xffff),
            BpfInsn::new(op::LDX_W, R_ACCESS, R_CTX, 0, 0),
            BpfInsn::new(op::RSH32_IMM, R_ACCESS, 0, 0, 16),
            BpfInsn::new(op::LDX_W, R_MAJOR, R_CTX, 4, 0),
            BpfInsn::new(op::LDX_W, R_MINOR, R_CTX, 8, 0),
        ]);
    }
    for rule in valid {
        let block = rule_block(rule);
        let unconditional = block.len() == 2;
        insns.extend(block);
        if unconditional {
            return insns;
        }
    }
    insns.extend([
        BpfInsn::new(op::MOV64_IMM, R_RET, 0, 0, 0),
        BpfInsn::new(op::EXIT, 0, 0, 0, 0),
    ]);
    insns
}

/// The instructions of one rule; jumps marked with offset `i16::MIN` are patched to
/// land just past the block.
fn rule_block(rule: &DeviceRule) -> Vec<BpfInsn> {
    const NEXT: i16 = i16::MIN;
    let mut block = Vec::new();
    match rule.kind {
        'c' => block.push(BpfInsn::new(op::JNE_IMM, R_TYPE, 0, NEXT, DEV_CHAR as i32)),
        'b' => block.push(BpfInsn::new(op::JNE_IMM, R_TYPE, 0, NEXT, DEV_BLOCK as i32)),
        _ => {}
    }
    let access = access_bits_lenient(&rule.access);
    if access != ACC_ALL {
        block.push(BpfInsn::new(op::MOV32_REG, R_TMP, R_ACCESS, 0, 0));
        if rule.allow {
            block.push(BpfInsn::new(
                op::AND32_IMM,
                R_TMP,
                0,
                0,
                (!access & ACC_ALL) as i32,
            ));
            block.push(BpfInsn::new(op::JNE_IMM, R_TMP, 0, NEXT, 0));
        } else {
            block.push(BpfInsn::new(op::AND32_IMM, R_TMP, 0, 0, access as i32));
            block.push(BpfInsn::new(op::JEQ_IMM, R_TMP, 0, NEXT, 0));
        }
    }
    // Majors and minors fit in 12 and 20 bits (validated), so the sign-extended
    // immediate of a 64-bit compare equals the zero-extended 32-bit field.
    if let Some(major) = rule.major {
        block.push(BpfInsn::new(op::JNE_IMM, R_MAJOR, 0, NEXT, major as i32));
    }
    if let Some(minor) = rule.minor {
        block.push(BpfInsn::new(op::JNE_IMM, R_MINOR, 0, NEXT, minor as i32));
    }
    block.push(BpfInsn::new(
        op::MOV64_IMM,
        R_RET,
        0,
        0,
        i32::from(rule.allow),
    ));
    block.push(BpfInsn::new(op::EXIT, 0, 0, 0, 0));
    let len = block.len();
    for (i, insn) in block.iter_mut().enumerate() {
        if insn.off == NEXT {
            // Relative to the instruction after the jump; the block is a few
            // instructions long, so this always fits.
            insn.off = (len - i - 1) as i16;
        }
    }
    block
}

// ---------------------------------------------------------------------------------
// cgroup v2: bpf(2)
// ---------------------------------------------------------------------------------

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_int = 15;
const BPF_PROG_QUERY: libc::c_int = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const BPF_OBJ_NAME_LEN: usize = 16;

/// The name luxc gives its device filters (shown by `bpftool cgroup show`), by which
/// [`apply_v2`] recognises and replaces its own earlier filter.
pub const PROGRAM_NAME: &str = "luxc_devices";

/// The license string of the program; it calls no helpers, GPL-only or otherwise.
const LICENSE: &[u8] = b"Apache-2.0\0";

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; BPF_OBJ_NAME_LEN],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct InfoByFdAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The leading part of `struct bpf_prog_info`, up to the name; the kernel accepts a
/// shorter buffer and fills what fits.
#[repr(C)]
#[derive(Default)]
struct ProgInfoPrefix {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; BPF_OBJ_NAME_LEN],
}

/// bpf(2). Safety: `attr` must be the attribute struct `cmd` expects, with every
/// pointer in it valid for the call.
unsafe fn sys_bpf<T>(cmd: libc::c_int, attr: &mut T) -> Result<libc::c_long, Errno> {
    let ret = libc::syscall(
        libc::SYS_bpf,
        cmd,
        attr as *mut T,
        std::mem::size_of::<T>() as libc::c_uint,
    );
    Errno::result(ret)
}

/// Loads the device filter for `rules`; retries with a verifier log to report why
/// the kernel refused it.
pub fn load_program(rules: &[DeviceRule]) -> Result<OwnedFd, DeviceError> {
    load_insns(&program(rules))
}

fn load_insns(insns: &[BpfInsn]) -> Result<OwnedFd, DeviceError> {
    let mut name = [0u8; BPF_OBJ_NAME_LEN];
    name[..PROGRAM_NAME.len()].copy_from_slice(PROGRAM_NAME.as_bytes());
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    // SAFETY: attr is a BPF_PROG_LOAD attribute; insns and LICENSE outlive the call.
    let first = unsafe { sys_bpf(BPF_PROG_LOAD, &mut attr) };
    let errno = match first {
        // SAFETY: BPF_PROG_LOAD returns a new file descriptor we now own.
        Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) }),
        Err(errno) => errno,
    };
    let mut log = vec![0u8; 256 * 1024];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    // SAFETY: as above; log outlives the call and its size is given.
    match unsafe { sys_bpf(BPF_PROG_LOAD, &mut attr) } {
        // SAFETY: as above.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) }),
        Err(_) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            // The verdict is at the end of the log.
            let tail: String = {
                let chars: Vec<char> = text.trim().chars().collect();
                chars[chars.len().saturating_sub(2000)..].iter().collect()
            };
            Err(DeviceError::Bpf {
                op: "BPF_PROG_LOAD",
                what: "device filter".into(),
                errno,
                log: Some(tail),
            })
        }
    }
}

/// Enforces `rules` on a cgroup v2 group (`cgroup_dir`, e.g. /sys/fs/cgroup/lab/c1 or,
/// on a hybrid host, /sys/fs/cgroup/unified/lab/c1): loads the filter, attaches it with
/// `BPF_F_ALLOW_MULTI` (filters of ancestor groups keep applying; a request must pass
/// all), then detaches any filter luxc attached there before (programs named
/// [`PROGRAM_NAME`]), so applying again replaces the policy. Between the attach and the
/// detach both filters apply, which is never looser than either.
///
/// Returns the program's fd; the attachment holds its own reference, so the caller
/// may close it. Needs CAP_SYS_ADMIN (or CAP_BPF and CAP_NET_ADMIN) in the initial
/// user namespace.
pub fn apply_v2(cgroup_dir: &Path, rules: &[DeviceRule]) -> Result<OwnedFd, DeviceError> {
    validate(rules)?;
    let prog = load_program(rules)?;
    let dir = fs::File::open(cgroup_dir).map_err(|source| DeviceError::Open {
        path: cgroup_dir.to_owned(),
        source,
    })?;
    let previous = attached_luxc_programs(cgroup_dir, dir.as_fd())?;
    let mut attr = AttachAttr {
        target_fd: dir.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    // SAFETY: attr is a BPF_PROG_ATTACH attribute holding two open fds.
    unsafe { sys_bpf(BPF_PROG_ATTACH, &mut attr) }.map_err(|errno| DeviceError::Bpf {
        op: "BPF_PROG_ATTACH",
        what: format!("device filter to {}", cgroup_dir.display()),
        errno,
        log: None,
    })?;
    for old in previous {
        detach(cgroup_dir, dir.as_fd(), old.as_fd())?;
    }
    Ok(prog)
}

/// Detaches a device filter from a cgroup v2 group (e.g. one returned by
/// [`apply_v2`]); removing the group detaches its filters too.
pub fn detach_v2(cgroup_dir: &Path, prog: BorrowedFd<'_>) -> Result<(), DeviceError> {
    let dir = fs::File::open(cgroup_dir).map_err(|source| DeviceError::Open {
        path: cgroup_dir.to_owned(),
        source,
    })?;
    detach(cgroup_dir, dir.as_fd(), prog)
}

fn detach(path: &Path, dir: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<(), DeviceError> {
    let mut attr = AttachAttr {
        target_fd: dir.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    // SAFETY: attr is a BPF_PROG_DETACH attribute holding two open fds.
    unsafe { sys_bpf(BPF_PROG_DETACH, &mut attr) }.map_err(|errno| DeviceError::Bpf {
        op: "BPF_PROG_DETACH",
        what: format!("device filter from {}", path.display()),
        errno,
        log: None,
    })?;
    Ok(())
}

/// The ids of the device filters attached directly to a cgroup v2 group.
pub fn attached_programs(cgroup_dir: &Path) -> Result<Vec<u32>, DeviceError> {
    let dir = fs::File::open(cgroup_dir).map_err(|source| DeviceError::Open {
        path: cgroup_dir.to_owned(),
        source,
    })?;
    query(cgroup_dir, dir.as_fd())
}

fn query(path: &Path, dir: BorrowedFd<'_>) -> Result<Vec<u32>, DeviceError> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = QueryAttr {
            target_fd: dir.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        // SAFETY: attr is a BPF_PROG_QUERY attribute; ids holds prog_cnt entries.
        match unsafe { sys_bpf(BPF_PROG_QUERY, &mut attr) } {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            Err(Errno::ENOSPC) if attr.prog_cnt as usize > ids.len() => {
                ids = vec![0; attr.prog_cnt as usize];
            }
            Err(errno) => {
                return Err(DeviceError::Bpf {
                    op: "BPF_PROG_QUERY",
                    what: format!("device filters of {}", path.display()),
                    errno,
                    log: None,
                })
            }
        }
    }
}

/// Fds of the programs named [`PROGRAM_NAME`] attached directly to the group.
fn attached_luxc_programs(path: &Path, dir: BorrowedFd<'_>) -> Result<Vec<OwnedFd>, DeviceError> {
    let mut out = Vec::new();
    for id in query(path, dir)? {
        let mut attr = GetFdByIdAttr {
            prog_id: id,
            ..Default::default()
        };
        // SAFETY: attr is a BPF_PROG_GET_FD_BY_ID attribute.
        let fd = match unsafe { sys_bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) } {
            // SAFETY: the call returns a new fd we now own.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) },
            // Detached since the query.
            Err(Errno::ENOENT) => continue,
            Err(errno) => {
                return Err(DeviceError::Bpf {
                    op: "BPF_PROG_GET_FD_BY_ID",
                    what: format!("device filter {id} of {}", path.display()),
                    errno,
                    log: None,
                })
            }
        };
        let mut info = ProgInfoPrefix::default();
        let mut attr = InfoByFdAttr {
            bpf_fd: fd.as_raw_fd() as u32,
            info_len: std::mem::size_of::<ProgInfoPrefix>() as u32,
            info: &mut info as *mut ProgInfoPrefix as u64,
        };
        // SAFETY: attr is a BPF_OBJ_GET_INFO_BY_FD attribute; info holds info_len bytes.
        unsafe { sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }.map_err(|errno| {
            DeviceError::Bpf {
                op: "BPF_OBJ_GET_INFO_BY_FD",
                what: format!("device filter {id} of {}", path.display()),
                errno,
                log: None,
            }
        })?;
        let end = info
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(BPF_OBJ_NAME_LEN);
        if &info.name[..end] == PROGRAM_NAME.as_bytes() {
            out.push(fd);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
