#!/usr/bin/env bash
# Benchmark harness (not a test): a network lab of one bridge and N network
# namespaces, each joined to the bridge by a veth with an address, all up;
# then torn down. luxc side by side in one run with a plain `ip` script,
# `ip -batch` and Mininet, for N = 10, 100 and 1,000 (issue 5).
#
# Goal (DESIGN.md, "Performance targets", and issue 5), median figures:
#   - create at N = 100 at most 0.25x `ip -batch`;
#   - create at N = 100 at least 20x faster than Mininet;
#   - teardown no slower than `ip -batch` (judged at N = 100, printed for
#     every N);
#   - 1,000 nodes in under 2 s (create, i.e. lab:up(); create + teardown is
#     printed too);
#   - and, from DESIGN.md, engine memory for a 100-node lab under 30 MiB
#     (luxc's peak RSS, GNU /usr/bin/time -f %M).
# The script prints PASS/FAIL for each goal and exits 0 either way; it exits
# non-zero only when the harness itself fails (or leaves something behind).
#
# The work, the same for every tool: a Linux bridge with address
# 10.X.0.1/16, up; N network namespaces; per namespace a veth whose host end
# is enslaved to the bridge and up and whose other end is eth0 in the
# namespace, with a unique address in 10.X.0.0/16 (node i: host number
# i + 1), up; lo up in every namespace. Then everything is removed. Each tool
# has its own X and names (with this script's pid), so nothing collides.
#
# Variants (timed rows):
#   luxc              `luxc benches/net-lab.lua LAB N BR X all`: lab:bridge,
#                     N lab:netns + lab:link (declared, not timed), then
#                     create = lab:up() and teardown = lab:down(), timed in
#                     the script with luxc.now() (a monotonic clock). The
#                     namespaces are pinned at /run/netns/LAB-nI. lab:down()
#                     returns once the kernel has removed the host-side veth
#                     ends. The process (spawn to exit, luxc's start and the
#                     declarations included) is timed too, and its peak RSS
#                     is GNU /usr/bin/time -f %M.
#   luxc, `luxc down` `luxc benches/net-lab.lua LAB N BR X up` (create =
#                     lab:up(), in the script) and then `luxc down LAB`, a
#                     separate process, timed spawn to exit (teardown).
#   ip script         bash, one `ip` process per command: ip link add BR type
#                     bridge; ip addr add; ip link set BR up; per node: ip
#                     netns add NS; ip link add vI type veth peer name eth0
#                     netns NS; ip link set vI master BR up; ip -n NS addr
#                     add ... dev eth0; ip -n NS link set eth0 up; ip -n NS
#                     link set lo up (3 + 6N processes). Teardown: ip netns
#                     del NS per node, ip link del BR (N + 1 processes).
#   ip -batch         the fewest ip processes: `ip -batch` cannot switch
#                     namespaces per line (no -n inside a batch), so one
#                     `ip -batch HOSTFILE` does the host side (netns add,
#                     bridge, its address, veths with their peers in the
#                     namespaces, master and up) and one `ip -n NS -batch
#                     FILE` per namespace its address, eth0 up and lo up
#                     (1 + N processes). Teardown: one `ip -batch` of `netns
#                     del NS` lines and `link del BR`.
#   Mininet           benches/net-lab-mininet.py (Debian's mininet 2.3,
#                     Python API, mininet.nodelib.LinuxBridge, no
#                     controller): addSwitch, N addHost + addLink, net.start(),
#                     and the bridge's address; teardown net.stop() (see that
#                     script's header for why net.stop() is safe here and what
#                     it does). Hosts are bash processes in unnamed
#                     namespaces. Timed in Python (imports not timed). Only
#                     for N <= MININET_MAX_N (default 100).
# Teardown, for every row, ends when the command has returned AND no host-side
# veth of the run is left in the root namespace: the ip rows delete only the
# netns pins and the bridge, and the kernel then removes the veths in batches
# (deleting each veth with `ip link del` waits for an RCU grace period per
# veth: about 30 ms each on this VM), so the driver waits for them to vanish
# (polling /sys/class/net every 2 ms) and counts that wait in their teardown.
# For luxc and Mininet the same wait is measured and printed ("residual");
# it is 0 when the tool already waited.
#
# Between runs the driver waits until the kernel has finished freeing the
# namespaces of the previous run (the active count of the net_namespace slab
# cache in /proc/slabinfo back to where it was at the start, or no longer
# falling for 1 s, at most SETTLE_MAX s; that time is printed), then PAUSE s
# more, so that no run pays for the previous one's cleanup.
#
# Each N gets ROUNDS rounds (ROUNDS_LARGE for N >= 1000); each round runs every
# variant once, the order rotated from round to round so that load changes
# spread over all tools; medians are reported. Before the timed runs, a check
# builds N = 3 with every variant, inspects what it made (bridge up with its
# address and N veth ports up; in every namespace eth0 up with its address
# and lo up), tears it down and checks that nothing is left.
#
# Usage (as root, Debian; installs iproute2, time, mininet and bridge-utils
# with apt-get when missing, then `cargo build --release`):
#   benches/net-lab.sh
# Environment:
#   LUXC_BIN       use this luxc binary instead of building it
#   SIZES          node counts (default "10 100 1000")
#   ROUNDS         rounds for N < 1000 (default 5)
#   ROUNDS_LARGE   rounds for N >= 1000 (default 3)
#   MININET_MAX_N  largest N Mininet runs for (default 100; Mininet at 1,000
#                  takes minutes per run)
#   DOWN_ROW       1 (default) adds the "luxc, `luxc down`" row; 0 leaves it out
#   PAUSE          seconds between runs, after the kernel settled (default 1)
#   SETTLE_MAX     the most seconds to wait for the kernel to free namespaces
#                  (default 30)
#   MN_PYTHON      the Python that has Debian's mininet (default /usr/bin/python3)
#   KEEP_JSON      if set, a directory to copy the raw timings to
set -euo pipefail

