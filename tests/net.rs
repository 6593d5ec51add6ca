//! Network labs on real kernel objects (root): routers, VXLAN, NAT and port
//! forwards, IPv6, a 100-node star, shaping, bad input. Traffic only flows
//! between namespaces each test makes; every test proves nothing is left
//! (namespaces, links, nft tables, processes, mounts, cgroups).

mod common;

use common::lab::{assert_clean, lab_name, ok, run};

/// Lua prelude of every test: `U`, a short token unique to the test
/// process, for host-visible names (bridges) that must not collide.
const PRE: &str = r#"
U = LAB:match("(%d+)$") % 1000000
function bname(tag) return string.format("b%06d%s", U, tag) end
"#;

fn lua(body: &str) -> String {
    format!("{PRE}\n{body}")
}

#[test]
fn router_joins_two_subnets_and_forwarding_off_breaks_it() {
    let lab = lab_name("router");
    let out = ok(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local img = luxc.image.busybox()
local b1 = l:bridge{ name = bname("a") }
local b2 = l:bridge{ name = bname("b") }
local h1 = l:container{ name = "h1", image = img }
local h2 = l:container{ name = "h2", image = img }
local r = l:router{ name = "r", image = img, interfaces = {
  { bridge = b1, address = "10.71.1.1/24" },
  { bridge = b2, address = "10.71.2.1/24" } } }
l:link(h1, b1, { address = "10.71.1.10/24", gateway = "10.71.1.1" })
l:link(h2, b2, { address = "10.71.2.10/24", gateway = "10.71.2.1" })
l:up()
for _, c in ipairs({ h1, h2, r }) do record(c) end
-- The lab's namespaces are visible to iproute2 while it is up.
local ls = luxc.host.exec{ "ip", "netns", "list" }.stdout
for _, n in ipairs({ "h1", "h2", "r" }) do
  assert(ls:find(LAB .. "-" .. n, 1, true), "ip netns list lacks " .. n .. ":\n" .. ls)
end
local via = luxc.host.exec{ "ip", "netns", "exec", LAB .. "-h1", "ip", "route" }.stdout
assert(via:find("default via 10.71.1.1", 1, true), via)
assert(luxc.test.ping(h1, "10.71.2.10"), "h1 cannot reach h2 through r")
assert(luxc.test.ping(h2, h1), "h2 cannot reach h1 through r")
assert(r:sysctl("net.ipv4.ip_forward") == "1")
-- The path really goes through r: without forwarding, no reply.
assert(r:sysctl("net.ipv4.ip_forward", 0) == "1")
assert(not luxc.test.ping(h1, "10.71.2.10"), "ping went through without forwarding")
r:sysctl("net.ipv4.ip_forward", 1)
assert(luxc.test.ping(h1, "10.71.2.10"))
-- Deterministic MACs: the same for the same lab, node and interface.
local mac = h1:exec{ "cat", "/sys/class/net/eth0/address" }.stdout
print("@mac " .. mac)
local dot = l:graph()
assert(dot:find('"h1" -- "' .. bname("a") .. '"', 1, true), dot)
assert(l:graph("mermaid"):find("graph LR", 1, true))
local g = luxc.host.exec{ "/proc/self/exe", "graph", LAB, "--format", "mermaid" }
assert(g.code == 0 and g.stdout:find("n_h1", 1, true), g.stderr)
l:down()
local after = luxc.host.exec{ "ip", "netns", "list" }.stdout
assert(not after:find(LAB, 1, true), "namespaces left: " .. after)
"#),
    );
    assert_clean(&lab, &out);
    // Same script, same lab name: same MAC.
    let mac = |o: &str| {
        o.lines()
            .find_map(|l| l.strip_prefix("@mac "))
            .unwrap()
            .trim()
            .to_string()
    };
    let again = ok(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local img = luxc.image.busybox()
local b1 = l:bridge{ name = bname("a") }
local h1 = l:container{ name = "h1", image = img }
l:link(h1, b1, { address = "10.71.1.10/24" })
l:up()
print("@mac " .. h1:exec{ "cat", "/sys/class/net/eth0/address" }.stdout)
l:down()
"#),
    );
    assert_eq!(mac(&out), mac(&again));
    assert!(mac(&out).starts_with("02:"), "{}", mac(&out));
    assert_clean(&lab, &again);
}

