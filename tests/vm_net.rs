//! Networking inside the VM lab: netem delay and loss, 802.1Q VLANs,
//! dummy, macvlan and ipvlan links, on a stock kernel that has them (this
//! project's host kernel does not; tests/net.rs checks it says so).

#[path = "vm/harness.rs"]
mod harness;

#[test]
fn vm_netem_vlan_and_link_kinds() {
    if harness::skipped("vm_netem_vlan_and_link_kinds") {
        return;
    }
    let guest = harness::pass("net", &[]);
    assert!(
        guest.console.contains("# net suite passed"),
        "{}",
        guest.console
    );
    assert!(guest.console.contains("net: ok"), "{}", guest.console);
}
