#!/usr/bin/env luxc
-- args.lua: what a script receives. Run it any of these ways:
--   luxc run examples/args.lua one two
--   luxc examples/args.lua one two
--   examples/args.lua one two        (needs luxc on PATH: the shebang above)

print("arg =", luxc.inspect(arg))  -- arg[0] the script, arg[1].. its arguments
print("... =", ...)                 -- the same arguments, as the chunk's varargs
print("count", select("#", ...))
