-- POST an LLM admission check with an API key (BENCH_CREDENTIAL) of the big organization.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local body = '{"provider":"openai","model":"gpt-4o","region":"eu","requested_tokens":1000,"self_hosted":false}'

function request()
  return wrk.format("POST", "/v1/orgs/" .. bench.big_org() .. "/llm-policy/check",
    bench.headers({ ["Content-Type"] = "application/json" }), body)
end
