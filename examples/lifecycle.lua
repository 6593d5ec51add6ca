-- A lab's life: plan it, bring it up, look into it from outside, take it down.
--
--   luxc examples/lifecycle.lua          the whole cycle, nothing left after
--   luxc examples/lifecycle.lua keep     leave the lab up, then try:
--     luxc run --plan examples/lifecycle.lua keep   (a re-run would change nothing)
--     luxc examples/lifecycle.lua keep 128M         (one change: web's memory limit)
--     luxc exec -it lifecycle web -- sh             (a shell inside, on a pty)
--     luxc repl --lab lifecycle                     (lab.web:exec{ "ip", "addr" })
--     luxc down lifecycle
local keep = arg[1] == "keep"
local memory = arg[2] or "64M"

local lab = luxc.lab("lifecycle")
local sw = lab:bridge{ name = "lcbr0", address = "10.77.0.1/24" }
local web = lab:container{ name = "web", limits = { memory = memory } }
local db = lab:container{ name = "db" }
lab:link(web, sw, { address = "10.77.0.2/24" })
lab:link(db, sw, { address = "10.77.0.3/24" })

-- What up would do (on a lab left up by an earlier run: only what differs).
local plan = lab:plan()
lab:up()
print(("created %d objects; web is %s"):format(#plan.create, web:status()))

-- The lab seen by another luxc process: `luxc exec` opens it from its saved
-- model, without taking the lock this script holds.
local out = luxc.host.exec{ "/proc/self/exe", "exec", "lifecycle", "web", "--", "hostname" }
print("luxc exec lifecycle web -- hostname: " .. out.stdout:gsub("%s+$", ""))

if not keep then
  print(("removed %d objects"):format(lab:down().removed))
end
