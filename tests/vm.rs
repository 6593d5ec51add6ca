//! VM tests: luxc inside a QEMU guest running a stock Debian kernel with cgroup v2
//! only, an emulated IOMMU and two PCI devices (scripts/vm, docs/vm.md). Each test
//! boots one payload folder from tests/vm/. `LUXC_SKIP_VM=1` skips them.

#[path = "vm/harness.rs"]
mod harness;

/// `luxc check` in the guest reports cgroup v2, and one busybox container starts,
/// execs, and is taken down (tests/vm/smoke).
#[test]
fn vm_smoke() {
    if harness::skipped("vm_smoke") {
        return;
    }
    let guest = harness::pass("smoke", &[]);
    assert!(
        guest.console.contains("smoke: cgroup mode v2"),
        "{}",
        guest.console
    );
    assert!(guest.console.contains("smoke: ok"), "{}", guest.console);
}
