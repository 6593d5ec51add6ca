-- gpu.lua: give the host's first GPU to a container and list its device
-- nodes from inside. luxc.gpu finds the nodes that belong to the GPU (nvidia:
-- nvidiaN, nvidiactl, nvidia-uvm, ...; any driver: its /dev/dri card and
-- renderD nodes); c:assign(gpu) grants them to a container before it starts
-- (luxc.gpu.assign(options, gpu) does the same on an options table).
-- On a host without a GPU it says so and exits 0, creating nothing.
-- Run as root: luxc run examples/gpu.lua

local gpus = luxc.gpu.list()
if #gpus == 0 then
  print("no GPU on this host (no PCI device of class 03): nothing to do")
  return
end

local gpu = gpus[1]
print(gpu, gpu.device_name or "")
if #gpu.nodes == 0 then
  -- On vfio-pci or without a driver a GPU has no nodes of its own.
  print(("%s has no device nodes (driver: %s): nothing to give a container")
    :format(gpu.address, gpu.driver or "none"))
  return
end
local profile = luxc.gpu.nodes(gpu)
print("nodes: " .. table.concat(profile, " "))
print("owned by gids: " .. table.concat(profile.gids, ", "))

local lab = luxc.lab("gpu-example")

local function main()
  -- With an image that has the host's library directories (luxc.image.host()),
  -- { libraries = true } also binds the NVIDIA libraries and nvidia-smi read-only.
  local c = lab:container{ name = "gpu", image = luxc.image.busybox(), init = { "sleep", "1000" } }
  c:assign(gpu)          -- before start: its nodes become device grants
  c:start()
  local cmd = { "ls", "-l" }
  for _, path in ipairs(profile) do cmd[#cmd + 1] = path end
  local r = c:exec(cmd)
  io.write(r.stdout, r.stderr)
  assert(r.code == 0, "ls in the container failed")
end

local ok, err = pcall(main)
local down = lab:down()
if not ok then error(err, 0) end
print(("lab:down() removed %d objects"):format(down.removed))
