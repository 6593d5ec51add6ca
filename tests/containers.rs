//! Root integration tests: real containers from Lua scripts, with unique lab
//! names, each proving afterwards that nothing of it is left on the host.

mod common;

use common::lab::{assert_clean, lab_name, ok, run};
use common::text;

#[test]
fn isolation_security_and_pid1() {
    let lab = lab_name("iso");
    // A host mount made after luxc started must not be visible inside.
    let out = ok(
        &lab,
        r#"
local host_ns = {}
for _, k in ipairs{ "mnt", "pid", "uts", "ipc", "net", "cgroup" } do
  host_ns[k] = luxc.host.exec{ "readlink", "/proc/self/ns/" .. k }.stdout
end
-- A host mount that exists when the container starts: it must not show inside.
HOSTMNT = "/tmp/luxc-hostmount-" .. LAB
assert(luxc.host.exec{ "mkdir", "-p", HOSTMNT }.code == 0)
assert(luxc.host.exec{ "mount", "-t", "tmpfs", "none", HOSTMNT }.code == 0)
local l = luxc.lab(LAB)
local a = l:container{ name = "a", hostname = "alpha" }
local ok, err = pcall(l.up, l)
luxc.host.exec{ "umount", HOSTMNT }
luxc.host.exec{ "rmdir", HOSTMNT }
assert(ok, err)
record(a)
local function sh(cmd) return a:exec{ cmd, shell = true } end
for k, v in pairs(host_ns) do
  local inside = sh("readlink /proc/self/ns/" .. k).stdout
  assert(inside ~= v, k .. " namespace is the host's: " .. inside)
end
assert(sh("cat /proc/1/comm").stdout == "luxc\n", "PID 1 is luxc's reaper")
local ps = sh("ps -e -o pid=,comm=").stdout
local n = 0
for line in ps:gmatch("[^\n]+") do n = n + 1 end
assert(n <= 3, "only container processes visible:\n" .. ps)
assert(sh("hostname").stdout == "alpha\n")
local mi = sh("cat /proc/self/mountinfo").stdout
assert(mi:match("^%d+ %d+ [%d:]+ / / [^\n]* %- overlay "), "root is the overlay:\n" .. mi)
assert(not mi:find("/run/luxc", 1, true) or mi:match("^[^\n]*upperdir=/run/luxc"), "old root detached")
assert(not mi:find(HOSTMNT, 1, true), "host mounts not visible:\n" .. mi)
-- Masked files read empty (this kernel may lack some of them, e.g. kcore).
local masked = 0
for _, f in ipairs{ "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug" } do
  if luxc.host.exec{ "test", "-e", f }.code == 0 then
    assert(sh("wc -c < " .. f).stdout == "0\n", f .. " masked")
    masked = masked + 1
  end
end
assert(masked > 0, "no maskable file on this host")
assert(sh("touch /sys/luxc-x").code ~= 0, "/sys read-only")
assert(sh("echo 1 > /proc/sys/kernel/panic").code ~= 0, "/proc/sys read-only")
local m = sh("mount -t tmpfs none /mnt 2>&1")
assert(m.code ~= 0 and m.stdout:find("ermission denied"), "mount fails with EPERM: " .. m.stdout)
-- init_module(2) is 175 on x86_64; seccomp turns it into EPERM (1).
local mod = sh([[python3 -c 'import ctypes; l=ctypes.CDLL(None, use_errno=True); l.syscall(175, 0, 0, 0); print(ctypes.get_errno())']])
assert(mod.stdout == "1\n", "module loading EPERM: " .. mod.stdout .. mod.stderr)
assert(sh("grep NoNewPrivs /proc/self/status").stdout:match("NoNewPrivs:%s+1"))
local info = a:info()
assert(info.status == "running" and info.security.no_new_privs == true and #info.masked > 3)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn exec_output_codes_stdin_timeout_and_missing_binary() {
    let lab = lab_name("exec");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox() }
l:up()
record(a)
local r = a:exec{ "sh", "-c", "echo out; echo err >&2; exit 7" }
assert(r.code == 7 and r.stdout == "out\n" and r.stderr == "err\n", luxc.inspect(r))
r = a:exec{ "sh", "-c", "head -c 8388608 /dev/zero | tr '\\0' x; head -c 1048576 /dev/zero >&2" }
assert(r.code == 0 and #r.stdout == 8388608 and #r.stderr == 1048576, #r.stdout)
assert(not r.stdout:find("[^x]"))
r = a:exec{ "cat", stdin = "piped\0bytes" }
assert(r.stdout == "piped\0bytes")
r = a:exec{ "sleep", "30", timeout = 0.3 }
assert(r.timed_out and r.code == 137, luxc.inspect(r))
r = a:exec{ "/bin/no-such-tool" }
assert(r.code == 127 and r.stderr:find("/bin/no-such-tool", 1, true), luxc.inspect(r))
r = a:exec{ "pwd", cwd = "/tmp" }
assert(r.stdout == "/tmp\n")
r = a:exec{ "id", "-u", user = 1000 }
assert(r.stdout == "1000\n", r.stdout .. r.stderr)
r = a:exec{ "sh", "-c", "echo $FOO:$container", env = { FOO = "bar" } }
assert(r.stdout == "bar:luxc\n", r.stdout)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn orphans_are_reaped_and_killing_pid1_stops_the_container() {
    let lab = lab_name("reap");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox() }
l:up()
record(a)
-- The shell exits at once; its children are orphaned to PID 1.
a:exec{ "sh", "-c", "(sleep 0.2 &) ; (sleep 0.3 &) ; exit 0" }
luxc.sleep(1.2)
local ps = a:exec{ "ps", "-o", "stat" }.stdout
assert(not ps:find("Z"), "zombies left:\n" .. ps)
local pid = a:pid()
luxc.host.exec{ "kill", "-9", tostring(pid) }
luxc.sleep(0.2)
assert(a:status() == "stopped", a:status())
assert(a:pid() == nil)
local ok, err = pcall(a.exec, a, { "true" })
assert(not ok and err:find("is stopped, not running"), err)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn fifty_containers_share_one_lower_layer() {
    let lab = lab_name("fifty");
    let out = ok(
        &lab,
        r#"
local img = luxc.image.busybox()
local shared = luxc.image.dir(img.path)
local l = luxc.lab(LAB)
local cs = {}
for i = 1, 50 do cs[i] = l:container{ name = "c" .. i, image = shared } end
l:up()
record(cs[1])
local lowers = {}
for i, c in ipairs(cs) do
  local mi = c:exec{ "cat", "/proc/self/mountinfo" }.stdout
  lowers[mi:match("lowerdir=([^,]+)")] = true
  c:write_file("/mine", "c" .. i)
end
local n = 0
for k in pairs(lowers) do n = n + 1; assert(k == shared.path, k) end
assert(n == 1, "one shared lower")
local uppers = luxc.host.exec{ "sh", "-c", "ls -d /run/luxc/" .. LAB .. "/*/upper | wc -l" }.stdout
assert(uppers == "50\n", uppers)
assert(cs[7]:read_file("/mine") == "c7" and cs[8]:read_file("/mine") == "c8")
assert(luxc.host.exec{ "test", "-e", shared.path .. "/mine" }.code ~= 0, "image untouched")
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn files_written_in_one_are_not_visible_in_another() {
    let lab = lab_name("cow");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a" }
local b = l:container{ name = "b" }
l:up()
record(a)
a:exec{ "sh", "-c", "echo secret > /etc/luxc-test-file" }
assert(a:read_file("/etc/luxc-test-file") == "secret\n")
assert(b:exec{ "test", "-e", "/etc/luxc-test-file" }.code == 1)
assert(luxc.host.exec{ "test", "-e", "/etc/luxc-test-file" }.code == 1, "host untouched")
b:write_file("/tmp/x", "hi", tonumber("600", 8))
assert(b:exec{ "stat", "-c", "%a", "/tmp/x" }.stdout == "600\n")
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn options_init_readonly_mounts_sysctl_env() {
    let lab = lab_name("opts");
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("hello"), "from host").unwrap();
    let body = format!(
        r#"
local l = luxc.lab(LAB)
local a = l:container{{
  name = "a", image = luxc.image.busybox(), readonly = true,
  init = {{ "sleep", "1000" }},
  mounts = {{ {{ source = "{src}", target = "/data", readonly = true }}, {{ type = "tmpfs", target = "/scratch", size = "1M" }} }},
  sysctl = {{ ["net.ipv4.ip_forward"] = 1 }},
  env = {{ GREETING = "hi" }}, cwd = "/tmp",
}}
l:up()
record(a)
assert(a:exec{{ "cat", "/proc/1/comm" }}.stdout == "sleep\n")
assert(a:exec{{ "cat", "/data/hello" }}.stdout == "from host")
assert(a:exec{{ "touch", "/data/x" }}.code ~= 0, "ro bind")
assert(a:exec{{ "touch", "/etc/x" }}.code ~= 0, "ro root")
assert(a:exec{{ "touch", "/scratch/x" }}.code == 0, "tmpfs writable")
assert(a:exec{{ "cat", "/proc/sys/net/ipv4/ip_forward" }}.stdout == "1\n")
assert(a:exec{{ "sh", "-c", "echo $GREETING; pwd" }}.stdout == "hi\n/tmp\n")
assert(a:stop{{ timeout = 2 }} == true or a:status() == "stopped")
assert(a:status() == "stopped")
l:down()
"#,
        src = src.path().display()
    );
    let out = ok(&lab, &body);
    assert_clean(&lab, &out);
}

#[test]
fn bad_input_is_rejected_and_leaves_nothing() {
    let lab = lab_name("bad");
    let cases = [
        (
            "luxc.image.dir('/nonexistent/luxc-img')",
            "luxc.image.dir: image dir /nonexistent/luxc-img: No such file or directory",
        ),
        (
            "l:container{ name = 'a', hostname = string.rep('h', 65) }",
            "lab:container: hostname: expected 1 to 64 bytes, got 65",
        ),
        (
            "l:container{ name = 'a', namespaces = { 'mount', 'netz' } }",
            "lab:container: field 'namespaces': unknown namespace kind 'netz'",
        ),
        (
            "l:container{ name = 'a', colour = 'red' }",
            "lab:container: unknown option 'colour'",
        ),
        (
            "l:container{ name = 'a' } l:container{ name = 'a' }",
            "lab:container: name 'a' is already used in lab",
        ),
        (
            "l:container{ name = 'a', seccomp = { deny = { 'fooo' } } }",
            "unknown syscall 'fooo'",
        ),
        (
            "l:container{ name = 'a', capabilities = { add = { 'CAP_FLY' } } }",
            "unknown capability",
        ),
        (
            "l:container{ name = 'a', sysctl = { ['vm.swappiness'] = 1 } }",
            "is not namespaced",
        ),
        (
            "l.up()",
            "lab:up: self: expected a lab, got nil (call it with ':')",
        ),
    ];
    for (code, want) in cases {
        let body = format!("local l = luxc.lab(LAB)\n{code}\n");
        let out = run(&lab, &body);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{code}: {stdout}{stderr}");
        assert!(stderr.contains(want), "{code}: want {want:?} in:\n{stderr}");
        assert_clean(&lab, &stdout);
    }
    // start twice, exec on a stopped container: errors, then a clean down.
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox() }
a:start()
record(a)
local ok, err = pcall(a.start, a)
assert(not ok and err:find("start: container 'a': already running", 1, true), err)
a:stop{ signal = "KILL" }
ok, err = pcall(a.exec, a, { "true" })
assert(not ok and err:find("exec: container 'a' is stopped, not running", 1, true), err)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn a_failed_start_rolls_back_what_up_created() {
    let lab = lab_name("roll");
    let out = run(
        &lab,
        r#"
local l = luxc.lab(LAB)
l:container{ name = "a", image = luxc.image.busybox() }
l:container{ name = "b", image = luxc.image.busybox(), init = { "/no/such/init" } }
l:up()
"#,
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("up: start: container 'b': exec init /no/such/init"),
        "{stderr}"
    );
    // The rollback removed everything, the journal included: the name is free.
    let journal = format!("/run/luxc/{lab}/journal");
    assert!(
        !std::path::Path::new(&journal).exists(),
        "journal left after rollback"
    );
    assert_clean(&lab, &stdout);
}

#[test]
fn luxc_down_removes_a_lab_left_up_by_a_script() {
    let lab = lab_name("left");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox() }
l:up()
record(a)
"#,
    );
    let pid: i32 = out
        .lines()
        .find_map(|l| l.strip_prefix("@pid "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "lab stays up"
    );
    // A second script opens the live lab and drives its container.
    let again = run(
        &lab,
        r#"local l = luxc.lab.open(LAB)
print(l.a:status(), l.a:pid(), l.a:exec{ "echo", "hi" }.stdout)"#,
    );
    assert_eq!(
        text(&again).0.trim(),
        format!("running\t{pid}\thi"),
        "{}",
        text(&again).1
    );
    let down = std::process::Command::new(common::luxc_bin())
        .args(["down", &lab])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(0), "{}", text(&down).1);
    assert_clean(&lab, &out);
    // Idempotent: a second down finds no lab and says so.
    let again = std::process::Command::new(common::luxc_bin())
        .args(["down", &lab])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).1.contains(&format!("no lab '{lab}'")),
        "{}",
        text(&again).1
    );
}

#[test]
fn user_namespace_maps_root_to_the_given_range() {
    let lab = lab_name("userns");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", idmap = { uid = 231072, gid = 231072, count = 65536 } }
l:up()
record(a)
assert(a:exec{ "id", "-u" }.stdout == "0\n", "root inside")
local map = luxc.host.exec{ "cat", "/proc/" .. a:pid() .. "/uid_map" }.stdout
assert(map:match("^%s*0%s+231072%s+65536%s*$"), map)
local gmap = luxc.host.exec{ "cat", "/proc/" .. a:pid() .. "/gid_map" }.stdout
assert(gmap:match("^%s*0%s+231072%s+65536%s*$"), gmap)
assert(a:exec{ "sh", "-c", "echo x > /made-inside && touch /tmp/t" }.code == 0)
local owner = luxc.host.exec{ "stat", "-c", "%u:%g", "/proc/" .. a:pid() .. "/root/made-inside" }.stdout
assert(owner == "231072:231072\n", "owner seen from the host: " .. owner)
local upper = luxc.host.exec{ "stat", "-c", "%u", "/run/luxc/" .. LAB .. "/a/upper/made-inside" }.stdout
assert(upper == "231072\n", upper)
-- Root inside is not root outside: host-owned image files stay read-only.
assert(a:exec{ "sh", "-c", "echo no >> /etc/hostname" }.code ~= 0)
assert(a:ns().user ~= nil)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn share_net_joins_another_containers_namespace() {
    let lab = lab_name("share");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
-- Declared first, started second: up() starts a before b.
local b = l:container{ name = "b", image = luxc.image.busybox(), share = { net = nil } }
local a = l:container{ name = "a", image = luxc.image.busybox() }
local c = l:container{ name = "c", image = luxc.image.busybox(), share = { net = a } }
l:up()
record(a)
assert(a:ns().net == c:ns().net and a:ns().net ~= b:ns().net)
assert(a:ns().pid ~= c:ns().pid and a:ns().mount ~= c:ns().mount, "only net is shared")
local la = a:exec{ "ip", "-o", "link" }.stdout
local lc = c:exec{ "ip", "-o", "link" }.stdout
assert(la == lc and lc:find("lo: <LOOPBACK,UP"), "c sees a's interfaces (lo up):\n" .. lc)
assert(c:exec{ "ping", "-c1", "-W1", "127.0.0.1" }.code == 0, "loopback works")
local ok, err = pcall(l.container, l, { name = "d", share = { pid = a } })
assert(not ok and err:find("'pid' cannot be shared", 1, true), err)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn spawn_wait_kill_and_the_init_log() {
    let lab = lab_name("spawn");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox() }
l:up()
record(a)
local p = a:spawn{ "sh", "-c", "echo spawned-output; exit 3" }
assert(p:pid() > 1)
local r = p:wait()
assert(r.code == 3 and r.signal == nil, luxc.inspect(r))
-- PID 1 relays the output into init.log: it may land a moment after wait.
local function logged()
  return luxc.host.exec{ "cat", "/run/luxc/" .. LAB .. "/a/init.log" }.stdout:find("spawned-output", 1, true)
end
for _ = 1, 100 do if logged() then break end luxc.sleep(0.02) end
assert(logged(), "spawned-output not in init.log")
local s = a:spawn{ "sleep", "30" }
assert(a:exec{ "sh", "-c", "ps | grep -q \"[s]leep 30\"" }.code == 0, "running inside the container")
s:kill("KILL")
r = s:wait()
assert(r.signal == 9 and r.code == 137, luxc.inspect(r))
local ok, err = pcall(a.spawn, a, { "true", timeout = 1 })
assert(not ok and err:find("unknown option 'timeout'", 1, true), err)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn files_are_resolved_inside_the_container_root() {
    let lab = lab_name("inroot");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox() }
l:up()
record(a)
-- Absolute symlinks made inside point inside, even for luxc on the host.
a:exec{ "ln", "-s", "/etc/hostname", "/tmp/to-hostname" }
a:exec{ "ln", "-s", "/luxc-escape-test", "/tmp/to-escape" }
local ok, err = pcall(a.read_file, a, "/tmp/to-hostname")
assert(not ok and err:find("No such file", 1, true), "busybox has no /etc/hostname; got the host's? " .. tostring(err))
a:write_file("/tmp/to-escape", "x")
assert(luxc.host.exec{ "test", "-e", "/luxc-escape-test" }.code == 1, "host file written through a symlink")
assert(a:read_file("/luxc-escape-test") == "x", "written inside instead")
local info = a:info()
assert(info.user == nil and info.init == nil and info.idmap == nil, "unset options are nil")
assert(tostring(l) == "lab " .. LAB .. " (1 container)")
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn stop_waits_for_exec_processes_to_handle_term() {
    let lab = lab_name("graceful");
    let data = tempfile::tempdir().unwrap();
    let body = format!(
        r#"
local l = luxc.lab(LAB)
local a = l:container{{ name = "a", image = luxc.image.busybox(),
  mounts = {{ {{ source = "{d}", target = "/data" }} }} }}
l:up()
record(a)
a:spawn{{ "sh", "-c", "trap 'echo termed > /data/termed; exit 0' TERM; while true; do sleep 0.05; done" }}
luxc.sleep(0.3)
assert(a:stop{{ timeout = 5 }} == true, "ended before the timeout")
assert(a:status() == "stopped")
l:down()
"#,
        d = data.path().display()
    );
    let out = ok(&lab, &body);
    assert_eq!(
        std::fs::read_to_string(data.path().join("termed")).unwrap(),
        "termed\n"
    );
    assert_clean(&lab, &out);
}

#[test]
fn failures_before_exec_are_luxcs_125_not_127() {
    let lab = lab_name("e125");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox() }
l:up()
record(a)
local r = a:exec{ "true", cwd = "/nonexistent" }
assert(r.code == 125 and r.stderr:find("luxc: cwd /nonexistent: ENOENT", 1, true), luxc.inspect(r))
local ok, err = pcall(l.container, l, { name = "b", no_new_privs = false, seccomp = { deny = { "capset" } } })
assert(not ok and err:find("capset", 1, true), "checked at declaration: " .. tostring(err))
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn one_lab_one_writer() {
    let lab = lab_name("lock");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hold.lua");
    std::fs::write(
        &script,
        "local l = luxc.lab(arg[1])\nlocal a = l:container{ name = 'a', image = luxc.image.busybox() }\nl:up()\nprint('@pid ' .. a:pid())\nfor k, id in pairs(a:ns()) do print('@ns ' .. k .. ' ' .. id) end\nio.stdout:flush()\nio.open(arg[2], 'w'):close()\nluxc.sleep(30)\n",
    )
    .unwrap();
    let ready = dir.path().join("ready");
    let holder = std::process::Command::new(common::luxc_bin())
        .arg(&script)
        .arg(&lab)
        .arg(&ready)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ready.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "holder never got ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let want = format!("lab '{lab}' is in use by luxc pid {}", holder.id());
    let second = run(&lab, "luxc.lab(LAB)");
    assert!(text(&second).1.contains(&want), "{}", text(&second).1);
    let down = std::process::Command::new(common::luxc_bin())
        .args(["down", &lab])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(text(&down).1.contains(&want), "{}", text(&down).1);
    // SIGINT to the holder: it rolls back what it made and exits 130; the
    // lab is gone, so down has nothing to do.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(holder.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = holder.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_clean(&lab, &text(&out).0);
    let down = std::process::Command::new(common::luxc_bin())
        .args(["down", &lab])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1), "{}", text(&down).1);
    assert!(text(&down).1.contains("no lab"), "{}", text(&down).1);
}

#[test]
fn every_requested_kind_gets_its_own_namespace() {
    let lab = lab_name("kinds");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox(),
  namespaces = { "mount", "pid", "uts", "ipc", "net", "cgroup", "time" } }
local b = l:container{ name = "b", image = luxc.image.busybox(), namespaces = { "mount", "pid" } }
l:up()
record(a)
record(b)
local function host(kind)
  return luxc.host.exec{ "readlink", "/proc/self/ns/" .. kind }.stdout
end
for _, k in ipairs{ "mnt", "pid", "uts", "ipc", "net", "cgroup", "time" } do
  assert(a:exec{ "readlink", "/proc/self/ns/" .. k }.stdout ~= host(k), k)
end
-- Kinds not requested stay the host's.
for _, k in ipairs{ "uts", "ipc", "net", "cgroup", "time" } do
  assert(b:exec{ "readlink", "/proc/self/ns/" .. k }.stdout == host(k), k)
end
assert(a:ns().time ~= b:ns().time)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn wait_for_an_init_that_ends_and_restart_keeps_the_layer() {
    let lab = lab_name("wait");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local job = l:container{ name = "job", image = luxc.image.busybox(), init = { "sh", "-c", "echo run >> /result; sleep 0.3" } }
job:start()
record(job)
assert(job:wait{ timeout = 0.01 } == false, "still running")
assert(job:wait{ timeout = 10 } == true)
assert(job:status() == "stopped")
-- A restart reuses its writable layer (the volatile overlay's marker is cleared).
job:start()
luxc.sleep(0.1)
assert(job:read_file("/result") == "run\nrun\n", job:read_file("/result"))
assert(job:wait() == true)
l:down()
"#,
    );
    assert_clean(&lab, &out);
}

#[test]
fn stopping_a_container_without_a_pid_namespace_spares_the_host() {
    let lab = lab_name("nopid");
    let mut canary = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox(), namespaces = { "mount", "uts" } }
l:up()
print("@pid " .. a:pid())
assert(a:stop{ timeout = 5 } == true, "the reaper ended on TERM")
assert(a:status() == "stopped")
l:down()
"#,
    );
    assert_eq!(
        canary.try_wait().unwrap(),
        None,
        "a host process was signalled"
    );
    canary.kill().unwrap();
    canary.wait().unwrap();
    assert_clean(&lab, &out);
}

