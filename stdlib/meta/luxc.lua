---@meta luxc
-- LuaLS annotations for the API the luxc binary registers natively.
-- Editors use this file for completion; `luxc repl` prints its doc lines with
-- `:help NAME`; tests/stubs_sync.rs fails when it and the binary disagree.

---The luxc API: available as the global `luxc` and as `require "luxc"`.
---@class luxc
luxc = {}

---The luxc version string, as `luxc --version` prints it.
---@type string
luxc.version = "0.1.0"

---Blocks the script for a number of seconds (fractions allowed); Ctrl-C ends it early with the error `luxc.sleep: interrupted`.
---@param seconds number seconds to wait, >= 0 and below 1e15
---Example: `luxc.sleep(0.5)`
function luxc.sleep(seconds) end

---Seconds on a monotonic clock (a float, microsecond resolution), for timing parts of a script; `os.clock` counts CPU time only.
---@return number
---Example: `local t = luxc.now(); lab:up(); print(luxc.now() - t)`
function luxc.now() end

---Renders any value as readable text: nested tables indented with sorted keys, handles by their `__tostring`.
---@param value any
---@return string
---Example: `print(luxc.inspect({ b = 1, a = { 1, 2 } }))`
function luxc.inspect(value) end

---JSON encoding and decoding.
---@class luxc.json
luxc.json = {}

---Encodes a value as JSON text, object keys sorted; sequences become arrays. Rejects, naming the path, what JSON cannot hold: functions, NaN, lists with holes, tables mixing list items and named keys, cycles.
---@param value table|string|number|boolean|nil
---@param opts? { pretty?: boolean } pretty: indent the output (default false)
---@return string
---Example: `luxc.json.encode({ a = 1, b = { 1, 2 } })` → `{"a":1,"b":[1,2]}`
function luxc.json.encode(value, opts) end

---Decodes JSON text into Lua values; JSON null becomes `luxc.json.null`.
---@param text string
---@return any
---Example: `luxc.json.decode('{"a":[1,2]}').a[2]` → `2`
function luxc.json.decode(text) end

---The value JSON null decodes to (and encodes from).
---@type lightuserdata
luxc.json.null = nil

---The host luxc runs on.
---@class luxc.host
luxc.host = {}

---The command list and options of `luxc.host.exec`.
---@class luxc.ExecSpec
---@field [integer] string program and arguments; no shell unless `shell = true`
---@field env? table<string,string> variables set or overridden in the child's environment
---@field clear_env? boolean start from an empty environment (default false)
---@field cwd? string working directory of the command
---@field stdin? string bytes written to the command's stdin (default: /dev/null)
---@field timeout? number seconds; then the command's process group is killed (code 137, timed_out = true)
---@field shell? boolean run item 1 with /bin/sh -c; further items become $1, $2, … (default false)
---@field cgroup? luxc.Cgroup start the command inside this cgroup (as cgexec does); luxc itself never joins it
---@field netns? luxc.Container|luxc.Node|string run it in this network namespace (as `ip netns exec` does): a container or node of a lab, a node name of the script's lab, or a netns pinned at /run/netns/NAME

---How a command ended and what it printed.
---@class luxc.ExecResult
---@field code integer exit status; 128 + signal when a signal ended it
---@field stdout string everything written to stdout
---@field stderr string everything written to stderr
---@field timed_out boolean true when the timeout killed it
---@field signal? integer the signal that ended it

---Runs a host command to completion and returns its exit code and output. No shell is involved unless `shell = true`. Ctrl-C kills the command's process group and raises `luxc.host.exec: exec PROG: interrupted`.
---@param cmd luxc.ExecSpec the command list and options
---@return luxc.ExecResult
---Example: `local r = luxc.host.exec{ "uname", "-r", timeout = 5 }; print(r.code, r.stdout)`
function luxc.host.exec(cmd) end

---Reports what this host can do (namespaces, cgroup mode, link kinds, seccomp, IOMMU, ...), as `luxc check --json` prints it.
---@return { items: { section: string, name: string, status: "OK"|"MISSING"|"LIMITED", detail: string, advice?: string, required: boolean }[], cgroup?: table, kernel: string }
---Example: `for _, i in ipairs(luxc.host.check().items) do print(i.name, i.status) end`
function luxc.host.check() end

---Script logging on stderr through luxc's logs, tagged with the calling `file:line`; `-v` shows debug.
---@class luxc.log
luxc.log = {}

---Logs a debug message (shown with `luxc -v`). Arguments are joined with spaces, as print does.
---@param ... any
function luxc.log.debug(...) end

---Logs an informational message. Arguments are joined with spaces, as print does.
---@param ... any
---Example: `luxc.log.info("lab up in", 0.2, "s")`
function luxc.log.info(...) end

---Logs a warning. Arguments are joined with spaces, as print does.
---@param ... any
function luxc.log.warn(...) end

---Logs an error (the script goes on; raise with `error` to stop it).
---@param ... any
function luxc.log.error(...) end

---Root filesystems for containers.
---@class luxc.image
luxc.image = {}

---An image: the read-only lower layer of a container's root (each container writes to its own upper layer).
---@class luxc.Image
---@field kind "host"|"dir"|"busybox"
---@field path string the lower layer ("/" for host)

---The host's `/`, read-only, under each container's private writable layer; needs nothing downloaded. The default image.
---@return luxc.Image
---Example: `lab:container{ name = "a", image = luxc.image.host() }`
function luxc.image.host() end

---Any rootfs directory as a read-only lower layer; many containers share it (copy-on-write).
---@param path string an existing directory (not "/": use host())
---@return luxc.Image
---Example: `luxc.image.dir("/srv/rootfs")`
function luxc.image.dir(path) end

---A minimal rootfs built once from the host's busybox-static (`apt-get install busybox-static`), cached under /var/lib/luxc/images.
---@return luxc.Image
---Example: `lab:container{ name = "b", image = luxc.image.busybox() }`
function luxc.image.busybox() end

