#!/usr/bin/env python3
"""Benchmark helper (not a test), run by benches/net-lab.sh: the Mininet row.

    python3 benches/net-lab-mininet.py N SWITCH OCTET PIDFILE [--hold]

Builds with Mininet's Python API (Debian package `mininet`) what
benches/net-lab.lua builds with luxc: one Linux bridge SWITCH
(mininet.nodelib.LinuxBridge, no controller) with address 10.OCTET.0.1/16,
N hosts h1..hN (mininet.node.Host: a bash in a network namespace of its own),
each linked to the bridge by a veth (mininet.link.Link) whose host end is
hI-eth0 with address 10.OCTET.x.y/16 (host number I + 1, as in net-lab.lua),
up, with lo up. The bridge's ports are SWITCH-eth1..SWITCH-ethN in the root
namespace; SWITCH must leave room for "-ethN" in 15 bytes.

Timed with time.monotonic():
  create    Mininet(...) + addSwitch + N addHost + N addLink + net.start()
            (build: configure hosts; start: brctl addbr/addif, bridge up)
            + one `ip addr add` for the bridge's address;
  teardown  net.stop().
The Python start-up and the imports are not timed.

net.stop() is Mininet's own teardown and acts only on this network's
objects: per link `ip link del hI-eth0` (and the bridge end, already gone),
per switch `ifconfig SWITCH down` and `brctl delbr SWITCH`, and for every
node os.killpg() of its own shell's process group (by pid), waiting for it
to exit. Mininet's `mn -c` / mininet.clean (which kills by process name) is
never called. Mininet.init() is skipped (Mininet.inited = True) because its
fixLimits() raises host-wide sysctls (fs.file-max, net.core.*, neighbour
table sizes, kernel.pty.max); instead this process raises its own
RLIMIT_NOFILE soft limit.

PIDFILE receives the pid of every Mininet shell as it starts, so that the
harness can end them (by pid, after checking their command line) if this
script is killed; on an exception or SIGTERM the script runs net.stop()
itself, then kills whatever shell is still alive, deletes SWITCH if it is
still there, and exits non-zero.

Prints one JSON line {"n", "create", "teardown", "switch", "host_prefix"}.
With --hold (the harness's check of what was built) it prints
{"created": true, "switch", "pids": [host shell pids]} after creating,
waits for a line on stdin, then tears down and prints the JSON line.
"""
import json
import os
import resource
import signal
import subprocess
import sys
import time


def main():
    if len(sys.argv) not in (5, 6) or (len(sys.argv) == 6 and sys.argv[5] != "--hold"):
        sys.exit(__doc__.split("\n\n")[1])
    n, switch, octet, pidfile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    hold = len(sys.argv) == 6
    if len(switch + "-eth%d" % n) > 15:
        sys.exit(f"switch name {switch!r} too long for {n} ports (interface names <= 15 bytes)")

    # Process-local limits only (see the docstring): 2+ file descriptors per host.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 16384)) if hard != resource.RLIM_INFINITY else max(soft, 16384)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    from mininet.net import Mininet
    from mininet.node import Host, Node
    from mininet.nodelib import LinuxBridge
    from mininet.link import Link

    Mininet.inited = True  # skip fixLimits() (host-wide sysctls)

    # Record every shell's pid as soon as it exists.
    pids = []
    pidf = open(pidfile, "a")
    orig_start_shell = Node.startShell

    def start_shell(self, *a, **kw):
        r = orig_start_shell(self, *a, **kw)
        pids.append(self.pid)
        pidf.write(f"{self.pid}\n")
        pidf.flush()
        return r

    Node.startShell = start_shell

    def on_term(*_):
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def host_ip(i):
        return f"10.{octet}.{i >> 8}.{i & 255}"

    net = None
    stopped = False
    try:
        t0 = time.monotonic()
        net = Mininet(topo=None, switch=LinuxBridge, host=Host, controller=None,
                      link=Link, build=False, autoSetMacs=False)
        sw = net.addSwitch(switch, cls=LinuxBridge)
        for i in range(1, n + 1):
            h = net.addHost(f"h{i}", ip=host_ip(i + 1) + "/16")
            net.addLink(h, sw)
        net.start()  # build() (configHosts: address, eth0 up, lo up) + switch start
        out = sw.cmd(f"ip addr add {host_ip(1)}/16 dev {switch}")
        if out.strip():
            raise RuntimeError(f"ip addr add on {switch}: {out.strip()}")
        t1 = time.monotonic()
        if hold:
            print(json.dumps({"created": True, "switch": switch,
                              "pids": [h.pid for h in net.hosts]}), flush=True)
            sys.stdin.readline()
        t2 = time.monotonic()
        net.stop()
        stopped = True
        t3 = time.monotonic()
        print(json.dumps({"n": n, "create": t1 - t0, "teardown": t3 - t2,
                          "switch": switch, "host_prefix": switch + "-eth"}), flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if net is not None and not stopped:
            try:
                net.stop()
            except BaseException as e:  # keep cleaning up
                print(f"net-lab-mininet: net.stop() failed: {e!r}", file=sys.stderr)
        # Whatever shell is still alive (started by this script): by pid.
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError:
                pass
        if not stopped and os.path.exists(f"/sys/class/net/{switch}"):
            subprocess.run(["ip", "link", "del", switch], check=False)


if __name__ == "__main__":
    main()
