-- Benchmark helper (not a test), run by benches/cgroups.sh:
--   luxc benches/cgroups.lua LAB PREFIX N LIMITS REMOVE
-- Creates N cgroups PREFIX/g1 .. PREFIX/gN (luxc creates each in every
-- hierarchy it uses; the first call also makes PREFIX), each limited to
-- memory 64M, pids 64 and half a CPU, then removes them all:
--   LIMITS = "create": the limits are given to luxc.cgroup.create (the
--            intended use: one call per group);
--            "set":    luxc.cgroup.create without limits, then cg:set{...}
--            (the shape of cgcreate + cgset).
--   REMOVE = "destroy": cg:destroy() for each group, in creation order (the
--            last one also removes PREFIX, which the lab made);
--            "down":    lab:down() (the journal walked backwards).
-- Every group is journaled in lab LAB. luxc has no wall clock API, so the
-- script prints a line when a phase ends and the harness timestamps the
-- lines as they arrive; it also prints os.clock() (this process's CPU
-- time, user + system) for each phase.
local usage = "usage: cgroups.lua LAB PREFIX N create|set destroy|down"
local lab_name, prefix = assert(arg[1], usage), assert(arg[2], usage)
local n = assert(math.tointeger(tonumber(arg[3])), usage)
local how, remove = arg[4], arg[5]
assert(how == "create" or how == "set", usage)
assert(remove == "destroy" or remove == "down", usage)

local limits = { memory = "64M", pids = 64, cpus = 0.5 }

local function mark(what)
  io.stdout:write(string.format("%s %.6f\n", what, os.clock()))
  io.stdout:flush()
end

local lab = luxc.lab(lab_name)
local groups = {}
local ok, err = pcall(function()
  mark("start")
  for i = 1, n do
    local path = prefix .. "/g" .. i
    if how == "create" then
      groups[i] = luxc.cgroup.create(path, limits, { lab = lab })
    else
      local cg = luxc.cgroup.create(path, nil, { lab = lab })
      groups[i] = cg
      cg:set(limits)
    end
  end
  mark("created")
  if remove == "destroy" then
    for i = 1, n do
      groups[i]:destroy()
      groups[i] = nil
    end
  else
    lab:down()
  end
  mark("removed")
end)
if not ok then
  -- Remove whatever this run made before failing.
  pcall(function() lab:down() end)
  error(err, 0)
end
