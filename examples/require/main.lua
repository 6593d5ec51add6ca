-- main.lua: `require` looks in the script's own directory first, wherever
-- luxc is started from. Run: luxc run examples/require/main.lua
local greet = require("greet")   -- examples/require/greet.lua

print(greet.hello(arg[1] or "world"))
