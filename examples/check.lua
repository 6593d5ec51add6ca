-- check.lua: what `luxc check` reports, from a script.
-- Run: luxc run examples/check.lua

local report = luxc.host.check()

print("kernel " .. report.kernel)
if report.cgroup then                -- nil when no cgroup filesystem is mounted
  print("cgroup mode: " .. report.cgroup.mode)
end

local not_ok = 0
for _, item in ipairs(report.items) do
  if item.status ~= "OK" then
    not_ok = not_ok + 1
    print(string.format("%-8s %-16s %s%s", item.status, item.name, item.detail,
      item.required and " (required)" or ""))
    if item.advice then print("         -> " .. item.advice) end  -- nil when none
  end
end
print(not_ok .. " of " .. #report.items .. " items are not OK")
