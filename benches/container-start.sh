#!/usr/bin/env bash
# Benchmark harness (not a test): container start-to-exit of /bin/true in a
# busybox rootfs with the mount, pid, uts, ipc and net namespaces and a cgroup
# with a 64M memory limit, luxc side by side in one run with crun,
# lxc-execute, bwrap and `unshare` + `chroot`.
#
# Goal (DESIGN.md, "Performance targets"): luxc at most 0.5x crun and at most
# 1.5x the unshare+chroot floor (`unshare --mount --pid --uts --ipc --net
# --fork chroot ROOTFS /bin/true`, in a cgroup with the same limit).  The script prints PASS/FAIL for each goal
# and exits 0 either way; it exits non-zero only when the harness itself fails.
#
# luxc is measured two ways:
#   per process  `luxc -e '<one container>'`, timed by hyperfine like the
#                other tools (luxc's own process start included);
#   Lua loop     `luxc benches/container-loop.lua LAB N`: one luxc process
#                starts N containers one after the other (start, wait for
#                exit, destroy); luxc has no clock API, so hyperfine times
#                the whole script and the harness divides by N.
#
# Cgroups, for every tool (the workload's "cgroup with a 64M memory limit"):
#   - crun 1.8 refuses hosts in cgroup "hybrid" mode whose cgroup2 hierarchy
#     holds a controller ("cgroups in hybrid mode not supported"), even with
#     --cgroup-manager=disabled.  The harness probes crun on the real layout
#     first and prints what it says.  Then, on a hybrid (or v1) host, every
#     timed run of every tool happens in a private mount namespace
#     (`unshare --mount --propagation private`) whose /sys/fs/cgroup is a
#     tmpfs holding the host's v1 hierarchies mounted again (the same
#     hierarchies, so the same kernel objects and costs) and no cgroup2: a
#     plain cgroup v1 host as crun, LXC and luxc see it.  On a cgroup2-only
#     host the real tree is used as it is.
#   - crun (cgroupfs manager) and lxc-execute make their cgroups in every
#     hierarchy and set the limit from their configs (benches/crun-config.json
#     linux.resources.memory.limit, benches/lxc.conf
#     lxc.cgroup.memory.limit_in_bytes); luxc from `limits = { memory = "64M" }`
#     (a cgroup of its own in every hierarchy, with device rules).
#   - bwrap and the floor have no cgroup support: each runs under
#     benches/cgroup-floor.c (built here with gcc), which makes a memory
#     cgroup, sets the limit, starts the command in it and removes the
#     cgroup: the least work that puts a command in a limited cgroup.
#   - A reference row "unshare+chroot, no cgroup" shows what the cgroup costs
#     on this host (a v1 migration waits for an RCU grace period: see
#     docs/performance.md).  It is not used for the verdict.
#   - luxc runs on its cached busybox image (luxc.image.busybox(), the
#     overlay lower layer).  The other tools run on a private copy of that
#     directory (cp -a), because lxc-execute writes into its rootfs (it
#     creates and removes /.lxc_keep) and luxc's cache must stay unchanged.
#
# Waiting for the exit: the Lua code calls c:wait{ timeout = 60 } (a pidfd
# that becomes readable when PID 1 ends; the timeout only keeps a broken run
# from hanging the harness).
#
# Diagnostic row (DIAG=1, not used for the verdict): `luxc -e` again with
# /run/luxc on a tmpfs (in a private mount namespace), which shows what the
# container state on the host's disk costs (see docs/performance.md).
#
# Usage (as root, Debian; installs crun lxc bubblewrap util-linux hyperfine
# gcc with apt-get when a tool is missing, then `cargo build --release`):
#   benches/container-start.sh
# Environment:
#   LUXC_BIN   use this luxc binary instead of building it
#   ROUNDS     rounds; each round times every tool in turn (default 5)
#   RUNS       timed runs per tool and round, per process (default 60)
#   WARMUP     warm-up runs per tool and round (default 5)
#   LOOP_N     containers per Lua-loop run (default 100)
#   LOOP_RUNS  timed Lua-loop runs per round (default 2, after 1 warm-up run)
#   DIAG       1 (default) adds the diagnostic row; 0 skips it
#   KEEP_JSON  if set, a directory to copy hyperfine's JSON exports to
set -euo pipefail

ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-60}
WARMUP=${WARMUP:-5}
LOOP_N=${LOOP_N:-100}
LOOP_RUNS=${LOOP_RUNS:-2}
DIAG=${DIAG:-1}
GOAL_CRUN=0.5
GOAL_FLOOR=1.5
LIMIT=67108864 # 64M, every tool's memory limit

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
benches="$root/benches"

