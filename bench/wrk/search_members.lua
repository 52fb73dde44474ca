-- Search the big organization's members for one random person's email.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local n = math.random(1, bench.big_members)
  return wrk.format("GET", "/v1/orgs/" .. bench.big_org() .. "/members?q=member-" .. n .. "%40big", bench.headers())
end
