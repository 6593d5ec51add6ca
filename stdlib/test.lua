-- luxc.test: checks for labs. ping from one node to another, Mininet's
-- pingall over a lab (all pairs, or a sample), waiting for a listening port,
-- and asserting a command's result.

local test = {}

local function is_container(x)
  return type(x) == "table" and type(x.exec) == "function" and x.lab ~= nil
end

local function is_node(x)
  return type(x) == "table" and x.kind ~= nil and x.lab ~= nil and type(x.info) == "function"
end

local function addr_only(cidr)
  return (cidr:gsub("/%d+$", ""))
end

-- The host's ping for plain namespace nodes: ping, else busybox's.
local host_ping
local function host_ping_argv()
  if host_ping == nil then
    local r = luxc.host.exec{ "sh", "-c", "command -v ping" }
    host_ping = r.code == 0 and { "ping" } or { "busybox", "ping" }
  end
  return host_ping
end

-- Runs argv in node n's network: exec in a container, `ip netns exec`-like
-- for a plain namespace node (the host's programs).
local function run_in(n, argv, timeout)
  if is_container(n) then
    argv.timeout = timeout
    return n:exec(argv)
  end
  if argv[1] == "ping" then
    local p = host_ping_argv()
    table.remove(argv, 1)
    for i = #p, 1, -1 do table.insert(argv, 1, p[i]) end
  end
  argv.netns = n
  argv.timeout = timeout
  return luxc.host.exec(argv)
end

-- The first address of node n (as its links declare it).
local function primary(n)
  if is_container(n) then
    local ifs = n:addresses()
    local names = {}
    for k in pairs(ifs) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      for _, a in ipairs(ifs[k]) do
        if not a:find(":") then return addr_only(a) end
      end
    end
    for _, k in ipairs(names) do
      if ifs[k][1] then return addr_only(ifs[k][1]) end
    end
    return nil
  end
  local info = n:info()
  return info.addresses[1] and addr_only(info.addresses[1]) or nil
end
test._primary = primary

--- ping(a, b_or_addr, { count = 1, timeout = 1 }) → ok, output.
--- `a` is a container or a lab:netns node; `b` a node (its first address)
--- or an address string.
function test.ping(a, b, opts)
  opts = opts or {}
  if not (is_container(a) or is_node(a)) then
    error("luxc.test.ping: argument 1: expected a container or a netns node, got " .. type(a), 2)
  end
  local addr = b
  if type(b) ~= "string" then
    addr = primary(b)
    if not addr then
      error("luxc.test.ping: argument 2: " .. tostring(b) .. " has no address", 2)
    end
  end
  local count = opts.count or 1
  local wait = opts.timeout or 1
  local argv = { "ping", "-c", tostring(count), "-W", tostring(wait) }
  if addr:find(":") then argv[#argv + 1] = "-6" end
  argv[#argv + 1] = addr
  local r = run_in(a, argv, count * wait + 5)
  return r.code == 0, r.stdout .. r.stderr
end

-- Direct-link address of b as seen from a (mesh topologies), else b's first.
local function target(topology, a, b, nodes)
  for _, e in ipairs(topology.edges) do
    if e.a == a and e.b == b and e.b_addresses[1] then return addr_only(e.b_addresses[1]) end
    if e.b == a and e.a == b and e.a_addresses[1] then return addr_only(e.a_addresses[1]) end
  end
  return primary(nodes[b])
end

--- pingall(lab, { sample = n, seed = s, count = 1, timeout = 1, print = true })
--- → { sent, received, loss (percent), failed = { {from, to, address} },
---     matrix = { [from] = { [to] = true|false } } }.
--- Pings every ordered pair of the lab's nodes that have an address, or a
--- deterministic sample of `sample` pairs; prints Mininet's summary unless
--- print = false.
function test.pingall(lab, opts)
  opts = opts or {}
  if type(lab) ~= "table" or type(lab.topology) ~= "function" then
    error("luxc.test.pingall: argument 1: expected a lab, got " .. type(lab), 2)
  end
  local topology = lab:topology()
  local nodes, names = {}, {}
  for _, c in ipairs(lab:containers()) do
    if c:status() == "running" and primary(c) then
      nodes[c.name] = c
      names[#names + 1] = c.name
    end
  end
  for _, n in ipairs(topology.nodes) do
    if n.kind == "netns" and n.status == "created" then
      local h = lab:node(n.name)
      if primary(h) then
        nodes[n.name] = h
        names[#names + 1] = n.name
      end
    end
  end
  local pairs_ = {}
  for _, a in ipairs(names) do
    for _, b in ipairs(names) do
      if a ~= b then pairs_[#pairs_ + 1] = { a, b } end
    end
  end
  if opts.sample and opts.sample < #pairs_ then
    -- A deterministic shuffle (xorshift), so a run can be repeated.
    local s = opts.seed or 1
    local function rnd(n)
      s = s ~ (s << 13); s = s ~ (s >> 7); s = s ~ (s << 17)
      return (s & 0x7fffffff) % n + 1
    end
    for i = #pairs_, 2, -1 do
      local j = rnd(i)
      pairs_[i], pairs_[j] = pairs_[j], pairs_[i]
    end
    for i = #pairs_, opts.sample + 1, -1 do pairs_[i] = nil end
  end
  local r = { sent = 0, received = 0, failed = {}, matrix = {} }
  for _, p in ipairs(pairs_) do
    local a, b = p[1], p[2]
    local addr = target(topology, a, b, nodes)
    local ok = test.ping(nodes[a], addr, { count = opts.count, timeout = opts.timeout })
    r.sent = r.sent + 1
    r.matrix[a] = r.matrix[a] or {}
    r.matrix[a][b] = ok
    if ok then
      r.received = r.received + 1
    else
      r.failed[#r.failed + 1] = { from = a, to = b, address = addr }
    end
  end
  r.loss = r.sent == 0 and 0 or math.floor(100 * (r.sent - r.received) / r.sent + 0.5)
  if opts.print ~= false then
    print("*** Ping: testing ping reachability")
    for _, a in ipairs(names) do
      local row = r.matrix[a]
      if row then
        local line = {}
        for _, b in ipairs(names) do
          if row[b] ~= nil then line[#line + 1] = row[b] and b or "X" end
        end
        print(a .. " -> " .. table.concat(line, " "))
      end
    end
    print(string.format("*** Results: %d%% dropped (%d/%d received)", r.loss, r.received, r.sent))
  end
  return r
end

-- Whether /proc/net/tcp(6) text lists a LISTEN socket on port.
local function listening(text, port)
  local hex = string.format(":%04X", port)
  for line in text:gmatch("[^\n]+") do
    local loc, st = line:match("^%s*%d+:%s+(%S+)%s+%S+%s+(%x%x)")
    if loc and st == "0A" and loc:sub(-5):upper() == hex then return true end
  end
  return false
end
test._listening = listening

--- wait_port(c, port, timeout = 10) → true once something in container c
--- listens on TCP `port`, false after `timeout` seconds.
function test.wait_port(c, port, timeout)
  if not is_container(c) then
    error("luxc.test.wait_port: argument 1: expected a container, got " .. type(c), 2)
  end
  if math.type(port) ~= "integer" or port < 1 or port > 65535 then
    error("luxc.test.wait_port: argument 2: expected a port (1 to 65535), got " .. tostring(port), 2)
  end
  local deadline = luxc.now() + (timeout or 10)
  local pause = 0.01
  repeat
    -- /proc/PID/net/* shows the network namespace of process PID: the
    -- container's, read from the host without an exec.
    local pid = c:status() == "running" and c:pid() or nil
    if not pid then return false end
    for _, f in ipairs({ "net/tcp", "net/tcp6" }) do
      local h = io.open("/proc/" .. pid .. "/" .. f)
      if h then
        local text = h:read("a")
        h:close()
        if listening(text, port) then return true end
      end
    end
    luxc.sleep(pause)
    pause = math.min(pause * 2, 0.2)
  until luxc.now() >= deadline
  return false
end

--- expect(result, { code = 0, stdout = "pattern", stderr = "pattern" }) → result;
--- raises an error naming what differed.
function test.expect(r, want)
  if type(r) ~= "table" then
    error("luxc.test.expect: argument 1: expected a result table, got " .. type(r), 2)
  end
  want = want or { code = 0 }
  if want.code ~= nil and r.code ~= want.code then
    error(string.format("expected exit code %d, got %s\nstdout: %s\nstderr: %s",
      want.code, tostring(r.code), r.stdout or "", r.stderr or ""), 2)
  end
  for _, k in ipairs({ "stdout", "stderr" }) do
    if want[k] and not (r[k] or ""):find(want[k]) then
      error(string.format("%s does not match %q: %s", k, want[k], r[k] or ""), 2)
    end
  end
  return r
end

return test
