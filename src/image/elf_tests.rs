//! Tests of the PT_INTERP check on hand-made ELF headers and on host binaries.
use super::*;

const PT_LOAD: u32 = 1;

/// An ELF64 little-endian file with program headers of the given types right after
/// the file header.
fn elf(types: &[u32]) -> Vec<u8> {
    let mut out = vec![0u8; EHDR_SIZE];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // ELFDATA2LSB
    out[6] = 1; // EV_CURRENT
    out[E_PHOFF..E_PHOFF + 8].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
    out[E_PHENTSIZE..E_PHENTSIZE + 2].copy_from_slice(&PHDR_SIZE.to_le_bytes());
    let phnum = u16::try_from(types.len()).unwrap();
    out[E_PHNUM..E_PHNUM + 2].copy_from_slice(&phnum.to_le_bytes());
    for &t in types {
        let mut phdr = vec![0u8; usize::from(PHDR_SIZE)];
        phdr[..4].copy_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&phdr);
    }
    out
}

fn set_u16(elf: &mut [u8], at: usize, value: u16) {
    elf[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn static_binary_has_no_interpreter() {
    assert_eq!(has_interpreter(&elf(&[PT_LOAD, PT_LOAD])), Ok(false));
}

#[test]
fn pt_interp_means_dynamic() {
    assert_eq!(
        has_interpreter(&elf(&[PT_LOAD, PT_INTERP, PT_LOAD])),
        Ok(true)
    );
}

#[test]
fn no_program_headers_is_static() {
    assert_eq!(has_interpreter(&elf(&[])), Ok(false));
}

#[test]
fn empty_file_is_truncated() {
    let err = has_interpreter(&[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "truncated ELF file: ELF identification needs bytes 0..16, the file has 0"
    );
}

#[test]
fn script_is_not_elf() {
    let err = has_interpreter(b"#!/bin/sh\necho hello, world\n").unwrap_err();
    assert_eq!(err, ElfError::NotElf);
    assert_eq!(err.to_string(), "not an ELF file (no \\x7fELF magic)");
}

#[test]
fn header_cut_short_is_truncated() {
    let file = elf(&[PT_LOAD]);
    let err = has_interpreter(&file[..20]).unwrap_err();
    assert!(
        matches!(
            err,
            ElfError::Truncated {
                what: "ELF header",
                len: 20,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn program_headers_cut_short_are_truncated() {
    let file = elf(&[PT_LOAD, PT_INTERP]);
    let err = has_interpreter(&file[..file.len() - 1]).unwrap_err();
    assert!(
        matches!(
            err,
            ElfError::Truncated {
                what: "program header table",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn huge_phoff_is_truncated_not_overflow() {
    let mut file = elf(&[PT_LOAD]);
    file[E_PHOFF..E_PHOFF + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = has_interpreter(&file).unwrap_err();
    assert!(matches!(err, ElfError::Truncated { .. }), "{err:?}");
}

#[test]
fn elf32_is_unsupported() {
    let mut file = elf(&[PT_LOAD]);
    file[4] = 1; // ELFCLASS32
    assert_eq!(
        has_interpreter(&file),
        Err(ElfError::Unsupported { class: 1, data: 1 })
    );
}

#[test]
fn big_endian_is_unsupported() {
    let mut file = elf(&[PT_LOAD]);
    file[5] = 2; // ELFDATA2MSB
    assert_eq!(
        has_interpreter(&file),
        Err(ElfError::Unsupported { class: 2, data: 2 })
    );
}

#[test]
fn small_phentsize_is_refused() {
    let mut file = elf(&[PT_LOAD]);
    set_u16(&mut file, E_PHENTSIZE, 4);
    assert_eq!(has_interpreter(&file), Err(ElfError::BadPhentsize(4)));
}

#[test]
fn pn_xnum_is_refused() {
    let mut file = elf(&[PT_LOAD]);
    set_u16(&mut file, E_PHNUM, PN_XNUM);
    assert_eq!(has_interpreter(&file), Err(ElfError::ExtendedPhnum));
}

#[test]
fn larger_phentsize_is_stepped_over() {
    // Two 64-byte entries; the interpreter is the second, at offset 64 of the table.
    let mut file = elf(&[]);
    set_u16(&mut file, E_PHENTSIZE, 64);
    set_u16(&mut file, E_PHNUM, 2);
    let mut table = vec![0u8; 128];
    table[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
    table[64..68].copy_from_slice(&PT_INTERP.to_le_bytes());
    file.extend_from_slice(&table);
    assert_eq!(has_interpreter(&file), Ok(true));
}

#[test]
fn host_binaries() {
    for (path, dynamic) in [("/bin/ls", true), ("/usr/bin/busybox", false)] {
        match std::fs::read(path) {
            Ok(bytes) => assert_eq!(has_interpreter(&bytes), Ok(dynamic), "{path}"),
            Err(e) => eprintln!("skipping {path}: {e}"),
        }
    }
}
