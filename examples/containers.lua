-- containers.lua: a tour of the container options and methods, on the busybox
-- image (built once from the host's busybox-static: apt-get install busybox-static).
-- Run as root: luxc run examples/containers.lua

local lab = luxc.lab("containers-tour")

local function trim(s) return (s:gsub("%s+$", "")) end

-- A host directory to bind into the container; removed at the end.
local mk = luxc.host.exec{ "mktemp", "-d" }
assert(mk.code == 0, mk.stderr)
local hostdir = trim(mk.stdout)

local function main()
  local c = lab:container{
    name = "tour",
    image = luxc.image.busybox(),
    hostname = "tour",
    readonly = true,                                  -- root filesystem read-only
    mounts = {
      { type = "tmpfs", target = "/scratch", size = "16M" },
      { source = hostdir, target = "/shared" },         -- a read-write bind mount
    },
    env = { GREETING = "hello" },                     -- for init and every exec
    cwd = "/scratch",                                 -- default working directory
    init = { "sleep", "1000" },                       -- PID 1 instead of luxc's reaper
    sysctl = { ["net.ipv4.ip_forward"] = 1 },         -- in its own net namespace
    capabilities = { drop = { "CHOWN" } },            -- the default set minus CAP_CHOWN
    seccomp = { deny = { "ptrace" } },                -- default deny list plus ptrace
  }
  print(c, c:status())                                --> container containers-tour/tour declared
  c:start()
  print(c, c:status(), "host pid of PID 1: " .. c:pid())

  local function run(label, cmd)
    local r = c:exec(cmd)
    local out = trim(r.stdout .. r.stderr):gsub("\n", " | ")
    print(("%-13s code %-3d %s"):format(label, r.code, out))
    return r
  end

  run("PID 1", { "cat", "/proc/1/comm" })                        -- sleep
  run("readonly /", { "touch", "/etc/x" })                        -- Read-only file system
  run("tmpfs", { "sh", "-c", "echo ok > /scratch/x && cat /scratch/x" })
  run("env, cwd", { "sh", "-c", 'echo "$GREETING from $(pwd)"' })
  run("sysctl", { "cat", "/proc/sys/net/ipv4/ip_forward" })      -- 1 inside
  print(("%-13s %s"):format("host sysctl",
    trim(luxc.host.exec{ "cat", "/proc/sys/net/ipv4/ip_forward" }.stdout)))
  run("no CAP_CHOWN", { "sh", "-c", "touch /scratch/f; chown 1000 /scratch/f" })
  run("seccomp", { "grep", "-E", "^(Seccomp|NoNewPrivs):", "/proc/self/status" })

  -- The bind mount: the container writes, the host reads.
  run("bind", { "sh", "-c", "hostname > /shared/from-container" })
  local f = assert(io.open(hostdir .. "/from-container"))
  print(("%-13s %s"):format("host reads", trim(f:read("a"))))
  f:close()

  -- exec options: stdin, timeout, user (and a program that does not exist).
  run("stdin", { "wc", "-c", stdin = "five!" })
  local r = run("timeout", { "sleep", "5", timeout = 0.2 })
  assert(r.timed_out and r.code == 137)
  run("user", { "id", user = 1000 })
  run("user+gid", { "id", user = { uid = 1000, gid = 100 } })
  run("missing", { "no-such-program" })                        -- code 127
  run("bad cwd", { "true", cwd = "/nonexistent" })              -- code 125: luxc's own step failed

  -- Files inside the running container, from the host side. Paths resolve in the
  -- container's root: a symlink it made to /etc/passwd reaches its own file
  -- (busybox's two users), never the host's.
  c:write_file("/scratch/hello.txt", "written by luxc\n")
  print(("%-13s %s"):format("read_file", trim(c:read_file("/scratch/hello.txt"))))
  run("symlink", { "ln", "-s", "/etc/passwd", "/scratch/passwd" })
  local _, users = c:read_file("/scratch/passwd"):gsub("\n", "")
  print(("%-13s %d users in the container's /etc/passwd"):format("via symlink", users))

  -- spawn: runs in the background; its output goes to the container's init.log.
  local p = c:spawn{ "sh", "-c", "echo spawned as $$; exit 3" }
  print(("%-13s %s, host pid %d, wait -> code %d"):format("spawn", tostring(p), p:pid(), p:wait().code))
  local sleeper = c:spawn{ "sleep", "100" }
  sleeper:kill()                                      -- TERM to it and what it started
  print(("%-13s code %d (128 + SIGTERM)"):format("kill, wait", sleeper:wait().code))
  local log = assert(io.open(c:info().dir .. "/init.log"))
  print(("%-13s %s"):format("init.log", trim(log:read("a"))))
  log:close()

  -- info(): a plain table; here a few of its fields.
  local info = c:info()
  print(luxc.inspect({
    status = info.status,
    image = info.image,
    namespaces = info.namespaces,
    readonly = info.readonly,
    mounts = info.mounts,
    sysctl = info.sysctl,
    no_new_privs = info.security.no_new_privs,
    seccomp = info.security.seccomp,
    capabilities = #info.security.capabilities .. " kept, CAP_CHOWN not among them",
  }))

  -- stop: TERM, then KILL after the timeout. `sleep` as PID 1 has no TERM
  -- handler, and the kernel does not deliver an unhandled signal to a PID 1,
  -- so it takes the KILL: stop returns false.
  print("stop ->", c:stop{ signal = "TERM", timeout = 0.5 }, c:status())
  c:destroy()                 -- removes what it created; it could be started again
  print("destroy ->", c:status(), c:pid())

  -- A container as a job: its init command runs to the end; wait() returns
  -- once PID 1 has ended (false if the timeout came first).
  local job = lab:container{
    name = "job",
    image = luxc.image.busybox(),
    init = { "sh", "-c", "echo job done; exit 3" },
  }
  job:start()
  print("wait ->", job:wait{ timeout = 10 }, job:status())
  local joblog = assert(io.open(job:info().dir .. "/init.log"))  -- PID 1's output
  print(("%-13s %s"):format("job output", trim(joblog:read("a"))))
  joblog:close()
  job:destroy()
end

-- Whatever happens in main, take the lab down (here destroy left nothing to
-- remove; after a failure half-way it removes what was made) and the temp dir.
local ok, err = pcall(main)
local down = lab:down()
luxc.host.exec{ "rm", "-rf", "--", hostdir }
if not ok then error(err, 0) end
print(("lab:down() removed %d objects"):format(down.removed))
