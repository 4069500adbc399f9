-- wrk request script for httparena.sh: sends HttpArena's raw request files
-- (requests/*.raw) as they are, rotating through them, each repeated DEPTH times
-- back to back (pipelining; DEPTH is wrk's first argument after `--`).
-- The files are in ARENA_REQUESTS, separated by spaces.
local requests = {}
local depth = 1
local n = 0

function init(args)
  depth = tonumber(args[1]) or 1
  for path in string.gmatch(os.getenv("ARENA_REQUESTS") or "", "%S+") do
    local f = assert(io.open(path, "rb"))
    requests[#requests + 1] = string.rep(f:read("*a"), depth)
    f:close()
  end
  assert(#requests > 0, "ARENA_REQUESTS names no request file")
end

function request()
  n = n % #requests + 1
  return requests[n]
end
