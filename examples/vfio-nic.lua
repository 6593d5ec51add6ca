-- vfio-nic.lua: hand a spare NIC to a container through VFIO. Its IOMMU group
-- moves to vfio-pci (journaled in the lab), a container granted the device
-- sees /dev/vfio/vfio and /dev/vfio/GROUP, and the NIC goes back to its own
-- driver at the end (dev:restore(), then lab:down() for the rest of its group).
--
-- It never takes what the host stands on: a NIC carrying the default route or
-- with an interface up, a group with a device behind a mounted filesystem, or
-- the host's only NIC.
-- On a host without IOMMU or without a spare NIC it explains and exits 0,
-- touching no device.
-- Run as root: luxc run examples/vfio-nic.lua

local nics = luxc.pci.list{ class = "02" }
print(("%d network controller(s)"):format(#nics))
for _, nic in ipairs(nics) do
  print("  " .. tostring(nic), table.concat(nic.net, " "))
end

-- sysfs as luxc.pci reads it: the host's, or the fixture tree tests point at.
local root = os.getenv("LUXC_PCI_ROOT")
if root == nil or root == "" then root = "/" end

-- Whether a network interface is up (IFF_UP in its flags): the host may be
-- using it even without the default route.
local function is_up(iface)
  local f = io.open(root .. "/sys/class/net/" .. iface .. "/flags")
  if not f then return false end
  local flags = tonumber(f:read("l") or "0")
  f:close()
  return flags ~= nil and flags & 1 == 1
end

-- Every device of the NIC's group that the host uses, with why.
local function host_uses_in_group(nic)
  local found = {}
  for _, member in ipairs(nic:group()) do
    for _, why in ipairs(member:host_uses()) do
      found[#found + 1] = member.address .. " " .. why
    end
    for _, iface in ipairs(member.net) do
      if is_up(iface) then
        found[#found + 1] = ("%s has %s up (ip link set %s down to offer it)")
          :format(member.address, iface, iface)
      end
    end
  end
  return found
end

local function pick()
  if #nics == 0 then
    return nil, "no network controller on this host"
  end
  if #nics == 1 then
    return nil, ("%s is the host's only NIC: it is never taken"):format(nics[1].address)
  end
  local with_iommu = false
  for _, d in ipairs(luxc.pci.list()) do
    if d.iommu_group then with_iommu = true break end
  end
  if not with_iommu then
    return nil, "no IOMMU on this host (no IOMMU groups): enable VT-d or AMD-Vi in the "
      .. "firmware and boot with intel_iommu=on or amd_iommu=on"
  end
  local reasons = {}
  for _, nic in ipairs(nics) do
    local uses = host_uses_in_group(nic)
    if #uses > 0 then
      reasons[#reasons + 1] = ("%s skipped: %s"):format(nic.address, table.concat(uses, "; "))
    else
      return nic
    end
  end
  return nil, "no spare NIC: " .. table.concat(reasons, "; ")
end

local nic, why = pick()
if not nic then
  print(why .. ". Nothing was bound.")
  return
end

local original = nic.driver
local lab = luxc.lab("vfio-nic-example")

local function main()
  local plan = nic:bind_vfio{ group = true, lab = lab }
  print(("IOMMU group %d on vfio-pci: %d function(s) moved"):format(plan.group, #plan.moves))
  local c = lab:container{
    name = "vfio",
    image = luxc.image.busybox(),
    init = { "sleep", "1000" },
    devices = { nic },
  }
  c:start()
  local r = c:exec{ "ls", "-l", "/dev/vfio" }
  io.write(r.stdout, r.stderr)
  c:destroy()
  local back = nic:restore()
  print(("%s back on %s (was %s)"):format(nic.address, back.to or "no driver", original or "no driver"))
end

local ok, err = pcall(main)
-- Whatever happened, the lab's teardown puts every device it moved back.
local down = lab:down()
if not ok then error(err, 0) end
print(("lab:down() removed %d objects"):format(down.removed))