say() { printf '%s\n' "$*" >&2; }
die() { say "container-start: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (containers need it)"
for v in ROUNDS RUNS WARMUP LOOP_N LOOP_RUNS; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done

# --- dependencies -----------------------------------------------------------

apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "missing packages ($*) and no apt-get"
    say "container-start: apt-get install -y $*"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "$@" >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends "$@" >&2
    fi
}

missing=()
command -v crun >/dev/null 2>&1 || missing+=(crun)
command -v lxc-execute >/dev/null 2>&1 || missing+=(lxc)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v chroot >/dev/null 2>&1 || missing+=(coreutils)
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the statistics"

# --- luxc binary --------------------------------------------------------------

if [ -z "${LUXC_BIN:-}" ]; then
    say "container-start: cargo build --release"
    (cd "$root" && cargo build --release --bin luxc >&2)
    LUXC_BIN="${CARGO_TARGET_DIR:-$root/target}/release/luxc"
fi
[ -x "$LUXC_BIN" ] || die "not an executable: $LUXC_BIN"

# --- scratch space and cleanup ------------------------------------------------

tmp=$(mktemp -d /tmp/luxc-bench.XXXXXX)
LAB_PP="bench-pp-$$"
LAB_LOOP="bench-loop-$$"
LAB_DIAG="bench-diag-$$"
CRUN_ID="luxc-bench-$$"
LXC_NAME="luxc-bench-$$"
LUXC="$tmp/luxc"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    # Labs: `luxc down` removes whatever a killed run left (no-op otherwise).
    for lab in "$LAB_PP" "$LAB_LOOP" "$LAB_DIAG"; do
        if [ -e "/run/luxc/$lab" ] && [ -x "$LUXC" ]; then
            "$LUXC" down "$lab" >&2 || say "container-start: luxc down $lab failed"
        fi
    done
    # crun: its state lives under $tmp/crun-state; delete what is left.
    if [ -d "$tmp/crun-state" ]; then
        for id in $(crun --root "$tmp/crun-state" list -q 2>/dev/null); do
            crun --root "$tmp/crun-state" delete -f "$id" >&2
        done
    fi
    # lxc: its lxcpath is $tmp/lxc; stop a container a killed run left.
    if [ -d "$tmp/lxc" ] && lxc-info -P "$tmp/lxc" -n "$LXC_NAME" -s 2>/dev/null | grep -q RUNNING; then
        lxc-stop -P "$tmp/lxc" -n "$LXC_NAME" -k >&2
    fi
    # LXC's monitor leaves an empty lxc.pivot cgroup in each hierarchy; remove
    # those this run made (not ones that were there before it).
    if [ -f "$tmp/cgroups.before" ]; then
        lxc_cgroups | comm -13 "$tmp/cgroups.before" - | grep '/lxc\.pivot$' |
            while read -r d; do rmdir "$d" 2>/dev/null; done
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private copy of the binary, so a concurrent `cargo build` cannot swap it
# in the middle of the run.
cp "$LUXC_BIN" "$LUXC"
"$LUXC" -e '' </dev/null || die "\`$LUXC_BIN -e ''\` failed"

# --- root filesystems -------------------------------------------------------

image=$("$LUXC" -e 'io.write(luxc.image.busybox().path)' 2>"$tmp/image.err") || {
    say "container-start: luxc.image.busybox() failed: $(cat "$tmp/image.err")"
    apt_install busybox-static
    image=$("$LUXC" -e 'io.write(luxc.image.busybox().path)') || die "luxc.image.busybox() failed"
}
[ -x "$image/bin/true" ] || die "no /bin/true in the busybox image $image"
rootfs="$tmp/rootfs"
cp -a "$image" "$rootfs"
gcc -O2 -Wall -o "$tmp/cgroup-floor" "$benches/cgroup-floor.c" || die "cannot build benches/cgroup-floor.c"

