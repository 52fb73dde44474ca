-- Shared by every scenario: the bearer credential, the seeded ids (bench/seed.sql) and one
-- machine-readable result line for bench/run.sh. Settings come from the environment.

bench = {
  credential = os.getenv("BENCH_CREDENTIAL"),
  big_members = tonumber(os.getenv("BENCH_BIG_MEMBERS") or "0"),
  write_orgs = tonumber(os.getenv("BENCH_WRITE_ORGS") or "0"),
  -- Stop after this many responses (per thread): statement counting sends a fixed number.
  max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0"),
}

-- The public id of a seeded row: `prefix_` and the UUID's 32 hex digits.
function bench.id(prefix, kind, n)
  return string.format("%s_01900000%04x70008000%012x", prefix, kind, n)
end

function bench.big_org()
  return bench.id("org", 3, 1)
end

-- Small organization k (1-based); the first write_orgs of them are the bench owner's.
function bench.small_org(k)
  return bench.id("org", 3, 1 + k)
end

function bench.headers(extra)
  local headers = { ["Authorization"] = "Bearer " .. bench.credential }
  for name, value in pairs(extra or {}) do
    headers[name] = value
  end
  return headers
end

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_index or 0))
end

if bench.max_requests > 0 then
  local seen = 0
  function response()
    seen = seen + 1
    if seen >= bench.max_requests then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("BENCH-RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
