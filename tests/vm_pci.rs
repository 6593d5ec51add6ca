//! VFIO for real in the VM lab (emulated IOMMU, e1000e at 0000:00:02.0, edu
//! at 0000:00:03.0): bind both to vfio-pci through a lab, check the groups
//! through the VFIO ioctls, grant the NIC to one container (it runs the
//! group-status ioctl) and not another (EPERM), and give both devices back —
//! e1000e on e1000e with its interface again. Payload: tests/vm/pci/.

#[path = "vm/harness.rs"]
mod harness;

#[test]
fn vm_vfio_bind_check_grant_and_restore() {
    if harness::skipped("vm_vfio_bind_check_grant_and_restore") {
        return;
    }
    let guest = harness::pass("pci", &[]);
    assert!(
        guest.console.contains("# pci suite passed"),
        "{}",
        guest.console
    );
    assert!(guest.console.contains("pci: ok"), "{}", guest.console);
}
