-- GET one random member of the big organization.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local n = math.random(1, bench.big_members)
  return wrk.format("GET", "/v1/orgs/" .. bench.big_org() .. "/members/" .. bench.id("mem", 2, n), bench.headers())
end