# The memory controller's hierarchy: v1's memory one, or cgroup2 on a
# cgroup2-only host (then no cgroup view is needed).
cg_view=1
memh=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ {print $2; exit}' /proc/self/mounts)
limit_file=memory.limit_in_bytes
if [ -z "$memh" ]; then
    if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
        memh=/sys/fs/cgroup limit_file=memory.max cg_view=0
    else
        die "no memory cgroup controller on this host"
    fi
fi
case "$memh" in /sys/fs/cgroup/*) ;; *) [ "$cg_view" = 0 ] || die "v1 memory hierarchy outside /sys/fs/cgroup: $memh" ;; esac

# Run a command in a private mount namespace (see the header): on a hybrid or
# v1 host /sys/fs/cgroup there is a tmpfs with the host's v1 hierarchies
# mounted again and no cgroup2. Extra "tmpfs:DIR" arguments before "--" mount
# tmpfs on DIR (the diagnostic row puts /run/luxc on one).
in_ns() {
    local extra=()
    while [ "$1" != "--" ]; do extra+=("${1#tmpfs:}"); shift; done
    shift
    unshare --mount --propagation private -- /bin/sh -c '
        view=$1 n=$2; shift 2
        if [ "$view" = 1 ]; then
            v1=$(awk '\''$3 == "cgroup" && $2 ~ "^/sys/fs/cgroup/" {print $2 " " $4}'\'' /proc/self/mounts)
            mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup || exit 111
            echo "$v1" | while read -r dir opts; do
                o=$(echo "$opts" | tr , "\n" | grep -Ev "^(rw|ro|relatime|noatime|nosuid|nodev|noexec)$" | paste -sd,)
                mkdir -p "$dir" && mount -t cgroup -o "$o" cgroup "$dir" || exit 111
            done || exit 111
        fi
        while [ "$n" -gt 0 ]; do
            mount -t tmpfs -o mode=755 none "$1" || exit 111
            shift; n=$((n - 1))
        done
        exec "$@"' sh "$cg_view" "${#extra[@]}" "${extra[@]}" "$@"
}

# --- commands under test ----------------------------------------------------

# crun: an OCI bundle from benches/crun-config.json (crun 1.8's `crun spec`
# minus the /sys/fs/cgroup mount and the device cgroup rule, process
# /bin/true, no terminal, root.path = the rootfs copy).
mkdir -p "$tmp/crun-bundle" "$tmp/crun-state"
sed "s|@ROOTFS@|$rootfs|" "$benches/crun-config.json" >"$tmp/crun-bundle/config.json"
crun_base=(crun --root "$tmp/crun-state")
crun_cmd="crun --root $tmp/crun-state run --bundle $tmp/crun-bundle $CRUN_ID"

# lxc-execute: benches/lxc.conf, lxcpath in $tmp.
mkdir -p "$tmp/lxc"
sed "s|@ROOTFS@|$rootfs|" "$benches/lxc.conf" >"$tmp/lxc/bench.conf"
lxc_cmd="lxc-execute -P $tmp/lxc -n $LXC_NAME -f $tmp/lxc/bench.conf -- /bin/true"

# bwrap and the floor in a memory cgroup of their own (benches/cgroup-floor.c).
cgfloor="$tmp/cgroup-floor $memh $limit_file $LIMIT"
bwrap_cmd="$cgfloor bwrap --unshare-pid --unshare-uts --unshare-ipc --unshare-net --bind $rootfs / --proc /proc --dev /dev /bin/true"
floor_nocg_cmd="unshare --mount --pid --uts --ipc --net --fork chroot $rootfs /bin/true"
floor_cmd="$cgfloor $floor_nocg_cmd"

# One container per luxc process, in lab $1.
luxc_chunk() {
    printf '%s' "local lab = luxc.lab(\"$1\") local c = lab:container{ name = \"c\", image = luxc.image.busybox(), namespaces = { \"mount\", \"pid\", \"uts\", \"ipc\", \"net\" }, init = { \"/bin/true\" }, limits = { memory = $LIMIT } } c:start() assert(c:wait{ timeout = 60 }, \"PID 1 did not end\") lab:down()"
}
luxc_cmd="$LUXC -e '$(luxc_chunk "$LAB_PP")'"
diag_tmpfs_cmd="$LUXC -e '$(luxc_chunk "$LAB_DIAG")'"
loop_cmd="$LUXC $benches/container-loop.lua $LAB_LOOP $LOOP_N"

# --- crun on this host's real cgroup layout (information) -------------------

crun_probe=$("${crun_base[@]}" run --bundle "$tmp/crun-bundle" "$CRUN_ID-probe" 2>&1) && crun_probe_rc=0 || crun_probe_rc=$?
"${crun_base[@]}" delete -f "$CRUN_ID-probe" >/dev/null 2>&1 || true
crun_probe=$(printf '%s' "$crun_probe" | tr '\n' ' ' | sed 's/ *$//')

# Cgroups the tools make (LXC's lxc.*, crun's container id, cgroup-floor's,
# luxc's labs): listed before and after, to show that none is left behind.
lxc_cgroups() {
    find /sys/fs/cgroup -maxdepth 4 -type d \( -name 'lxc.*' -o -name "$CRUN_ID*" \
        -o -name 'cgroup-floor.*' -o -name "luxc.bench-*-$$" \) 2>/dev/null | sort
}
lxc_cgroups >"$tmp/cgroups.before"

# --- sanity: every command runs and exits 0 in the timed setting -----------

names=() cmds=()
add() { names+=("$1"); cmds+=("$2"); }
check() {
    local name=$1 cmd=$2
    if ! in_ns -- /bin/sh -c "$cmd" >"$tmp/check.out" 2>&1; then
        say "container-start: $name does not work here: $(tr '\n' ' ' <"$tmp/check.out")"
        return 1
    fi
}
check "unshare+chroot" "$floor_cmd" || die "the unshare+chroot floor failed"
add "unshare+chroot" "$floor_cmd"
lxc_note=""
if check bwrap "$bwrap_cmd"; then add bwrap "$bwrap_cmd"; fi
if check crun "$crun_cmd"; then add crun "$crun_cmd"; fi
if check lxc-execute "$lxc_cmd"; then
    add lxc-execute "$lxc_cmd"
else
    lxc_note="lxc-execute failed here: $(tr '\n' ' ' <"$tmp/check.out" | cut -c1-300)"
fi
check "luxc -e" "$luxc_cmd" || die "luxc failed to run one container"
add "luxc -e" "$luxc_cmd"
check "unshare+chroot, no cgroup" "$floor_nocg_cmd" || die "the unshare+chroot floor without a cgroup failed"
add "unshare+chroot, no cgroup" "$floor_nocg_cmd"

# --- machine context ----------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)
dirty_kb() { awk '/^Dirty:/ {print $2}' /proc/meminfo; }
state_fs=$(findmnt -n -o FSTYPE,SOURCE,OPTIONS -T /run/luxc 2>/dev/null || findmnt -n -o FSTYPE,SOURCE,OPTIONS -T /run)
echo "## Machine"
echo
echo "- date:        $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- nproc:       $(nproc)"
echo "- kernel:      $(uname -sr)"
echo "- cpu:         $cpu_model"
echo "- os:          $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")"
echo "- load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (before the run)"
echo "- dirty pages: $(dirty_kb) KiB (before the run; see docs/performance.md)"
echo "- /run/luxc:   on $state_fs"
echo "- cgroups:     $(if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo "cgroup2 only"; elif [ -d /sys/fs/cgroup/unified ]; then echo "hybrid (cgroup2 at /sys/fs/cgroup/unified holds: $(tr '\n' ' ' </sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null))"; else echo "cgroup v1"; fi)"
echo
echo "## Versions"
echo
echo "- luxc:      $("$LUXC" --version 2>&1 | head -n1) ($LUXC_BIN)"
echo "- crun:      $(crun --version | head -n1)"
echo "- lxc:       lxc-execute $(lxc-execute --version 2>&1 | head -n1)"
echo "- bwrap:     $(bwrap --version | head -n1)"
echo "- unshare:   $(unshare --version | head -n1)"
echo "- hyperfine: $(hyperfine --version | head -n1)"
echo "- rootfs:    $("$image/bin/busybox" 2>&1 | head -n1 | sed 's/ multi-call binary.*//') ($image, luxc's cache; a copy for the others)"
echo
echo "## Setup and deviations"
echo
echo "- Workload: /bin/true as PID 1 in the busybox rootfs; new mount, pid, uts, ipc and net namespaces."
echo "- Every tool runs in a cgroup with a 64M memory limit ($limit_file = $LIMIT in $memh)."
echo "- crun on this host's real cgroup layout: exit $crun_probe_rc${crun_probe:+, \"$crun_probe\"}."
if [ "$cg_view" = 1 ]; then
echo "  All timed runs (every tool) happen in a private mount namespace whose /sys/fs/cgroup"
echo "  holds the host's v1 hierarchies, mounted again, and no cgroup2 (a plain v1 host)."
fi
echo "- crun (cgroupfs manager): OCI config = crun 1.8 \`crun spec\` (masked and read-only paths,"
echo "  no_new_privs, 3 caps, read-only root, deny-all device rule) + memory limit; same container id"
echo "  every run (\`crun run\` deletes it at exit)."
echo "- bwrap and unshare+chroot: under benches/cgroup-floor.c (mkdir a memory cgroup, set the limit,"
echo "  fork, join, exec, wait, rmdir). The \"no cgroup\" floor row is for reference only."
echo "- lxc-execute: benches/lxc.conf (proc:mixed, sys:ro, autodev, loopback only, memory limit);"
echo "  lxc-init is PID 1,"
echo "  /bin/true its child."
echo "- luxc: image = luxc.image.busybox() as overlay lower, its default mounts, masks, caps, seccomp,"
echo "  a cgroup in every hierarchy with its device rules, limits = { memory = $LIMIT };"
echo "  waits for the exit with c:wait{ timeout = 60 } (a pidfd); the overlay is mounted volatile;"
echo "  the other tools run on a copy of the image directory."
if [ -n "$lxc_note" ]; then echo "- $lxc_note"; fi
echo

