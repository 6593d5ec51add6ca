//! What a container is declared as, and the checks that run before anything
//! is created (so bad input leaves nothing behind).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fs::rootfs::{MountSpec, MASKED, READONLY};
use crate::image::Image;
use crate::ns::{self, Kind};
use crate::security::Policy;

/// The kernel limit on a hostname (HOST_NAME_MAX).
pub const HOSTNAME_MAX: usize = 64;

/// PATH inside a container unless its env sets one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A container as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// Unique within its lab.
    pub name: String,
    /// The read-only lower layer of its root.
    pub image: Image,
    /// Defaults to the name.
    pub hostname: String,
    /// Namespaces it gets of its own.
    pub namespaces: Vec<Kind>,
    /// Extra mounts.
    pub mounts: Vec<MountSpec>,
    /// Environment of its init and of every exec.
    pub env: BTreeMap<String, String>,
    /// Working directory of its init and the default for exec.
    pub cwd: String,
    /// uid and gid its processes run as (default 0:0).
    pub user: Option<(u32, u32)>,
    /// PID 1: None for luxc's reaper, or a command (e.g. the image's init).
    pub init: Option<Vec<String>>,
    /// Root filesystem read-only.
    pub readonly: bool,
    /// sysctls set in its namespaces.
    pub sysctl: BTreeMap<String, String>,
    /// Capabilities, no_new_privs, seccomp.
    pub security: Policy,
    /// Paths hidden inside (default: /proc/kcore, /proc/keys, …).
    pub masked: Vec<String>,
    /// Paths read-only inside (default: /proc/sys, /proc/sysrq-trigger, …).
    pub readonly_paths: Vec<String>,
    /// Namespaces joined from another container of the lab (pod style):
    /// kind → that container's name.
    pub share: BTreeMap<Kind, String>,
    /// The user namespace's id mapping: with it, root inside is an
    /// unprivileged uid range outside.
    pub idmap: Option<IdMap>,
    /// Resource limits of its cgroup.
    pub limits: crate::cgroup::Limits,
    /// Devices it may use on top of the defaults (null, zero, tty, pts, …).
    pub devices: Vec<crate::cgroup::devices::DeviceRule>,
}

/// Ids 0..count inside map to uid..uid+count and gid..gid+count outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    /// First host uid (what root inside is outside).
    pub uid: u32,
    /// First host gid.
    pub gid: u32,
    /// How many ids are mapped.
    pub count: u32,
}

/// Namespaces a container may join from another (what pods share).
pub const SHAREABLE: [Kind; 3] = [Kind::Net, Kind::Ipc, Kind::Uts];

impl ContainerSpec {
    /// A spec with luxc's defaults.
    pub fn new(name: &str, image: Image) -> ContainerSpec {
        ContainerSpec {
            name: name.to_string(),
            image,
            hostname: name.to_string(),
            namespaces: ns::DEFAULT.to_vec(),
            mounts: Vec::new(),
            env: BTreeMap::new(),
            cwd: "/".into(),
            user: None,
            init: None,
            readonly: false,
            sysctl: BTreeMap::new(),
            security: Policy::default_container(),
            masked: MASKED.iter().map(|s| s.to_string()).collect(),
            readonly_paths: READONLY.iter().map(|s| s.to_string()).collect(),
            share: BTreeMap::new(),
            idmap: None,
            limits: crate::cgroup::Limits::default(),
            devices: Vec::new(),
        }
    }

    /// Whether the container has a namespace of `kind` other than the host's
    /// (its own, or one it shares with another container).
    pub fn has(&self, kind: Kind) -> bool {
        self.namespaces.contains(&kind) || self.share.contains_key(&kind)
    }