SIZES=${SIZES:-"10 100 1000"}
ROUNDS=${ROUNDS:-5}
ROUNDS_LARGE=${ROUNDS_LARGE:-3}
MININET_MAX_N=${MININET_MAX_N:-100}
DOWN_ROW=${DOWN_ROW:-1}
PAUSE=${PAUSE:-1}
SETTLE_MAX=${SETTLE_MAX:-30}
MN_PYTHON=${MN_PYTHON:-/usr/bin/python3}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
benches="$root/benches"
LEFTOVERS=${LEFTOVERS:-$root/../shared/tools/leftovers}

say() { printf '%s\n' "$*" >&2; }
die() { say "net-lab: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (namespaces and links need it)"
for v in ROUNDS ROUNDS_LARGE MININET_MAX_N DOWN_ROW PAUSE SETTLE_MAX; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
for n in $SIZES; do
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 9999 ] || die "SIZES: '$n' is not a count 1..9999"
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS_LARGE" -ge 1 ] || die "ROUNDS and ROUNDS_LARGE must be at least 1"

# --- dependencies -----------------------------------------------------------

apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "missing packages ($*) and no apt-get"
    say "net-lab: apt-get install -y $*"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "$@" >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends "$@" >&2
    fi
}

missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
[ -x /usr/bin/time ] || missing+=(time)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
# Mininet: the Debian package (without its recommended Open vSwitch; the
# LinuxBridge switch needs brctl from bridge-utils).
if [ "$MININET_MAX_N" -gt 0 ]; then
    "$MN_PYTHON" -c 'import mininet.net' 2>/dev/null || missing+=(mininet)
    command -v brctl >/dev/null 2>&1 || missing+=(bridge-utils)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the driver and the statistics"
if [ "$MININET_MAX_N" -gt 0 ]; then
    "$MN_PYTHON" -c 'import mininet.net' 2>/dev/null || die "$MN_PYTHON cannot import mininet (set MN_PYTHON)"
fi

# --- luxc binary --------------------------------------------------------------

if [ -z "${LUXC_BIN:-}" ]; then
    say "net-lab: cargo build --release"
    (cd "$root" && cargo build --release --bin luxc >&2)
    LUXC_BIN="${CARGO_TARGET_DIR:-$root/target}/release/luxc"
fi
[ -x "$LUXC_BIN" ] || die "not an executable: $LUXC_BIN"

# --- names, scratch space and cleanup -----------------------------------------

# Every kernel object of this run carries TAG (this script's pid, at most 5
# digits so that Mininet's port names "m<TAG>-eth<N>" fit in 15 bytes).
TAG=$(($$ % 100000))
LAB_A="nlab-$TAG-a"   # luxc, in-script teardown
LAB_B="nlab-$TAG-b"   # luxc, `luxc down`
LAB_C="nlab-$TAG-c"   # the check at N = 3
NS_I="nlab-$TAG-i"    # ip script namespaces: NS_I-nI
NS_J="nlab-$TAG-j"    # ip -batch namespaces: NS_J-nI
BR_A="nla$TAG" BR_B="nlb$TAG" BR_C="nlc$TAG" BR_I="nli$TAG" BR_J="nlj$TAG" MN_SW="m$TAG"
VETH_I="vi$TAG-" VETH_J="vj$TAG-"
OCT_A=231 OCT_B=232 OCT_I=233 OCT_J=234 OCT_M=235 OCT_C=236
tmp=$(mktemp -d /tmp/luxc-netbench.XXXXXX)
LUXC="$tmp/luxc"
MN_PIDS="$tmp/mininet.pids"
: >"$MN_PIDS"
BRIDGES=("$BR_A" "$BR_B" "$BR_C" "$BR_I" "$BR_J" "$MN_SW")
LABS=("$LAB_A" "$LAB_B" "$LAB_C")

# luxc names a lab's host-side veth ends lx<hash of the lab><hash>; the
# prefix is learnt from each run's output, and kept here for the cleanup.
: >"$tmp/luxc-prefixes"