# --- timings ----------------------------------------------------------------


# ROUNDS rounds, each timing every tool in turn, so that a change in the
# machine's load (other builds, disk writeback) during the run is spread over
# all tools instead of landing on one of them; the statistics pool the rounds.
hf_args=()
for i in "${!names[@]}"; do hf_args+=(-n "${names[$i]}" "${cmds[$i]}"); done
if [ "$DIAG" = 1 ]; then mkdir -p /run/luxc; fi
for ((r = 1; r <= ROUNDS; r++)); do
    say "container-start: round $r/$ROUNDS: hyperfine -N --warmup $WARMUP --runs $RUNS (${names[*]})"
    in_ns -- hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
        --export-json "$tmp/per-process.$r.json" "${hf_args[@]}" >&2
    say "container-start: round $r/$ROUNDS: Lua loop, $LOOP_N containers per run, 1 warm-up + $LOOP_RUNS runs"
    in_ns -- hyperfine -N --style basic --warmup 1 --runs "$LOOP_RUNS" \
        --export-json "$tmp/loop.$r.json" -n "luxc Lua loop" "$loop_cmd" >&2

    if [ "$DIAG" = 1 ]; then
        say "container-start: round $r/$ROUNDS: diagnostic: luxc -e with /run/luxc on a tmpfs"
        in_ns tmpfs:/run/luxc -- hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
            --export-json "$tmp/diag-tmpfs.$r.json" -n "luxc -e, /run/luxc on tmpfs" "$diag_tmpfs_cmd" >&2
    fi
