-- The cgroup acceptance suite. The same file runs on the host (hybrid here,
-- tests/cgroups.rs) and inside the VM lab (pure cgroup v2, tests/vm.rs); it
-- uses only the busybox image, so the VM needs nothing else.
--   luxc tests/lua/cgroups.lua [LAB]
local LAB = arg[1] or "cgsuite"
local passed, failed = 0, 0

local function test(name, fn)
  local ok, err = pcall(fn)
  if ok then
    passed = passed + 1
    print("ok - " .. name)
  else
    failed = failed + 1
    print("not ok - " .. name .. ": " .. tostring(err))
  end
end

local mode = luxc.cgroup.mode()
print("# cgroup mode: " .. mode)
local img = luxc.image.busybox()
local lab = luxc.lab(LAB)

local function container(name, opts)
  opts.name, opts.image = name, img
  local c = lab:container(opts)
  c:start()
  return c
end

test("a memory limit OOM-kills a process that allocates past it", function()
  local c = container("mem", { limits = { memory = "32M" } })
  -- tail keeps /dev/zero's one endless "line" in memory.
  local r = c:exec{ "sh", "-c", "tail /dev/zero", timeout = 20 }
  assert(not r.timed_out, "the allocation was not stopped")
  assert(r.code == 137 or r.signal == 9, "expected SIGKILL, got " .. luxc.inspect(r))
  local st = c:stats()
  assert(st.memory.oom_kills >= 1, "oom_kills = " .. st.memory.oom_kills)
  assert(st.memory.max == 32 * 1024 * 1024, "max = " .. tostring(st.memory.max))
end)

test("a pids limit makes fork fail with EAGAIN", function()
  local c = container("pids", { limits = { pids = 8 } })
  local r = c:exec{ "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait" }
  assert(r.stderr:find("Resource temporarily unavailable", 1, true) or r.stderr:find("can't fork", 1, true),
    "no fork failure: " .. luxc.inspect(r))
  assert(c:stats().pids.max == 8)
end)

test("cpus = 0.5 holds a busy loop near half a CPU", function()
  local c = container("cpu", { limits = { cpus = 0.5 } })
  local before = c:stats().cpu.usage_usec
  c:exec{ "timeout", "2", "sh", "-c", "while :; do :; done" }
  local used = (c:stats().cpu.usage_usec - before) / 1e6
  -- 2 s at half a CPU is 1 s of CPU; generous bounds.
  assert(used > 0.5 and used < 1.5, string.format("used %.2f s of CPU in 2 s", used))
end)

test("freeze stops a counter and thaw resumes it", function()
  local c = container("frz", {})
  -- The counter is the size of a file one line longer per step (read from
  -- the host: an exec would join the frozen cgroup and wait).
  c:spawn{ "sh", "-c", "while :; do echo x >> /tmp/n; done" }
  luxc.sleep(0.3)
  c:freeze()
  luxc.sleep(0.1)
  local a = #c:read_file("/tmp/n")
  luxc.sleep(0.4)
  local b = #c:read_file("/tmp/n")
  assert(a == b, "counter moved while frozen: " .. a .. " -> " .. b)
  local ok, err = pcall(c.exec, c, { "true" })
  assert(not ok and err:find("is frozen", 1, true), "exec into a frozen container: " .. tostring(err))
  c:thaw()
  luxc.sleep(0.3)
  local n = #c:read_file("/tmp/n")
  assert(n > b, "counter did not resume: " .. b .. " -> " .. n)
end)

test("kill() empties a cgroup", function()
  local cg = luxc.cgroup.create("luxc." .. LAB .. "-kill", { pids = 20 }, { lab = lab })
  luxc.host.exec{ "sh", "-c", "sleep 30 >/dev/null 2>&1 & sleep 30 >/dev/null 2>&1 &", cgroup = cg }
  assert(#cg:procs() >= 2, "procs: " .. luxc.inspect(cg:procs()))
  local seen = luxc.cgroup.open(cg.path)
  assert(#seen:procs() == #cg:procs(), "open() sees the same group")
  assert(not pcall(seen.destroy, seen), "luxc does not destroy a group it only opened")
  cg:kill()
  assert(#cg:procs() == 0, "still there: " .. luxc.inspect(cg:procs()))
  cg:destroy()
end)

test("a device not granted cannot be opened; a granted one can", function()
  local plain = container("dev0", {})
  local granted = container("dev1", { devices = { { type = "c", major = 10, minor = 200, access = "rw" } } })
  for _, c in ipairs{ plain, granted } do
    -- In /dev: /tmp is mounted nodev, where no device opens at all.
    assert(c:exec{ "mknod", "/dev/tun-test", "c", "10", "200" }.code == 0, "mknod is allowed")
  end
  local r = plain:exec{ "sh", "-c", "cat /dev/tun-test" }
  assert(r.stderr:find("not permitted", 1, true), "expected EPERM: " .. r.stderr)
  r = granted:exec{ "sh", "-c", "cat /dev/tun-test" }
  assert(not r.stderr:find("not permitted", 1, true), "granted device refused: " .. r.stderr)
end)

test("the container sees its own cgroup as the root", function()
  local c = container("ns", {})
  local r = c:exec{ "cat", "/proc/self/cgroup" }
  for line in r.stdout:gmatch("[^\n]+") do
    assert(line:match(":/$"), "not at its cgroup root: " .. line)
  end
end)

test("on v2, a user-namespaced container can make child cgroups (delegation)", function()
  if mode ~= "v2" then
    print("# skipped: delegation needs a pure cgroup v2 host (this one is " .. mode .. ")")
    return
  end
  local c = container("deleg", { idmap = { uid = 400000, count = 65536 } })
  local r = c:exec{ "sh", "-c", "mkdir /sys/fs/cgroup/child && echo pids > /sys/fs/cgroup/cgroup.subtree_control; ls /sys/fs/cgroup/child" }
  assert(r.code == 0, "delegated cgroup refused: " .. luxc.inspect(r))
  local plain = container("nodeleg", {})
  r = plain:exec{ "mkdir", "/sys/fs/cgroup/child" }
  assert(r.code ~= 0, "a container without delegation changed its cgroup tree")
end)

test("bad limits are refused at declaration", function()
  local cases = {
    { { bogus = 1 }, "unknown option 'bogus'" },
    { { memory = "12Q" }, "expected a size like 64M" },
    { { cpus = 4096 }, "more than this host's" },
    { { cpuset = { cpus = "4000" } }, "cpuset" },
    -- A controller neither host has: the message names the mode and it.
    { { raw = { ["net_prio.ifpriomap"] = "lo 1" } }, "(" .. mode .. ") has no net_prio controller" },
  }
  for _, case in ipairs(cases) do
    local ok, err = pcall(lab.container, lab, { name = "bad", image = img, limits = case[1] })
    assert(not ok and err:find(case[2], 1, true), luxc.inspect(case[1]) .. " -> " .. tostring(err))
  end
end)

lab:down()
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0)
