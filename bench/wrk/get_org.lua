-- GET one of the organizations the bench owner owns.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  local k = math.random(1, bench.write_orgs)
  return wrk.format("GET", "/v1/orgs/" .. bench.small_org(k), bench.headers())
end
