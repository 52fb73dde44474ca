-- POST a link invite (one audit record each), in turn over the bench owner's
-- BENCH_WRITE_ORGS small organizations, or in the big organization alone when
-- BENCH_ONE_ORG is set.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local one_org = (os.getenv("BENCH_ONE_ORG") or "") ~= ""
local body = '{"role":"member"}'
local sent = 0

function request()
  sent = sent + 1
  local org = one_org and bench.big_org() or bench.small_org(1 + sent % bench.write_orgs)
  return wrk.format("POST", "/v1/orgs/" .. org .. "/invites", bench.headers({ ["Content-Type"] = "application/json" }), body)
end
