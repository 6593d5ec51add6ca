-- exec.lua: luxc.host.exec with its options, and how its errors look.
-- Run: luxc run examples/exec.lua

local exec = luxc.host.exec

local function trim(s) return (s:gsub("%s+$", "")) end

-- env adds to (or overrides) luxc's own environment; cwd sets the directory.
local r = exec{ "sh", "-c", 'echo "$GREETING from $(pwd)"',
                env = { GREETING = "hello" }, cwd = "/tmp" }
print("env, cwd:", r.code, trim(r.stdout))

-- stdin: bytes written to the command's standard input.
r = exec{ "tr", "a-z", "A-Z", stdin = "shout\n" }
print("stdin:   ", trim(r.stdout))

-- Exit status and stderr come back; a non-zero code is not an error.
r = exec{ "sh", "-c", "echo oops >&2; exit 3" }
print("code:    ", r.code, trim(r.stderr))

-- timeout: the command's whole process group is killed (code 137, timed_out).
r = exec{ "sh", "-c", "sleep 10; echo never", timeout = 0.2 }
print("timeout: ", r.code, r.timed_out, r.signal)

-- shell = true: item 1 is a /bin/sh -c script, further items are $1, $2, …
-- (passed as arguments, so the shell never re-parses them).
r = exec{ 'printf "[%s] [%s]\\n" "$1" "$2"', "two words", "$HOME", shell = true }
print("shell:   ", trim(r.stdout))

-- Mistakes raise Lua errors naming the function, the argument or field, and
-- the script line of the call (a tail call, `return exec{...}`, has no line
-- of its own to name, as in plain Lua).
local ok, err = pcall(function() local _ = exec{ "ls", tmeout = 1 } end)
print("error:   ", ok, err)
ok, err = pcall(function() local _ = exec{ "ls", cwd = true } end)
print("error:   ", ok, err)
ok, err = pcall(function() local _ = exec{ "/nonexistent/program" } end)
print("error:   ", ok, err)
