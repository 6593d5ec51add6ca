-- router.lua: two subnets joined by a router. Each subnet is a bridge on the
-- host with one host container on it; the router (lab:router: a container with
-- IP forwarding on) has a leg on each bridge and is both hosts' gateway.
--
--        10.1.0.0/24                         10.2.0.0/24
--   h1 ----------- [rtdemo-lan1] --- r --- [rtdemo-lan2] ----------- h2
--   .10                            .1   .1                          .10
--
-- h1 pings h2 through r; then r's forwarding is turned off and the same ping
-- fails (h1 still reaches r's own address). Prints the lab as a Mermaid graph.
-- Uses the busybox image (apt-get install busybox-static).
-- Run as root: luxc run examples/router.lua

local lab = luxc.lab("router-demo")
local busybox = luxc.image.busybox()

local function main()
  -- Declare: two switches (host bridges; their names are host-wide, so they
  -- carry something of this lab), a router with a leg on each, one host on each.
  local lan1 = lab:bridge{ name = "rtdemo-lan1" }
  local lan2 = lab:bridge{ name = "rtdemo-lan2" }
  local r = lab:router{
    name = "r",
    image = busybox,
    interfaces = {
      { bridge = lan1, address = "10.1.0.1/24" },   -- r's eth0
      { bridge = lan2, address = "10.2.0.1/24" },   -- r's eth1
    },
  }
  local h1 = lab:container{ name = "h1", image = busybox }
  local h2 = lab:container{ name = "h2", image = busybox }
  lab:link(h1, lan1, { address = "10.1.0.10/24", gateway = "10.1.0.1" })
  lab:link(h2, lan2, { address = "10.2.0.10/24", gateway = "10.2.0.1" })
  lab:up()

  local rows = {}
  local function check(what, from, to, want)
    -- Up to 3 tries where success is expected (a loaded machine may lose
    -- the first reply); one where failure is, so it costs 1 s.
    local ok, out = luxc.test.ping(from, to)
    for _ = 2, want and 3 or 1 do
      if ok then break end
      ok, out = luxc.test.ping(from, to)
    end
    rows[#rows + 1] = { what, from.name .. " -> " .. to, ok and "ok" or "fails", ok == want }
    assert(ok == want, ("%s: ping %s -> %s: expected %s\n%s"):format(
      what, from.name, to, want and "success" or "failure", out))
  end

  print("r: net.ipv4.ip_forward = " .. r:sysctl("net.ipv4.ip_forward"))
  check("forwarding on", h1, "10.1.0.1", true)     -- the router's near leg
  check("forwarding on", h1, "10.2.0.10", true)    -- h2, through the router
  check("forwarding on", h2, "10.1.0.10", true)    -- and back

  -- The old value (1) is journaled and written back at teardown; here it
  -- does not matter, the router's namespace goes with it.
  r:sysctl("net.ipv4.ip_forward", 0)
  print("r: net.ipv4.ip_forward = " .. r:sysctl("net.ipv4.ip_forward"))
  check("forwarding off", h1, "10.1.0.1", true)    -- r still answers for itself
  check("forwarding off", h1, "10.2.0.10", false)  -- but routes nothing

  print()
  local fmt = "%-15s %-20s %-6s %s"
  print(fmt:format("router", "ping", "result", "as expected"))
  for _, row in ipairs(rows) do
    print(fmt:format(row[1], row[2], row[3], row[4] and "yes" or "NO"))
  end
  print()
  print(lab:graph("mermaid"))
end

-- Whatever happens in main, take the lab down; then re-raise a failure.
local ok, err = pcall(main)
local down = lab:down()
if not ok then error(err, 0) end
print(("lab:down() removed %d objects"):format(down.removed))
