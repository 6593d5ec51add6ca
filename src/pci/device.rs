//! One PCI function as sysfs shows it, and listing them all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::sysfs::{self, device_dir, devices_dir};
use super::{Address, Names, PciError};

/// SR-IOV figures of a physical function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sriov {
    /// How many virtual functions the device can have (`sriov_totalvfs`).
    pub total: u32,
    /// How many are enabled now (`sriov_numvfs`).
    pub enabled: u32,
}

/// A PCI function: ids, names, driver and where it sits. Ids serialize as
/// lowercase hex strings, as lspci -n prints them (`"1af4"`, class `"020000"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// `0000:01:00.0`.
    pub address: Address,
    /// Vendor id.
    #[serde(serialize_with = "hex4")]
    pub vendor: u16,
    /// Device id.
    #[serde(serialize_with = "hex4")]
    pub device: u16,
    /// Subsystem vendor id.
    #[serde(serialize_with = "hex4")]
    pub subsystem_vendor: u16,
    /// Subsystem device id.
    #[serde(serialize_with = "hex4")]
    pub subsystem_device: u16,
    /// Class code: base class, subclass, programming interface (`0x030000`).
    #[serde(serialize_with = "hex6")]
    pub class: u32,
    /// Revision, when sysfs has it.
    #[serde(serialize_with = "hex2_opt")]
    pub revision: Option<u8>,
    /// Names from pci.ids, when the database is there and knows the ids.
    pub vendor_name: Option<String>,
    /// The device's name.
    pub device_name: Option<String>,
    /// The subsystem's (board's) name.
    pub subsystem_name: Option<String>,
    /// The class's name ("Ethernet controller").
    pub class_name: Option<String>,
    /// The bound driver, if any.
    pub driver: Option<String>,
    /// The IOMMU group number (None without an IOMMU).
    pub iommu_group: Option<u32>,
    /// The NUMA node (None when the platform does not say: sysfs -1).
    pub numa_node: Option<u32>,
    /// Whether it is a PCI-to-PCI (or CardBus) bridge.
    pub bridge: bool,
    /// SR-IOV totals of a physical function.
    pub sriov: Option<Sriov>,
    /// For a virtual function: its physical function.
    pub physfn: Option<Address>,
    /// The bridge it sits behind (None on a root bus).
    pub parent: Option<Address>,
    /// Network interfaces of this function (`/sys/class/net`).
    pub net: Vec<String>,
    /// DRM nodes of this function (`/sys/class/drm`: card0, renderD128).
    pub drm: Vec<String>,
}

fn hex4<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:04x}"))
}

fn hex6<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:06x}"))
}

fn hex2_opt<S: Serializer>(v: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(&format_args!("{v:02x}")),
        None => s.serialize_none(),
    }
}

/// Which devices `list` returns; unset fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// A hex prefix of the 6-digit class code: "03" (display), "0200" (Ethernet).
    pub class: Option<String>,
    /// Vendor id.
    pub vendor: Option<u16>,
    /// Device id.
    pub device: Option<u16>,
    /// Bound driver name.
    pub driver: Option<String>,
}

impl Filter {
    /// Checks a class filter: 2, 4 or 6 hex digits (base class, + subclass,
    /// + programming interface), `0x` allowed; returns it lowercase.
    pub fn parse_class(text: &str) -> Result<String, String> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        if ![2, 4, 6].contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "expected 2, 4 or 6 hex digits of a class code (\"03\", \"0300\", \"030000\"), got '{text}'"
            ));
        }
        Ok(digits.to_ascii_lowercase())
    }

    /// Checks a vendor or device id: 4 hex digits, `0x` allowed.
    pub fn parse_id(text: &str) -> Result<u16, String> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("expected 4 hex digits (\"8086\"), got '{text}'"));
        }
        Ok(u16::from_str_radix(digits, 16).expect("checked hex digits"))
    }

    /// Whether `d` passes every set field.
    pub fn matches(&self, d: &Device) -> bool {
        self.class
            .as_ref()
            .is_none_or(|c| format!("{:06x}", d.class).starts_with(c.as_str()))
            && self.vendor.is_none_or(|v| v == d.vendor)
            && self.device.is_none_or(|v| v == d.device)
            && self
                .driver
                .as_ref()
                .is_none_or(|drv| d.driver.as_deref() == Some(drv.as_str()))
    }
}

/// What every device read shares: the names database and who owns which
/// network interface and DRM node (read once per listing).
pub(super) struct Context {
    root: PathBuf,
    names: Option<Arc<Names>>,
    net: BTreeMap<Address, Vec<String>>,
    drm: BTreeMap<Address, Vec<String>>,
}

impl Context {
    pub(super) fn new(root: &Path, names: Option<Arc<Names>>) -> Result<Context, PciError> {
        Ok(Context {
            root: root.to_path_buf(),
            names,
            net: owners(&root.join("sys/class/net"), false)?,
            drm: owners(&root.join("sys/class/drm"), true)?,
        })
    }