    /// Checks what the kernel would otherwise reject half-way; the error
    /// names the field.
    pub fn validate(&self) -> Result<(), String> {
        crate::engine::names::check_object_name(&self.name)?;
        if !self.has(Kind::Mount) {
            return Err("namespaces: 'mount' is required (a container has its own root)".into());
        }
        for (kind, other) in &self.share {
            if !SHAREABLE.contains(kind) {
                return Err(format!(
                    "share: '{}' cannot be shared (only net, ipc and uts)",
                    kind.name()
                ));
            }
            if self.namespaces.contains(kind) {
                return Err(format!(
                    "share: '{}' is also in namespaces; a container joins or owns it, not both",
                    kind.name()
                ));
            }
            if *other == self.name {
                return Err(format!(
                    "share: '{}' names the container itself",
                    kind.name()
                ));
            }
        }
        match (self.namespaces.contains(&Kind::User), self.idmap) {
            (true, None) => {
                return Err(
                    "namespaces: 'user' needs idmap = { uid = ..., gid = ..., count = ... }".into(),
                )
            }
            (_, Some(m)) if m.count == 0 => return Err("idmap: count must be > 0".into()),
            (_, Some(m))
                if m.uid.checked_add(m.count).is_none() || m.gid.checked_add(m.count).is_none() =>
            {
                return Err("idmap: uid/gid + count overflows".into())
            }
            (false, Some(_)) => return Err("idmap: needs the 'user' namespace".into()),
            _ => {}
        }
        if self.hostname.is_empty() || self.hostname.len() > HOSTNAME_MAX {
            return Err(format!(
                "hostname: expected 1 to {HOSTNAME_MAX} bytes, got {}",
                self.hostname.len()
            ));
        }
        if self.hostname != self.name && !self.namespaces.contains(&Kind::Uts) {
            return Err("hostname: needs the 'uts' namespace".into());
        }
        if !self.cwd.starts_with('/') {
            return Err(format!(
                "cwd: expected an absolute path, got '{}'",
                self.cwd
            ));
        }
        for m in &self.mounts {
            let t = m.target();
            if !t.starts_with('/') || t.split('/').any(|c| c == "..") {
                return Err(format!(
                    "mounts: target '{t}': expected an absolute path without '..'"
                ));
            }
            if let MountSpec::Bind { source, .. } = m {
                if let Err(e) = std::fs::metadata(source) {
                    return Err(format!("mounts: source {}: {e}", source.display()));
                }
            }
        }
        for key in self.sysctl.keys() {
            self.check_sysctl(key)?;
        }
        crate::cgroup::devices::validate(&self.devices).map_err(|e| format!("devices: {e}"))?;
        if let Some(init) = &self.init {
            if init.is_empty() || init[0].is_empty() {
                return Err("init: expected a command list, got an empty list".into());
            }
        }
        Ok(())
    }

    /// Only sysctls that belong to a namespace the container owns can be set:
    /// anything else would change the host.
    fn check_sysctl(&self, key: &str) -> Result<(), String> {
        let valid = !key.is_empty()
            && key.split('.').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        if !valid {
            return Err(format!("sysctl: invalid key '{key}'"));
        }
        let needs = if key.starts_with("net.") {
            Kind::Net
        } else if key.starts_with("fs.mqueue.")
            || [
                "kernel.shmmax",
                "kernel.shmall",
                "kernel.shmmni",
                "kernel.shm_rmid_forced",
                "kernel.msgmax",
                "kernel.msgmnb",
                "kernel.msgmni",
                "kernel.sem",
            ]
            .contains(&key)
        {
            Kind::Ipc
        } else if key == "kernel.hostname" || key == "kernel.domainname" {
            Kind::Uts
        } else {
            return Err(format!(
                "sysctl: '{key}' is not namespaced (it would change the host); allowed: net.*, ipc (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*), kernel.hostname, kernel.domainname"
            ));
        };
        if !self.has(needs) {
            return Err(format!(
                "sysctl: '{key}' needs the '{}' namespace",
                needs.name()
            ));
        }
        Ok(())
    }

