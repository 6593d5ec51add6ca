#!/usr/bin/env bash
# Benchmark harness (not a test): creating, limiting and removing 1,000
# cgroups, luxc side by side in one run with cgcreate/cgset/cgdelete from
# Debian's cgroup-tools (libcgroup).
#
# The work, the same for every tool: for i in 1..N (N = 1000), create group
# "luxc-bench-<pid>/g<i>" (the parent comes with the first group), limit it
# to memory 64M, 64 pids and half a CPU (quota 50000 us per 100000 us), then
# remove all N groups and the parent.
#
# Hierarchies: luxc.cgroup.create makes a group in every v1 hierarchy that
# carries a controller (not in name=systemd) and in the cgroup2 mount.  To
# keep the work the same, cgcreate gets every v1 hierarchy luxc uses (read
# from luxc.cgroup.mode()), not only memory,pids,cpu.  What luxc still does
# on top (printed by the harness, and in docs/performance.md): the group in
# the cgroup2 mount of a hybrid host (cgcreate 2.0.2 cannot address it:
# `cgcreate -g :path` fails with "cgroup controller and path parsing
# failed"), cgroup.subtree_control there, cpuset.cpus/mems copied from the
# parent (cgcreate leaves them empty, so no task could join the group),
# memory.use_hierarchy, a journal record per group, and a check that no
# process is left in a group before removing it.
#
# Variants:
#   cgroup-tools, shell loop   what users write: per group `cgcreate -g
#                              CTRLS:PATH` and `cgset -r ... PATH`; then per
#                              group one `cgdelete -g CTRL:PATH` per
#                              hierarchy (see below), then the parent.
#   cgroup-tools, batch        the fewest processes the tools allow: one
#                              cgcreate with N -g, one cgset with N paths,
#                              one cgdelete per hierarchy with N -g (and
#                              the parent).
#   luxc (a)                   one Lua script (benches/cgroups.lua):
#                              luxc.cgroup.create(path, limits, { lab = L })
#                              per group, then cg:destroy() per group.  The
#                              intended use, and the row the verdict uses.
#   luxc (b)                   the same, removing with lab:down().
#   luxc (c)                   luxc.cgroup.create(path) then cg:set(limits)
#                              (the shape of cgcreate + cgset), cg:destroy().
#   luxc starts one process for the whole run (about 1.5 ms, see "Process
#   start" in docs/performance.md); the shell loop starts 2 + H processes
#   per group (H = hierarchies), the batch 2 + H in all.
#
# cgdelete: cgroup-tools 2.0.2 (Debian 12) removes a group only from the
# hierarchy of the FIRST controller of a path and exits 0 (`cgdelete -g
# memory,pids:x` leaves pids/x; cgdelete's skip_add_controller looks the
# hierarchy number up by the group's path instead of the controller name, so
# every further controller of that path is skipped as "same hierarchy").  Two
# -g for the same path behave the same.  So both cgroup-tools variants run
# one cgdelete per hierarchy; the harness checks after every run that
# nothing is left.
#
# Timing: a python3 driver starts each run (a process: `luxc
# benches/cgroups.lua ...`, or `bash` with a generated script) and times
# spawn to exit; the scripts print a line when a phase ends ("created",
# "removed") and the driver timestamps those lines as they arrive (luxc has
# no wall-clock API).  CPU time (user + system) comes from wait4(), so it
# includes the processes a shell script started.  RUNS rounds; each round
# runs every variant once, the order rotated from round to round so that
# load changes spread over all tools; PAUSE seconds between runs let the
# kernel finish freeing the removed groups (not timed).  Then, unless
# HF_RUNS=0, hyperfine -N runs every variant HF_RUNS more times as a
# cross-check of the totals.
#
# Goal: the issue ("Benchmark: creating, limiting and removing 1,000
# cgroups, against cgcreate/cgset/cgdelete") names no ratio; the harness
# uses "luxc at most as slow as cgroup-tools" (<= 1.0x, median totals, luxc
# (a) against the shell loop) and prints PASS/FAIL; the same ratio against
# the batch variant is printed too, for information.  It exits 0 whether or
# not the goal is met, non-zero only when the harness itself fails.
#
# Cleanup: on any exit, `luxc down` for each lab the harness used, rmdir of
# whatever is left of luxc-bench-<pid> in every hierarchy, the temp dir;
# then ../shared/tools/leftovers is run and its verdict printed.
#
# Usage (as root, Debian; installs cgroup-tools and hyperfine with apt-get
# when missing, then `cargo build --release`):
#   benches/cgroups.sh
# Environment:
#   LUXC_BIN   use this luxc binary instead of building it
#   N          groups per run (default 1000)
#   RUNS       rounds of the driver; each runs every variant once (default 5)
#   HF_RUNS    hyperfine cross-check runs per variant (default 2; 0 skips)
#   PAUSE      seconds between runs, not timed (default 1)
#   LOOP       1 (default) includes the cgroup-tools shell loop (about 25 s
#              a run on a 2-vCPU VM); 0 leaves it out (no verdict then)
#   KEEP_JSON  if set, a directory to copy the raw timings to
set -euo pipefail