done
# LXC's monitor leaves an empty lxc.pivot cgroup per hierarchy: removed here
# (and by the exit trap), then nothing of the run may remain.
pivots=$(lxc_cgroups | comm -13 "$tmp/cgroups.before" - | grep -c '/lxc\.pivot$' || true)
lxc_cgroups | comm -13 "$tmp/cgroups.before" - | grep '/lxc\.pivot$' |
    while read -r d; do rmdir "$d"; done
lxc_cgroups >"$tmp/cgroups.after"
if cmp -s "$tmp/cgroups.before" "$tmp/cgroups.after"; then
    cgroup_check="no cgroup of the run is left (removed $pivots empty lxc.pivot cgroups LXC leaves)"
else
    cgroup_check="WARNING: cgroups left by the run: $(comm -13 "$tmp/cgroups.before" "$tmp/cgroups.after" | tr '\n' ' ')"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
dirty_after=$(dirty_kb)

if [ -n "${KEEP_JSON:-}" ]; then
    mkdir -p "$KEEP_JSON"
    cp "$tmp"/*.json "$KEEP_JSON"/
fi

# --- report -------------------------------------------------------------------

python3 - "$tmp" "$LOOP_N" "$GOAL_CRUN" "$GOAL_FLOOR" "$RUNS" "$WARMUP" "$LOOP_RUNS" "$ROUNDS" <<'PY'
import glob, json, os, statistics, sys

tmp, loop_n = sys.argv[1], int(sys.argv[2])
goal_crun, goal_floor = float(sys.argv[3]), float(sys.argv[4])
runs, warmup, loop_runs, rounds = sys.argv[5:9]
round_medians = {}

def load(prefix, scale=1.0):
    """Pools the times of every round's export (prefix.N.json) per command."""
    times = {}
    for path in sorted(glob.glob(os.path.join(tmp, prefix + ".*.json"))):
        for r in json.load(open(path))["results"]:
            t = [x * 1000.0 / scale for x in r["times"]]
            times.setdefault(r["command"], []).extend(t)
            round_medians.setdefault(r["command"], []).append(statistics.median(t))
    out = {}
    for name, t in times.items():
        out[name] = {
            "n": len(t),
            "median": statistics.median(t),
            "mean": statistics.fmean(t),
            "sd": statistics.stdev(t) if len(t) > 1 else 0.0,
            "min": min(t),
            "max": max(t),
        }
    return out

per = load("per-process")
loop = load("loop", scale=loop_n)
diag = load("diag-tmpfs")
rows = list(per.items()) + list(loop.items()) + list(diag.items())
crun = per.get("crun", {}).get("median")
floor = per["unshare+chroot"]["median"]

print(f"## Start-to-exit, ms (hyperfine -N; {rounds} rounds of {warmup} warm-up + {runs} runs "
      f"per tool, pooled; Lua loop: {rounds} rounds of 1 + {loop_runs} runs of {loop_n} "
      f"containers, per container)")
print()
print("| command | median | mean ± sd | min | max | / crun | / unshare+chroot |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, s in rows:
    rc = f"{s['median'] / crun:.2f}x" if crun else "n/a"
    rf = f"{s['median'] / floor:.2f}x"
    label = name + (" (diagnostic)" if name in diag else "")
    print(f"| {label} | {s['median']:.2f} | {s['mean']:.2f} ± {s['sd']:.2f} | "
          f"{s['min']:.2f} | {s['max']:.2f} | {rc} | {rf} |")
print()
print("Median of each round, ms:")
print()
for name, _ in rows:
    print(f"- {name}: " + ", ".join(f"{m:.2f}" for m in round_medians[name]))
print()

print("## Verdict (medians)")
print()
for name, s in [("luxc -e", per.get("luxc -e")), ("luxc Lua loop", loop.get("luxc Lua loop"))]:
    if not s:
        continue
    m = s["median"]
    if crun:
        r = m / crun
        v = "PASS" if r <= goal_crun else "FAIL"
        print(f"- {name}: {m:.2f} ms vs crun {crun:.2f} ms = {r:.2f}x "
              f"(goal <= {goal_crun:g}x): {v}")
    else:
        print(f"- {name}: crun did not run here: no verdict for the crun goal")
    r = m / floor
    v = "PASS" if r <= goal_floor else "FAIL"
    print(f"- {name}: {m:.2f} ms vs unshare+chroot {floor:.2f} ms = {r:.2f}x "
          f"(goal <= {goal_floor:g}x): {v}")
if crun:
    print(f"- for reference: crun / unshare+chroot = {crun / floor:.2f}x, so the crun goal "
          f"asks for {goal_crun * crun:.2f} ms, the floor goal for {goal_floor * floor:.2f} ms")
PY
echo
echo "Load average after the run: $load_after; dirty pages after: $dirty_after KiB; $cgroup_check."