# What is left of this run in the kernel (one line per object).
ours_left() {
    local f p pid
    for f in /run/netns/nlab-"$TAG"-*; do [ -e "$f" ] && echo "netns $f"; done
    for f in "${BRIDGES[@]}"; do [ -e "/sys/class/net/$f" ] && echo "link $f"; done
    for p in "$VETH_I" "$VETH_J" "$MN_SW-eth" $(sort -u "$tmp/luxc-prefixes" 2>/dev/null); do
        for f in /sys/class/net/"$p"*; do [ -e "$f" ] && echo "link ${f##*/}"; done
    done
    for f in "${LABS[@]}"; do [ -e "/run/luxc/$f" ] && echo "lab state /run/luxc/$f"; done
    while read -r pid; do
        [ -n "$pid" ] && grep -qs 'mininet:' "/proc/$pid/cmdline" && echo "Mininet shell pid $pid"
    done <"$MN_PIDS"
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
    # luxc labs: `luxc down` removes whatever a killed run left.
    local lab f pid p
    for lab in "${LABS[@]}"; do
        # A luxc still ending (killed with the driver) holds its lab a moment.
        local try
        for try in 1 2 3 4 5; do
            [ -e "/run/luxc/$lab" ] && [ -x "$LUXC" ] || break
            "$LUXC" down "$lab" >&2 && break
            say "net-lab: luxc down $lab failed (try $try of 5)"
            sleep 1
        done
    done
    # Mininet shells this run started (their pids, checked by command line).
    while read -r pid; do
        if [ -n "$pid" ] && grep -qs 'mininet:' "/proc/$pid/cmdline"; then
            kill -KILL "$pid" 2>/dev/null
        fi
    done <"$MN_PIDS"
    # ip rows: the pins of this run, then the bridges and veths by name.
    for f in /run/netns/nlab-"$TAG"-*; do [ -e "$f" ] && ip netns del "${f##*/}" >&2; done
    for f in "${BRIDGES[@]}"; do [ -e "/sys/class/net/$f" ] && ip link del "$f" >&2; done
    sleep 1
    for p in "$VETH_I" "$VETH_J" "$MN_SW-eth" $(sort -u "$tmp/luxc-prefixes" 2>/dev/null); do
        for f in /sys/class/net/"$p"*; do [ -e "$f" ] && ip link del "${f##*/}" >&2; done
    done
    local left
    left=$(ours_left)
    rm -rf "$tmp"
    echo
    if [ -n "$left" ]; then
        echo "Cleanup: LEFT BEHIND by this run: $(echo "$left" | tr '\n' ';')"
        [ "$rc" -eq 0 ] && rc=1
    else
        echo "Cleanup: nothing of this run is left (no nlab-$TAG-* namespace, no bridge or veth of the run, no lab, no Mininet shell)."
    fi
    if [ -x "$LEFTOVERS" ]; then
        echo "$LEFTOVERS (the whole machine; other engineers' labs may show up):"
        "$LEFTOVERS" 2>&1 | sed 's/^/    /'
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private copy, so that a rebuild by someone else cannot change the binary
# in the middle of the run.
cp "$LUXC_BIN" "$LUXC"
"$LUXC" -e '' </dev/null || die "\`$LUXC_BIN -e ''\` failed"
[ -z "$(ours_left)" ] || die "objects with this run's names exist already: $(ours_left | tr '\n' ' ')"

# --- the ip scripts -------------------------------------------------------------

# host_ip OCTET I: host number I in 10.OCTET.0.0/16 (as net-lab.lua).
host_ip() { echo "10.$1.$(($2 >> 8)).$(($2 & 255))"; }

# gen_ip N: $tmp/ip-N/{create.sh,teardown.sh} (one ip per command) and
# {batch-create.sh,teardown.batch,...} (ip -batch). Generated before timing.
gen_ip() {
    local n=$1 d="$tmp/ip-$1" i ns
    mkdir -p "$d/ns"
    {
        echo "set -e"
        echo "ip link add $BR_I type bridge"
        echo "ip addr add $(host_ip $OCT_I 1)/16 dev $BR_I"
        echo "ip link set $BR_I up"
        for ((i = 1; i <= n; i++)); do
            ns="$NS_I-n$i"
            echo "ip netns add $ns"
            echo "ip link add $VETH_I$i type veth peer name eth0 netns $ns"
            echo "ip link set $VETH_I$i master $BR_I up"
            echo "ip -n $ns addr add $(host_ip $OCT_I $((i + 1)))/16 dev eth0"
            echo "ip -n $ns link set eth0 up"
            echo "ip -n $ns link set lo up"
        done
    } >"$d/create.sh"
    {
        echo "set -e"
        for ((i = 1; i <= n; i++)); do echo "ip netns del $NS_I-n$i"; done
        echo "ip link del $BR_I"
    } >"$d/teardown.sh"
    {
        echo "link add $BR_J type bridge"
        echo "addr add $(host_ip $OCT_J 1)/16 dev $BR_J"
        echo "link set $BR_J up"
        for ((i = 1; i <= n; i++)); do
            ns="$NS_J-n$i"
            echo "netns add $ns"
            echo "link add $VETH_J$i type veth peer name eth0 netns $ns"
            echo "link set $VETH_J$i master $BR_J up"
        done
    } >"$d/host.batch"
    {
        echo "set -e"
        echo "ip -batch $d/host.batch"
        for ((i = 1; i <= n; i++)); do
            printf 'addr add %s/16 dev eth0\nlink set eth0 up\nlink set lo up\n' \
                "$(host_ip $OCT_J $((i + 1)))" >"$d/ns/$i.batch"
            echo "ip -n $NS_J-n$i -batch $d/ns/$i.batch"
        done
    } >"$d/batch-create.sh"
    {
        for ((i = 1; i <= n; i++)); do echo "netns del $NS_J-n$i"; done
        echo "link del $BR_J"
    } >"$d/teardown.batch"
}
for n in $SIZES 3; do gen_ip "$n"; done

# --- machine context ----------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu_model" ] || cpu_model=$(uname -m)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')
if [ -n "$dirty" ]; then
    commit="$commit (+ uncommitted changes in: $dirty)"
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
mn_version=$(dpkg-query -W -f='${Version}' mininet 2>/dev/null || echo '?')
echo "# Network lab: bridge + N namespaces"
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
echo "- /run/netns:  on $(findmnt -n -o FSTYPE -T /run/netns 2>/dev/null || findmnt -n -o FSTYPE -T /run); /run/luxc on $(findmnt -n -o FSTYPE -T /run/luxc 2>/dev/null || findmnt -n -o FSTYPE -T /run)"
echo "- bridge-nf-call-iptables: $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 'n/a (br_netfilter not loaded)')"
echo
echo "## Versions"
echo
echo "- luxc:     $("$LUXC" --version 2>&1 | head -n1) ($LUXC_BIN)"
echo "- iproute2: $(ip -V 2>&1 | head -n1)"
echo "- Mininet:  $mn_version (Debian), $("$MN_PYTHON" --version 2>&1) ($MN_PYTHON); bridge-utils $(dpkg-query -W -f='${Version}' bridge-utils 2>/dev/null || echo '?')"
echo "- bash:     ${BASH_VERSION}"
echo

# --- driver -----------------------------------------------------------------------

cat >"$tmp/config.json" <<EOF
{
  "tmp": "$tmp", "luxc": "$LUXC", "lua": "$benches/net-lab.lua",
  "mininet": "$benches/net-lab-mininet.py", "mn_python": "$MN_PYTHON",
  "mn_pids": "$MN_PIDS", "sizes": [$(echo $SIZES | tr ' ' ',')],
  "rounds": $ROUNDS, "rounds_large": $ROUNDS_LARGE, "mininet_max_n": $MININET_MAX_N,
  "down_row": $DOWN_ROW, "pause": $PAUSE, "settle_max": $SETTLE_MAX, "tag": "$TAG",
  "labs": {"a": "$LAB_A", "b": "$LAB_B", "c": "$LAB_C"},
  "bridges": {"a": "$BR_A", "b": "$BR_B", "c": "$BR_C", "i": "$BR_I", "j": "$BR_J", "m": "$MN_SW"},
  "ns": {"i": "$NS_I", "j": "$NS_J"}, "veth": {"i": "$VETH_I", "j": "$VETH_J"},
  "octets": {"a": $OCT_A, "b": $OCT_B, "c": $OCT_C, "i": $OCT_I, "j": $OCT_J, "m": $OCT_M}
}
EOF

python3 - "$tmp/config.json" <<'PY' &
# The driver: the check at N = 3, then ROUNDS rounds per N of every variant
# (order rotated), timing create and teardown; after every run it checks that
# nothing of the run is left. Raw results to TMP/runs.json.
import json, os, re, signal, subprocess, sys, time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
cfg = json.load(open(sys.argv[1]))
tmp = cfg["tmp"]
LUXC, LUA = cfg["luxc"], cfg["lua"]
luxc_prefixes = set()
current = None  # the running child, killed (its process group) on exit

def log(*a):
    print("net-lab:", *a, file=sys.stderr, flush=True)

def net_names():
    return os.listdir("/sys/class/net")

def netns_pins(prefix):
    try:
        return [p for p in os.listdir("/run/netns") if p.startswith(prefix)]
    except FileNotFoundError:
        return []

def slab_netns():
    try:
        for line in open("/proc/slabinfo"):
            if line.startswith("net_namespace "):
                return int(line.split()[1])
    except OSError:
        pass
    return None

def ours_left():
    out = [f"netns {p}" for p in netns_pins(f"nlab-{cfg['tag']}-")]
    pre = [cfg["veth"]["i"], cfg["veth"]["j"], cfg["bridges"]["m"] + "-eth"] + sorted(luxc_prefixes)
    for name in net_names():
        if name in cfg["bridges"].values() or any(name.startswith(p) for p in pre):
            out.append(f"link {name}")
    out += [f"lab /run/luxc/{l}" for l in cfg["labs"].values() if os.path.exists(f"/run/luxc/{l}")]
    for line in open(cfg["mn_pids"]):
        pid = line.strip()
        try:
            if pid and b"mininet:" in open(f"/proc/{pid}/cmdline", "rb").read():
                out.append(f"Mininet shell {pid}")
        except OSError:
            pass
    return out

def run(argv, what, stdin=None):
    """Runs argv; returns (seconds spawn to exit, stdout, rusage); fails on a non-zero exit."""
    global current
    err = open(os.path.join(tmp, "run.err"), "w+")
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                         text=True, start_new_session=True)
    current = p
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    t = time.perf_counter() - t0
    current = None
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        err.seek(0)
        sys.exit(f"{what}: exit {p.returncode}\n  command: {' '.join(argv)}\n  stderr: {err.read()[-3000:]}\n  stdout: {out[-1000:]}")
    return t, out, ru

