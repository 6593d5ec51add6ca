#!/usr/bin/env bash
# Benchmark harness (not a test): process start-to-exit of `luxc -e ''`,
# side by side in one run with `lua5.4 -e ''` (Debian package lua5.4) and
# `/bin/true` for context, plus peak RSS of luxc and lua5.4.
#
# Goal (docs/DESIGN "Performance targets"): median under 5 ms and at most
# 2x the median of `lua5.4 -e ''`.  The script prints PASS/FAIL for each goal
# and exits 0 either way; it exits non-zero only when the harness itself fails.
#
# Usage: scripts/bench-startup.sh
# Environment:
#   LUXC_BIN   use this luxc binary instead of building `cargo build --release`
#   RUNS       timed runs per command (default 300)
#   WARMUP     warm-up runs per command (default 20)
#   RSS_RUNS   runs per command for the peak-RSS sample (default 30)
#   KEEP_JSON  if set, keep hyperfine's JSON export at this path
#
# Needs (installed with apt-get when missing and running as root, Debian):
# lua5.4, hyperfine, time (GNU /usr/bin/time); python3 for the statistics.
set -euo pipefail

RUNS=${RUNS:-300}
WARMUP=${WARMUP:-20}
RSS_RUNS=${RSS_RUNS:-30}
GOAL_MS=5
GOAL_RATIO=2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-startup: $*"; exit 1; }

# --- dependencies -----------------------------------------------------------

apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "missing packages ($*) and not root: install them with apt-get"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing packages ($*) and no apt-get"
    say "bench-startup: installing $*"
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get install -y --no-install-recommends "$@" >&2; then
        "${sudo[@]}" apt-get update >&2
        "${sudo[@]}" apt-get install -y --no-install-recommends "$@" >&2
    fi
}

missing=()
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the statistics"
LUA_BIN=$(command -v lua5.4)

# --- luxc binary ------------------------------------------------------------

if [ -z "${LUXC_BIN:-}" ]; then
    say "bench-startup: cargo build --release"
    (cd "$root" && cargo build --release --bin luxc >&2)
    LUXC_BIN="${CARGO_TARGET_DIR:-$root/target}/release/luxc"
fi
[ -x "$LUXC_BIN" ] || die "not an executable: $LUXC_BIN"
LUXC_BIN=$(cd "$(dirname "$LUXC_BIN")" && pwd)/$(basename "$LUXC_BIN")

# Both must run the empty chunk and exit 0, or the timings mean nothing.
"$LUXC_BIN" -e '' </dev/null || die "\`$LUXC_BIN -e ''\` failed"
"$LUA_BIN" -e '' </dev/null || die "\`lua5.4 -e ''\` failed"

# --- machine context --------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)
echo "## Machine"
echo
echo "- date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- nproc:     $(nproc)"
echo "- kernel:    $(uname -sr)"
echo "- cpu:       $cpu_model"
echo "- load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (before the run)"
echo "- luxc:      $("$LUXC_BIN" --version 2>&1 | head -n1) ($LUXC_BIN, $(stat -c %s "$LUXC_BIN") bytes)"
echo "- lua5.4:    $("$LUA_BIN" -v 2>&1 | head -n1) ($LUA_BIN)"
echo "- hyperfine: $(hyperfine --version | head -n1)"
echo

# --- timings ----------------------------------------------------------------

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
json="$tmp/hyperfine.json"

say "bench-startup: hyperfine -N --warmup $WARMUP --runs $RUNS (luxc, lua5.4, /bin/true)"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
    --export-json "$json" \
    -n "luxc -e ''" "$LUXC_BIN -e ''" \
    -n "lua5.4 -e ''" "$LUA_BIN -e ''" \
    -n "/bin/true" "/bin/true" >&2
if [ -n "${KEEP_JSON:-}" ]; then
    cp "$json" "$KEEP_JSON"
fi

# --- peak RSS ---------------------------------------------------------------

# GNU time's %M is the child's peak resident set size (ru_maxrss) in KiB.
rss_sample() {
    local out=$1; shift
    local i
    : >"$out"
    for ((i = 0; i < RSS_RUNS; i++)); do
        /usr/bin/time -f %M -o "$tmp/one" "$@" </dev/null >/dev/null
        cat "$tmp/one" >>"$out"
    done
}
say "bench-startup: peak RSS, /usr/bin/time -f %M, $RSS_RUNS runs each"
rss_sample "$tmp/rss-luxc" "$LUXC_BIN" -e ''
rss_sample "$tmp/rss-lua" "$LUA_BIN" -e ''

# --- report -----------------------------------------------------------------

python3 - "$json" "$tmp/rss-luxc" "$tmp/rss-lua" "$GOAL_MS" "$GOAL_RATIO" "$RUNS" "$WARMUP" "$RSS_RUNS" <<'PY'
import json, statistics, sys

path, rss_luxc, rss_lua = sys.argv[1:4]
goal_ms, goal_ratio = float(sys.argv[4]), float(sys.argv[5])
runs, warmup, rss_runs = sys.argv[6:9]

with open(path) as f:
    results = {r["command"]: r for r in json.load(f)["results"]}

def stats(name):
    t = [x * 1000.0 for x in results[name]["times"]]
    return {
        "n": len(t),
        "median": statistics.median(t),
        "mean": statistics.fmean(t),
        "stddev": statistics.stdev(t) if len(t) > 1 else 0.0,
        "min": min(t),
        "max": max(t),
    }

names = ["luxc -e ''", "lua5.4 -e ''", "/bin/true"]
s = {n: stats(n) for n in names}
lua_med = s["lua5.4 -e ''"]["median"]

print(f"## Start-to-exit (hyperfine -N, {warmup} warm-up + {runs} runs each, ms)")
print()
print("| command | median | mean ± stddev | min | max | median / lua5.4 |")
print("|---|---:|---:|---:|---:|---:|")
for n in names:
    x = s[n]
    ratio = x["median"] / lua_med
    print(f"| `{n}` | {x['median']:.2f} | {x['mean']:.2f} ± {x['stddev']:.2f} "
          f"| {x['min']:.2f} | {x['max']:.2f} | {ratio:.2f}x |")
print()

def rss(p):
    v = [int(l) for l in open(p) if l.strip()]
    return statistics.median(v), max(v)

lx, lxmax = rss(rss_luxc)
lu, lumax = rss(rss_lua)
print(f"## Peak RSS (GNU /usr/bin/time -f %M, {rss_runs} runs each, KiB)")
print()
print("| command | median | max | median / lua5.4 |")
print("|---|---:|---:|---:|")
print(f"| `luxc -e ''` | {lx:.0f} | {lxmax} | {lx / lu:.2f}x |")
print(f"| `lua5.4 -e ''` | {lu:.0f} | {lumax} | 1.00x |")
print()

med = s["luxc -e ''"]["median"]
ratio = med / lua_med
ok_abs = med < goal_ms
ok_rel = ratio <= goal_ratio
print("## Verdict")
print()
print(f"- luxc median {med:.2f} ms, lua5.4 median {lua_med:.2f} ms, ratio {ratio:.2f}x")
print(f"- goal: < {goal_ms:g} ms: {'PASS' if ok_abs else 'FAIL'}; "
      f"<= {goal_ratio:g}x lua5.4: {'PASS' if ok_rel else 'FAIL'}")
PY
