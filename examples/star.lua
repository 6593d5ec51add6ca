-- star.lua: N hosts on one switch (luxc.topo.star), then Mininet's pingall.
-- Hosts are plain network namespaces by default (no processes: fast), or
-- busybox containers with "containers" as the second argument. With many
-- hosts only a sample of the N*(N-1) pairs is pinged.
-- Run as root:
--   luxc run examples/star.lua                   8 namespaces
--   luxc run examples/star.lua 50                50 namespaces, 200 pairs sampled
--   luxc run examples/star.lua 8 containers      8 busybox containers

local n = math.tointeger(tonumber(arg[1] or "8"))
assert(n and n >= 2 and n <= 250, "usage: star.lua [N (2 to 250)] [containers]")
local containers = arg[2] == "containers"
if arg[2] ~= nil and not containers then
  error("star.lua: argument 2: expected \"containers\" or nothing, got '" .. arg[2] .. "'", 0)
end

local lab = luxc.lab("star-demo")
local times = {}
local function timed(what, f)
  local t0 = luxc.now()
  local r = f()
  times[#times + 1] = { what, luxc.now() - t0 }
  return r
end

local function main()
  local t = timed("declare", function()
    return luxc.topo.star(lab, n, {
      netns = not containers,
      image = containers and luxc.image.busybox() or nil,
      subnet = "10.0.0.0/24",
    })
  end)
  print(("%d %s on switch %s (%s .. %s)"):format(#t.hosts,
    containers and "containers" or "namespaces", t.switches[1].name,
    t.addresses[t.hosts[1].name], t.addresses[t.hosts[#t.hosts].name]))

  timed("lab:up()", function() lab:up() end)

  -- Every ordered pair up to 12 hosts (132 pings); a fixed sample beyond.
  local pairs_ = n * (n - 1)
  local sample = pairs_ > 132 and 200 or nil
  local r = timed(("pingall (%d pairs)"):format(sample and math.min(sample, pairs_) or pairs_), function()
    return luxc.test.pingall(lab, { sample = sample })
  end)
  assert(r.sent > 0, "pingall sent nothing")
  assert(r.loss == 0, ("%d of %d pings failed, first %s -> %s"):format(
    r.sent - r.received, r.sent, r.failed[1] and r.failed[1].from, r.failed[1] and r.failed[1].address))
  return r
end

local ok, err = pcall(main)
local down = timed("lab:down()", function() return lab:down() end)
if not ok then error(err, 0) end

print()
for _, row in ipairs(times) do
  print(("%-24s %8.1f ms"):format(row[1], row[2] * 1000))
end
print(("lab:down() removed %d objects"):format(down.removed))
