-- json.lua: luxc.json encode/decode round trip, pretty output, null, errors.
-- Run: luxc run examples/json.lua

local json = luxc.json

local lab = {
  name = "demo",
  nodes = { "a", "b", "c" },
  limits = { memory = 134217728, cpus = 0.5 },
  gateway = json.null,          -- JSON null (a Lua nil would drop the key)
}

local text = json.encode(lab)   -- object keys come out sorted
print(text)

local back = json.decode(text)
assert(back.nodes[2] == "b")
assert(math.type(back.limits.memory) == "integer")
assert(back.gateway == json.null)
print("round trip ok")

print(json.encode({ nodes = back.nodes, ok = true }, { pretty = true }))

local ok, err = pcall(json.decode, "{ not json")
print(ok, err)

-- encode refuses what JSON cannot hold, and says where it is.
ok, err = pcall(json.encode, { nodes = { "a", print } })
print(ok, err)
