-- greet.lua: a module next to the script that requires it.
local M = {}

function M.hello(name)
  return "hello, " .. name
end

return M
