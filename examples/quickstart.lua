-- quickstart.lua: three containers from the host's own filesystem, in one lab.
-- Each has its own hostname, PID namespace and writable overlay; a file written
-- in one is not visible in the others. Everything is removed at the end.
-- Run as root: luxc run examples/quickstart.lua

-- Fails at once, with a clear message, if a lab of this name is still up from
-- an earlier run (`luxc down quickstart` removes it) or another luxc is using
-- it right now ("in use by luxc pid N").
local lab = luxc.lab("quickstart")

local names = { "red", "green", "blue" }

local function sh(c, script)
  local r = c:exec{ script, shell = true }
  assert(r.code == 0, tostring(c) .. ": " .. script .. ": " .. r.stderr)
  return (r.stdout:gsub("%s+$", ""))
end

local function main()
  -- Declare: nothing exists in the kernel yet.
  local cs = {}
  for i, name in ipairs(names) do
    cs[i] = lab:container{
      name = name,
      image = luxc.image.host(),   -- the default: host / read-only, private upper layer
      hostname = name .. ".lab",
    }
  end
  lab:up()                          -- starts all three (or removes what it made and fails)

  -- What each one sees of itself; then it writes a file named after itself
  -- into its own overlay.
  local rows = {}
  for i, c in ipairs(cs) do
    rows[i] = {
      container = c.name,
      hostname = sh(c, "hostname"),
      pid = sh(c, "echo $$"),               -- small: its own PID namespace
      pid1 = sh(c, "cat /proc/1/comm"),     -- luxc's reaper is PID 1
      pidns = c:ns().pid,
    }
    sh(c, "echo written by $(hostname) > /etc/quickstart-" .. c.name)
  end

  for i, c in ipairs(cs) do
    -- Which of the others' files can this container see? (Expected: none.)
    local foreign = {}
    for _, other in ipairs(cs) do
      if other ~= c and c:exec{ "test", "-e", "/etc/quickstart-" .. other.name }.code == 0 then
        foreign[#foreign + 1] = other.name
      end
    end
    rows[i].sees = #foreign == 0 and "own file only" or table.concat(foreign, ",")
    assert(#foreign == 0, c.name .. " sees another container's file")
    assert(c:read_file("/etc/quickstart-" .. c.name) == "written by " .. c.name .. ".lab\n")
  end

  -- The host's /etc is the lower layer of all three and was not touched.
  local host = luxc.host.exec{ "sh", "-c", "ls /etc/quickstart-* 2>/dev/null" }
  assert(host.stdout == "", "the host sees a container's file: " .. host.stdout)

  local fmt = "%-10s %-11s %-8s %-6s %-11s %s"
  print(fmt:format("container", "hostname", "echo $$", "PID 1", "pid ns", "/etc/quickstart-*"))
  for _, r in ipairs(rows) do
    print(fmt:format(r.container, r.hostname, r.pid, r.pid1, r.pidns, r.sees))
  end
  print("host: no /etc/quickstart-* file")
end

-- Whatever happens in main, take the lab down; then re-raise a failure.
local ok, err = pcall(main)
local down = lab:down()
if not ok then error(err, 0) end
print(("lab:down() removed %d objects"):format(down.removed))