def json_line(out, what):
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    sys.exit(f"{what}: no JSON line in its output: {out[-500:]}")

def wait_gone(prefixes, names=(), limit=120.0):
    """Seconds until no link named with one of prefixes (or in names) is left."""
    t0 = time.perf_counter()
    while True:
        left = [n for n in net_names() if n in names or any(n.startswith(p) for p in prefixes)]
        if not left:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > limit:
            sys.exit(f"links still there {limit} s after teardown: {left[:5]} ({len(left)})")
        time.sleep(0.002)

base_slab = None
def settle():
    """Waits for the kernel to free the previous run's namespaces, then PAUSE."""
    t0 = time.perf_counter()
    last, last_t = None, t0
    while base_slab is not None:
        c = slab_netns()
        now = time.perf_counter()
        if c is None or c <= base_slab + 4 or now - t0 > cfg["settle_max"]:
            break
        if last is None or c < last:
            last, last_t = c, now
        elif now - last_t > 1.0:
            break  # no longer falling: what is left is not ours (other users' namespaces)
        time.sleep(0.05)
    s = time.perf_counter() - t0
    time.sleep(cfg["pause"])
    return s

def rss(path):
    try:
        return int(open(path).read().split()[-1])
    except (OSError, ValueError, IndexError):
        return None

