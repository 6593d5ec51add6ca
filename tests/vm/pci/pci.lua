-- VFIO in the VM lab: e1000e at 0000:00:02.0 (on e1000e) and edu at
-- 0000:00:03.0 (no driver), each alone in its IOMMU group.
local LAB = arg[1] or "vmpci"
local LUXC = "/payload/luxc"

local function step(s) print("# " .. s) end
local function run(argv) return luxc.host.exec(argv) end
local function wait_for(what, f)
  for _ = 1, 50 do
    if f() then return end
    luxc.sleep(0.1)
  end
  error("timed out waiting for " .. what)
end

local nic = luxc.pci.get("0000:00:02.0")
local edu = luxc.pci.get("0000:00:03.0")
assert(nic.driver == "e1000e", tostring(nic.driver))
assert(edu.driver == nil, tostring(edu.driver))
local ifname = nic.net[1]
assert(ifname, "the NIC has a network interface")
local group = nic.iommu_group
assert(group and edu.iommu_group and group ~= edu.iommu_group)
print("nic", nic, "iface", ifname, "group", group, "edu group", edu.iommu_group)

step("vfio-check before binding names what is missing")
local r = run{ LUXC, "pci", "vfio-check", tostring(group) }
assert(r.code == 1 and r.stderr:find("no device of IOMMU group " .. group .. " is bound to vfio-pci", 1, true), r.stderr)

step("the NIC on e1000e keeps its group from being viable")
local st = nic:vfio_status()
assert(not st.viable and st.message:find("itself is bound to e1000e"), st.message)

step("bind e1000e and edu to vfio-pci")
local L = luxc.lab(LAB)
local plan = nic:bind_vfio{ lab = L }
assert(#plan.moves == 1 and plan.moves[1].from == "e1000e", luxc.inspect(plan))
assert(nic.driver == "vfio-pci", "the handle shows the new driver")
plan = edu:bind_vfio{ lab = L }
assert(#plan.moves == 1 and plan.moves[1].from == nil, luxc.inspect(plan))
assert(luxc.pci.get("0000:00:02.0").driver == "vfio-pci")
assert(luxc.pci.get("0000:00:03.0").driver == "vfio-pci")
assert(nic:vfio_status().viable and nic:vfio_status().bound)
wait_for(ifname .. " to go", function() return #luxc.pci.get("0000:00:02.0").net == 0 end)

step("vfio-check: API version, Type1v2, viable")
for _, g in ipairs{ group, edu.iommu_group } do
  r = run{ LUXC, "pci", "vfio-check", tostring(g) }
  assert(r.code == 0, r.stdout .. r.stderr)
  assert(r.stdout:find("api version     0") and r.stdout:find("type1v2 iommu   yes")
    and r.stdout:find("viable          yes") and r.stdout:find("container set   no"), r.stdout)
end
r = run{ LUXC, "pci", "vfio-check", tostring(group), "--json" }
assert(r.code == 0 and r.stdout:find('"viable": true'), r.stdout)

step("a container given the NIC opens its group; one without the grant gets EPERM")
local gnode = "/dev/vfio/" .. group
local a = L:container{ name = "a", image = luxc.image.host(), devices = { nic } }
-- b has the group's node bound in and the VFIO container node granted, but
-- no grant for the group: its device cgroup must refuse the open.
local b = L:container{ name = "b", image = luxc.image.host(), devices = { "/dev/vfio/vfio" },
                       mounts = { { source = gnode, target = gnode } } }
L:up()
r = a:exec{ "ls", "/dev/vfio" }
assert(r.code == 0 and ("\n" .. r.stdout):find("\n" .. group .. "\n"), r.stdout)
r = a:exec{ LUXC, "pci", "vfio-check", tostring(group) }
assert(r.code == 0 and r.stdout:find("viable          yes"), "granted: " .. r.stdout .. r.stderr)
r = b:exec{ "test", "-c", gnode }
assert(r.code == 0, "b sees the node")
r = b:exec{ LUXC, "pci", "vfio-check", tostring(group) }
assert(r.code == 1 and r.stderr:find("open " .. gnode .. ": Operation not permitted", 1, true),
  "not granted: " .. r.stdout .. r.stderr)
r = a:exec{ "test", "-e", "/dev/vfio/" .. edu.iommu_group }
assert(r.code ~= 0, "a sees only its own group")

step("teardown gives the NIC back to e1000e and its interface reappears")
L:down()
assert(luxc.pci.get("0000:00:02.0").driver == "e1000e")
assert(luxc.pci.get("0000:00:03.0").driver == nil)
wait_for(ifname .. " to come back", function() return #luxc.pci.get("0000:00:02.0").net == 1 end)
print("back:", luxc.pci.get("0000:00:02.0"), luxc.pci.get("0000:00:02.0").net[1])

step("luxc pci bind / restore through the CLI's small lab")
r = run{ LUXC, "pci", "bind", "00:02.0", "vfio-pci", "--lab", LAB .. "-cli" }
assert(r.code == 0 and r.stdout:find("0000:00:02.0: e1000e %-> vfio%-pci"), r.stdout .. r.stderr)
assert(luxc.pci.get("0000:00:02.0").driver == "vfio-pci")
r = run{ LUXC, "pci", "restore", "00:02.0", "--lab", LAB .. "-cli" }
assert(r.code == 0 and r.stdout:find("back on e1000e"), r.stdout .. r.stderr)
assert(luxc.pci.get("0000:00:02.0").driver == "e1000e")
wait_for(ifname .. " after restore", function() return #luxc.pci.get("0000:00:02.0").net == 1 end)

step("dev:restore and a bind to another driver")
local L2 = luxc.lab(LAB .. "-2")
edu:bind("vfio-pci", { lab = L2 })
assert(luxc.pci.get("0000:00:03.0").driver == "vfio-pci")
local c = edu:restore()
assert(c.to == nil and luxc.pci.get("0000:00:03.0").driver == nil, luxc.inspect(c))
local ok, err = pcall(edu.restore, edu)
assert(not ok and err:find("nothing to restore"), err)
print("# pci suite passed")
