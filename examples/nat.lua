-- nat.lua: a home-router setup, all inside the lab. A LAN (10.10.0.0/24, a
-- bridge with two hosts) sits behind a router container whose other leg is on
-- an "upstream" network (203.0.113.0/24, a documentation range: the upstream is
-- a container of this lab, nothing leaves the machine). The upstream has no
-- route back to the LAN, so
--   1. without NAT, a LAN host's packets reach the upstream but no reply comes;
--   2. with luxc.net.nat (nftables masquerade on the router's upstream leg) the
--      LAN hosts reach the upstream's web server, whose log shows every
--      request coming from the router's upstream address, 203.0.113.1;
--   3. with luxc.net.forward, port 8080 of the router goes to a web server on
--      h1, port 80: the upstream fetches http://203.0.113.1:8080/.
--
--   h1 10.10.0.10 --+                                  203.0.113.10
--                   +-- [natdemo-lan] -- lan0 r wan0 ---- eth0 upstream
--   h2 10.10.0.20 --+                 10.10.0.1  203.0.113.1   (httpd :8000)
--
-- Uses the busybox image (apt-get install busybox-static) and nft
-- (apt-get install nftables).
-- Run as root: luxc run examples/nat.lua

local lab = luxc.lab("nat-demo")
local busybox = luxc.image.busybox()

local function sh(c, script)
  local r = c:exec{ script, shell = true, timeout = 10 }
  assert(r.code == 0, tostring(c) .. ": " .. script .. ": " .. r.stdout .. r.stderr)
  return (r.stdout:gsub("%s+$", ""))
end

-- Starts busybox httpd in c on `port`, serving `text`, with its log (-vv: one
-- line per request, naming the client's address) in /tmp/httpd.log; waits
-- until it listens.
local function web_server(c, port, text)
  sh(c, "mkdir -p /www")                    -- write_file makes no directories
  c:write_file("/www/index.html", text .. "\n")
  local p = c:spawn{ "exec httpd -f -vv -p " .. port .. " -h /www 2>/tmp/httpd.log", shell = true }
  assert(luxc.test.wait_port(c, port, 5), tostring(c) .. ": httpd does not listen on " .. port)
  return p
end

-- The client addresses in c's httpd log ("[::ffff:203.0.113.1]:40312: url:/"),
-- once it has `n` of them (httpd's child writes its line as it finishes).
local function clients(c, n)
  local seen
  local deadline = luxc.now() + 2
  repeat
    seen = {}
    for ip in c:read_file("/tmp/httpd.log"):gmatch("(%d+%.%d+%.%d+%.%d+)%]?:%d+: url:") do
      seen[#seen + 1] = ip
    end
    if #seen >= n then break end
    luxc.sleep(0.02)
  until luxc.now() > deadline
  return seen
end

local function main()
  local upstream = lab:container{ name = "upstream", image = busybox, hostname = "upstream" }
  local lan = lab:bridge{ name = "natdemo-lan" }  -- a host bridge: a host-wide name
  local r = lab:router{
    name = "r",
    image = busybox,
    interfaces = {
      { to = upstream, ifname = "wan0", address = "203.0.113.1/24", peer_address = "203.0.113.10/24" },
      { bridge = lan, ifname = "lan0", address = "10.10.0.1/24" },
    },
  }
  local h1 = lab:container{ name = "h1", image = busybox }
  local h2 = lab:container{ name = "h2", image = busybox }
  lab:link(h1, lan, { address = "10.10.0.10/24", gateway = "10.10.0.1" })
  lab:link(h2, lan, { address = "10.10.0.20/24", gateway = "10.10.0.1" })
  lab:up()

  local rows = {}
  local function row(step, what, result, ok)
    rows[#rows + 1] = { step, what, result }
    assert(ok, ("%s: %s: %s"):format(step, what, result))
  end

  -- 1. No NAT: the echo request arrives, the reply has no route to 10.10.0.10.
  local ok = luxc.test.ping(h1, "203.0.113.10")
  row("no NAT", "ping h1 -> 203.0.113.10", ok and "ok" or "no reply", not ok)

  -- 2. Masquerade what leaves the LAN through the router's upstream leg.
  luxc.net.nat{ source = "10.10.0.0/24", out = "wan0", netns = r, lab = lab }
  ok = luxc.test.ping(h1, "203.0.113.10")
  row("NAT", "ping h1 -> 203.0.113.10", ok and "ok" or "no reply", ok)
  local server = web_server(upstream, 8000, "hello from upstream")
  for _, h in ipairs({ h1, h2 }) do
    local body = sh(h, "wget -q -O - http://203.0.113.10:8000/")
    row("NAT", h.name .. ": wget upstream:8000", body, body == "hello from upstream")
  end
  local seen = clients(upstream, 2)
  row("NAT", "upstream's log: clients", table.concat(seen, ", "),
    #seen == 2 and seen[1] == "203.0.113.1" and seen[2] == "203.0.113.1")
  server:kill()

  -- 3. Port forward: router port 8080 -> h1 port 80. DNAT rewrites only the
  --    destination, so h1 sees the upstream's own address.
  luxc.net.forward{ host_port = 8080, to = h1, port = 80, proto = "tcp", netns = r, lab = lab }
  local web = web_server(h1, 80, "hello from h1")
  local body = sh(upstream, "wget -q -O - http://203.0.113.1:8080/")
  row("forward", "upstream: wget r:8080", body, body == "hello from h1")
  seen = clients(h1, 1)
  row("forward", "h1's log: clients", table.concat(seen, ", "),
    #seen == 1 and seen[1] == "203.0.113.10")
  web:kill()

  local fmt = "%-8s %-28s %s"
  print(fmt:format("step", "check", "result"))
  for _, x in ipairs(rows) do print(fmt:format(x[1], x[2], x[3])) end
  print()
  print("nftables in r:")
  -- The host's nft, run in r's namespace (busybox has none); luxc's rules are
  -- in one table per lab, luxc-LAB, which lab:down() deletes.
  local nft = luxc.host.exec{ "nft", "list", "table", "inet", "luxc-" .. lab.name, netns = r }
  assert(nft.code == 0, nft.stderr)
  print(nft.stdout)
end

-- Whatever happens in main, take the lab down: the containers, the bridge and
-- the nft table in r; then re-raise a failure.
local ok, err = pcall(main)
local down = lab:down()
if not ok then error(err, 0) end
print(("lab:down() removed %d objects"):format(down.removed))
