-- Benchmark helper (not a test), run by benches/container-start.sh:
--   luxc benches/container-loop.lua LAB N [POLL]
-- Starts N containers one after the other in lab LAB, each from the busybox
-- image with the mount, pid, uts, ipc and net namespaces and /bin/true as
-- PID 1; waits for each to exit, destroys it, then takes the lab down.
-- POLL (seconds, default 0.0001) is the pause between two c:status() reads
-- while waiting for PID 1 to exit; 0 polls in a busy loop.
-- luxc has no clock API, so the harness times the whole run from outside
-- and divides by N.
local lab_name = assert(arg[1], "usage: container-loop.lua LAB N [POLL]")
local n = assert(math.tointeger(tonumber(arg[2])), "N must be an integer")
local poll = tonumber(arg[3] or "0.0001")

local lab = luxc.lab(lab_name)
local ok, err = pcall(function()
  local img = luxc.image.busybox()
  for i = 1, n do
    local c = lab:container{
      name = "c" .. i,
      image = img,
      namespaces = { "mount", "pid", "uts", "ipc", "net" },
      init = { "/bin/true" },
    }
    c:start() -- returns once PID 1 has exec'd /bin/true
    -- PID 1 is not luxc's child (it is reparented): status() reads /proc.
    if poll > 0 then
      while c:status() == "running" do luxc.sleep(poll) end
    else
      while c:status() == "running" do end
    end
    c:destroy()
  end
end)
lab:down()
if not ok then error(err, 0) end
