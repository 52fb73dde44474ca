-- PATCH a member's role (one audit record each). Every seeded target starts as `member`;
-- each thread walks its own targets round-robin and flips the role each round, so every
-- request changes something: with hundreds of targets per thread, a target's previous
-- change has long been answered when it comes round again.
--   spread (default): members 3..10 of the bench owner's BENCH_WRITE_ORGS organizations
--   BENCH_ONE_ORG set: members of the big organization that are not admins, from number
--   BENCH_FIRST_MEMBER on (so a later run can take targets an earlier one left alone)
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local one_org = (os.getenv("BENCH_ONE_ORG") or "") ~= ""
local threads_total = tonumber(os.getenv("BENCH_THREADS") or "1")
local first_member = tonumber(os.getenv("BENCH_FIRST_MEMBER") or "1")
local targets = {}
local sent = 0

function init(args)
  local index = thread_index or 0
  if one_org then
    -- Numbers not divisible by 100 (those are admins), partitioned between threads.
    local n = first_member - 1
    while #targets < 20000 and n < bench.big_members do
      n = n + 1
      if n % 100 ~= 0 and n % threads_total == index then
        table.insert(targets, { bench.big_org(), bench.id("mem", 2, n) })
      end
    end
  else
    local slot = 0
    for k = 1, bench.write_orgs do
      for j = 3, 10 do
        if slot % threads_total == index then
          local n = bench.big_members + (k - 1) * 10 + j
          table.insert(targets, { bench.small_org(k), bench.id("mem", 2, n) })
        end
        slot = slot + 1
      end
    end
  end
end

function request()
  local target = targets[sent % #targets + 1]
  local round = math.floor(sent / #targets)
  sent = sent + 1
  local role = (round % 2 == 0) and "admin" or "member"
  return wrk.format("PATCH", "/v1/orgs/" .. target[1] .. "/members/" .. target[2],
    bench.headers({ ["Content-Type"] = "application/json" }), '{"role":"' .. role .. '"}')
end
