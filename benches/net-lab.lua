-- Benchmark helper (not a test), run by benches/net-lab.sh:
--   luxc benches/net-lab.lua LAB N [BRIDGE [OCTET [MODE]]]
-- Declares, in lab LAB, a bridge BRIDGE (default "lb" .. OCTET .. "-" ..
-- the process id, at most 15 bytes) with address 10.OCTET.0.1/16 and N
-- namespace nodes n1 .. nN, each linked to the bridge by a veth whose end
-- in the namespace is eth0 with a unique address in 10.OCTET.0.0/16
-- (node i: host number i + 1). Then it times, with luxc.now() (a monotonic
-- clock, seconds):
--   create    lab:up(): the bridge, its address, N pinned namespaces
--             (/run/netns/LAB-nI), N veths, enslaving, addresses, lo and
--             every link up;
--   teardown  lab:down(): everything removed; it returns once the kernel
--             has removed the host-side veth ends.
-- MODE "all" (default) does both; MODE "up" stops after lab:up() and leaves
-- the lab for `luxc down LAB` (a separate process, timed by the harness).
-- OCTET defaults to 77. Prints one JSON line:
--   {"n":N,"bridge":BRIDGE,"host_prefix":P,"declare":s,"create":s,
--    "teardown":s,"removed":k}
-- host_prefix: the longest common prefix of the host-side veth names (from
-- lab:topology()), with which the harness checks that they are gone;
-- teardown and removed are absent in MODE "up".
local usage = "usage: net-lab.lua LAB N [BRIDGE [OCTET [MODE]]]"
local lab_name = assert(arg[1], usage)
local n = assert(math.tointeger(tonumber(arg[2])), usage)
local octet = math.tointeger(tonumber(arg[4] or "77"))
assert(octet and octet >= 0 and octet <= 255, usage)
local mode = arg[5] or "all"
assert(mode == "all" or mode == "up", usage)
assert(n >= 1 and n <= 65000, "N must be 1 .. 65000")
local bridge = arg[3]
if bridge == nil or bridge == "" then
  -- Unique on the host while this process lives: octet and pid.
  local pid = io.open("/proc/self/stat"):read("l"):match("^(%d+)")
  bridge = "lb" .. octet .. "-" .. pid
end
assert(#bridge <= 15, "bridge name longer than 15 bytes: " .. bridge)

local prefix = "10." .. octet .. "."
local function host(i) -- host number i within 10.OCTET.0.0/16
  return prefix .. (i >> 8) .. "." .. (i & 255)
end

local lab = luxc.lab(lab_name)
local ok, err = pcall(function()
  local t = luxc.now()
  local br = lab:bridge{ name = bridge, address = host(1) .. "/16" }
  for i = 1, n do
    local ns = lab:netns("n" .. i)
    lab:link(ns, br, { address = host(i + 1) .. "/16" })
  end
  local t0 = luxc.now()
  lab:up()
  local t1 = luxc.now()
  local out = { n = n, bridge = bridge, declare = t0 - t, create = t1 - t0 }
  local p
  for _, e in ipairs(lab:topology().edges) do
    local h = e.a == bridge and e.a_if or e.b_if
    if p == nil then
      p = h
    else
      local k = 0
      while k < #p and k < #h and p:byte(k + 1) == h:byte(k + 1) do k = k + 1 end
      p = p:sub(1, k)
    end
  end
  out.host_prefix = p
  if mode == "all" then
    local t2 = luxc.now()
    local r = lab:down()
    local t3 = luxc.now()
    out.teardown = t3 - t2
    out.removed = r.removed
  end
  io.stdout:write(luxc.json.encode(out), "\n")
  io.stdout:flush()
end)
if not ok then
  -- Remove whatever this run made before failing.
  pcall(function() lab:down() end)
  error(err, 0)
end
