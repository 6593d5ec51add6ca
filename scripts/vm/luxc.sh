#!/usr/bin/env bash
# scripts/vm/luxc.sh
#
# Builds the luxc that runs inside the VM guest and prints its path. The guest has
# busybox and no shared libraries, so this luxc is linked statically (glibc,
# crt-static). --target keeps it apart from the normal builds: RUSTFLAGS then
# reach only the target's crates, not build scripts or proc macros, and the
# outputs land in target/x86_64-unknown-linux-gnu/vm-guest/ (profile vm-guest in
# Cargo.toml: quick to build, no debug info). Incremental: a second run costs
# about a second when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo=${CARGO:-cargo}
unset CARGO_ENCODED_RUSTFLAGS   # it would win over RUSTFLAGS
export RUSTFLAGS='-C target-feature=+crt-static'
bin=$("$cargo" build --locked --quiet --profile vm-guest --target x86_64-unknown-linux-gnu \
  --bin luxc --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*\/luxc\)".*/\1/p' | tail -n 1)
[ -n "$bin" ] && [ -x "$bin" ] || { echo "vm/luxc.sh: cargo built no luxc binary" >&2; exit 1; }
case "$(LC_ALL=C ldd "$bin" 2>&1)" in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *) echo "vm/luxc.sh: $bin is not statically linked:" >&2; ldd "$bin" >&2; exit 1 ;;
esac
echo "$bin"