    /// The environment its processes start with: luxc's base, then `env`.
    pub fn base_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([
            ("PATH".to_string(), DEFAULT_PATH.to_string()),
            ("HOME".to_string(), "/root".to_string()),
            ("HOSTNAME".to_string(), self.hostname.clone()),
            ("container".to_string(), "luxc".to_string()),
        ]);
        env.extend(self.env.clone());
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ContainerSpec {
        ContainerSpec::new("a", Image::Host)
    }

    #[test]
    fn defaults_validate() {
        spec().validate().unwrap();
        assert_eq!(spec().hostname, "a");
        assert!(spec().has(Kind::Pid) && !spec().has(Kind::User));
    }

    #[test]
    fn rejects_long_hostname_and_missing_mount_ns() {
        let mut s = spec();
        s.hostname = "h".repeat(65);
        assert_eq!(
            s.validate().unwrap_err(),
            "hostname: expected 1 to 64 bytes, got 65"
        );
        let mut s = spec();
        s.namespaces.retain(|k| *k != Kind::Mount);
        assert!(s.validate().unwrap_err().contains("'mount' is required"));
    }

    #[test]
    fn sysctls_must_be_namespaced_and_owned() {
        let mut s = spec();
        s.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
        s.validate().unwrap();
        s.sysctl.insert("vm.swappiness".into(), "1".into());
        assert!(s.validate().unwrap_err().contains("not namespaced"));
        let mut s = spec();
        s.namespaces.retain(|k| *k != Kind::Net);
        s.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
        assert_eq!(
            s.validate().unwrap_err(),
            "sysctl: 'net.ipv4.ip_forward' needs the 'net' namespace"
        );
        let mut s = spec();
        s.sysctl.insert("net/../x".into(), "1".into());
        assert!(s.validate().unwrap_err().starts_with("sysctl: invalid key"));
    }

    #[test]
    fn idmap_and_user_namespace_go_together() {
        let mut s = spec();
        s.namespaces.push(Kind::User);
        assert!(s.validate().unwrap_err().contains("needs idmap"));
        s.idmap = Some(IdMap {
            uid: 1000,
            gid: 1000,
            count: 0,
        });
        assert_eq!(s.validate().unwrap_err(), "idmap: count must be > 0");
        s.idmap = Some(IdMap {
            uid: u32::MAX,
            gid: 0,
            count: 2,
        });
        assert!(s.validate().unwrap_err().contains("overflows"));
        s.idmap = Some(IdMap {
            uid: 100000,
            gid: 100000,
            count: 65536,
        });
        s.validate().unwrap();
        s.namespaces.retain(|k| *k != Kind::User);
        assert_eq!(
            s.validate().unwrap_err(),
            "idmap: needs the 'user' namespace"
        );
    }

    #[test]
    fn only_net_ipc_uts_are_shared_and_not_also_owned() {
        let mut s = spec();
        s.share.insert(Kind::Pid, "b".into());
        assert!(s.validate().unwrap_err().contains("'pid' cannot be shared"));
        let mut s = spec();
        s.share.insert(Kind::Net, "b".into());
        assert!(s.validate().unwrap_err().contains("also in namespaces"));
        s.namespaces.retain(|k| *k != Kind::Net);
        s.validate().unwrap();
        assert!(
            s.has(Kind::Net),
            "a shared net namespace counts for net sysctls"
        );
        s.share.insert(Kind::Ipc, "a".into());
        s.namespaces.retain(|k| *k != Kind::Ipc);
        assert!(s
            .validate()
            .unwrap_err()
            .contains("names the container itself"));
    }

    #[test]
    fn mount_targets_and_sources_are_checked() {
        let mut s = spec();
        s.mounts.push(MountSpec::Tmpfs {
            target: "rel".into(),
            size: None,
        });
        assert!(s.validate().unwrap_err().contains("target 'rel'"));
        let mut s = spec();
        s.mounts.push(MountSpec::Bind {
            source: "/nonexistent/luxc".into(),
            target: "/x".into(),
            readonly: true,
        });
        assert!(s
            .validate()
            .unwrap_err()
            .starts_with("mounts: source /nonexistent/luxc: "));
    }
}
