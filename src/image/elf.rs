//! Just enough of an ELF64 little-endian reader to tell whether a binary asks for a
//! program interpreter (the dynamic loader), i.e. whether it can run in a rootfs that
//! holds no shared libraries.

/// Offset of `e_phoff` (u64) in the ELF64 file header.
const E_PHOFF: usize = 0x20;
/// Offset of `e_phentsize` (u16) in the ELF64 file header.
const E_PHENTSIZE: usize = 0x36;
/// Offset of `e_phnum` (u16) in the ELF64 file header.
const E_PHNUM: usize = 0x38;
/// Size of the ELF64 file header.
const EHDR_SIZE: usize = 0x40;
/// Size of one ELF64 program header; a larger `e_phentsize` is allowed, a smaller not.
const PHDR_SIZE: u16 = 56;
/// `p_type` of the segment naming the program interpreter.
const PT_INTERP: u32 = 3;
/// `e_phnum` value meaning "the real count is in section header 0".
const PN_XNUM: u16 = 0xffff;

/// Why a file could not be read as an ELF64 little-endian executable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// The file does not start with `\x7fELF`.
    #[error("not an ELF file (no \\x7fELF magic)")]
    NotElf,
    /// An ELF file of a class or byte order this reader does not handle.
    #[error("not a 64-bit little-endian ELF file (class {class}, data {data})")]
    Unsupported { class: u8, data: u8 },
    /// The file ends before a structure its header points at.
    #[error("truncated ELF file: {what} needs bytes {start}..{end}, the file has {len}")]
    Truncated {
        what: &'static str,
        start: u64,
        end: u64,
        len: usize,
    },
    /// `e_phentsize` is smaller than an ELF64 program header.
    #[error("bad ELF program header size {0} (at least {PHDR_SIZE} expected)")]
    BadPhentsize(u16),
    /// More than 65534 program headers (`PN_XNUM`); never the case for busybox.
    #[error("ELF program header count stored in section 0 (PN_XNUM) is not supported")]
    ExtendedPhnum,
}

/// Whether the ELF64 little-endian image `elf` has a `PT_INTERP` segment, i.e. is
/// dynamically linked (a static-pie binary has none and runs without a loader).
pub(crate) fn has_interpreter(elf: &[u8]) -> Result<bool, ElfError> {
    let ident = bytes(elf, "ELF identification", 0, 16)?;
    if ident[..4] != *b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    let (class, data) = (ident[4], ident[5]);
    if class != 2 || data != 1 {
        return Err(ElfError::Unsupported { class, data });
    }
    let header = bytes(elf, "ELF header", 0, EHDR_SIZE as u64)?;
    let phoff = u64::from_le_bytes(header[E_PHOFF..E_PHOFF + 8].try_into().expect("8 bytes"));
    let phentsize = u16::from_le_bytes([header[E_PHENTSIZE], header[E_PHENTSIZE + 1]]);
    let phnum = u16::from_le_bytes([header[E_PHNUM], header[E_PHNUM + 1]]);
    if phnum == PN_XNUM {
        return Err(ElfError::ExtendedPhnum);
    }
    if phnum == 0 {
        return Ok(false);
    }
    if phentsize < PHDR_SIZE {
        return Err(ElfError::BadPhentsize(phentsize));
    }
    // u16 * u16 fits a u64; only the addition to a file-controlled offset can overflow.
    let table_len = u64::from(phentsize) * u64::from(phnum);
    let table = bytes(elf, "program header table", phoff, table_len)?;
    Ok(table
        .chunks_exact(usize::from(phentsize))
        .any(|phdr| u32::from_le_bytes(phdr[..4].try_into().expect("4 bytes")) == PT_INTERP))
}

/// `elf[start..start + len]`, or why the file is too short for it.
fn bytes<'a>(
    elf: &'a [u8],
    what: &'static str,
    start: u64,
    len: u64,
) -> Result<&'a [u8], ElfError> {
    let truncated = |end: u64| ElfError::Truncated {
        what,
        start,
        end,
        len: elf.len(),
    };
    let end = start.checked_add(len).ok_or(truncated(u64::MAX))?;
    match (usize::try_from(start), usize::try_from(end)) {
        (Ok(s), Ok(e)) if e <= elf.len() => Ok(&elf[s..e]),
        _ => Err(truncated(end)),
    }
}

#[cfg(test)]
#[path = "elf_tests.rs"]
mod tests;
