-- cgroups.lua: resource limits on whatever cgroup layout this host has (v1,
-- hybrid or v2), in one vocabulary. First a container with limits and what its
-- cgroup reports; then a cgroup of our own for host commands, the way
-- cgcreate / cgexec / cgdelete are used, killed and removed at the end.
-- Uses the busybox image (apt-get install busybox-static).
-- Run as root: luxc run examples/cgroups.lua

local lab = luxc.lab("cgroups-tour")

local function trim(s) return (s:gsub("%s+$", "")) end
local function mib(bytes) return bytes and ("%.1f MiB"):format(bytes / 1048576) or "none" end

-- Where the controllers live on this host.
local mode, layout = luxc.cgroup.mode()
print("cgroup mode: " .. mode)
for _, h in ipairs(layout.v1) do
  print(("  v1 %-26s %s"):format(h.mountpoint, table.concat(h.controllers, " ")))
end
if layout.unified then
  print(("  cgroup2 %-21s %s"):format(layout.unified.mountpoint, table.concat(layout.unified.controllers, " ")))
end

local function main()
  -- A container in its own cgroup, luxc.cgroups-tour/box, with limits that
  -- luxc writes to the v1 or v2 files of each controller.
  local c = lab:container{
    name = "box",
    image = luxc.image.busybox(),
    limits = { memory = "64M", pids = 32, cpus = 0.5 },
  }
  c:start()

  -- Its cgroup namespace: it sees its own cgroup as "/".
  local line = c:exec{ "grep", "-m", "1", "-E", "^[0-9]+:(memory)?:", "/proc/self/cgroup" }
  print("inside, /proc/self/cgroup says " .. trim(line.stdout))        -- 4:memory:/ or 0::/

  -- Use some of each resource, then read the figures.
  c:exec{ "sh", "-c", "head -c 16m /dev/zero > /dev/shm/fill" }     -- 16 MiB of tmpfs, charged to it
  c:exec{ "timeout", "1", "sh", "-c", "while :; do :; done" }        -- a busy loop for 1 s
  local st = c:stats()
  print(("memory %s of %s (peak %s); cpu %.2f s used, %.2f s throttled; %d of %d tasks"):format(
    mib(st.memory.current), mib(st.memory.max), mib(st.memory.peak),
    st.cpu.usage_usec / 1e6, st.cpu.throttled_usec / 1e6, st.pids.current, st.pids.max))

  -- Past the memory limit, the kernel's OOM killer ends the allocating process.
  local r = c:exec{ "sh", "-c", "tail /dev/zero", timeout = 20 }      -- tail keeps one endless line
  print(("tail /dev/zero: code %d; oom_kills = %d"):format(r.code, c:stats().memory.oom_kills))

  -- Limits change live; freeze stops every process until thaw.
  c:set_limits{ memory = "128M" }
  print("memory limit now " .. mib(c:stats().memory.max))
  c:spawn{ "sh", "-c", "while :; do echo x >> /tmp/count; done" }
  luxc.sleep(0.2)
  c:freeze()
  local a = #c:read_file("/tmp/count")       -- read from the host: an exec would wait for thaw
  luxc.sleep(0.3)
  local b = #c:read_file("/tmp/count")
  c:thaw()
  luxc.sleep(0.2)
  print(("frozen: counter %s; thawed: it moves again (%s)"):format(
    a == b and "stood still" or "MOVED", #c:read_file("/tmp/count") > b and "yes" or "NO"))

  -- A cgroup of our own for host commands (cgcreate + cgset), journaled in the
  -- lab like the container, so lab:down() or `luxc down cgroups-tour` removes it.
  local cg = luxc.cgroup.create("cgroups-tour/jobs", { memory = "32M", pids = 16 }, { lab = lab })
  print(tostring(cg) .. ", limits: " .. mib(cg:stats().memory.max) .. ", " .. cg:stats().pids.max .. " tasks")

  -- cgexec: the command joins the cgroup before it runs; luxc itself never does.
  r = luxc.host.exec{ "grep", "-m", "1", "cgroups-tour", "/proc/self/cgroup", cgroup = cg }
  print("a host command runs in " .. trim(r.stdout))
  luxc.host.exec{ "sh", "-c", "sleep 300 >/dev/null 2>&1 & sleep 300 >/dev/null 2>&1 &", cgroup = cg }
  print(("%d processes left in the background: %s"):format(#cg:procs(), table.concat(cg:procs(), " ")))
  cg:kill()                                  -- cgroup.kill on v2; signal until empty on v1
  print(("after kill: %d processes"):format(#cg:procs()))
  cg:destroy()                               -- removes it, and the parent it made (cgroups-tour)
end

-- Whatever happens in main, take the lab down: the container, its cgroup and the
-- lab's (luxc.cgroups-tour), and a cgroup main did not get to destroy.
local ok, err = pcall(main)
local down = lab:down()
if not ok then error(err, 0) end
print(("lab:down() removed %d objects"):format(down.removed))
