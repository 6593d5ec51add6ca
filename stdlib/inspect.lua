-- luxc.inspect: renders any Lua value as readable text.
-- Tables are indented, array items come first in order, other keys follow
-- sorted (numbers, then strings, then the rest), so output is stable.
-- Values with a __tostring metamethod (luxc handles) print through it.

local fmt, concat, sort = string.format, table.concat, table.sort

local escapes = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ['"'] = '\\"', ["\\"] = "\\\\" }

-- Like %q, but one line: newlines become \n rather than a backslash-newline.
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or fmt("\\%03d", c:byte())
  end) .. '"'
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__tostring ~= nil
end

local function key_text(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  if type(k) == "string" then return "[" .. quote(k) .. "]" end
  return "[" .. tostring(k) .. "]"
end

local type_rank = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (type_rank[ta] or 9) < (type_rank[tb] or 9) end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local render

local function render_table(t, indent, seen)
  if seen[t] then return "<cycle>" end
  seen[t] = true
  local n = #t
  local keys = {}
  for k in pairs(t) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  if n == 0 and #keys == 0 then seen[t] = nil return "{}" end
  sort(keys, key_less)
  local inner = indent .. "  "
  local lines = {}
  for i = 1, n do lines[#lines + 1] = inner .. render(t[i], inner, seen) end
  for _, k in ipairs(keys) do
    lines[#lines + 1] = inner .. key_text(k) .. " = " .. render(t[k], inner, seen)
  end
  seen[t] = nil
  return "{\n" .. concat(lines, ",\n") .. "\n" .. indent .. "}"
end

render = function(v, indent, seen)
  local tv = type(v)
  if tv == "string" then return quote(v) end
  if has_tostring(v) then return tostring(v) end
  if tv == "table" then return render_table(v, indent, seen) end
  return tostring(v)
end

return function(v) return render(v, "", {}) end
