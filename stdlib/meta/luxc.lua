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

return luxc
