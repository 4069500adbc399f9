-- The loads of benches/compare/mixed.sh for wrk. "mixed": per 20 requests, 14
-- GET /todos/ID (70%), 3 GET /todos?limit=20&offset=N (15%), 2 POST /todos (10%)
-- and 1 PUT /todos/ID (5%), in a fixed shuffled cycle, ids drawn from the ITEMS
-- seeded items (never deleted, so every GET and PUT finds its item). "read": the
-- same cycle with each write replaced by a GET by id (85% / 15%). "write": only
-- the writes, 2 POST to 1 PUT (the most durable writes per second).
-- Use: wrk -s mixed.lua URL -- ITEMS [mixed|read|write]
-- wrk counts every response; a request that is not 2xx shows in its
-- "Non-2xx or 3xx responses" line, which mixed.sh requires to be absent.

local items = 1000
local cycle = {
  "get", "get", "list", "get", "post", "get", "get", "put", "get", "list",
  "get", "get", "post", "get", "get", "list", "get", "get", "get", "get",
}
local n = 0
local mode = "mixed"
local json = { ["Content-Type"] = "application/json" }

init = function(args)
  items = tonumber(args[1]) or items
  mode = args[2] or mode
  math.randomseed(os.time())
end

request = function()
  n = n % #cycle + 1
  local kind = cycle[n]
  if mode == "write" then
    kind = n % 3 == 0 and "put" or "post"
  elseif mode == "read" and (kind == "post" or kind == "put") then
    kind = "get"
  end
  local id = math.random(items)
  if kind == "get" then
    return wrk.format("GET", "/todos/" .. id)
  elseif kind == "list" then
    return wrk.format("GET", "/todos?limit=20&offset=" .. math.random(0, items - 20))
  elseif kind == "post" then
    return wrk.format("POST", "/todos", json, '{"title":"written under load"}')
  else
    return wrk.format("PUT", "/todos/" .. id, json,
      '{"done":' .. (id % 2 == 0 and "true" or "false") .. '}')
  end
end