def timed_luxc(args, what, rss_file):
    return run(["/usr/bin/time", "-f", "%M", "-o", rss_file, LUXC] + args, what)

# --- the variants: each returns a dict of figures --------------------------------

def v_luxc(n, check=None):
    k = "c" if check else "a"
    lab, br, octet = cfg["labs"][k], cfg["bridges"][k], cfg["octets"][k]
    f = os.path.join(tmp, "rss")
    mode = "up" if check else "all"
    t, out, ru = timed_luxc([LUA, lab, str(n), br, str(octet), mode], f"luxc net-lab.lua {n}", f)
    j = json_line(out, "luxc")
    luxc_prefixes.add(j["host_prefix"])
    r = {"create": j["create"], "declare": j["declare"], "process": t, "rss": rss(f),
         "cpu": ru.ru_utime + ru.ru_stime}
    if check:
        check(br, octet, [("netns", f"{lab}-n{i}") for i in range(1, n + 1)])
        t, _, _ = timed_luxc(["down", lab], "luxc down", f)
        r["teardown"] = t
    else:
        r["teardown"] = j["teardown"]
        r["removed"] = j["removed"]
    r["residual"] = wait_gone([j["host_prefix"]], [br])
    return r

def v_luxc_down(n):
    lab, br, octet = cfg["labs"]["b"], cfg["bridges"]["b"], cfg["octets"]["b"]
    f = os.path.join(tmp, "rss")
    t, out, ru = timed_luxc([LUA, lab, str(n), br, str(octet), "up"], f"luxc net-lab.lua {n} up", f)
    j = json_line(out, "luxc up")
    luxc_prefixes.add(j["host_prefix"])
    r = {"create": j["create"], "process": t, "rss": rss(f), "cpu": ru.ru_utime + ru.ru_stime}
    t, _, ru = timed_luxc(["down", lab], f"luxc down {lab}", f)
    r["teardown"] = t
    r["rss_down"] = rss(f)
    r["cpu"] += ru.ru_utime + ru.ru_stime
    r["residual"] = wait_gone([j["host_prefix"]], [br])
    r["teardown"] += r["residual"]
    return r

def v_ip(n, check=None):
    d = os.path.join(tmp, f"ip-{n}")
    br, octet = cfg["bridges"]["i"], cfg["octets"]["i"]
    t, _, ru = run(["bash", f"{d}/create.sh"], f"ip script create {n}")
    r = {"create": t, "cpu": ru.ru_utime + ru.ru_stime}
    if check:
        check(br, octet, [("netns", f"{cfg['ns']['i']}-n{i}") for i in range(1, n + 1)])
    t, _, ru = run(["bash", f"{d}/teardown.sh"], f"ip script teardown {n}")
    r["residual"] = wait_gone([cfg["veth"]["i"]], [br])
    r["teardown"] = t + r["residual"]
    r["cpu"] += ru.ru_utime + ru.ru_stime
    return r