#[test]
fn down_kills_exec_processes_even_without_a_pid_namespace() {
    let lab = lab_name("nopidleak");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
local a = l:container{ name = "a", image = luxc.image.busybox(), namespaces = { "mount", "uts" } }
l:up()
local p = a:spawn{ "sleep", "60" }
-- The spawned process is a host pid here (no pid namespace); its cgroup is the container's.
local cg = luxc.host.exec{ "cat", "/proc/" .. p:pid() .. "/cgroup" }.stdout
assert(cg:find("luxc." .. LAB .. "/a", 1, true), cg)
print("@spawned " .. p:pid())
l:down()
"#,
    );
    let pid = out
        .lines()
        .find_map(|l| l.strip_prefix("@spawned "))
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "spawned process outlived lab:down(): {stat}"
    );
    assert_clean(&lab, &out);
}

/// Destroying the last container keeps the lab open while the script holds it
/// (a loop of start/destroy does not remake the lab each time); when the
/// script ends, a lab with nothing left in it is finished: no dir, journal
/// or cgroup remains.
#[test]
fn a_lab_emptied_by_destroy_stays_open_until_the_script_ends() {
    let lab = lab_name("empty");
    let out = ok(
        &lab,
        r#"
local l = luxc.lab(LAB)
for i = 1, 3 do
  -- PID 1 lives long enough for record() to read its namespaces.
  local c = l:container{ name = "c" .. i, image = luxc.image.busybox(), init = { "sleep", "0.1" } }
  c:start()
  record(c)
  assert(c:wait{ timeout = 10 })
  c:destroy()
  assert(io.open("/run/luxc/" .. LAB .. "/journal"), "the lab was closed by destroy")
end
"#,
    );
    assert_clean(&lab, &out);
}
