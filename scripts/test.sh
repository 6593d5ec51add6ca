#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine (as
# root), then checks formatting, lints and runs every test tier this host can run.
set -euo pipefail
cd "$(dirname "$0")/.."

# A Rust toolchain cannot come from apt at the version these crates need; the
# project's machines carry one (rustup). Say so plainly when it is missing.
for tool in cargo rustfmt cargo-clippy; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "scripts/test.sh: $tool not found: install a Rust toolchain (rustup, with rustfmt and clippy)" >&2
    exit 1
  fi
done

# Debian packages the tests use (gcc builds the vendored Lua; QEMU, cpio and
# kmod the VM tests, see docs/vm.md; pciutils' lspci and the pci.ids database the
# PCI tests, which compare `luxc pci ls` with them). Installed only when missing,
# so a warm machine does not touch apt at all.
need=()
for pkg_cmd in "iproute2:ip" "gcc:cc" "coreutils:sleep" "dash:sh" "busybox-static:busybox" "procps:ps" \
  "qemu-system-x86:qemu-system-x86_64" "cpio:cpio" "kmod:depmod" "nftables:nft" "pciutils:lspci"; do
  pkg=${pkg_cmd%%:*} cmd=${pkg_cmd#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# Data packages have no command to look for: check their file.
for pkg_file in "pci.ids:/usr/share/misc/pci.ids"; do
  pkg=${pkg_file%%:*} file=${pkg_file#*:}
  [ -e "$file" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: missing packages ${need[*]}; run as root to install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" \
    || { apt-get update && apt-get install -y --no-install-recommends "${need[@]}"; }
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --locked --all-targets
