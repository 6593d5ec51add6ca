-- luxc.gpu: GPU profiles. For a PCI GPU (class 03xx) the device nodes that
-- belong to it (nvidia: nvidiaN, nvidiactl, nvidia-uvm, nvidia-uvm-tools,
-- nvidia-modeset, nvidia-caps/*; DRM: card and renderD nodes of the
-- function), the gids owning them, and optionally the host's NVIDIA driver
-- libraries, turned into container `devices` and `mounts` entries.
--
--   local gpu = luxc.gpu.list()[1]
--   local c = lab:container(luxc.gpu.assign(
--     { name = "cuda", image = luxc.image.host() }, gpu, { libraries = true }))
--
-- What sysfs, /proc and /dev say is read by `dev:gpu_nodes()` (Rust) under
-- the host root, or the fixture tree named by LUXC_PCI_ROOT.

local gpu = {}

local function is_device(v)
  return type(v) == "table" and type(v.gpu_nodes) == "function" and type(v.address) == "string"
end

local function check_device(func, v)
  if not is_device(v) then
    error(("%s: argument #1: expected a PCI device (from luxc.gpu.list or luxc.pci.get), got %s")
      :format(func, type(v)), 3)
  end
  if type(v.class) ~= "string" or v.class:sub(1, 2) ~= "03" then
    error(("%s: argument #1: %s is not a GPU (class %s; GPUs have PCI class 03xxxx)")
      :format(func, v.address, tostring(v.class)), 3)
  end
end

-- The options table (argument #n, default 2), checked: only `libraries`
-- (boolean). Errors point at the caller of the public function.
local function check_opts(func, opts, n)
  n = n or 2
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("%s: argument #%d: expected an options table { libraries = boolean }, got %s")
      :format(func, n, type(opts)), 3)
  end
  for k, v in pairs(opts) do
    if k ~= "libraries" then
      error(("%s: argument #%d: unknown option '%s' (expected: libraries)"):format(func, n, tostring(k)), 3)
    end
    if type(v) ~= "boolean" then
      error(("%s: argument #%d: option 'libraries': expected a boolean, got %s"):format(func, n, type(v)), 3)
    end
  end
  return opts
end

local function paths_of(profile)
  local out = {}
  for i, n in ipairs(profile.nodes) do out[i] = n.path end
  return out
end

--- Every GPU (PCI class 03) as a PCI device handle with a `nodes` field: the
--- host paths of its device nodes.
function gpu.list()
  local out = {}
  for _, d in ipairs(luxc.pci.list{ class = "03" }) do
    d.nodes = paths_of(d:gpu_nodes())
    out[#out + 1] = d
  end
  return out
end

--- { "/dev/nvidia0", ..., gids = { ... }, libraries = { ... } } of a GPU.
function gpu.nodes(dev, opts)
  check_device("luxc.gpu.nodes", dev)
  opts = check_opts("luxc.gpu.nodes", opts)
  local p = dev:gpu_nodes{ libraries = opts.libraries == true }
  local out = paths_of(p)
  out.gids = p.gids
  out.libraries = p.libraries
  return out
end

--- { devices = { { path, access = "rw" }, ... }, mounts = { read-only binds
--- of the libraries }, gids = { ... } }: container option entries for a GPU.
function gpu.grant(dev, opts)
  check_device("luxc.gpu.grant", dev)
  opts = check_opts("luxc.gpu.grant", opts)
  local n = gpu.nodes(dev, opts)
  local devices, mounts = {}, {}
  for i, path in ipairs(n) do
    devices[i] = { path = path, access = "rw" }
  end
  for i, lib in ipairs(n.libraries) do
    mounts[i] = { source = lib, target = lib, readonly = true }
  end
  return { devices = devices, mounts = mounts, gids = n.gids }
end

--- Adds the GPU's grant to container options (its `devices` and `mounts`
--- lists, created when absent) and returns them.
function gpu.assign(options, dev, opts)
  if type(options) ~= "table" then
    error(("luxc.gpu.assign: argument #1: expected a container options table, got %s")
      :format(type(options)), 2)
  end
  if not is_device(dev) then
    error(("luxc.gpu.assign: argument #2: expected a PCI device (from luxc.gpu.list or luxc.pci.get), got %s")
      :format(type(dev)), 2)
  end
  if dev.class:sub(1, 2) ~= "03" then
    error(("luxc.gpu.assign: argument #2: %s is not a GPU (class %s; GPUs have PCI class 03xxxx)")
      :format(dev.address, dev.class), 2)
  end
  check_opts("luxc.gpu.assign", opts, 3)
  local g = gpu.grant(dev, opts)
  options.devices = options.devices or {}
  options.mounts = options.mounts or {}
  for _, d in ipairs(g.devices) do table.insert(options.devices, d) end
  for _, m in ipairs(g.mounts) do table.insert(options.mounts, m) end
  return options
end

return gpu
