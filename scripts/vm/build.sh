#!/usr/bin/env bash
# scripts/vm/build.sh [CACHE_DIR]
#
# Builds what the VM tests boot: CACHE_DIR/vmlinuz, a stock Debian kernel (the
# package linux-image-amd64 currently depends on), and CACHE_DIR/initramfs.cpio.gz:
# static busybox, this folder's init and init-stage2, and the kernel modules the
# tests need (VFIO, the emulated NICs, virtio and 9p, overlay, the link types,
# qdiscs and nf_tables with NAT). CACHE_DIR defaults to target/vm.
#
# Cached: nothing is done when CACHE_DIR/stamp says the outputs were built from
# the same kernel package version and the same inputs (this folder's scripts).
# Installs the host tools it needs (qemu-system-x86, busybox-static, cpio, kmod)
# when they are missing and it runs as root; otherwise it names them and stops.
#
# Env: LUXC_VM_KERNEL=linux-image-6.1.0-NN-amd64  pin the kernel package
#      LUXC_VM_REBUILD=1                            ignore the cache
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${1:-$repo/target/vm}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

say() { echo "vm/build.sh: $*" >&2; }
die() { say "$@"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# One build at a time per cache (two test binaries may ask at once).
exec 9>"$cache/.lock"
flock 9

# --- host tools --------------------------------------------------------------
static_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox; do
    [ -x "$b" ] || continue
    case "$(LC_ALL=C ldd "$b" 2>&1)" in
      *"not a dynamic executable"* | *"statically linked"*) echo "$b"; return 0 ;;
    esac
  done
  return 1
}
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
static_busybox >/dev/null || need+=(busybox-static)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
command -v depmod >/dev/null 2>&1 || need+=(kmod)
if [ ${#need[@]} -gt 0 ]; then
  is_root || die "missing packages ${need[*]}; run as root to install them (apt-get install ${need[*]})"
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${need[@]}" >&2 \
    || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${need[@]}" >&2; }
fi
# depmod and modprobe live in /sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
busybox=$(static_busybox) || die "no static busybox at /bin/busybox or /usr/bin/busybox"

# --- which kernel --------------------------------------------------------------
# The real package behind the meta package, e.g. linux-image-6.1.0-41-amd64, and
# the version apt would download now.
resolve_kernel() {
  kpkg=${LUXC_VM_KERNEL:-$(apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')}
  kdebver=
  [ -n "$kpkg" ] || return 1
  kdebver=$(apt-cache policy "$kpkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
  [ -n "$kdebver" ] && [ "$kdebver" != "(none)" ]
}
if ! resolve_kernel; then
  if is_root; then
    say "apt knows no linux-image-amd64 yet: apt-get update"
    apt-get update -q >&2
    resolve_kernel || die "apt cannot find the Debian kernel package (linux-image-amd64)"
  elif [ -f "$cache/stamp" ] && [ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.cpio.gz" ]; then
    say "apt cannot name the kernel package (not root, no package lists); using the cached build"
    exit 0
  else
    die "apt cannot find linux-image-amd64; run 'apt-get update' as root first"
  fi
fi
kver=${kpkg#linux-image-}

# --- cache ---------------------------------------------------------------------
inputs=$(cat "$here/build.sh" "$here/init" "$here/init-stage2" | sha256sum | cut -c1-16)
stamp="kernel=$kpkg version=$kdebver inputs=$inputs"
if [ "${LUXC_VM_REBUILD:-0}" != 1 ] && [ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.cpio.gz" ] \
  && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
  say "up to date: $kpkg $kdebver in $cache"
  exit 0
fi
started=$(date +%s)
rm -f "$cache/stamp"

# --- the kernel package -----------------------------------------------------------
# Kept in CACHE_DIR/deb: one .deb (~70 MB), replaced when the version moves.
debname="${kpkg}_${kdebver//:/%3a}_amd64.deb"
deb=$cache/deb/$debname
if [ ! -f "$deb" ]; then
  mkdir -p "$cache/deb"
  rm -f "$cache"/deb/*.deb
  dl=$(mktemp -d "$cache/deb/dl.XXXXXX")
  # As root, apt downloads as user _apt, who may not reach into CACHE_DIR.
  sandbox=()
  is_root && sandbox=(-o APT::Sandbox::User=root)
  say "downloading $kpkg $kdebver"
  if ! (cd "$dl" && apt-get download -q "${sandbox[@]}" "$kpkg=$kdebver" >&2) && is_root; then
    # A stale package list names a version the mirror has dropped: refresh, retry.
    apt-get update -q >&2
    resolve_kernel || die "apt cannot find linux-image-amd64 after apt-get update"
    kver=${kpkg#linux-image-}
    stamp="kernel=$kpkg version=$kdebver inputs=$inputs"
    debname="${kpkg}_${kdebver//:/%3a}_amd64.deb"
    deb=$cache/deb/$debname
    (cd "$dl" && apt-get download -q "${sandbox[@]}" "$kpkg=$kdebver" >&2)
  fi
  got=$(ls "$dl"/*.deb 2>/dev/null | head -1)
  [ -n "$got" ] || die "apt-get download $kpkg=$kdebver gave no .deb"
  mv "$got" "$deb"
  rm -rf "$dl"
fi

# --- unpack, pick the modules -------------------------------------------------------
work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
kroot=$work/kernel
say "unpacking $debname"
dpkg-deb -x "$deb" "$kroot"
[ -f "$kroot/boot/vmlinuz-$kver" ] || die "$debname has no boot/vmlinuz-$kver"
depmod -b "$kroot" "$kver"   # the package ships no modules.dep

# Modules the guest loads at boot, dependencies first. Those built into this kernel
# are left out (modprobe says "builtin").
modules="
  vfio_pci vfio_iommu_type1
  e1000e virtio_pci virtio_net virtio_blk virtio_console 9pnet_virtio 9p
  overlay veth bridge 8021q macvlan ipvlan vxlan dummy tun
  sch_tbf sch_netem
  nf_tables nft_chain_nat nft_nat nft_masq nft_ct
"
r=$work/initramfs
mkdir -p "$r"/{boot,bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,var/tmp,etc/luxc-vm,lib/modules/"$kver"}
chmod 1777 "$r/tmp" "$r/var/tmp"
chmod 700 "$r/root"
: > "$r/etc/luxc-vm/modules"
for m in $modules; do
  deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m") \
    || die "module $m is not in $kpkg"
  echo "$deps" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
  rel=${ko#"$kroot"}
  mkdir -p "$r$(dirname "$rel")"
  cp "$ko" "$r$rel"
  echo "$rel" >> "$r/etc/luxc-vm/modules"
done
cp "$kroot/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$r/lib/modules/$kver/"
depmod -b "$r" "$kver"   # so that a payload can modprobe what is there
nmods=$(wc -l < "$r/etc/luxc-vm/modules")

# --- busybox, /etc, init -------------------------------------------------------------
cp "$busybox" "$r/bin/busybox"
chmod 755 "$r/bin/busybox"
"$busybox" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] || [ -e "$r/$applet" ] || ln -s /bin/busybox "$r/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$r/etc/hosts"
echo luxc-vm > "$r/etc/hostname"
echo "$kpkg $kdebver" > "$r/etc/luxc-vm/kernel"
cp "$kroot/boot/config-$kver" "$r/boot/"   # for luxc check: no /proc/config.gz here
install -m 755 "$here/init" "$r/init"
install -m 755 "$here/init-stage2" "$r/init-stage2"

# --- outputs -----------------------------------------------------------------------
(cd "$r" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$work/initramfs.cpio.gz"
cp "$kroot/boot/vmlinuz-$kver" "$work/vmlinuz"
mv "$work/vmlinuz" "$cache/vmlinuz"
mv "$work/initramfs.cpio.gz" "$cache/initramfs.cpio.gz"
echo "$stamp" > "$cache/stamp"
say "built $cache/vmlinuz ($kpkg $kdebver) and initramfs.cpio.gz" \
  "($(du -k "$cache/initramfs.cpio.gz" | cut -f1) KiB, $nmods modules) in $(( $(date +%s) - started ))s"
