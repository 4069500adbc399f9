-- Pipelining for wrk: each write sends DEPTH copies of the request (default 16),
-- TechEmpower style. wrk counts every response, so req/s counts requests.
-- Use: wrk -s pipeline.lua http://127.0.0.1:8080/plaintext -- 16

init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
