//! The cgroup acceptance suite inside the VM lab: a stock kernel with cgroup
//! v2 only (device rules by eBPF, cgroup.kill, delegation), the same Lua file
//! tests/cgroups.rs runs on this hybrid host.

#[path = "vm/harness.rs"]
mod harness;

#[test]
fn vm_cgroup_suite_on_v2() {
    if harness::skipped("vm_cgroup_suite_on_v2") {
        return;
    }
    let guest = harness::pass("cgroups", &[]);
    assert!(
        guest.console.contains("# cgroup mode: v2"),
        "{}",
        guest.console
    );
    assert!(
        guest.console.contains(" passed, 0 failed"),
        "{}",
        guest.console
    );
    assert!(guest.console.contains("cgroups: ok"), "{}", guest.console);
}