    /// Reads the device at `address`.
    pub(super) fn device(&self, address: &Address) -> Result<Device, PciError> {
        let dir = device_dir(&self.root, address);
        if !dir.exists() {
            return Err(PciError::NotFound {
                address: *address,
                path: dir,
            });
        }
        let hex =
            |file: &str, max: u32, what: &'static str| sysfs::read_hex(&dir.join(file), max, what);
        let id = "a 16-bit hex id";
        let vendor = hex("vendor", 0xffff, id)? as u16;
        let device = hex("device", 0xffff, id)? as u16;
        let subsystem_vendor = hex("subsystem_vendor", 0xffff, id)? as u16;
        let subsystem_device = hex("subsystem_device", 0xffff, id)? as u16;
        let class = hex("class", 0xff_ffff, "a 24-bit hex class code")?;
        let revision = sysfs::read_opt(&dir.join("revision"))?
            .and_then(|r| sysfs::parse_hex(&r, 0xff))
            .map(|r| r as u8);
        let iommu_group = match sysfs::link_name(&dir.join("iommu_group"))? {
            None => None,
            Some(n) => Some(n.parse().map_err(|_| PciError::Parse {
                path: dir.join("iommu_group"),
                value: n,
                expected: "a link to a numbered group",
            })?),
        };
        let numa_node = sysfs::read_dec_opt(&dir.join("numa_node"), "a node number")?
            .and_then(|n| u32::try_from(n).ok());
        let sriov = match sysfs::read_dec_opt(&dir.join("sriov_totalvfs"), "a count")? {
            None => None,
            Some(total) => Some(Sriov {
                total: total.try_into().unwrap_or(0),
                enabled: sysfs::read_dec_opt(&dir.join("sriov_numvfs"), "a count")?
                    .and_then(|n| n.try_into().ok())
                    .unwrap_or(0),
            }),
        };
        let (vendor_name, device_name, subsystem_name, class_name) = match &self.names {
            Some(n) => {
                let (v, d, s) = n.device(vendor, device, subsystem_vendor, subsystem_device);
                (v, d, s, n.class(class))
            }
            None => (None, None, None, None),
        };
        Ok(Device {
            address: *address,
            vendor,
            device,
            subsystem_vendor,
            subsystem_device,
            class,
            revision,
            vendor_name,
            device_name,
            subsystem_name,
            class_name,
            driver: sysfs::link_name(&dir.join("driver"))?,
            iommu_group,
            numa_node,
            bridge: is_bridge(class) || dir.join("secondary_bus_number").exists(),
            sriov,
            physfn: sysfs::link_name(&dir.join("physfn"))?.and_then(|n| Address::parse(&n).ok()),
            parent: sysfs::real(&dir)
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .and_then(|p| pci_name(&p)),
            net: self.net.get(address).cloned().unwrap_or_default(),
            drm: self.drm.get(address).cloned().unwrap_or_default(),
        })
    }
}

/// PCI-to-PCI bridge (0x0604), CardBus bridge (0x0607), semi-transparent
/// PCI-to-PCI bridge (0x0609): the classes behind which other devices sit.
fn is_bridge(class: u32) -> bool {
    matches!(class >> 8, 0x0604 | 0x0607 | 0x0609)
}

/// The address a directory is named after, if it is a PCI function's.
pub(super) fn pci_name(dir: &Path) -> Option<Address> {
    Address::parse(&dir.file_name()?.to_string_lossy()).ok()
}

/// The PCI function a device directory belongs to: itself or its nearest PCI
/// ancestor (a virtio NIC's net device sits under `0000:00:03.0/virtio2`).
pub(super) fn pci_owner(dir: &Path) -> Option<Address> {
    dir.ancestors().find_map(pci_name)
}

/// For each class entry (`eth0`, `card0`), the PCI function its `device`
/// link leads to. `direct`: only links that point at the function itself
/// (DRM connectors such as card0-DP-1 point at card0, not at the GPU).
fn owners(class_dir: &Path, direct: bool) -> Result<BTreeMap<Address, Vec<String>>, PciError> {
    let mut map: BTreeMap<Address, Vec<String>> = BTreeMap::new();
    for name in sysfs::entries(class_dir)? {
        let Some(dev) = sysfs::real(&class_dir.join(&name).join("device")) else {
            continue; // virtual: lo, bridges, veths
        };
        let owner = if direct {
            pci_name(&dev)
        } else {
            pci_owner(&dev)
        };
        if let Some(a) = owner {
            map.entry(a).or_default().push(name);
        }
    }
    Ok(map)
}

/// Every PCI function under `root` that passes `filter`, in address order,
/// named from the host's pci.ids.
pub fn list(root: &Path, filter: &Filter) -> Result<Vec<Device>, PciError> {
    list_with_names(root, filter, Names::load(root))
}

/// Like [`list`], with names from `names` (None: numeric ids only).
pub fn list_with_names(
    root: &Path,
    filter: &Filter,
    names: Option<Arc<Names>>,
) -> Result<Vec<Device>, PciError> {
    let ctx = Context::new(root, names)?;
    let mut out = Vec::new();
    for a in sysfs::addresses(&devices_dir(root))? {
        let d = ctx.device(&a)?;
        if filter.matches(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// The PCI function at `address` under `root`.
pub fn get(root: &Path, address: &Address) -> Result<Device, PciError> {
    Context::new(root, Names::load(root))?.device(address)
}
