-- wrk script for scripts/bench: POSTs $BENCH_BODY with $BENCH_AUTH, counts non-200
-- answers and GraphQL errors, and prints one machine-readable summary line.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200, gql_errors = 0, 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif body:find('"errors":', 1, true) then
    gql_errors = gql_errors + 1
  end
end

function done(summary, latency, requests)
  local non200, gql = 0, 0
  for _, t in ipairs(threads) do
    non200 = non200 + t:get("non200")
    gql = gql + t:get("gql_errors")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non200=%d graphql=%d socket=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    non200, gql, e.connect + e.read + e.write + e.timeout))
end