#[test]
fn vxlan_carries_a_ping_between_two_simulated_hosts() {
    let lab = lab_name("vxlan");
    // Two bridges named br0 (each inside its own host) would be one name
    // in the lab: refused. Names are per lab; use distinct ones.
    let out = run(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "hosta", image = luxc.image.busybox() }
l:bridge{ name = "br0", netns = a }
l:bridge{ name = "br0" }
"#),
    );
    let (_, err) = common::text(&out);
    assert!(err.contains("name 'br0' is already used in lab"), "{err}");
    let out = ok(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local img = luxc.image.busybox()
local a = l:container{ name = "hosta", image = img }
local b = l:container{ name = "hostb", image = img }
local under = l:link(a, b, { address = "192.168.72.1/24", peer_address = "192.168.72.2/24" })
local bra = l:bridge{ name = "bra", netns = a }
local brb = l:bridge{ name = "brb", netns = b }
local c1 = l:container{ name = "c1", image = img }
local c2 = l:container{ name = "c2", image = img }
l:link(c1, bra, { address = "10.72.0.1/24" })
l:link(c2, brb, { address = "10.72.0.2/24" })
l:up()
for _, c in ipairs({ a, b, c1, c2 }) do record(c) end
-- No overlay yet: c1 and c2 are on separate bridges in separate hosts.
assert(not luxc.test.ping(c1, "10.72.0.2"), "reachable before the VXLAN exists")
luxc.net.vxlan{ name = "vx0", vni = 42, dev = under.a_if, ["local"] = "192.168.72.1",
  remote = "192.168.72.2", master = "bra", netns = a, lab = l }
luxc.net.vxlan{ name = "vx0", vni = 42, dev = under.b_if, ["local"] = "192.168.72.2",
  remote = "192.168.72.1", master = "brb", netns = b, lab = l }
local links = luxc.net.links(a)
local vx
for _, k in ipairs(links) do if k.name == "vx0" then vx = k end end
assert(vx and vx.kind == "vxlan" and vx.up and vx.alias:find("luxc:" .. LAB, 1, true), luxc.inspect(links))
assert(luxc.test.ping(c1, "10.72.0.2", { count = 2 }), "no ping over the VXLAN")
assert(luxc.test.ping(c2, c1))
l:down()
"#),
    );
    assert_clean(&lab, &out);
}

#[test]
fn nat_masquerades_to_an_upstream_and_a_port_forward_reaches_a_container() {
    let lab = lab_name("nat");
    let out = ok(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local img = luxc.image.busybox()
local lan = l:bridge{ name = bname("l") }
local up = l:container{ name = "up", image = img }
local h1 = l:container{ name = "h1", image = img }
local r = l:router{ name = "r", image = img, interfaces = {
  { bridge = lan, address = "10.74.0.1/24" },
  { to = up, address = "10.74.1.1/24", peer_address = "10.74.1.2/24" } } }
l:link(h1, lan, { address = "10.74.0.10/24", gateway = "10.74.0.1" })
l:up()
for _, c in ipairs({ up, h1, r }) do record(c) end
-- The upstream has no route back to the LAN: only NAT makes replies work.
assert(not luxc.test.ping(h1, "10.74.1.2"), "upstream reachable without NAT")
luxc.net.nat{ source = "10.74.0.0/24", out = "eth1", netns = r, lab = l }
assert(luxc.test.ping(h1, "10.74.1.2"), "no ping through the NAT")
-- A server upstream reports the peer it sees: the router's upstream address.
up:write_file("/peer.sh", "\35!/bin/sh\nnetstat -tn | grep ':8000 '\n", tonumber("755", 8))
local srv = up:spawn{ "nc", "-l", "-p", "8000", "-e", "/peer.sh" }
assert(luxc.test.wait_port(up, 8000, 5), "server did not listen")
local got = h1:exec{ "sh", "-c", "echo | nc -w 2 10.74.1.2 8000", timeout = 10 }
assert(got.stdout:find("10.74.1.1:", 1, true) and not got.stdout:find("10.74.0.10", 1, true),
  "upstream saw: " .. got.stdout .. got.stderr)
srv:wait()
-- Port forward: the router's upstream address, port 8080, to h1's httpd.
h1:write_file("/tmp/index.html", "hello from h1\n", tonumber("644", 8))
h1:spawn{ "httpd", "-f", "-p", "80", "-h", "/tmp" }
assert(luxc.test.wait_port(h1, 80, 5))
luxc.net.forward{ host_port = 8080, to = h1, port = 80, netns = r, lab = l }
local page = up:exec{ "wget", "-q", "-O", "-", "http://10.74.1.1:8080/", timeout = 10 }
assert(page.code == 0 and page.stdout == "hello from h1\n", luxc.inspect(page))
local tables = luxc.host.exec{ "nft", "list", "tables", netns = r }.stdout
assert(tables:find("luxc-" .. LAB, 1, true), tables)
l:down()
"#),
    );
    assert_clean(&lab, &out);
}

