-- GET /healthz: the HTTP layer alone.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
  return wrk.format("GET", "/healthz")
end