N=${N:-1000}
RUNS=${RUNS:-5}
HF_RUNS=${HF_RUNS:-2}
PAUSE=${PAUSE:-1}
LOOP=${LOOP:-1}
GOAL=1.0

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
benches="$root/benches"
LEFTOVERS=${LEFTOVERS:-$root/../shared/tools/leftovers}

say() { printf '%s\n' "$*" >&2; }
die() { say "cgroups: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (cgroups need it)"
for v in N RUNS HF_RUNS PAUSE LOOP; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
[ "$N" -ge 1 ] && [ "$RUNS" -ge 1 ] || die "N and RUNS must be at least 1"

# --- dependencies -----------------------------------------------------------

apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "missing packages ($*) and no apt-get"
    say "cgroups: apt-get install -y $*"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "$@" >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends "$@" >&2
    fi
}

missing=()
for t in cgcreate cgset cgdelete; do
    command -v $t >/dev/null 2>&1 || { missing+=(cgroup-tools); break; }
done
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the driver and the statistics"

# --- luxc binary --------------------------------------------------------------

if [ -z "${LUXC_BIN:-}" ]; then
    say "cgroups: cargo build --release"
    (cd "$root" && cargo build --release --bin luxc >&2)
    LUXC_BIN="${CARGO_TARGET_DIR:-$root/target}/release/luxc"
fi
[ -x "$LUXC_BIN" ] || die "not an executable: $LUXC_BIN"

# --- scratch space and cleanup ------------------------------------------------

PREFIX="luxc-bench-$$"
LABS=("cgbench-$$-a" "cgbench-$$-b" "cgbench-$$-c" "cgbench-$$-chk")
tmp=$(mktemp -d /tmp/luxc-cgbench.XXXXXX)
LUXC="$tmp/luxc"