def v_batch(n, check=None):
    d = os.path.join(tmp, f"ip-{n}")
    br, octet = cfg["bridges"]["j"], cfg["octets"]["j"]
    t, _, ru = run(["bash", f"{d}/batch-create.sh"], f"ip -batch create {n}")
    r = {"create": t, "cpu": ru.ru_utime + ru.ru_stime}
    if check:
        check(br, octet, [("netns", f"{cfg['ns']['j']}-n{i}") for i in range(1, n + 1)])
    t, _, ru = run(["ip", "-batch", f"{d}/teardown.batch"], f"ip -batch teardown {n}")
    r["residual"] = wait_gone([cfg["veth"]["j"]], [br])
    r["teardown"] = t + r["residual"]
    r["cpu"] += ru.ru_utime + ru.ru_stime
    return r

def v_mininet(n, check=None):
    sw, octet = cfg["bridges"]["m"], cfg["octets"]["m"]
    argv = [cfg["mn_python"], cfg["mininet"], str(n), sw, str(octet), cfg["mn_pids"]]
    if not check:
        t, out, ru = run(argv, f"Mininet {n}")
        j = json_line(out, "Mininet")
        r = {"create": j["create"], "teardown": j["teardown"], "process": t,
             "cpu": ru.ru_utime + ru.ru_stime}
    else:
        global current
        err = open(os.path.join(tmp, "mn.err"), "w+")
        p = subprocess.Popen(argv + ["--hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=err, text=True, start_new_session=True)
        current = p
        first = p.stdout.readline()
        if not first.startswith("{"):
            p.kill()
            err.seek(0)
            sys.exit(f"Mininet --hold: {first} {err.read()[-2000:]}")
        held = json.loads(first)
        check(sw, octet, [("pid", pid) for pid in held["pids"]])
        p.stdin.write("\n")
        p.stdin.flush()
        out = p.stdout.read()
        if p.wait() != 0:
            err.seek(0)
            sys.exit(f"Mininet --hold: exit {p.returncode}: {err.read()[-2000:]}")
        current = None
        j = json_line(out, "Mininet")
        r = {"create": j["create"], "teardown": j["teardown"]}
    r["residual"] = wait_gone([sw + "-eth"], [sw])
    return r

# --- the check at N = 3 ------------------------------------------------------------

def ipj(args, ns=None):
    pre = []
    if ns and ns[0] == "netns":
        pre = ["ip", "-n", ns[1]]
    elif ns:
        pre = ["nsenter", "-t", str(ns[1]), "-n", "ip"]
    else:
        pre = ["ip"]
    return json.loads(subprocess.run(pre + ["-j"] + args, check=True, capture_output=True, text=True).stdout)

def make_check(summary):
    def check(br, octet, nss):
        n = len(nss)
        probs = []
        b = ipj(["-d", "addr", "show", "dev", br])[0]
        if b.get("linkinfo", {}).get("info_kind") != "bridge":
            probs.append(f"{br} is not a bridge")
        if "UP" not in b["flags"]:
            probs.append(f"{br} is not up")
        baddr = [f"{a['local']}/{a['prefixlen']}" for a in b.get("addr_info", []) if a["family"] == "inet"]
        if baddr != [f"10.{octet}.0.1/16"]:
            probs.append(f"{br} addresses {baddr}")
        ports = ipj(["-d", "link", "show", "master", br])
        if len(ports) != n:
            probs.append(f"{br} has {len(ports)} ports, not {n}")
        for p in ports:
            if p.get("linkinfo", {}).get("info_kind") != "veth" or "UP" not in p["flags"] or p.get("operstate") != "UP":
                probs.append(f"port {p['ifname']}: kind {p.get('linkinfo', {}).get('info_kind')} flags {p['flags']} {p.get('operstate')}")
        want = {f"10.{octet}.{(i + 1) >> 8}.{(i + 1) & 255}/16" for i in range(1, n + 1)}
        got = set()
        names = set()
        for ns in nss:
            links = {l["ifname"]: l for l in ipj(["addr", "show"], ns)}
            lo = links.get("lo")
            if not lo or "UP" not in lo["flags"]:
                probs.append(f"{ns}: lo not up")
            eth = [l for name, l in links.items() if name != "lo"]
            if len(eth) != 1:
                probs.append(f"{ns}: interfaces {sorted(links)}")
                continue
            e = eth[0]
            names.add(e["ifname"])
            if "UP" not in e["flags"] or e.get("operstate") != "UP":
                probs.append(f"{ns}: {e['ifname']} flags {e['flags']} {e.get('operstate')}")
            a = [f"{x['local']}/{x['prefixlen']}" for x in e.get("addr_info", []) if x["family"] == "inet"]
            if len(a) != 1:
                probs.append(f"{ns}: {e['ifname']} addresses {a}")
            got.update(a)
        if got != want:
            probs.append(f"namespace addresses {sorted(got)}, expected {sorted(want)}")
        if probs:
            sys.exit("check failed: " + "; ".join(probs))
        summary.append(f"bridge up with {baddr[0]}, {len(ports)} veth ports up "
                       f"(e.g. {ports[0]['ifname']}); {n} namespaces, each: {'/'.join(sorted(names))} up "
                       f"with its address, lo up")
    return check

variants = [("luxc", v_luxc)]
if cfg["down_row"]:
    variants.append(("luxc, `luxc down`", v_luxc_down))
variants += [("ip script", v_ip), ("ip -batch", v_batch), ("Mininet", v_mininet)]
checkable = {"luxc": v_luxc, "ip script": v_ip, "ip -batch": v_batch, "Mininet": v_mininet}

try:
    if ours_left():
        sys.exit(f"leftovers before the first run: {ours_left()}")
    checks = {}
    base_slab = None
    for name, f in checkable.items():
        if name == "Mininet" and cfg["mininet_max_n"] < 1:
            continue
        s = []
        f(3, check=make_check(s))
        left = ours_left()
        if left:
            sys.exit(f"{name} (check): left behind: {left}")
        checks[name] = s[0]
        log(f"check, N = 3: {name}: {s[0]}")
    # Baseline of live net namespaces, once the checks' are freed.
    time.sleep(2)
    base_slab = slab_netns()
    results = {}
    settles = []
    for n in cfg["sizes"]:
        rounds = cfg["rounds_large"] if n >= 1000 else cfg["rounds"]
        vs = [v for v in variants if v[0] != "Mininet" or n <= cfg["mininet_max_n"]]
        results[n] = {name: [] for name, _ in vs}
        for r in range(rounds):
            order = vs[r % len(vs):] + vs[:r % len(vs)]
            for name, f in order:
                settles.append(settle())
                res = f(n)
                left = ours_left()
                if left:
                    sys.exit(f"{name}, N = {n}: left behind: {left}")
                res["round"] = r + 1
                results[n][name].append(res)
                log(f"N = {n}, round {r + 1}/{rounds}: {name}: create {res['create']:.3f} s, "
                    f"teardown {res['teardown']:.3f} s" + (f", rss {res['rss']} KiB" if res.get("rss") else ""))
    json.dump({"results": results, "checks": checks, "settles": settles, "base_slab": base_slab,
               "variants": [v[0] for v in variants], "sizes": cfg["sizes"],
               "mininet_max_n": cfg["mininet_max_n"]},
              open(os.path.join(tmp, "runs.json"), "w"), indent=1)
except BaseException:
    # End the running variant's whole process group (GNU time exits at once
    # on SIGTERM, luxc or Mininet may take a moment to clean up after it):
    # wait until no process of the group is left, SIGKILL after 60 s.
    if current is not None:
        current.poll()
        try:
            os.killpg(current.pid, signal.SIGTERM)
            t0 = time.monotonic()
            while True:
                current.poll()
                os.killpg(current.pid, 0)
                if time.monotonic() - t0 > 60:
                    os.killpg(current.pid, signal.SIGKILL)
                time.sleep(0.05)
        except ProcessLookupError:
            pass
    raise
PY
driver_pid=$!
wait "$driver_pid" || { driver_pid=""; die "the driver failed (see above)"; }
driver_pid=""
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "${KEEP_JSON:-}" ]; then
    mkdir -p "$KEEP_JSON"
    cp "$tmp/runs.json" "$KEEP_JSON"/
fi

# --- report -------------------------------------------------------------------

python3 - "$tmp/runs.json" "$ROUNDS" "$ROUNDS_LARGE" <<'PY'
import json, statistics as st, sys

d = json.load(open(sys.argv[1]))
rounds, rounds_large = sys.argv[2], sys.argv[3]
res = {int(k): v for k, v in d["results"].items()}
med = st.median

print("## Setup")
print()
print("- Work per N: a bridge with 10.X.0.1/16, up; N namespaces; per namespace a veth, host end")
print("  enslaved and up, eth0 in the namespace with 10.X.a.b/16, up; lo up. Then all removed.")
print("- What each variant built, checked at N = 3 before the timed runs:")
for k, v in d["checks"].items():
    print(f"  - {k}: {v}")
print("- create: luxc lab:up() (in the script, luxc.now()); ip rows spawn to exit of the bash script;")
print("  Mininet Mininet() + addSwitch/addHost/addLink + net.start() + the bridge address (in Python).")
print("- teardown: luxc lab:down() (in the script) or `luxc down LAB` (spawn to exit); ip rows spawn to")
print("  exit + the wait until no host veth is left (included); Mininet net.stop().")
print(f"- Rounds: {rounds} per N (N >= 1000: {rounds_large}); every variant once per round, order rotated;")
print(f"  before every run the kernel settled (net_namespace slab back to {d['base_slab']} objects: median "
      f"{med(d['settles']):.2f} s, max {max(d['settles']):.2f} s) plus a pause.")
if d["mininet_max_n"] < max(d["sizes"]):
    print(f"- Mininet only for N <= {d['mininet_max_n']} (MININET_MAX_N).")
print()

def fmt(x, p=3):
    return "n/a" if x is None else f"{x:.{p}f}"

print(f"## Results (medians; s)")
print()
print("| N | variant | create s | min–max | teardown s | min–max | residual wait s | process s | CPU s | luxc peak RSS KiB |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
M = {}
for n in sorted(res):
    for name in d["variants"]:
        v = res[n].get(name)
        if not v:
            continue
        c = [r["create"] for r in v]
        t = [r["teardown"] for r in v]
        M[(n, name)] = (med(c), med(t))
        proc = [r["process"] for r in v if r.get("process") is not None]
        rss = [r["rss"] for r in v if r.get("rss") is not None]
        rss_s = f"{int(med(rss))} (max {max(rss)})" if rss else ""
        if name == "luxc, `luxc down`" and v[0].get("rss_down"):
            rss_s += f"; down {int(med([r['rss_down'] for r in v]))}"
        print(f"| {n} | {name} | {med(c):.3f} | {min(c):.3f}–{max(c):.3f} | {med(t):.3f} | {min(t):.3f}–{max(t):.3f} | "
              f"{med([r['residual'] for r in v]):.3f} | {fmt(med(proc)) if proc else ''} | "
              f"{med([r['cpu'] for r in v]):.2f} | {rss_s} |")
print()
print("process s: luxc = spawn to exit of `luxc net-lab.lua` (start, declarations, lab:up(), and lab:down()")
print("in the luxc row; the `luxc down` row: the up process only); Mininet = the whole Python process.")
print("CPU s: user + system of the processes, from wait4() (a shell's include the ip processes it ran;")
print("the kernel's workqueues, where namespaces are freed, are not included).")
print()
print("Per run (round: create / teardown, s):")
print()
for n in sorted(res):
    for name in d["variants"]:
        v = res[n].get(name)
        if v:
            print(f"- N = {n}, {name}: " + ", ".join(f"{r['round']}: {r['create']:.3f} / {r['teardown']:.3f}" for r in v))
print()

print("## Ratios (medians)")
print()
print("| N | luxc create / ip -batch | luxc create / ip script | Mininet create / luxc | luxc teardown / ip -batch | `luxc down` / ip -batch | luxc create + teardown s |")
print("|---:|---:|---:|---:|---:|---:|---:|")
def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b
for n in sorted(res):
    g = lambda name, i: M.get((n, name), (None, None))[i]
    lc, lt = g("luxc", 0), g("luxc", 1)
    cells = [ratio(lc, g("ip -batch", 0)), ratio(lc, g("ip script", 0)), ratio(g("Mininet", 0), lc),
             ratio(lt, g("ip -batch", 1)), ratio(g("luxc, `luxc down`", 1), g("ip -batch", 1))]
    print(f"| {n} | " + " | ".join("n/a" if x is None else f"{x:.2f}x" for x in cells) + f" | {lc + lt:.3f} |")
print()

print("## Verdict")
print()
def verdict(ok):
    return "PASS" if ok else "FAIL"
n = 100
if (n, "luxc") in M and (n, "ip -batch") in M:
    r = M[(n, "luxc")][0] / M[(n, "ip -batch")][0]
    print(f"- create at N = 100 at most 0.25x ip -batch: {M[(n, 'luxc')][0]:.3f} s / {M[(n, 'ip -batch')][0]:.3f} s = {r:.2f}x: **{verdict(r <= 0.25)}**")
    r = M[(n, "luxc")][1] / M[(n, "ip -batch")][1]
    print(f"- teardown at N = 100 no slower than ip -batch: {M[(n, 'luxc')][1]:.3f} s / {M[(n, 'ip -batch')][1]:.3f} s = {r:.2f}x: **{verdict(r <= 1.0)}**")
    for m in sorted(res):
        if m != 100 and (m, "ip -batch") in M:
            r = M[(m, "luxc")][1] / M[(m, "ip -batch")][1]
            print(f"  - for information, N = {m}: {r:.2f}x ({verdict(r <= 1.0)})")
else:
    print("- no N = 100 run: no verdict on the ip -batch goals")
if (n, "Mininet") in M:
    r = M[(n, "Mininet")][0] / M[(n, "luxc")][0]
    print(f"- create at N = 100 at least 20x faster than Mininet: {M[(n, 'Mininet')][0]:.3f} s / {M[(n, 'luxc')][0]:.3f} s = {r:.1f}x: **{verdict(r >= 20)}**")
else:
    print("- no Mininet run at N = 100: no verdict on the Mininet goal")
if (1000, "luxc") in M:
    c, t = M[(1000, "luxc")]
    print(f"- 1,000 nodes in under 2 s (create, lab:up()): {c:.3f} s: **{verdict(c < 2)}**; "
          f"for information, create + teardown {c + t:.3f} s ({verdict(c + t < 2)})")
else:
    print("- no N = 1000 run: no verdict on the 1,000-node goal")
rss = [r["rss"] for r in res.get(100, {}).get("luxc", []) if r.get("rss")]
if rss:
    print(f"- engine memory for a 100-node lab under 30 MiB (DESIGN.md; peak RSS of the luxc process, max of the runs): "
          f"{max(rss)} KiB = {max(rss) / 1024:.1f} MiB: **{verdict(max(rss) < 30 * 1024)}**")
PY
echo
echo "Load average after the run: $load_after."
