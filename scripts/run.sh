#!/usr/bin/env bash
# The main job: build luxc (release) if needed, report what this host can do,
# then run examples/quickstart.lua: three containers on the host's own
# filesystem, a table of what ran, everything removed. Installs and downloads
# nothing. Run from anywhere, as root on a fresh Debian machine: scripts/run.sh
set -euo pipefail

cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "run.sh: containers need root; run it as root (sudo scripts/run.sh)" >&2
  exit 1
fi

# A rustup install puts cargo here; a fresh shell may not have it on PATH yet.
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck source=/dev/null
  . "$HOME/.cargo/env"
fi

luxc=target/release/luxc
if command -v cargo >/dev/null 2>&1; then
  # cargo rebuilds only what changed; an up-to-date binary costs a second.
  cargo build --release --quiet
elif [ ! -x "$luxc" ]; then
  echo "run.sh: cargo not found and no $luxc built yet;" >&2
  echo "run.sh: install a Rust toolchain with rustup and a C compiler (apt-get install gcc)" >&2
  exit 1
fi

echo "== luxc check"
"$luxc" check
echo
echo "== luxc run examples/quickstart.lua"
"$luxc" run examples/quickstart.lua