# What is left of this run in the kernel: our group in any hierarchy, our labs.
ours_left() {
    local d lab
    for d in /sys/fs/cgroup/*/"$PREFIX"; do
        [ -d "$d" ] && echo "cgroup dir $d"
    done
    for lab in "${LABS[@]}"; do
        [ -e "/run/luxc/$lab" ] && echo "lab state /run/luxc/$lab"
    done
    return 0
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [ -n "${driver_pid:-}" ]; then
        kill "$driver_pid" 2>/dev/null
        wait "$driver_pid" 2>/dev/null
    fi
    for lab in "${LABS[@]}"; do
        if [ -e "/run/luxc/$lab" ] && [ -x "$LUXC" ]; then
            "$LUXC" down "$lab" >&2 || say "cgroups: luxc down $lab failed"
        fi
    done
    local d
    for d in /sys/fs/cgroup/*/"$PREFIX"; do
        # Deepest first; only this run's tree.
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        [ -d "$d" ] && say "cgroups: could not remove $d"
    done
    rm -rf "$tmp"
    local left
    left=$(ours_left)
    echo
    if [ -n "$left" ]; then
        echo "Cleanup: LEFT BEHIND by this run: $(echo "$left" | tr '\n' ';')"
        [ "$rc" -eq 0 ] && rc=1
    else
        echo "Cleanup: nothing of this run is left (no $PREFIX group, no cgbench-$$-* lab)."
    fi
    if [ -x "$LEFTOVERS" ]; then
        echo "$LEFTOVERS:"
        "$LEFTOVERS" 2>&1 | sed 's/^/    /'
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private copy, so that a rebuild by someone else during the run cannot
# change the binary in the middle of the run.
cp "$LUXC_BIN" "$LUXC"
"$LUXC" -e '' </dev/null || die "\`$LUXC_BIN -e ''\` failed"

# --- the hierarchies luxc uses ------------------------------------------------

# One line per v1 hierarchy that carries a controller ("MOUNTPOINT CTRL,CTRL"),
# then "unified MOUNTPOINT CTRLS" where there is a cgroup2 mount; first line: mode.
"$LUXC" -e '
local mode, l = luxc.cgroup.mode()
print(mode)
for _, h in ipairs(l.v1 or {}) do
  local c = {}
  for _, x in ipairs(h.controllers) do
    if not x:find("^name=") then c[#c + 1] = x end
  end
  if #c > 0 then print(h.mountpoint .. " " .. table.concat(c, ",")) end
end
if l.unified then
  print("unified " .. l.unified.mountpoint .. " " .. table.concat(l.unified.controllers, ","))
end' </dev/null >"$tmp/layout" || die "luxc.cgroup.mode() failed"
MODE=$(head -n1 "$tmp/layout")
[ "$MODE" != v2 ] || die "this host is cgroup v2 only: cgroup-tools' memory.limit_in_bytes etc. are v1 files; the harness is written for v1/hybrid hosts"
CREATE_CTRLS=""   # every controller of every v1 hierarchy luxc uses, for cgcreate
DELETE_CTRLS=()   # one controller per hierarchy, for cgdelete
V1_DIRS=()
UNIFIED_DIR=""
while read -r a b c; do
    if [ "$a" = unified ]; then UNIFIED_DIR=$b; continue; fi
    V1_DIRS+=("$a")
    CREATE_CTRLS="${CREATE_CTRLS:+$CREATE_CTRLS,}$b"
    DELETE_CTRLS+=("${b%%,*}")
done < <(tail -n +2 "$tmp/layout")
[ "${#V1_DIRS[@]}" -gt 0 ] || die "no v1 hierarchy with a controller"
for need in memory pids cpu; do
    [[ ",$CREATE_CTRLS," == *",$need,"* ]] || die "this host has no v1 $need controller"
done
H=${#DELETE_CTRLS[@]}

# --- the cgroup-tools scripts -------------------------------------------------

CGSET_ARGS="-r memory.limit_in_bytes=64M -r pids.max=64 -r cpu.cfs_quota_us=50000 -r cpu.cfs_period_us=100000"

cat >"$tmp/tools-loop.sh" <<EOF
# cgroup-tools, shell loop: per group cgcreate + cgset; then per group one
# cgdelete per hierarchy (cgdelete 2.0.2 removes only the first controller's).
set -eu
P=\$1 N=\$2
echo start
for ((i = 1; i <= N; i++)); do
    cgcreate -g "$CREATE_CTRLS:\$P/g\$i"
    cgset $CGSET_ARGS "\$P/g\$i"
done
echo created
for ((i = 1; i <= N; i++)); do
    for c in ${DELETE_CTRLS[*]}; do cgdelete -g "\$c:\$P/g\$i"; done
done
for c in ${DELETE_CTRLS[*]}; do cgdelete -g "\$c:\$P"; done
echo removed
EOF

cat >"$tmp/tools-batch.sh" <<EOF
# cgroup-tools, batch: one cgcreate (N -g), one cgset (N paths), one cgdelete
# per hierarchy (N -g and the parent). The argument lists are built first.
set -eu
P=\$1 N=\$2
create=() paths=()
for ((i = 1; i <= N; i++)); do
    create+=(-g "$CREATE_CTRLS:\$P/g\$i")
    paths+=("\$P/g\$i")
done
echo start
cgcreate "\${create[@]}"
cgset $CGSET_ARGS "\${paths[@]}"
echo created
for c in ${DELETE_CTRLS[*]}; do
    del=()
    for ((i = 1; i <= N; i++)); do del+=(-g "\$c:\$P/g\$i"); done
    cgdelete "\${del[@]}" -g "\$c:\$P"
done
echo removed
EOF

# --- sanity: both tools do the same work --------------------------------------

# Creates one group with each tool, reads back where it exists and its limits,
# removes it, and checks that nothing is left. Prints one line per tool.
probe() {
    local d out=()
    for d in "${V1_DIRS[@]}" ${UNIFIED_DIR:+"$UNIFIED_DIR"}; do
        [ -d "$d/$PREFIX/g1" ] && out+=("${d#/sys/fs/cgroup/}")
    done
    local m p q per cs
    m=$(cat "/sys/fs/cgroup/memory/$PREFIX/g1/memory.limit_in_bytes" 2>/dev/null || echo '?')
    p=$(cat "/sys/fs/cgroup/pids/$PREFIX/g1/pids.max" 2>/dev/null || echo '?')
    q=$(cat "/sys/fs/cgroup/cpu/$PREFIX/g1/cpu.cfs_quota_us" 2>/dev/null || echo '?')
    per=$(cat "/sys/fs/cgroup/cpu/$PREFIX/g1/cpu.cfs_period_us" 2>/dev/null || echo '?')
    cs=$(cat "/sys/fs/cgroup/cpuset/$PREFIX/g1/cpuset.cpus" 2>/dev/null || echo '?')
    echo "hierarchies: ${out[*]} (${#out[@]}); memory.limit_in_bytes=$m pids.max=$p cpu.cfs_quota_us=$q cpu.cfs_period_us=$per cpuset.cpus='${cs}'"
}

cgcreate -g "$CREATE_CTRLS:$PREFIX/g1" || die "cgcreate failed"
# shellcheck disable=SC2086
cgset $CGSET_ARGS "$PREFIX/g1" || die "cgset failed"
probe_tools=$(probe)
for c in "${DELETE_CTRLS[@]}"; do cgdelete -g "$c:$PREFIX/g1" && cgdelete -g "$c:$PREFIX"; done || die "cgdelete failed"
[ -z "$(ours_left)" ] || die "cgdelete left $(ours_left | tr '\n' ' ')"

"$LUXC" -e "
local lab = luxc.lab('${LABS[3]}')
luxc.cgroup.create('$PREFIX/g1', { memory = '64M', pids = 64, cpus = 0.5 }, { lab = lab })
print('ok')" </dev/null >/dev/null || die "luxc.cgroup.create failed"
probe_luxc=$(probe)
"$LUXC" down "${LABS[3]}" >/dev/null || die "luxc down ${LABS[3]} failed"
[ -z "$(ours_left)" ] || die "luxc down left $(ours_left | tr '\n' ' ')"

# A check of the cgdelete behaviour described in the header.
cgcreate -g "memory,pids:$PREFIX/x" || die "cgcreate failed"
cgdelete -g "memory,pids:$PREFIX/x" && cgdelete_rc=0 || cgdelete_rc=$?
if [ -d "/sys/fs/cgroup/pids/$PREFIX/x" ]; then
    cgdelete_note="\`cgdelete -g memory,pids:PATH\` exited $cgdelete_rc and left the group in pids (removes only the first controller's)"
else
    cgdelete_note="\`cgdelete -g memory,pids:PATH\` removed both (exit $cgdelete_rc): this cgroup-tools has not the 2.0.2 bug; the harness still runs one cgdelete per hierarchy"
fi
for c in memory pids; do
    cgdelete -g "$c:$PREFIX/x" 2>/dev/null || true
    cgdelete -g "$c:$PREFIX" 2>/dev/null || true
done
[ -z "$(ours_left)" ] || die "the cgdelete check left $(ours_left | tr '\n' ' ')"

# --- machine context ----------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')
if [ -n "$dirty" ]; then
    commit="$commit (+ uncommitted changes in: $dirty)"
fi
memcg() { awk '$1 == "memory" {print $3}' /proc/cgroups; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
memcg_before=$(memcg)
echo "# Cgroups: create, limit, remove $N"
echo
echo "## Machine"
echo
echo "- date:        $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- commit:      $commit"
echo "- nproc:       $(nproc)"
echo "- kernel:      $(uname -sr)"
echo "- cpu:         $cpu_model"
echo "- os:          $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")"
echo "- load avg:    $load_before (before the run)"
echo "- cgroups:     $MODE; v1 hierarchies luxc uses: $CREATE_CTRLS ($H); cgroup2: ${UNIFIED_DIR:-none} (controllers: $(tail -n1 "$tmp/layout" | awk '$1 == "unified" {print $3}'))"
echo "- memory cgroups on the host before: $memcg_before (/proc/cgroups)"
echo
echo "## Versions"
echo
echo "- luxc:         $("$LUXC" --version 2>&1 | head -n1) ($LUXC_BIN)"
echo "- cgroup-tools: $(dpkg-query -W -f='${Version}' cgroup-tools 2>/dev/null || echo '?')"
echo "- hyperfine:    $(hyperfine --version | head -n1)"
echo "- bash:         ${BASH_VERSION}"
echo
echo "## Setup"
echo
echo "- Work: $N groups $PREFIX/g1..g$N, each limited to memory 64M, pids 64, cpu quota 50000/100000 us;"
echo "  then all removed, with the parent."
echo "- cgroup-tools: cgcreate -g $CREATE_CTRLS:PATH (every v1 hierarchy luxc uses);"
echo "  cgset $CGSET_ARGS PATH;"
echo "  cgdelete -g CTRL:PATH once per hierarchy ($H per group): $cgdelete_note."
echo "- after cgcreate + cgset: $probe_tools"
echo "- after luxc.cgroup.create: $probe_luxc"
echo "- luxc does more work per group: the cgroup2 group (cgcreate cannot make it on this host), cpuset"
echo "  copied from the parent, memory.use_hierarchy, journal records, a check for processes before rmdir."
echo "- Process starts: luxc 1 per run; shell loop $((2 + H)) per group ($(((2 + H) * N)) per run); batch $((2 + H)) per run."
echo "- Driver: $RUNS rounds, every variant once per round, order rotated; ${PAUSE}s pause between runs (not timed)."
echo

# --- timed runs ----------------------------------------------------------------

variants=()
if [ "$LOOP" = 1 ]; then
    variants+=("cgroup-tools, shell loop|bash $tmp/tools-loop.sh $PREFIX $N")
fi
variants+=(
    "cgroup-tools, batch|bash $tmp/tools-batch.sh $PREFIX $N"
    "luxc (a) create with limits, destroy|$LUXC $benches/cgroups.lua ${LABS[0]} $PREFIX $N create destroy"
    "luxc (b) create with limits, lab:down()|$LUXC $benches/cgroups.lua ${LABS[1]} $PREFIX $N create down"
    "luxc (c) create, set, destroy|$LUXC $benches/cgroups.lua ${LABS[2]} $PREFIX $N set destroy"
)
printf '%s\n' "${variants[@]}" >"$tmp/variants"
printf '%s\n' "${LABS[@]:0:3}" >"$tmp/labs"

say "cgroups: $RUNS rounds of ${#variants[@]} variants, $N groups each"
python3 - "$tmp" "$PREFIX" "$N" "$RUNS" "$PAUSE" >"$tmp/driver.out" <<'PY' &
# The driver: runs each variant once per round, times spawn to exit, the
# phase lines as they arrive, and the CPU time from wait4(); checks after
# every run that nothing of it is left. Raw results to TMP/runs.json.
import glob, json, os, signal, subprocess, sys, time

# The harness stops the driver with SIGTERM (a background job ignores SIGINT):
# turn it into an exception, so that the running variant is killed too.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

tmp, prefix, n, rounds, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
variants = [l.rstrip("\n").split("|", 1) for l in open(os.path.join(tmp, "variants")) if l.strip()]
labs = [l.strip() for l in open(os.path.join(tmp, "labs")) if l.strip()]

def left():
    out = glob.glob(f"/sys/fs/cgroup/*/{prefix}")
    out += [f"/run/luxc/{lab}" for lab in labs if os.path.exists(f"/run/luxc/{lab}")]
    return out

def run(name, cmd):
    err = open(os.path.join(tmp, "run.err"), "w+")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd.split(), stdout=subprocess.PIPE, stderr=err, text=True,
                         start_new_session=True)
    marks = {}
    try:
        for line in p.stdout:
            t = time.perf_counter() - t0
            f = line.split()
            if f:
                marks[f[0]] = {"t": t, "cpu": float(f[1]) if len(f) > 1 else None}
        _, status, ru = os.wait4(p.pid, 0)
    except BaseException:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    total = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        err.seek(0)
        sys.exit(f"{name}: exit {p.returncode}: {err.read()[-2000:]}")
    missing = [m for m in ("start", "created", "removed") if m not in marks]
    if missing:
        sys.exit(f"{name}: no {missing} line in its output")
    rest = left()
    if rest:
        sys.exit(f"{name}: left behind: {rest}")
    return {
        "total": total,
        "setup": marks["start"]["t"],
        "create": marks["created"]["t"] - marks["start"]["t"],
        "remove": marks["removed"]["t"] - marks["created"]["t"],
        "cpu_user": ru.ru_utime,
        "cpu_sys": ru.ru_stime,
        "luxc_cpu_create": (marks["created"]["cpu"] - marks["start"]["cpu"]) if marks["start"]["cpu"] is not None else None,
        "luxc_cpu_remove": (marks["removed"]["cpu"] - marks["created"]["cpu"]) if marks["start"]["cpu"] is not None else None,
    }

if left():
    sys.exit(f"leftovers before the first run: {left()}")
results = {name: [] for name, _ in variants}
for r in range(rounds):
    order = variants[r % len(variants):] + variants[:r % len(variants)]
    for name, cmd in order:
        time.sleep(pause)
        res = run(name, cmd)
        res["round"] = r + 1
        results[name].append(res)
        print(f"cgroups: round {r + 1}/{rounds}: {name}: {res['total']:.3f} s "
              f"(create {res['create']:.3f}, remove {res['remove']:.3f})", file=sys.stderr, flush=True)
json.dump({"n": n, "variants": [v[0] for v in variants], "commands": dict(variants), "results": results},
          open(os.path.join(tmp, "runs.json"), "w"), indent=1)
PY
driver_pid=$!
wait "$driver_pid" || { driver_pid=""; die "the driver failed (see above)"; }
driver_pid=""

# --- hyperfine cross-check -----------------------------------------------------

if [ "$HF_RUNS" -gt 0 ]; then
    hf_args=()
    while IFS='|' read -r name cmd; do hf_args+=(-n "$name" "$cmd"); done <"$tmp/variants"
    say "cgroups: hyperfine -N --runs $HF_RUNS (cross-check of the totals)"
    hyperfine -N --style basic --runs "$HF_RUNS" --prepare "sleep $PAUSE" \
        --export-json "$tmp/hyperfine.json" "${hf_args[@]}" >&2
    [ -z "$(ours_left)" ] || die "hyperfine runs left $(ours_left | tr '\n' ' ')"
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
memcg_after=$(memcg)
if [ -n "${KEEP_JSON:-}" ]; then
    mkdir -p "$KEEP_JSON"
    cp "$tmp"/runs.json "$KEEP_JSON"/
    [ -e "$tmp/hyperfine.json" ] && cp "$tmp/hyperfine.json" "$KEEP_JSON"/
fi

# --- report -------------------------------------------------------------------

python3 - "$tmp" "$GOAL" "$RUNS" <<'PY'
import json, os, statistics as st, sys

tmp, goal, rounds = sys.argv[1], float(sys.argv[2]), sys.argv[3]
d = json.load(open(os.path.join(tmp, "runs.json")))
n, res = d["n"], d["results"]
med = lambda xs: st.median(xs)
loop_name, batch_name, main_name = "cgroup-tools, shell loop", "cgroup-tools, batch", "luxc (a) create with limits, destroy"
m = {k: med([r["total"] for r in v]) for k, v in res.items()}
loop, batch = m.get(loop_name), m.get(batch_name)

print(f"## Results ({rounds} runs per variant; medians; s = seconds for all {n} groups, ms = per group)")
print()
print("| variant | total s | min–max s | per group ms | create+limit s | remove s | CPU user+sys s | / shell loop | / batch |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for k in d["variants"]:
    v = res[k]
    tot = [r["total"] for r in v]
    cpu = med([r["cpu_user"] + r["cpu_sys"] for r in v])
    rl = f"{m[k] / loop:.2f}x" if loop else "n/a"
    rb = f"{m[k] / batch:.2f}x" if batch else "n/a"
    print(f"| {k} | {m[k]:.3f} | {min(tot):.3f}–{max(tot):.3f} | {m[k] / n * 1000:.3f} | "
          f"{med([r['create'] for r in v]):.3f} | {med([r['remove'] for r in v]):.3f} | {cpu:.2f} | {rl} | {rb} |")
print()
print("Per run, s (round: total):")
print()
for k in d["variants"]:
    print(f"- {k}: " + ", ".join(f"{r['round']}: {r['total']:.3f}" for r in res[k]))
print()
print("CPU time, medians, s (user / system; for the shell variants, of bash and the tools it ran;")
print("for luxc also os.clock() per phase):")
print()
for k in d["variants"]:
    v = res[k]
    line = f"- {k}: user {med([r['cpu_user'] for r in v]):.2f} / sys {med([r['cpu_sys'] for r in v]):.2f}"
    if v[0]["luxc_cpu_create"] is not None:
        line += (f"; create+limit phase {med([r['luxc_cpu_create'] for r in v]):.2f}, "
                 f"remove phase {med([r['luxc_cpu_remove'] for r in v]):.2f}")
    print(line)
print()

hf = os.path.join(tmp, "hyperfine.json")
if os.path.exists(hf):
    h = json.load(open(hf))["results"]
    print("hyperfine -N cross-check (total, s): " + "; ".join(
        f"{r['command']}: median {r['median']:.3f} ({len(r['times'])} runs)" for r in h))
    print()

print("## Verdict (goal: luxc at most as slow as cgroup-tools, <= 1.0x; the issue names no ratio)")
print()
a = m.get(main_name)
if loop:
    r = a / loop
    print(f"- luxc (a) {a:.3f} s vs cgroup-tools shell loop {loop:.3f} s = {r:.2f}x (goal <= {goal:g}x): "
          f"{'PASS' if r <= goal else 'FAIL'}")
else:
    print("- no shell-loop run (LOOP=0): no verdict")
if batch:
    r = a / batch
    print(f"- for information, against the batch (not what users write): luxc (a) {a:.3f} s vs {batch:.3f} s "
          f"= {r:.2f}x: {'PASS' if r <= goal else 'FAIL'}")
PY
echo
echo "Load average after the run: $load_after; memory cgroups on the host after: $memcg_after."
