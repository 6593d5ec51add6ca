-- Run by tests/vm/net/run inside the VM lab (tests/vm_net.rs): the link
-- kinds and qdiscs this project's host kernel lacks, on a stock kernel.
local lab = luxc.lab(arg[1] or "vmnet")
local f = luxc.net.features()
print("# features: " .. luxc.json.encode(f))
for _, k in ipairs({ "netem", "vlan", "dummy", "macvlan", "vxlan", "tbf" }) do
  assert(f[k], "the VM kernel lacks " .. k)
end
local a = lab:netns("a")
local b = lab:netns("b")
lab:link(a, b, { address = "10.9.0.1/24", peer_address = "10.9.0.2/24" })
lab:up()
assert(luxc.test.ping(a, "10.9.0.2"), "no ping on the plain link")

-- netem: 100 ms of delay on a's side shows in the round trip.
luxc.net.shape("eth0", { delay = "100ms", netns = a })
local ok, out = luxc.test.ping(a, "10.9.0.2", { count = 1, timeout = 3 })
local ms = tonumber(out:match("time=([%d%.]+) ms"))
print("# rtt with 100ms netem delay: " .. tostring(ms))
assert(ok and ms and ms >= 95, "netem delay not seen: " .. out)
-- Loss 100%: nothing gets through; then a rate alone (tbf) lets it again.
luxc.net.shape("eth0", { loss = 100, netns = a })
assert(not luxc.test.ping(a, "10.9.0.2"), "ping through 100% loss")
luxc.net.shape("eth0", { rate = "10mbit", netns = a })
assert(luxc.test.ping(a, "10.9.0.2"), "no ping after tbf replaced netem")

-- 802.1Q: VLAN 10 on each end carries its own subnet.
luxc.net.vlan{ name = "eth0.10", parent = "eth0", id = 10, netns = a, address = "10.9.10.1/24" }
luxc.net.vlan{ name = "eth0.10", parent = "eth0", id = 10, netns = b, address = "10.9.10.2/24" }
assert(luxc.test.ping(a, "10.9.10.2"), "no ping over VLAN 10")

-- dummy, macvlan and ipvlan links are made and listed.
luxc.net.dummy{ name = "d0", netns = a, address = "10.9.99.1/32" }
luxc.net.macvlan{ name = "mv0", parent = "eth0", mode = "bridge", netns = b }
-- ipvlan: reported either way (features says whether this kernel has it).
local ipv_ok, ipv_err = pcall(luxc.net.ipvlan, { name = "iv0", parent = "eth0.10", mode = "l2", netns = b })
print("# ipvlan: " .. (ipv_ok and "made" or tostring(ipv_err)))
assert(ipv_ok == f.ipvlan, "features().ipvlan disagrees with making one")
local kinds = {}
for _, l in ipairs(luxc.net.links(a)) do kinds[l.name] = l.kind end
for _, l in ipairs(luxc.net.links(b)) do kinds[l.name] = l.kind end
assert(kinds.d0 == "dummy" and kinds.mv0 == "macvlan" and kinds["eth0.10"] == "vlan"
  and (kinds.iv0 == "ipvlan") == ipv_ok, luxc.inspect(kinds))
lab:down()
print("# net suite passed")
