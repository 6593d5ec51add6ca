-- Benchmark helper (not a test), run by benches/container-start.sh:
--   luxc benches/container-loop.lua LAB N
-- Starts N containers one after the other in lab LAB, each from the busybox
-- image with the mount, pid, uts, ipc and net namespaces and /bin/true as
-- PID 1, in a cgroup with a 64M memory limit; waits for each to exit
-- (c:wait, a pidfd), destroys it, then takes the lab down.
-- luxc has no clock API, so the harness times the whole run from outside
-- and divides by N.
local lab_name = assert(arg[1], "usage: container-loop.lua LAB N")
local n = assert(math.tointeger(tonumber(arg[2])), "N must be an integer")

local lab = luxc.lab(lab_name)
local ok, err = pcall(function()
  local img = luxc.image.busybox()
  for i = 1, n do
    local c = lab:container{
      name = "c" .. i,
      image = img,
      namespaces = { "mount", "pid", "uts", "ipc", "net" },
      init = { "/bin/true" },
      limits = { memory = "64M" },
    }
    c:start() -- returns once PID 1 has exec'd /bin/true
    -- The timeout only keeps a broken run from hanging the harness.
    assert(c:wait{ timeout = 60 }, "PID 1 of c" .. i .. " did not end within 60 s")
    c:destroy()
  end
end)
lab:down()
if not ok then error(err, 0) end
