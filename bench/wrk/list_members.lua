-- GET a page of the big organization's members: the first page, or the one after
-- BENCH_CURSOR (run.sh passes the cursor of the last page).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local cursor = os.getenv("BENCH_CURSOR") or ""
local path = "/v1/orgs/" .. bench.big_org() .. "/members"
if cursor ~= "" then
  path = path .. "?cursor=" .. cursor
end

function request()
  return wrk.format("GET", path, bench.headers())
end
