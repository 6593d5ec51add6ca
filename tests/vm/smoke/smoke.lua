-- smoke.lua: one container from the busybox image, in the VM guest (cgroup v2,
-- tmpfs root). Checks what it sees of itself, then takes the lab down and checks
-- that nothing of it is left.
local lab = luxc.lab("vmsmoke")
local c = lab:container{ name = "box", image = luxc.image.busybox(), hostname = "smoke.vm" }

local function sh(cmd)
  local r = c:exec{ cmd, shell = true }
  assert(r.code == 0, cmd .. ": exit " .. r.code .. ": " .. r.stderr)
  return r.stdout
end

local ok, err = pcall(function()
  lab:up()
  assert(c:info().status == "running", "status " .. tostring(c:info().status))
  local hn = sh("hostname")
  assert(hn == "smoke.vm\n", "hostname: " .. hn)
  local comm = sh("cat /proc/1/comm")
  assert(comm == "luxc\n", "PID 1 is " .. comm)
  local mi = sh("cat /proc/self/mountinfo")
  assert(mi:match("^%d+ %d+ [%d:]+ / / [^\n]* %- overlay "), "root is not the overlay:\n" .. mi)
  print(("smoke.lua: hostname %s, PID 1 %s, root on overlay"):format(hn:gsub("\n", ""), comm:gsub("\n", "")))
end)

local down = lab:down()
assert(ok, err)
assert(down.removed > 0, "lab:down removed nothing")
assert(c:info().status == "declared", "after down: " .. tostring(c:info().status))
local left = luxc.host.exec{ "ls", "-A", "/run/luxc" }.stdout
assert(not left:find("vmsmoke", 1, true), "lab dir left: " .. left)
print("smoke.lua: ok (lab down, " .. down.removed .. " objects removed)")
