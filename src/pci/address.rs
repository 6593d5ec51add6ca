//! PCI addresses: `DOMAIN:BUS:DEVICE.FUNCTION` in hex, as sysfs names devices.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::PciError;

/// A PCI function's address. Displays as sysfs names it: `0000:01:00.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// PCI segment (domain); usually 0, wider than 16 bits behind Intel VMD.
    pub domain: u32,
    /// Bus number.
    pub bus: u8,
    /// Device (slot) number, 0 to 0x1f.
    pub device: u8,
    /// Function number, 0 to 7.
    pub function: u8,
}

/// What a well-formed address looks like, for error messages.
const SHAPE: &str = "expected DOMAIN:BUS:DEVICE.FUNCTION in hex, e.g. 0000:01:00.0 or 01:00.0";

impl Address {
    /// Parses `0000:01:00.0`, or `01:00.0` (domain 0) as lspci prints it.
    pub fn parse(text: &str) -> Result<Address, PciError> {
        let bad = |reason: String| PciError::Address {
            input: text.to_string(),
            reason,
        };
        let (slot, function) = text
            .rsplit_once('.')
            .ok_or_else(|| bad(format!("no '.FUNCTION' ({SHAPE})")))?;
        let parts: Vec<&str> = slot.split(':').collect();
        let (domain, bus, device) = match parts.as_slice() {
            [d, b, s] => (*d, *b, *s),
            [b, s] => ("0", *b, *s),
            _ => return Err(bad(SHAPE.to_string())),
        };
        let field = |name: &str, s: &str, digits: usize, max: u32| -> Result<u32, PciError> {
            if s.is_empty() || s.len() > digits || !s.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "{name} '{s}' is not 1 to {digits} hex digits ({SHAPE})"
                )));
            }
            let v = u32::from_str_radix(s, 16).expect("checked hex digits");
            if v > max {
                return Err(bad(format!(
                    "{name} {v:#x} is out of range (0 to {max:#x})"
                )));
            }
            Ok(v)
        };
        Ok(Address {
            domain: field("domain", domain, 8, u32::MAX)?,
            bus: field("bus", bus, 2, 0xff)? as u8,
            device: field("device", device, 2, 0x1f)? as u8,
            function: field("function", function, 1, 7)? as u8,
        })
    }
}

impl FromStr for Address {
    type Err = PciError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_short_forms_parse_to_the_sysfs_name() {
        let a = Address::parse("0000:01:1f.7").unwrap();
        assert_eq!((a.domain, a.bus, a.device, a.function), (0, 1, 0x1f, 7));
        assert_eq!(a.to_string(), "0000:01:1f.7");
        assert_eq!(Address::parse("3:0.1").unwrap().to_string(), "0000:03:00.1");
        assert_eq!(
            Address::parse("10000:E1:00.0").unwrap().to_string(),
            "10000:e1:00.0",
            "VMD domains are wider than 4 digits; hex case is free"
        );
    }

    #[test]
    fn malformed_addresses_say_what_is_wrong() {
        let msg = |s: &str| Address::parse(s).unwrap_err().to_string();
        assert!(msg("01:00").contains("no '.FUNCTION'"), "{}", msg("01:00"));
        assert!(msg("zz:00.0").contains("bus 'zz' is not 1 to 2 hex digits"));
        assert!(msg("00:20.0").contains("device 0x20 is out of range (0 to 0x1f)"));
        assert!(msg("00:00.8").contains("function 0x8 is out of range (0 to 0x7)"));
        assert!(msg("0:0:0:00.0").contains("expected DOMAIN:BUS:DEVICE.FUNCTION"));
        assert!(
            msg("").starts_with("malformed PCI address ''"),
            "{}",
            msg("")
        );
        assert!(msg("00:1f.0 ").contains("function '0 '"));
    }
}
