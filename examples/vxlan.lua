-- vxlan.lua: an overlay network across two simulated machines. hostA and
-- hostB are containers joined by an "underlay" link (192.168.100.0/24); each
-- has a bridge inside it with one container on it (c1 in hostA, c2 in hostB,
-- both in 10.20.0.0/24). Nothing joins the two bridges until a VXLAN device
-- (VNI 42, UDP 4789 over the underlay) is made in each host and enslaved to
-- its bridge: then c1 reaches c2 as if they shared one switch.
--
--     c1 10.20.0.1                                        c2 10.20.0.2
--      |                                                   |
--   [ brA -- vxlan42 ] eth0 ==== underlay ==== eth0 [ vxlan42 -- brB ]
--        hostA     192.168.100.1         192.168.100.2     hostB
--
-- Uses the busybox image (apt-get install busybox-static).
-- Run as root: luxc run examples/vxlan.lua

-- luxc.net.features() tries each link kind in a scratch namespace.
assert(luxc.net.features().vxlan, "this kernel cannot make vxlan links (modprobe vxlan)")

local lab = luxc.lab("vxlan-demo")
local busybox = luxc.image.busybox()

local VNI = 42
local OVERHEAD = 50 -- VXLAN over IPv4: outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8

local function main()
  -- The two "machines" and the wire between them.
  local hostA = lab:container{ name = "hostA", image = busybox, hostname = "hostA" }
  local hostB = lab:container{ name = "hostB", image = busybox, hostname = "hostB" }
  local underlay = lab:link(hostA, hostB, {
    address = "192.168.100.1/24", peer_address = "192.168.100.2/24",
  })
  -- The interface names each end got (eth0 in both: their first link).
  print(("underlay: %s:%s 192.168.100.1 <-> %s:%s 192.168.100.2"):format(
    underlay.a, underlay.a_if, underlay.b, underlay.b_if))

  -- A bridge inside each host (a bridge in a container's namespace only has
  -- to be unique in the lab), and the overlay's end points on them. Their
  -- MTU leaves room for the VXLAN header, as the VXLAN device's own does.
  local brA = lab:bridge{ name = "brA", netns = hostA }
  local brB = lab:bridge{ name = "brB", netns = hostB }
  local c1 = lab:container{ name = "c1", image = busybox }
  local c2 = lab:container{ name = "c2", image = busybox }
  lab:link(c1, brA, { address = "10.20.0.1/24", mtu = 1500 - OVERHEAD })
  lab:link(c2, brB, { address = "10.20.0.2/24", mtu = 1500 - OVERHEAD })
  lab:up()

  local rows = {}
  local function check(what, want, timeout)
    local ok, out = luxc.test.ping(c1, c2, { timeout = timeout })
    rows[#rows + 1] = { what, ok and "ok" or "fails" }
    assert(ok == want, ("%s: ping c1 -> c2 %s\n%s"):format(
      what, want and "failed" or "worked", out))
  end
  check("without the VXLAN devices", false)    -- two separate bridges

  -- The tunnel: one VXLAN device in each host, bound to its underlay
  -- interface, unicast to the other end, enslaved to the host's bridge.
  -- (`local` is a Lua keyword, hence ["local"].)
  for _, side in ipairs({
    { host = hostA, dev = underlay.a_if, me = "192.168.100.1", peer = "192.168.100.2", br = "brA" },
    { host = hostB, dev = underlay.b_if, me = "192.168.100.2", peer = "192.168.100.1", br = "brB" },
  }) do
    luxc.net.vxlan{
      name = "vxlan" .. VNI, vni = VNI, port = 4789,
      ["local"] = side.me, remote = side.peer, dev = side.dev,
      master = side.br, netns = side.host, lab = lab,
    }
  end
  -- c1's ARP entry for 10.20.0.2 is still being resolved after the failed
  -- ping above (the kernel asks again once a second, three times): give the
  -- first ping over the tunnel time for the next ARP request.
  check("over VXLAN " .. VNI, true, 3)
  -- A full-size packet for the overlay MTU still fits in one underlay frame.
  local big = c1:exec{ "ping", "-c", "1", "-W", "2", "-s", tostring(1500 - OVERHEAD - 28),
                       "10.20.0.2", timeout = 5 }
  rows[#rows + 1] = { ("over VXLAN, %d-byte packet"):format(1500 - OVERHEAD), big.code == 0 and "ok" or "fails" }
  assert(big.code == 0, "ping with a full-MTU packet: " .. big.stdout .. big.stderr)

  print()
  print(("%-32s %s"):format("ping c1 10.20.0.1 -> c2 10.20.0.2", "result"))
  for _, row in ipairs(rows) do print(("%-32s %s"):format(row[1], row[2])) end

  -- The pings went through hostA's VXLAN device (its counters, from the
  -- container's own /sys).
  local function counter(c, dev, what)
    local r = c:exec{ "cat", "/sys/class/net/" .. dev .. "/statistics/" .. what }
    assert(r.code == 0, r.stderr)
    return tonumber(r.stdout)
  end
  local tx, rx = counter(hostA, "vxlan" .. VNI, "tx_packets"), counter(hostA, "vxlan" .. VNI, "rx_packets")
  print(("hostA vxlan%d: %d packets sent, %d received"):format(VNI, tx, rx))
  assert(tx > 0 and rx > 0, "no traffic went through hostA's VXLAN device")

  -- What is inside hostA now.
  print()
  print("links in hostA:")
  local fmt = "  %-16s %-7s %-5s %-6s %s"
  print(fmt:format("name", "kind", "mtu", "master", "addresses"))
  for _, l in ipairs(luxc.net.links(hostA)) do
    local master = ""
    for _, m in ipairs(luxc.net.links(hostA)) do
      if m.index == l.master then master = m.name end
    end
    print(fmt:format(l.name, l.kind or "", l.mtu, master, table.concat(l.addresses, " ")))
  end
end

-- Whatever happens in main, take the lab down (the VXLAN devices were made
-- with lab = lab, so they go too); then re-raise a failure.
local ok, err = pcall(main)
local down = lab:down()
if not ok then error(err, 0) end
print(("lab:down() removed %d objects"):format(down.removed))
