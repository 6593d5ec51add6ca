//! Which names labs and containers may have. A lab name becomes a directory under the
//! state root and container names become paths and hostnames-to-be, so both are kept
//! to a portable, path-safe alphabet.

/// The longest name, in bytes.
pub const MAX_NAME_LEN: usize = 32;

/// Checks a lab name: 1-32 of `[A-Za-z0-9_.-]`, not starting with '.' or '-'.
pub fn check_lab_name(name: &str) -> Result<(), String> {
    check_name("lab name", name)
}

/// Checks a container (or other lab object) name, by the same rule as lab names.
pub fn check_object_name(name: &str) -> Result<(), String> {
    check_name("container name", name)
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    let bytes = name.as_bytes();
    // A leading '.' rules out "." and ".." (and hidden entries); a leading '-' would
    // read as an option on a command line.
    let ok = (1..=MAX_NAME_LEN).contains(&bytes.len())
        && bytes.iter().all(|&b| allowed(b))
        && !matches!(bytes[0], b'.' | b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} '{}': use 1-{MAX_NAME_LEN} letters, digits, '_', '.', '-' (not starting with '.' or '-')",
            name.escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_of_the_allowed_alphabet() {
        for name in ["a", "lab1", "A_b.c-d", "0", "x-", "x.", &"a".repeat(32)] {
            assert_eq!(check_lab_name(name), Ok(()), "{name}");
            assert_eq!(check_object_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_empty_long_and_dotted_names() {
        for name in ["", ".", "..", ".hidden", "-opt", &"a".repeat(33)] {
            assert!(check_lab_name(name).is_err(), "{name:?} accepted");
            assert!(check_object_name(name).is_err(), "{name:?} accepted");
        }
    }

    #[test]
    fn refuses_bytes_outside_the_alphabet() {
        for name in ["a/b", "a b", "a\0b", "é", "a:b", "a\nb", "../x"] {
            assert!(check_lab_name(name).is_err(), "{name:?} accepted");
        }
    }

    #[test]
    fn error_names_the_kind_and_what_is_allowed() {
        assert_eq!(
            check_lab_name("a/b").unwrap_err(),
            "lab name 'a/b': use 1-32 letters, digits, '_', '.', '-' (not starting with '.' or '-')"
        );
        assert!(check_object_name("")
            .unwrap_err()
            .starts_with("container name '': use 1-32"));
    }

    #[test]
    fn error_escapes_control_characters() {
        let err = check_lab_name("a\nb").unwrap_err();
        assert!(err.starts_with("lab name 'a\\nb':"), "{err}");
    }
}
