-- luxc.topo: topology builders on a lab, like Mininet's topologies. Each
-- declares nodes, switches (bridges) and links with addresses from a pool;
-- `lab:up()` creates them. Same script, same lab: same names, addresses and
-- MACs.
--
--   local t = luxc.topo.star(lab, 10)            -- 10 hosts on one switch
--   lab:up()
--   print(luxc.test.pingall(lab).loss)           -- 0
--
-- Options (all optional):
--   subnet   address pool, "10.0.0.0/24" by default (hosts get .1, .2, ...)
--   prefix   host name prefix, "h" (h1, h2, ...)
--   netns    true: hosts are plain network namespaces (no processes; fast)
--   image    the containers' image (default: luxc.image.host())
--   container  more container options for every host ({ limits = ... })
--   switch   name of the first switch (default: derived from the lab name)
-- Every builder returns { hosts = { handle, ... }, switches = { handle, ... },
-- addresses = { [name] = "10.0.0.1/24", ... } }.

local topo = {}

-- 32-bit FNV-1a of a string, for switch names that are the same for the same lab.
local function fnv32(s)
  local h = 0x811c9dc5
  for i = 1, #s do
    h = ((h ~ s:byte(i)) * 0x01000193) & 0xffffffff
  end
  return h
end

-- Interface names are at most 15 bytes and must not collide between labs on
-- one host: "s" + 8 hex digits of the lab + the switch number.
local function switch_name(lab, opts, i)
  if opts.switch and i == 1 then return opts.switch end
  if opts.switch then return (opts.switch .. i):sub(1, 15) end
  return string.format("s%08x%d", fnv32(lab.name), i)
end

-- An address pool over an IPv4 subnet: next() gives "A.B.C.D/P" in order.
local function pool(subnet)
  local a, b, c, d, p = subnet:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
  if not a then
    error(string.format("subnet '%s': expected an IPv4 network like 10.0.0.0/24", subnet), 3)
  end
  p = tonumber(p)
  if p < 8 or p > 30 then
    error(string.format("subnet '%s': prefix must be 8 to 30", subnet), 3)
  end
  local base = ((tonumber(a) << 24) | (tonumber(b) << 16) | (tonumber(c) << 8) | tonumber(d))
  local size = 1 << (32 - p)
  base = base & ~(size - 1) & 0xffffffff
  local n = 0
  local self = {}
  function self.next()
    n = n + 1
    if n >= size - 1 then
      error(string.format("subnet %s has no address left (%d used)", subnet, n - 1), 3)
    end
    local v = base + n
    return string.format("%d.%d.%d.%d/%d", (v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255, p)
  end
  return self
end
topo._pool = pool

local function host(lab, opts, name)
  if opts.netns then
    return lab:netns(name)
  end
  local o = { name = name, image = opts.image }
  for k, v in pairs(opts.container or {}) do o[k] = v end
  return lab:container(o)
end

local function check(lab, n, what)
  if type(lab) ~= "table" or type(lab.up) ~= "function" then
    error(what .. ": argument 1: expected a lab, got " .. type(lab), 3)
  end
  if math.type(n) ~= "integer" or n < 1 then
    error(what .. ": argument 2: expected a count >= 1, got " .. tostring(n), 3)
  end
end

local function result()
  return { hosts = {}, switches = {}, addresses = {} }
end

local function add_host(lab, opts, r, sw, ip, name)
  local h = host(lab, opts, name)
  local addr = ip.next()
  lab:link(h, sw, { address = addr })
  r.hosts[#r.hosts + 1] = h
  r.addresses[name] = addr
  return h
end

--- n hosts on one switch.
function topo.star(lab, n, opts)
  check(lab, n, "luxc.topo.star")
  opts = opts or {}
  local ip = pool(opts.subnet or "10.0.0.0/24")
  local r = result()
  local sw = lab:bridge{ name = switch_name(lab, opts, 1) }
  r.switches[1] = sw
  for i = 1, n do
    add_host(lab, opts, r, sw, ip, (opts.prefix or "h") .. i)
  end
  return r
end

--- n switches in a chain, one host on each (Mininet's LinearTopo).
function topo.line(lab, n, opts)
  check(lab, n, "luxc.topo.line")
  opts = opts or {}
  local ip = pool(opts.subnet or "10.0.0.0/24")
  local r = result()
  for i = 1, n do
    local sw = lab:bridge{ name = switch_name(lab, opts, i), stp = opts.ring or nil }
    r.switches[i] = sw
    if i > 1 then lab:link(r.switches[i - 1], sw) end
    add_host(lab, opts, r, sw, ip, (opts.prefix or "h") .. i)
  end
  return r
end

--- A line whose ends are joined: the loop needs STP, which the switches run
--- (the kernel's STP takes about 30 s to forward on a new port).
function topo.ring(lab, n, opts)
  check(lab, n, "luxc.topo.ring")
  opts = opts or {}
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.ring = true
  local r = topo.line(lab, n, o)
  if n > 2 then lab:link(r.switches[n], r.switches[1]) end
  return r
end

--- A tree of switches, `depth` levels with `fanout` children each, hosts on
--- the leaves (Mininet's TreeTopo): fanout^depth hosts.
function topo.tree(lab, depth, opts)
  check(lab, depth, "luxc.topo.tree")
  opts = opts or {}
  local fanout = opts.fanout or 2
  local ip = pool(opts.subnet or "10.0.0.0/24")
  local r = result()
  local hosts = 0
  local function level(parent, d)
    local sw = lab:bridge{ name = switch_name(lab, opts, #r.switches + 1) }
    r.switches[#r.switches + 1] = sw
    if parent then lab:link(parent, sw) end
    for _ = 1, fanout do
      if d == depth then
        hosts = hosts + 1
        add_host(lab, opts, r, sw, ip, (opts.prefix or "h") .. hosts)
      else
        level(sw, d + 1)
      end
    end
  end
  level(nil, 1)
  return r
end

--- n hosts, each pair joined by a link of its own (a /30 from the pool per
--- link): every host reaches every other directly.
function topo.mesh(lab, n, opts)
  check(lab, n, "luxc.topo.mesh")
  opts = opts or {}
  local subnet = opts.subnet or "10.0.0.0/16"
  local r = result()
  for i = 1, n do
    r.hosts[i] = host(lab, opts, (opts.prefix or "h") .. i)
  end
  local a, b, c, d, p = subnet:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
  if not a then error("luxc.topo.mesh: subnet '" .. subnet .. "': expected an IPv4 network", 2) end
  local base = (tonumber(a) << 24) | (tonumber(b) << 16) | (tonumber(c) << 8) | tonumber(d)
  local k = 0
  local function addr(v) return string.format("%d.%d.%d.%d/30", (v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255) end
  for i = 1, n do
    for j = i + 1, n do
      local net = base + 4 * k
      k = k + 1
      if 4 * k > (1 << (32 - tonumber(p))) then
        error("luxc.topo.mesh: subnet " .. subnet .. " is too small for " .. n .. " hosts", 2)
      end
      lab:link(r.hosts[i], r.hosts[j], { address = addr(net + 1), peer_address = addr(net + 2) })
    end
  end
  return r
end

return topo
