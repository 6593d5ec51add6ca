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

---Creates a lab handle; nothing is created in the kernel until `lab:up()` or `c:start()`. Fails when a lab of that name is already up (`luxc down NAME` removes it) or in use by another luxc (the error names its pid).
---@param name string 1-32 letters, digits, '_', '.', '-'
---@return luxc.Lab
---Example: `local lab = luxc.lab("demo")`
function luxc.lab(name) end

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
---@field devices? (string|{ type: "c"|"b"|"a", major?: integer|"*", minor?: integer|"*", access?: string })[] devices allowed on top of the defaults (null, zero, full, random, urandom, tty, ptmx, pts); a path also puts the node inside
---@field idmap? { uid: integer, gid?: integer, count?: integer } user namespace: ids 0..count-1 inside are uid.. and gid.. outside (gid defaults to uid, count to 65536); root inside is unprivileged outside

---A lab: a named set of containers whose every kernel object is journaled under /run/luxc/NAME.
---@class luxc.Lab
---@field name string
local Lab = {}

---Declares a container (checked now, created by `up` or `c:start()`).
---@param opts luxc.ContainerOptions
---@return luxc.Container
---Example: `local a = lab:container{ name = "a", hostname = "alpha" }`
function Lab:container(opts) end

---Starts every declared container in order; if one fails, those started by this call are removed and the first error is raised.
---@return luxc.Lab
function Lab:up() end

---Removes everything the lab created (journal walked backwards), then its journal.
---@return { removed: integer }
function Lab:down() end

---The lab's containers, in declaration order.
---@return luxc.Container[]
function Lab:containers() end

---A plain table: name, state dir, and each container's status.
---@return { name: string, dir: string, containers: table<string,string> }
function Lab:info() end

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

return luxc
