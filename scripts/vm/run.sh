#!/usr/bin/env bash
# scripts/vm/run.sh CACHE_DIR PAYLOAD [FILE...]
#
# Boots the kernel and initramfs that build.sh made in CACHE_DIR under QEMU and
# runs PAYLOAD in the guest as root, then powers it off. PAYLOAD is a folder whose
# executable `run` is started from inside its copy (/payload), its other files
# beside it (symlinks among them are followed), or a single executable (it becomes
# /payload/run). Each FILE is copied into /payload too, under its own name: e.g.
# the static luxc from scripts/vm/luxc.sh.
#
# The guest's serial console goes to stdout. Exits with the payload's exit status,
# or 125 when the guest never reported one (it hung past the timeout, panicked, or
# the payload could not start).
#
# The machine: q35 with an emulated Intel IOMMU (interrupt remapping on), 2 CPUs,
# an e1000e NIC (8086:10d3) at 0000:00:02.0 and QEMU's edu device (1234:11e8) at
# 0000:00:03.0, each alone in its IOMMU group; the NIC's network is QEMU's user
# network, restricted (no way out of the guest).
#
# Env: LUXC_VM_ACCEL=tcg|kvm   default: kvm only when /dev/kvm is writable and the
#                              CPU shows vmx/svm (a nested /dev/kvm without them
#                              cannot run a stock kernel), else tcg
#      LUXC_VM_MEM=1024        guest memory, MiB
#      LUXC_VM_CPUS=2          guest CPUs
#      LUXC_VM_TIMEOUT=300     seconds before the guest is killed
#      LUXC_VM_ENV="A=1 B=x"   variables exported to the payload (values without spaces)
#      LUXC_VM_OUT=DIR         a host folder mounted read-write at /out in the guest
#                              (virtio-9p at 0000:00:04.0), for files to bring back
#      LUXC_VM_BIOS=FILE       firmware (default /usr/share/qemu/qboot.rom when there;
#                              "seabios" for QEMU's own)
#      LUXC_VM_CONSOLE=FILE    also write the console to FILE
#      LUXC_VM_APPEND="..."    more kernel command line
#      LUXC_VM_QEMU_ARGS="..." more QEMU arguments (split at spaces)
set -euo pipefail

say() { echo "vm/run.sh: $*" >&2; }
usage() { say "usage: run.sh CACHE_DIR PAYLOAD [FILE...]"; exit 2; }
[ $# -ge 2 ] || usage
cache=$1 payload=$2
shift 2

[ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.cpio.gz" ] \
  || { say "no kernel in $cache: run scripts/vm/build.sh $cache first"; exit 2; }
[ -e "$payload" ] || { say "no payload at $payload"; exit 2; }
command -v qemu-system-x86_64 >/dev/null 2>&1 \
  || { say "qemu-system-x86_64 not found: apt-get install qemu-system-x86 (scripts/vm/build.sh does)"; exit 2; }
command -v cpio >/dev/null 2>&1 || { say "cpio not found: apt-get install cpio"; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/luxc-vm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- the payload: a second cpio archive after build.sh's; the kernel unpacks both --
stage=$tmp/stage
mkdir -p "$stage/payload" "$stage/etc/luxc-vm"
chmod 755 "$stage/payload"
if [ -d "$payload" ]; then
  # Symlinks are followed: a payload may link to a file elsewhere in the tree
  # (e.g. a Lua suite the host tests run too); the guest gets the file itself.
  cp -RL --preserve=mode,timestamps "$payload/." "$stage/payload/"
else
  install -m 755 "$payload" "$stage/payload/run"
fi
for f in "$@"; do
  [ -f "$f" ] || { say "no such file: $f"; exit 2; }
  cp -L --preserve=mode "$f" "$stage/payload/"
done
[ -x "$stage/payload/run" ] || { say "$payload has no executable 'run'"; exit 2; }

: > "$stage/etc/luxc-vm/env"
for kv in ${LUXC_VM_ENV:-}; do
  case "$kv" in
    [A-Za-z_]*=*) ;;
    *) say "LUXC_VM_ENV: not NAME=VALUE: $kv"; exit 2 ;;
  esac
  name=${kv%%=*} value=${kv#*=}
  printf "export %s='%s'\n" "$name" "${value//\'/\'\\\'\'}" >> "$stage/etc/luxc-vm/env"
done

(cd "$stage" && find payload etc | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$tmp/payload.cpio.gz"
cat "$cache/initramfs.cpio.gz" "$tmp/payload.cpio.gz" > "$tmp/initrd"

# --- the machine ---------------------------------------------------------------------
accel=${LUXC_VM_ACCEL:-}
if [ -z "$accel" ]; then
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; else accel=tcg; fi
fi
case "$accel" in
  kvm) machine=(-accel kvm -cpu host) ;;
  tcg) machine=(-accel tcg -cpu max) ;;
  *) say "LUXC_VM_ACCEL must be kvm or tcg, not $accel"; exit 2 ;;
esac
share=()
if [ -n "${LUXC_VM_OUT:-}" ]; then
  mkdir -p "$LUXC_VM_OUT"
  share=(-fsdev "local,id=out,path=$(cd "$LUXC_VM_OUT" && pwd),security_model=none"
    -device "virtio-9p-pci,fsdev=out,mount_tag=luxc-out,addr=04.0")
fi
# qboot (qemu-system-data) starts a Linux kernel ~1.5 s sooner than SeaBIOS under TCG.
firmware=()
bios=${LUXC_VM_BIOS:-/usr/share/qemu/qboot.rom}
if [ "$bios" != seabios ] && [ -f "$bios" ]; then firmware=(-bios "$bios"); fi
timeout_s=${LUXC_VM_TIMEOUT:-300}
append="console=ttyS0 panic=-1 intel_iommu=on iommu=pt quiet loglevel=4 ${LUXC_VM_APPEND:-}"

say "booting ($accel, ${LUXC_VM_MEM:-1024} MiB, timeout ${timeout_s}s)"
# shellcheck disable=SC2086 # LUXC_VM_QEMU_ARGS is split at spaces on purpose
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
  -name luxc-vm -machine q35,kernel-irqchip=split "${machine[@]}" \
  -smp "${LUXC_VM_CPUS:-2}" -m "${LUXC_VM_MEM:-1024}" \
  -device intel-iommu,intremap=on \
  -netdev user,id=net0,restrict=on -device e1000e,netdev=net0,addr=02.0,romfile= \
  -device edu,addr=03.0 \
  "${share[@]}" "${firmware[@]}" \
  -nographic -nodefaults -no-user-config -serial stdio -no-reboot \
  -kernel "$cache/vmlinuz" -initrd "$tmp/initrd" -append "$append" \
  ${LUXC_VM_QEMU_ARGS:-} </dev/null | tee "$tmp/console"
qemu_rc=${PIPESTATUS[0]}
set -e

[ -z "${LUXC_VM_CONSOLE:-}" ] || cp "$tmp/console" "$LUXC_VM_CONSOLE"
rc=$(tr -d '\r' < "$tmp/console" | sed -n 's/^LUXC_VM_EXIT=\([0-9]\{1,3\}\)$/\1/p' | tail -n 1)
if [ -z "$rc" ]; then
  case "$qemu_rc" in
    124 | 137) say "the guest did not finish within ${timeout_s}s (LUXC_VM_TIMEOUT)" ;;
    *) say "the guest never reported an exit status (qemu exited $qemu_rc)" ;;
  esac
  exit 125
fi
exit "$rc"