---Labs. Call it, `luxc.lab(name)`, for a lab handle to declare into: nothing is created in the kernel until `lab:up()` or `c:start()`. When a lab of that name is up already (an earlier run left it), the script attaches to it: declarations that match what is there keep it as it is, and `lab:up()` removes what the script no longer declares, changes what differs (a container's limits, a link's addresses, in place) and creates the rest, then says what it did on stderr. Fails when another luxc holds the lab (the error names its pid).
---@class luxc.labs
---@overload fun(name: string): luxc.Lab
---Example: `local lab = luxc.lab("demo")`
luxc.lab = {}

---Opens a lab that is up (made by an earlier script, still running or not) with handles to what it has: `lab.a` is its container or node `a`, so `lab.a:exec{ "ip", "addr" }` works. Takes the lab's lock (fails naming the pid of a luxc that holds it). The REPL's `luxc repl --lab NAME` does this for you.
---@param name string a lab under /run/luxc
---@return luxc.Lab
---Example: `local lab = luxc.lab.open("demo"); print(lab.a:status())`
function luxc.lab.open(name) end

---The options of `lab:container{...}`.
---@class luxc.ContainerOptions
---@field name string unique in the lab
---@field image? luxc.Image default luxc.image.host()
---@field hostname? string default: the name (at most 64 bytes)
---@field namespaces? string[] default { "mount", "pid", "uts", "ipc", "net", "cgroup" } (also "user", "time"); without "pid", processes started by exec are not tied to PID 1
---@field mounts? table[] { source = "/host", target = "/in", readonly = true } or { type = "tmpfs", target = "/data", size = "64M" }
---@field env? table<string,string> environment of init and exec
---@field cwd? string working directory (default "/")
---@field user? integer|{ uid: integer, gid?: integer } user of exec'd processes (default root)
---@field init? string[] PID 1 command (default: luxc's reaper)
---@field readonly? boolean read-only root filesystem
---@field sysctl? table<string,string|integer> namespaced sysctls, e.g. ["net.ipv4.ip_forward"] = 1
---@field capabilities? { add?: string[], drop?: string[] } changes to the default set (Docker's)
---@field seccomp? "default"|"off"|{ deny: string[] } default deny list, none, or default plus more
---@field no_new_privs? boolean default true
---@field masked? string[] paths hidden inside (default /proc/kcore, /proc/keys, …)
---@field readonly_paths? string[] paths read-only inside (default /proc/sys, /proc/sysrq-trigger, …)
---@field share? table<string,luxc.Container> join another container's net, ipc or uts namespace (pod style), e.g. { net = a }; it starts first
---@field limits? luxc.Limits resource limits of the container's cgroup (`luxc.LAB/NAME`)
---@field devices? (string|{ path: string, access?: string }|{ type: "c"|"b"|"a", major?: integer|"*", minor?: integer|"*", access?: string }|luxc.PciDevice)[] devices allowed on top of the defaults (null, zero, full, random, urandom, tty, ptmx, pts): a node path or `{ path, access = "rw" }` also puts the host's node inside (same major:minor, mode, owner); a rule table only allows; a PCI device on vfio-pci grants /dev/vfio/vfio and /dev/vfio/GROUP
---@field idmap? { uid: integer, gid?: integer, count?: integer } user namespace: ids 0..count-1 inside are uid.. and gid.. outside (gid defaults to uid, count to 65536); root inside is unprivileged outside

---A lab: a named set of containers whose every kernel object is journaled under /run/luxc/NAME.
---@class luxc.Lab
---@field name string
---@field [string] luxc.Container|luxc.Node its container or node of that name (methods come first: use lab:node(name) for a node named like one)
local Lab = {}

---Declares a container (checked now, created by `up` or `c:start()`).
---@param opts luxc.ContainerOptions
---@return luxc.Container
---Example: `local a = lab:container{ name = "a", hostname = "alpha" }`
function Lab:container(opts) end

---Creates what is declared and not yet created: netns nodes and bridges, then the containers in order, then bridges inside containers and the links; if a step fails, everything this call made is removed and the first error is raised. Can be called again for what was declared since. On a lab that was up before the script ran, it first removes what the script no longer declares and changes what differs, and prints a line saying what it did ("lab demo: no changes (5 objects up to date)").
---@return luxc.Lab
function Lab:up() end

---Says what `lab:up()` would create, change and remove (printed, and returned), touching nothing. `luxc run --plan` prints it in place of each `up`.
---@return { create: string[], change: string[], remove: string[], unchanged: integer }
---Example: `lab:plan()` → `lab demo: 1 to create, 0 to change, 0 to remove, 4 unchanged`
function Lab:plan() end

---Removes everything the lab created (journal walked backwards), then its journal.
---@return { removed: integer }
function Lab:down() end

---The lab's containers, in declaration order.
---@return luxc.Container[]
function Lab:containers() end

---A plain table: name, state dir, and each container's status.
---@return { name: string, dir: string, containers: table<string,string> }
function Lab:info() end

---Declares a bridge (a switch), created by `lab:up()`; hosts linked to it get addresses in its subnet when it has an address.
---@param opts { name: string, address?: string|string[], netns?: luxc.Container|luxc.Node|string, stp?: boolean, mtu?: integer } name: at most 15 bytes; address: CIDR(s) of the bridge itself; netns: the lab node whose namespace holds it (default: the host's); stp default false
---@return luxc.Node
---Example: `local sw = lab:bridge{ name = "br0", address = "10.0.0.254/24" }`
function Lab:bridge(opts) end

---Declares a plain network namespace node (no processes), created by `lab:up()` and pinned at /run/netns/LAB-NAME while the lab is up.
---@param name string|{ name: string } unique in the lab
---@return luxc.Node
---Example: `local h1 = lab:netns("h1")`
function Lab:netns(name) end

---The options of `lab:link(a, b, opts)`: `address`/`gateway` are a's end, `peer_address`/`peer_gateway` b's.
---@class luxc.LinkOptions
---@field address? string|string[] CIDR(s) on a's interface; unique in the lab, inside the bridge's subnet when b is a bridge with an address
---@field peer_address? string|string[] CIDR(s) on b's interface
---@field gateway? string|string[] default route(s) of a (one per family), inside the subnet of one of a's addresses
---@field peer_gateway? string|string[] default route(s) of b
---@field mtu? integer MTU of both ends
---@field ifname? string a's interface name (default eth0, eth1, ... per node; a bridge's end gets a derived "lx…" name)
---@field peer_ifname? string b's interface name

---Declares a veth link between two nodes of the lab (containers, netns nodes, bridges; handles or names), created by `lab:up()`. MACs are derived from lab, node and interface.
---@param a luxc.Container|luxc.Node|string
---@param b luxc.Container|luxc.Node|string
---@param opts? luxc.LinkOptions
---@return { a: string, a_if: string, b: string, b_if: string }
---Example: `lab:link(a, sw, { address = "10.0.0.1/24", gateway = "10.0.0.254" })`
function Lab:link(a, b, opts) end

---One interface of `lab:router{...}`: a link from the router (its end: `address`, `gateway`, `ifname`) to a bridge or another node.
---@class luxc.RouterInterface : luxc.LinkOptions
---@field bridge? luxc.Node|string the bridge to link to (or `to`)
---@field to? luxc.Container|luxc.Node|string another node to link to (or `bridge`)

---The options of `lab:router{...}`: container options plus `interfaces`.
---@class luxc.RouterOptions : luxc.ContainerOptions
---@field interfaces? luxc.RouterInterface[] links made by `lab:up()`, checked now

---Declares a router: a container with net.ipv4.ip_forward and net.ipv6.conf.all.forwarding set to 1 (unless `sysctl` sets them), linked as `interfaces` lists.
---@param opts luxc.RouterOptions
---@return luxc.Container
---Example: `lab:router{ name = "r", interfaces = { { bridge = s1, address = "10.0.1.254/24" }, { bridge = s2, address = "10.0.2.254/24" } } }`
function Lab:router(opts) end

---The lab's nodes and links as a plain table (what `lab:graph()` draws).
---@return { lab: string, nodes: { name: string, kind: "container"|"netns"|"bridge", status: string }[], edges: { a: string, a_if: string, a_addresses: string[], b: string, b_if: string, b_addresses: string[] }[] }
function Lab:topology() end

---The lab's topology as Graphviz DOT (the default) or Mermaid text.
---@param format? "dot"|"mermaid"
---@return string
---Example: `io.open("lab.dot", "w"):write(lab:graph()):close()`
function Lab:graph(format) end

---The handle of node `name`: a container handle, or a bridge or netns node handle.
---@param name string
---@return luxc.Container|luxc.Node
function Lab:node(name) end

---A container of a lab.
---@class luxc.Container
---@field name string
---@field lab luxc.Lab
local Container = {}

---Creates and starts the container (namespaces, overlay root, security, PID 1).
---@return luxc.Container
function Container:start() end

---The command and options of `c:exec` and `c:spawn`.
---@class luxc.ContainerExec
---@field [integer] string program and arguments (looked up in the container's PATH)
---@field env? table<string,string> added to the container's environment
---@field cwd? string working directory inside
---@field user? integer|{ uid: integer, gid?: integer } user to run as
---@field stdin? string bytes for stdin (exec only)
---@field timeout? number seconds, then the process group is killed (exec only)
---@field shell? boolean run item 1 with /bin/sh -c

---Runs a command inside the running container (its namespaces and security) and returns code and output; a missing program gives code 127, one not executable 126, and a failure of luxc's own steps inside (cwd, user, security) 125 with the reason on stderr.
---@param cmd luxc.ContainerExec
---@return luxc.ExecResult
---Example: `local r = a:exec{ "hostname" }; print(r.stdout)`
function Container:exec(cmd) end

---Starts a command inside the running container in the background; its output goes to the container's init.log.
---@param cmd luxc.ContainerExec
---@return luxc.Process
function Container:spawn(cmd) end

---Stops the container: the signal to PID 1, then SIGKILL after the timeout. Returns true if it ended before the timeout.
---@param opts? { signal?: string|integer, timeout?: number } default { signal = "TERM", timeout = 10 }
---@return boolean
function Container:stop(opts) end

---Waits for PID 1 to end (e.g. an `init` command that finishes): true once it has, false after the timeout. Ctrl-C interrupts it.
---@param opts? { timeout?: number } seconds (default: no limit)
---@return boolean
---Example: `local c = lab:container{ name = "job", init = { "make" } }; c:start(); c:wait()`
function Container:wait(opts) end

---"declared", "running" or "stopped".
---@return string
function Container:status() end

---The host pid of PID 1, or nil when not running.
---@return integer?
function Container:pid() end

---Namespace ids per kind of the running container, e.g. { net = 4026532182, ... }.
---@return table<string,integer>
function Container:ns() end

---Reads a file inside the running container.
---@param path string absolute path inside
---@return string
function Container:read_file(path) end

---Writes a file inside the running container.
---@param path string absolute path inside
---@param data string
---@param mode? integer default 420 (0644)
function Container:write_file(path, data, mode) end

---A plain table: the spec (image, namespaces, security, masked paths, …), status, pid, dir.
---@return table
function Container:info() end

---Stops the container and removes everything it created; it can be started again.
function Container:destroy() end

---Gives the declared (not yet started) container a GPU: its device nodes (see `dev:gpu_nodes`) as device grants with access rw, and with `libraries = true` the host's NVIDIA libraries and nvidia-smi as read-only binds at the same paths. Refused once the container has started, for a device that is no GPU, for a GPU without nodes (on vfio-pci: grant it as a PCI device in `devices`), and when a node is missing on the host. Returns the profile.
---@param gpu luxc.PciDevice
---@param opts? { libraries?: boolean }
---@return luxc.GpuProfile
---Example: `local c = lab:container{ name = "cuda", image = luxc.image.host() }; c:assign(luxc.gpu.list()[1], { libraries = true }); c:start()`
function Container:assign(gpu, opts) end

---Changes the running container's limits, live (only the keys given).
---@param limits luxc.Limits
function Container:set_limits(limits) end

---Resource use of the container's cgroup.
---@return luxc.CgroupStats
function Container:stats() end

---Freezes every process of the container (cgroup freezer).
function Container:freeze() end

---Lets a frozen container run again.
function Container:thaw() end

---Reads a net.* sysctl in the running container's network namespace, or writes it (journaled; the old value is written back at teardown).
---@param key string e.g. "net.ipv4.ip_forward"
---@param value? string|integer|boolean
---@return string value the value read, or the old value when writing
---Example: `a:sysctl("net.ipv4.ip_forward", 1)`
function Container:sysctl(key, value) end

---The container's interfaces and their addresses, as its links declare them.
---@return table<string,string[]>
---Example: `a:addresses()` → `{ eth0 = { "10.0.0.1/24" } }`
function Container:addresses() end

---The path of the running container's network namespace (/run/netns/LAB-NAME when it has one of its own).
---@return string
function Container:netns() end

---A bridge or plain network namespace of a lab (`lab:bridge`, `lab:netns`).
---@class luxc.Node
---@field lab luxc.Lab
---@field name string
---@field kind "bridge"|"netns"
local Node = {}

---A plain table: name, kind, lab name, declared addresses and, once created, the netns path.
---@return { name: string, kind: string, lab: string, addresses: string[], netns?: string }
function Node:info() end

---A process started by `c:spawn`.
---@class luxc.Process
local Process = {}

---The host pid.
---@return integer
function Process:pid() end

---Waits for the process to end (Ctrl-C interrupts it).
---@return { code: integer, signal?: integer }
function Process:wait() end

---Sends a signal (default TERM) to the process and what it started.
---@param signal? string|integer
function Process:kill(signal) end

---Cgroups on v1, hybrid and v2 hosts, with one vocabulary of limits.
---@class luxc.cgroup
luxc.cgroup = {}

---Limits, translated per hierarchy (v1 files or v2 files); sizes are bytes or strings like "256M".
---@class luxc.Limits
---@field memory? integer|string memory limit (v1 memory.limit_in_bytes, v2 memory.max)
---@field memory_high? integer|string throttle point (v2 memory.high; v1 soft limit)
---@field memory_swap? integer|string swap on top of memory
---@field cpus? number CPUs as quota/period: 0.5 = half a CPU
---@field cpu_weight? integer 1..10000 (v2 scale; v1 cpu.shares)
---@field cpuset? { cpus?: string, mems?: string } e.g. { cpus = "0", mems = "0" }
---@field pids? integer most tasks at once
---@field io? table { weight = 100, ["8:0"] = { rbps = "10M", wbps = ..., riops = ..., wiops = ... } }
---@field hugetlb? table<string,integer|string> e.g. { ["2MB"] = "64M" }
---@field raw? table<string,string> files written as they are, e.g. { ["memory.swappiness"] = "0" }

---What `:stats()` returns.
---@class luxc.CgroupStats
---@field memory { current: integer, peak: integer, max?: integer, oom_kills: integer }
---@field cpu { usage_usec: integer, throttled_usec: integer }
---@field pids { current: integer, max?: integer }
---@field io { rbytes: integer, wbytes: integer, rios: integer, wios: integer }

---The host's cgroup mode and hierarchies.
---@return "v1"|"hybrid"|"v2" mode
---@return { mode: string, v1: { mountpoint: string, controllers: string[] }[], unified?: { mountpoint: string, controllers: string[] } } layout
---Example: `local mode, layout = luxc.cgroup.mode()`
function luxc.cgroup.mode() end

---Creates a cgroup (in every hierarchy; missing parents too), journaled in a lab (default: the script's own lab, named after the script), with limits.
---@param path string relative to each hierarchy root, e.g. "batch/job1"
---@param limits? luxc.Limits
---@param opts? { lab?: luxc.Lab }
---@return luxc.Cgroup
---Example: `local cg = luxc.cgroup.create("jobs/a", { memory = "64M" }); luxc.host.exec{ "make", cgroup = cg }`
function luxc.cgroup.create(path, limits, opts) end

---A handle on an existing cgroup (cgget/cgset/cgclassify style); luxc will not destroy what it did not make.
---@param path string relative to each hierarchy root
---@return luxc.Cgroup
---Example: `print(luxc.cgroup.open("system.slice").stats().memory.current)`
function luxc.cgroup.open(path) end

---A cgroup made by luxc.cgroup.create (or opened with luxc.cgroup.open).
---@class luxc.Cgroup
---@field path string
---@field lab luxc.Lab
local Cgroup = {}

---Changes limits, live (only the keys given).
---@param limits luxc.Limits
function Cgroup:set(limits) end

---Resource use.
---@return luxc.CgroupStats
function Cgroup:stats() end

---Memory event counters so far (compare two calls to see events as they happen).
---@return { low: integer, high: integer, max: integer, oom: integer, oom_kill: integer }
function Cgroup:events() end

---Moves a process (not luxc itself) into the cgroup, as cgclassify does.
---@param pid integer
function Cgroup:add(pid) end

---The pids in the cgroup.
---@return integer[]
function Cgroup:procs() end

---Freezes every process in it.
function Cgroup:freeze() end

---Thaws it.
function Cgroup:thaw() end

---Whether it is frozen.
---@return boolean
function Cgroup:frozen() end

---Kills every process in it (cgroup.kill where the kernel has it; else signals until empty).
function Cgroup:kill() end

---Kills what is left and removes it (and parents this lab made that are now unused).
function Cgroup:destroy() end

---PCI devices, read from sysfs: ids, pci.ids names, driver, IOMMU group, NUMA node, SR-IOV, and the net and DRM names bound to them.
---@class luxc.pci
luxc.pci = {}

---Which devices `luxc.pci.list` returns; unset fields match every device.
---@class luxc.PciFilter
---@field class? string hex prefix of the 6-digit class code: "03" (display), "0200" (Ethernet), "0c0330" (xHCI)
---@field vendor? integer|string vendor id: 0x8086 or "8086"
---@field device? integer|string device id: 0x1521 or "1521"
---@field driver? string the bound driver, e.g. "vfio-pci"

---Every PCI function that passes the filter, in address order.
---@param filter? luxc.PciFilter
---@return luxc.PciDevice[]
---Example: `for _, d in ipairs(luxc.pci.list{ class = "0200" }) do print(d, d.net[1]) end`
function luxc.pci.list(filter) end

---The PCI function at an address (`0000:01:00.0`, or `01:00.0` for domain 0).
---@param address string
---@return luxc.PciDevice
---Example: `local gpu = luxc.pci.get("01:00.0"); print(gpu.device_name, gpu.driver)`
function luxc.pci.get(address) end

---A PCI function. Its fields were read when the handle was made (`:info()` reads again); ids are lowercase hex strings, as `lspci -n` prints them.
---@class luxc.PciDevice
---@field address string "0000:01:00.0"
---@field vendor string vendor id, "10de"
---@field device string device id, "1eb8"
---@field subsystem_vendor string
---@field subsystem_device string
---@field class string 6 hex digits: class, subclass, programming interface ("030000")
---@field revision? string "a1"
---@field vendor_name? string from pci.ids (nil without the database: ids stay numeric)
---@field device_name? string from pci.ids
---@field subsystem_name? string from pci.ids
---@field class_name? string from pci.ids ("VGA compatible controller")
---@field driver? string the bound driver
---@field iommu_group? integer nil on a host without IOMMU
---@field numa_node? integer nil when the platform does not say
---@field bridge boolean a PCI-to-PCI or CardBus bridge
---@field sriov? { total: integer, enabled: integer } SR-IOV virtual functions of a physical function
---@field physfn? string for a virtual function: its physical function's address
---@field parent? string the bridge it sits behind
---@field net string[] its network interfaces (/sys/class/net)
---@field drm string[] its DRM nodes (/sys/class/drm: card0, renderD128)
local PciDevice = {}

---Every device in its IOMMU group, itself included, in address order. Fails on a host without IOMMU, saying how to enable it.
---@return luxc.PciDevice[]
function PciDevice:group() end

---Whether its IOMMU group can be handed to VFIO now: every endpoint (bridges aside) on vfio-pci, pci-stub or no driver; otherwise which function on which driver blocks it.
---@return luxc.VfioStatus
---Example: `local st = dev:vfio_status(); if not st.viable then print(st.message) end`
function PciDevice:vfio_status() end

---The device's fields as read now, as a plain table.
---@return table
function PciDevice:info() end

---Moves the device to vfio-pci (driver_override, unbind, drivers_probe), journaled in a lab: its original driver comes back at the lab's teardown or with `dev:restore()`. Refused when a sibling in its IOMMU group stays on a host driver (the error names it; `group = true` moves every non-bridge endpoint of the group), for a bridge, on a host without IOMMU (the error says how to enable one), and for a device the host stands on (a mounted disk, the default route) unless `force = true`.
---@param opts? luxc.BindVfioOptions
---@return luxc.BindPlan
---Example: `local plan = nic:bind_vfio{ group = true }; print(#plan.moves .. " function(s) on vfio-pci")`
function PciDevice:bind_vfio(opts) end

---Binds the device to a registered PCI driver (driver_override, unbind, drivers_probe), journaled like `bind_vfio`.
---@param driver string "e1000e", "vfio-pci", "pci-stub"
---@param opts? { force?: boolean, lab?: luxc.Lab }
---@return luxc.DriverChange
---Example: `dev:bind("pci-stub")`
function PciDevice:bind(driver, opts) end

---Unbinds the device from its driver, journaled like `bind_vfio`.
---@param opts? { force?: boolean, lab?: luxc.Lab }
---@return luxc.DriverChange
function PciDevice:unbind(opts) end

---Gives the device back to the driver the lab found it on (unbind, clear driver_override, bind the original or drivers_probe) and forgets the record. Fails when the lab never changed it. The lab: `lab`, else the one that changed this handle's device, else the script's default lab.
---@param opts? { lab?: luxc.Lab }
---@return luxc.DriverChange
---Example: `nic:restore()`
function PciDevice:restore(opts) end

---The device nodes of a GPU (PCI class 03), read now: on the nvidia driver /dev/nvidiaN (its minor from /proc/driver/nvidia/gpus/ADDR/information, or every nvidiaN when that is missing), nvidiactl, nvidia-uvm, nvidia-uvm-tools, nvidia-modeset and /dev/nvidia-caps/*; on any driver the /dev/dri card and renderD nodes whose /sys/class/drm/NAME/device is this function. Only nodes that exist are listed. `libraries = true` adds the host's NVIDIA libraries (libnvidia-*, libcuda*, ... in the usual lib dirs) and nvidia-smi. Fails for a device that is no GPU. `luxc.gpu` builds on it.
---@param opts? { libraries?: boolean }
---@return luxc.GpuProfile
---Example: `for _, n in ipairs(gpu:gpu_nodes().nodes) do print(n.path, n.gid) end`
function PciDevice:gpu_nodes(opts) end

---Why the host stands on the device: a mounted filesystem on its disks, its interface carrying the default route (empty when neither). `bind_vfio`, `bind` and `unbind` refuse such a device unless `force = true`.
---@return string[]
---Example: `if #nic:host_uses() > 0 then print("host NIC, left alone") end`
function PciDevice:host_uses() end

---What `dev:gpu_nodes()` returns.
---@class luxc.GpuProfile
---@field address string the GPU's PCI address
---@field nodes { path: string, gid: integer, kind: "nvidia"|"drm" }[] its device nodes as host paths, nvidia ones first
---@field gids integer[] the distinct groups owning the nodes (video, render), ascending
---@field libraries string[] host paths of the driver libraries and tools (empty unless asked for)

---Options of `dev:bind_vfio`.
---@class luxc.BindVfioOptions
---@field group? boolean move every non-bridge endpoint of the IOMMU group (default: false)
---@field force? boolean take a device the host uses (default: false)
---@field lab? luxc.Lab the lab that journals it (default: the one that changed this handle before, else the script's default lab)

---What `dev:bind_vfio` carried out.
---@class luxc.BindPlan
---@field address string the device asked for
---@field group integer its IOMMU group
---@field driver string "vfio-pci"
---@field moves { address: string, from?: string }[] the functions that changed driver (empty: all were on vfio-pci)
---@field forced { address: string, use: table }[] host uses overridden with `force`

---One function's driver change.
---@class luxc.DriverChange
---@field address string
---@field from? string the driver before (nil: none)
---@field to? string the driver after (nil: none)
---@field changed boolean false when it was on that driver already

---What `dev:vfio_status()` returns.
---@class luxc.VfioStatus
---@field address string the device asked about
---@field group integer its IOMMU group
---@field viable boolean the kernel would hand the group to VFIO as it is
---@field bound boolean the device itself is on vfio-pci
---@field blockers { address: string, driver: string, sibling: boolean }[] what keeps the group from being viable
---@field members { address: string, driver?: string, bridge: boolean }[] the group's functions
---@field message string one sentence, e.g. "IOMMU group 1 is not viable: sibling 0000:01:00.1 is bound to snd_hda_intel"

---Network primitives that act now (not at `lab:up()`), each journaled in `lab = L` (default: the script's own lab) and removed at its teardown.
---@class luxc.net
luxc.net = {}

---Creates a network namespace pinned at /run/netns/NAME (as `ip netns add` does), journaled.
---@param name string 1-100 letters, digits, '_', '.', '-'
---@param opts? { lab?: luxc.Lab }
---@return { name: string, path: string }
---Example: `local ns = luxc.net.netns("blue")`
function luxc.net.netns(name, opts) end

---Options common to every link kind (each kind adds its own; options of other kinds are refused).
---@class luxc.LinkSpec
---@field name string interface name, 1-15 bytes, no '/', ':' or spaces
---@field netns? luxc.Container|luxc.Node|string where to create it: a container or node of the lab, a node name, or a pinned netns name (default: the host's)
---@field mtu? integer
---@field mac? string e.g. "02:00:00:00:00:01"
---@field up? boolean bring it up (default true)
---@field master? string the bridge (in the same namespace) to enslave it to
---@field address? string|string[] CIDR(s) to add
---@field lab? luxc.Lab the lab that journals it (default: the script's own)
---@field kind? "bridge"|"veth"|"dummy"|"macvlan"|"ipvlan"|"vxlan"|"vlan" required by luxc.net.link; the kind's own function implies it

---`luxc.net.bridge{...}`: the common options and these.
---@class luxc.BridgeSpec : luxc.LinkSpec
---@field stp? boolean the kernel's spanning tree (default false)
---@field vlan_filtering? boolean (default false; needs `luxc.net.features().bridge_vlan_filtering`)

---`luxc.net.veth{...}`: the common options and these.
---@class luxc.VethSpec : luxc.LinkSpec
---@field peer string the other end's name
---@field peer_netns? luxc.Container|luxc.Node|string where the other end goes (default: with the first)
---@field peer_mac? string the other end's MAC

---`luxc.net.macvlan{...}`: the common options and these.
---@class luxc.MacvlanSpec : luxc.LinkSpec
---@field parent string the link it sits on, in the same namespace
---@field mode? "bridge"|"private"|"vepa"|"passthru" (default "bridge")

---`luxc.net.ipvlan{...}`: the common options and these.
---@class luxc.IpvlanSpec : luxc.LinkSpec
---@field parent string the link it sits on, in the same namespace
---@field mode? "l2"|"l3"|"l3s" (default "l2")

---`luxc.net.vxlan{...}`: the common options and these; `remote` or `group`, not both.
---@class luxc.VxlanSpec : luxc.LinkSpec
---@field vni integer 1 to 16777215
---@field port? integer UDP port (default 4789)
---@field local? string local address
---@field remote? string unicast peer address
---@field group? string multicast group address
---@field dev? string the underlay link

---`luxc.net.vlan{...}`: the common options and these.
---@class luxc.VlanSpec : luxc.LinkSpec
---@field parent string the link it sits on, in the same namespace
---@field id integer 802.1Q id, 1 to 4094

---Creates a link of any kind: `kind` is "bridge", "veth", "dummy", "macvlan", "ipvlan", "vxlan" or "vlan", with that kind's options; options of other kinds are refused. Host links get the alias "luxc:LAB:ID", and teardown deletes only links carrying it.
---@param spec luxc.LinkSpec|luxc.BridgeSpec|luxc.VethSpec|luxc.MacvlanSpec|luxc.IpvlanSpec|luxc.VxlanSpec|luxc.VlanSpec with `kind`
---@return { name: string, kind: string, netns?: string }
---Example: `luxc.net.link{ kind = "dummy", name = "d0", address = "192.0.2.1/24" }`
function luxc.net.link(spec) end

---Creates a bridge now.
---@param spec luxc.BridgeSpec
---@return { name: string, kind: string, netns?: string }
---Example: `luxc.net.bridge{ name = "br0", address = "10.9.0.1/24" }`
function luxc.net.bridge(spec) end

---Creates a veth pair now; the peer may go straight into another namespace.
---@param spec luxc.VethSpec
---@return { name: string, kind: string, netns?: string }
---Example: `luxc.net.veth{ name = "v0", peer = "eth1", peer_netns = a }`
function luxc.net.veth(spec) end

---Creates a dummy link now (needs the kernel's dummy driver: `luxc.net.features().dummy`).
---@param spec luxc.LinkSpec
---@return { name: string, kind: string, netns?: string }
function luxc.net.dummy(spec) end

---Creates a macvlan on `parent` now.
---@param spec luxc.MacvlanSpec
---@return { name: string, kind: string, netns?: string }
---Example: `luxc.net.macvlan{ name = "mv0", parent = "eth0" }`
function luxc.net.macvlan(spec) end

---Creates an ipvlan on `parent` now (needs `luxc.net.features().ipvlan`).
---@param spec luxc.IpvlanSpec
---@return { name: string, kind: string, netns?: string }
function luxc.net.ipvlan(spec) end

---Creates a VXLAN device now: a unicast `remote` or a multicast `group`, not both.
---@param spec luxc.VxlanSpec
---@return { name: string, kind: string, netns?: string }
---Example: `luxc.net.vxlan{ name = "vx0", vni = 42, remote = "192.0.2.2", dev = "eth0" }`
function luxc.net.vxlan(spec) end

---Creates an 802.1Q VLAN link on `parent` now (needs `luxc.net.features().vlan`).
---@param spec luxc.VlanSpec
---@return { name: string, kind: string, netns?: string }
function luxc.net.vlan(spec) end

---Every link of a namespace (default: the host's), with its addresses.
---@param netns? luxc.Container|luxc.Node|string a container or node, a node name of the script's lab, or a pinned netns name
---@return { name: string, index: integer, kind?: string, up: boolean, mtu: integer, mac?: string, master?: integer, alias?: string, addresses: string[] }[]
---Example: `for _, l in ipairs(luxc.net.links(a)) do print(l.name, l.addresses[1]) end`
function luxc.net.links(netns) end

---Adds an address to a link now (it goes away with its link).
---@param link string link name
---@param cidr string e.g. "10.0.0.1/24"
---@param opts? { netns?: luxc.Container|luxc.Node|string, lab?: luxc.Lab }
function luxc.net.addr_add(link, cidr, opts) end

---Adds a route now (it goes away with its link or namespace); needs `via` or `dev`.
---@param route { dst?: string, via?: string, dev?: string, metric?: integer, table?: integer, netns?: luxc.Container|luxc.Node|string, lab?: luxc.Lab } dst: "default" (the default) or a CIDR
---Example: `luxc.net.route_add{ dst = "10.2.0.0/24", via = "10.1.0.254", netns = h1 }`
function luxc.net.route_add(route) end

---Sets a net.* sysctl in a namespace (default: the host's), journaled: the old value is written back at teardown.
---@param key string e.g. "net.ipv4.ip_forward" (or slashes: "net/ipv4/conf/eth0.10/forwarding")
---@param value string|integer|boolean
---@param opts? { netns?: luxc.Container|luxc.Node|string, lab?: luxc.Lab }
---@return string old the value before
---Example: `luxc.net.sysctl("net.ipv4.ip_forward", 1)`
function luxc.net.sysctl(key, value, opts) end

---Masquerades traffic from `source` (leaving through `out`, or any interface) with nftables, in the lab's table `inet luxc-LAB` of that namespace (made at first use, deleted at teardown). Runs Debian's `nft`.
---@param opts { source: string, out?: string, netns?: luxc.Container|luxc.Node|string, lab?: luxc.Lab }
---Example: `luxc.net.nat{ source = "10.0.0.0/24", out = "eth0" }`
function luxc.net.nat(opts) end

---Forwards a port: connections to `host_port` on the namespace's own addresses go to `to`:`port` (DNAT in the lab's nft table, for traffic from outside and from the namespace itself).
---@param opts { host_port: integer, to: luxc.Container|string, port?: integer, proto?: "tcp"|"udp", netns?: luxc.Container|luxc.Node|string, lab?: luxc.Lab } to: a container (its first IPv4 address) or an address; port default host_port; proto default "tcp"
---Example: `luxc.net.forward{ host_port = 8080, to = web, port = 80 }`
function luxc.net.forward(opts) end

---Shapes a link's egress with its root qdisc, journaled: tbf for a rate alone, netem for delay, jitter or loss (with netem's own rate when both are given).
---@param link string link name
---@param opts { rate?: string|integer, burst?: integer, latency?: number|string, delay?: number|string, jitter?: number|string, loss?: number, netns?: luxc.Container|luxc.Node|string, lab?: luxc.Lab } rate: "10mbit", "500kbit", "2mbps" or bits/s; times: seconds or "20ms", "1s", "100us"; loss: percent
---Example: `luxc.net.shape("eth0", { rate = "10mbit", netns = a })`
function luxc.net.shape(link, opts) end

---What this kernel's networking can do, tried in a scratch namespace (nothing on the host is touched).
---@return { bridge: boolean, bridge_vlan_filtering: boolean, dummy: boolean, macvlan: boolean, ipvlan: boolean, vxlan: boolean, vlan: boolean, netem: boolean, tbf: boolean }
---Example: `if luxc.net.features().netem then luxc.net.shape("eth0", { delay = "20ms", netns = a }) end`
function luxc.net.features() end

---Moves a link of the host (a physical NIC, say) into a container or namespace, optionally renamed; journaled: teardown moves it back under its own name before the namespace goes. `lo` and links a luxc lab made are refused.
---@param link string the host's interface name
---@param opts { to: luxc.Container|luxc.Node|string, name?: string, lab?: luxc.Lab }
---@return string name its name inside
---Example: `luxc.net.move("enp3s0", { to = c, name = "eth1" })`
function luxc.net.move(link, opts) end

---Options of the topology builders.
---@class luxc.TopoOptions
---@field subnet? string address pool (default "10.0.0.0/24"; mesh: "10.0.0.0/16", a /30 per pair)
---@field prefix? string host name prefix (default "h": h1, h2, ...)
---@field netns? boolean hosts are plain network namespaces (lab:netns) instead of containers
---@field image? luxc.Image the hosts' image (default luxc.image.host())
---@field container? table more container options for every host
---@field switch? string name of the first switch (default: derived from the lab name)
---@field fanout? integer tree only: children per switch (default 2)

---What a topology builder declared.
---@class luxc.Topo
---@field hosts (luxc.Container|luxc.Node)[]
---@field switches luxc.Node[]
---@field addresses table<string,string> host name → CIDR

---GPU profiles: the device nodes, node groups and driver libraries of a PCI GPU, as container `devices` and `mounts` entries. Read under the host root or LUXC_PCI_ROOT.
---@class luxc.gpu
luxc.gpu = {}

---Every GPU (PCI class 03) as a PCI device handle whose `nodes` field lists the host paths of its device nodes. Empty on a host without a GPU.
---@return (luxc.PciDevice|{ nodes: string[] })[]
---Example: `local gpu = luxc.gpu.list()[1]; if gpu then print(gpu, table.concat(gpu.nodes, " ")) end`
function luxc.gpu.list() end

---A GPU's device node paths (the list part), `gids` (the groups owning them) and `libraries` (with `libraries = true`: host NVIDIA libraries and tools).
---@param dev luxc.PciDevice
---@param opts? { libraries?: boolean }
---@return { [integer]: string, gids: integer[], libraries: string[] }
function luxc.gpu.nodes(dev, opts) end

---Container option entries for a GPU: `devices` ({ path, access = "rw" } per node), `mounts` (read-only binds of the libraries at the same paths), and the nodes' `gids`.
---@param dev luxc.PciDevice
---@param opts? { libraries?: boolean }
---@return { devices: { path: string, access: string }[], mounts: { source: string, target: string, readonly: boolean }[], gids: integer[] }
function luxc.gpu.grant(dev, opts) end

---Appends a GPU's grant to container options (their `devices` and `mounts` lists, made when absent) and returns the options, for `lab:container(options)`.
---@param options luxc.ContainerOptions
---@param dev luxc.PciDevice
---@param opts? { libraries?: boolean }
---@return luxc.ContainerOptions
---Example: `lab:container(luxc.gpu.assign({ name = "cuda", image = luxc.image.host() }, gpu, { libraries = true }))`
function luxc.gpu.assign(options, dev, opts) end

---Topology builders in the manner of Mininet's: they declare hosts, switches (bridges) and links on a lab, with addresses from a pool; `lab:up()` creates them.
---@class luxc.topo
luxc.topo = {}

---n hosts on one switch.
---@param lab luxc.Lab
---@param n integer
---@param opts? luxc.TopoOptions
---@return luxc.Topo
---Example: `luxc.topo.star(lab, 10, { netns = true }); lab:up()`
function luxc.topo.star(lab, n, opts) end

---n switches in a chain, one host on each (Mininet's LinearTopo).
---@param lab luxc.Lab
---@param n integer
---@param opts? luxc.TopoOptions
---@return luxc.Topo
function luxc.topo.line(lab, n, opts) end

---A line whose ends are joined, with STP on in the switches (the kernel's STP takes about 30 s before it forwards).
---@param lab luxc.Lab
---@param n integer
---@param opts? luxc.TopoOptions
---@return luxc.Topo
function luxc.topo.ring(lab, n, opts) end

---A tree of switches `depth` levels deep with `fanout` children each, hosts on the leaves: fanout^depth hosts (Mininet's TreeTopo).
---@param lab luxc.Lab
---@param depth integer
---@param opts? luxc.TopoOptions
---@return luxc.Topo
function luxc.topo.tree(lab, depth, opts) end

---n hosts, every pair joined by a link of its own (a /30 from the pool per link).
---@param lab luxc.Lab
---@param n integer
---@param opts? luxc.TopoOptions
---@return luxc.Topo
function luxc.topo.mesh(lab, n, opts) end

---Checks for labs: ping, Mininet's pingall, waiting for a port, asserting a command's result.
---@class luxc.test
luxc.test = {}

---Pings from `a` (a container, or a netns node with the host's ping) to `b` (a node: its first address; or an address).
---@param a luxc.Container|luxc.Node
---@param b luxc.Container|luxc.Node|string
---@param opts? { count?: integer, timeout?: number } count default 1; timeout: seconds per reply (default 1)
---@return boolean ok
---@return string output ping's stdout and stderr
---Example: `assert(luxc.test.ping(h1, h2))`
function luxc.test.ping(a, b, opts) end

---Pings every ordered pair of the lab's running containers and created netns nodes that have an address (or a repeatable sample of pairs) and prints Mininet's summary unless print = false.
---@param lab luxc.Lab
---@param opts? { sample?: integer, seed?: integer, count?: integer, timeout?: number, print?: boolean }
---@return { sent: integer, received: integer, loss: integer, failed: { from: string, to: string, address: string }[], matrix: table<string,table<string,boolean>> }
---Example: `assert(luxc.test.pingall(lab).loss == 0)`
function luxc.test.pingall(lab, opts) end

---Waits until something in container `c` listens on TCP `port`: true, or false after `timeout` seconds (default 10).
---@param c luxc.Container
---@param port integer
---@param timeout? number
---@return boolean
---Example: `c:spawn{ "nc", "-l", "-p", "80" }; assert(luxc.test.wait_port(c, 80))`
function luxc.test.wait_port(c, port, timeout) end

---Checks a command result: exit code, and Lua patterns stdout and stderr must match; returns `r`, or raises an error saying what differed.
---@param r luxc.ExecResult
---@param want? { code?: integer, stdout?: string, stderr?: string } default { code = 0 }
---@return luxc.ExecResult
---Example: `luxc.test.expect(a:exec{ "hostname" }, { code = 0, stdout = "^a" })`
function luxc.test.expect(r, want) end

return luxc
