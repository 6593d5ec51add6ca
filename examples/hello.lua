-- hello.lua: the luxc version, one host command, one table printed readably.
-- Run: luxc run examples/hello.lua

print("luxc " .. luxc.version)

-- No shell is involved: the list is the program and its arguments.
local r = luxc.host.exec{ "uname", "-r", timeout = 5 }
assert(r.code == 0, r.stderr)
local kernel = r.stdout:gsub("%s+$", "")

print(luxc.inspect({
  kernel = kernel,
  lua = _VERSION,
  uname = r,
}))