#[test]
fn ipv6_addresses_and_routes_in_a_two_node_lab() {
    let lab = lab_name("ipv6");
    let out = ok(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local img = luxc.image.busybox()
local a = l:container{ name = "a", image = img }
local b = l:container{ name = "b", image = img }
l:link(a, b, { address = { "fd76:1::1/64", "10.76.0.1/24" }, peer_address = { "fd76:1::2/64", "10.76.0.2/24" } })
l:up()
record(a) record(b)
local addrs = a:exec{ "ip", "-6", "addr", "show", "dev", "eth0" }.stdout
-- Usable at once: luxc adds lab addresses without duplicate address detection.
local line = addrs:match("[^\n]*fd76:1::1/64[^\n]*")
assert(line and not line:find("tentative", 1, true), addrs)
assert(luxc.test.ping(a, "fd76:1::2"), "no IPv6 ping on the link")
-- A route to a network behind b, through b.
luxc.net.addr_add("lo", "fd76:2::2/128", { netns = b, lab = l })
assert(not luxc.test.ping(a, "fd76:2::2"), "reachable without a route")
luxc.net.route_add{ dst = "fd76:2::/64", via = "fd76:1::2", netns = a, lab = l }
local routes = a:exec{ "ip", "-6", "route" }.stdout
assert(routes:find("fd76:2::/64 via fd76:1::2", 1, true), routes)
assert(luxc.test.ping(a, "fd76:2::2"), "no IPv6 ping over the route")
assert(luxc.test.ping(b, a), "b cannot reach a's first address")
l:down()
"#),
    );
    assert_clean(&lab, &out);
}

/// A network-only `up` makes its namespaces on helper threads; a container
/// forked by the next `up` of the same script needs luxc single-threaded
/// again. The bridges come up last, and carry traffic after.
#[test]
fn a_container_after_a_network_only_up_in_the_same_script() {
    let lab = lab_name("after");
    let out = ok(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local br = l:bridge{ name = bname("t") }
for i = 1, 20 do
  l:link(l:netns("n" .. i), br, { address = "10.79.3." .. (i + 1) .. "/24" })
end
l:up()
local c = l:container{ name = "c", image = luxc.image.busybox() }
l:link(c, br, { address = "10.79.3.100/24" })
l:up()
record(c)
local shown = luxc.host.exec{ "ip", "-o", "link", "show", bname("t") }.stdout
assert(shown:find("state UP", 1, true), shown)
assert(luxc.test.ping(c, "10.79.3.2"), "the container cannot reach n1")
assert(luxc.test.ping(c, "10.79.3.21"), "the container cannot reach n20")
l:down()
"#),
    );
    assert_clean(&lab, &out);
}

#[test]
fn star_of_100_containers_passes_pingall_and_leaves_nothing() {
    let lab = lab_name("star");
    let out = ok(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local t = luxc.topo.star(l, 100, { image = luxc.image.busybox(), subnet = "10.77.0.0/24", switch = bname("s") })
l:up()
for _, h in ipairs(t.hosts) do record(h) end
assert(#t.hosts == 100 and t.addresses.h100 == "10.77.0.100/24", luxc.inspect(t.addresses))
local r = luxc.test.pingall(l, { sample = 60, print = false })
assert(r.sent == 60 and r.loss == 0, luxc.inspect(r.failed))
-- Shape one host-side port: a tbf root qdisc, gone with the lab.
local port = l:topology().edges[1].b_if
luxc.net.shape(port, { rate = "10mbit", lab = l })
local qd = luxc.host.exec{ "tc", "qdisc", "show", "dev", port }.stdout
assert(qd:find("tbf", 1, true), qd)
-- Bridge ports carry no IPv6 link-local address (addr_gen_mode none).
local v6 = luxc.host.exec{ "ip", "-6", "addr", "show", "dev", port }.stdout
assert(not v6:find("inet6", 1, true), v6)
local pins = 0
for n in luxc.host.exec{ "ls", "/run/netns" }.stdout:gmatch("[^\n]+") do
  if n:find(LAB .. "-", 1, true) == 1 then pins = pins + 1 end
end
assert(pins == 100, "pins: " .. pins)
l:down()
"#),
    );
    assert_clean(&lab, &out);
}

#[test]
fn plain_namespaces_primitives_and_netem_detection() {
    let lab = lab_name("prim");
    let out = ok(
        &lab,
        &lua(r#"
local l = luxc.lab(LAB)
local t = luxc.topo.star(l, 4, { netns = true, subnet = "10.78.0.0/24", switch = bname("s") })
l:up()
local r = luxc.test.pingall(l, { print = false })
assert(r.sent == 12 and r.loss == 0, luxc.inspect(r))
-- Switches joined by links (a line of three, a tree of depth 2): every host
-- reaches every other across the bridge-to-bridge links.
for i, build in ipairs({ luxc.topo.line, luxc.topo.tree }) do
  local l2 = luxc.lab(LAB .. "-" .. i)
  build(l2, 3, { netns = true, subnet = "10.78." .. i .. ".0/24", switch = bname("l" .. i), fanout = 2 })
  l2:up()
  local rl = luxc.test.pingall(l2, { print = false, sample = 30 })
  assert(rl.sent > 0 and rl.loss == 0, luxc.inspect(rl.failed))
  l2:down()
end
-- A primitive namespace and veth, journaled in the lab.
local ns = luxc.net.netns(LAB .. "-extra", { lab = l })
assert(ns.path == "/run/netns/" .. LAB .. "-extra")
luxc.net.veth{ name = "ve" .. U, peer = "eth9", peer_netns = LAB .. "-extra", lab = l,
  address = "10.78.9.1/24" }
local f = luxc.net.features()
assert(f.bridge == true and f.tbf == true, luxc.inspect(f))
if not f.netem then
  local ok, err = pcall(luxc.net.shape, "ve" .. U, { delay = "20ms", lab = l })
  assert(not ok and err:find("netem", 1, true), err)
end
local old = luxc.net.sysctl("net.ipv4.ip_forward", 1, { netns = t.hosts[1], lab = l })
assert(old == "0")
assert(luxc.host.exec{ "cat", "/proc/sys/net/ipv4/ip_forward", netns = t.hosts[1] }.stdout == "1\n")
l:down()
"#),
    );
    assert_clean(&lab, &out);
}

/// Each bad input is a clear error naming the function and what was wrong,
/// and leaves nothing behind.
#[test]
fn bad_network_input_is_rejected_and_leaves_nothing() {
    let lab = lab_name("netbad");
    let cases: &[(&str, &str)] = &[
        (
            r#"l:link(a, br, { address = "10.79.0.300/24" })"#,
            "lab:link: field 'address': address '10.79.0.300/24': invalid cidr",
        ),
        (
            r#"l:link(a, br, { address = "10.80.0.2/24" })"#,
            "address 10.80.0.2/24 is outside bridge",
        ),
        (
            r#"l:bridge{ name = "a-name-of-16-byt" }"#,
            "interface name 'a-name-of-16-byt': expected 1 to 15 bytes",
        ),
        (
            r#"l:link(a, br, { ifname = "a-name-of-16-byt" })"#,
            "interface name 'a-name-of-16-byt'",
        ),
        (
            r#"local other = luxc.lab(LAB .. "o") local x = other:container{ name = "x" } l:link(a, x)"#,
            "belongs to lab '",
        ),
        (
            r#"luxc.net.link{ kind = "wormhole", name = "w0", lab = l }"#,
            "unknown link kind 'wormhole' (expected one of: bridge, veth, dummy, macvlan, ipvlan, vxlan, vlan)",
        ),
        (
            r#"l:link(a, br, { address = "10.79.0.1/24" })"#,
            "address 10.79.0.1 is already used in lab",
        ),
        (
            r#"l:link(a, br, { address = "10.79.0.2/24" }) l:link(b, br, { address = "10.79.0.2/24" })"#,
            "address 10.79.0.2 is already used in lab",
        ),
        (
            r#"l:link(a, br, { address = "10.79.0.2/24", gateway = "10.99.0.1" })"#,
            "gateway 10.99.0.1 of 'a' is not in the subnet",
        ),
        (r#"l:link(a, "nosuch")"#, "no node 'nosuch' in lab"),
        (
            r#"luxc.net.veth{ name = "v" .. U, peer = "p" .. U, stp = true, lab = l }"#,
            "field 'stp': not an option of a veth link",
        ),
        (
            r#"luxc.net.nat{ source = "10.79.0.0/33", lab = l }"#,
            "luxc.net.nat: field 'source': address '10.79.0.0/33': invalid cidr",
        ),
        (
            r#"luxc.net.sysctl("kernel.hostname", "x", { lab = l })"#,
            "expected a net.* key",
        ),
        (
            r#"luxc.net.shape("lo", { rate = "fast", lab = l })"#,
            "rate 'fast': expected a number with a unit",
        ),
        (r#"l:graph("svg")"#, "unknown format 'svg' (expected dot or mermaid)"),
    ];
    for (code, want) in cases {
        let body = lua(&format!(
            r#"
local l = luxc.lab(LAB)
local br = l:bridge{{ name = bname("x"), address = "10.79.0.1/24" }}
local a = l:container{{ name = "a", image = luxc.image.busybox() }}
local b = l:container{{ name = "b", image = luxc.image.busybox() }}
{code}
"#
        ));
        let out = run(&lab, &body);
        let (stdout, stderr) = common::text(&out);
        assert_eq!(out.status.code(), Some(1), "{code}: {stdout}{stderr}");
        assert!(
            stderr.contains(want),
            "{code}:\nwant: {want}\ngot: {stderr}"
        );
        assert!(
            stderr.contains("lab.lua:"),
            "{code}: no file:line in {stderr}"
        );
        assert_clean(&lab, &stdout);
    }
    // A failing `up` (a bridge name taken on the host) rolls back what it
    // made: in a lab with a container, and in a network-only lab, whose
    // namespaces helper threads are making meanwhile (they stop, and what
    // they made is removed too).
    for body in [
        r#"
local l = luxc.lab(LAB)
local br = l:bridge{ name = bname("y") }
local a = l:container{ name = "a", image = luxc.image.busybox() }
l:link(a, br, { address = "10.79.1.2/24" })
l:bridge{ name = "lo" }
l:up()
"#,
        r#"
local l = luxc.lab(LAB)
local br = l:bridge{ name = bname("z") }
for i = 1, 40 do
  l:link(l:netns("n" .. i), br, { address = "10.79.2." .. (i + 1) .. "/24" })
end
l:bridge{ name = "lo" }
l:up()
"#,
    ] {
        let out = run(&lab, &lua(body));
        let (stdout, stderr) = common::text(&out);
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        assert!(
            stderr.contains("up: bridge 'lo': create bridge lo: File exists"),
            "{stderr}"
        );
        assert_clean(&lab, &stdout);
    }
}

/// A link of the host (standing in for a physical NIC: a veth the test
/// makes itself, not luxc) moved into a container is back on the host,
/// under its own name, after teardown.
#[test]
fn a_host_link_moved_into_a_container_comes_back_at_teardown() {
    let lab = lab_name("move");
    let nic = format!("nic{}", std::process::id() % 1_000_000);
    let peer = format!("{nic}p");
    let made = std::process::Command::new("ip")
        .args(["link", "add", &nic, "type", "veth", "peer", "name", &peer])
        .status()
        .unwrap();
    assert!(made.success());
    let out = ok(
        &lab,
        &lua(&format!(
            r#"
local l = luxc.lab(LAB)
local c = l:container{{ name = "c", image = luxc.image.busybox() }}
l:up()
record(c)
local inner = luxc.net.move("{nic}", {{ to = c, name = "eth5" }})
assert(inner == "eth5")
local links = c:exec{{ "ip", "link" }}.stdout
assert(links:find("eth5", 1, true), links)
local host = luxc.host.exec{{ "ip", "link", "show", "{nic}" }}
assert(host.code ~= 0, "still on the host")
-- lo cannot move (refused before anything changes on the host).
local ok, err = pcall(luxc.net.move, "lo", {{ to = c }})
assert(not ok and err:find("lo belongs to its namespace", 1, true), err)
l:down()
"#
        )),
    );
    assert_clean(&lab, &out);
    let back = std::process::Command::new("ip")
        .args(["link", "show", &nic])
        .output()
        .unwrap();
    let _ = std::process::Command::new("ip")
        .args(["link", "del", &nic])
        .status();
    assert!(back.status.success(), "{nic} did not come back");
    // Refusing lo changed nothing on the host.
    let lo = std::process::Command::new("ip")
        .args(["link", "show", "lo"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&lo.stdout).contains(",UP"),
        "the host's lo is down"
    );
}

/// `luxc graph`: usage errors exit 2, a lab that is not there exits 1 and
/// says so.
#[test]
fn graph_cli_usage_and_missing_lab() {
    let out = common::luxc(["-e", "print(1)", "graph", "x"], "");
    let (_, err) = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`luxc graph` takes none"), "{err}");
    let out = common::luxc(["graph", "tnosuch-lab", "--format", "svg"], "");
    assert_eq!(out.status.code(), Some(2));
    let out = common::luxc(["graph", "tnosuch-lab"], "");
    let (_, err) = common::text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no lab 'tnosuch-lab'"), "{err}");
}
