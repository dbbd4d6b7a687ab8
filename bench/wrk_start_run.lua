-- wrk script for bench_runs: POST /functions/{id}/runs/start with stream false, and count the
-- answers that are not a closed (succeeded) run.
--   wrk -c 32 -d 10s -s bench/wrk_start_run.lua URL -- API_KEY FUNCTION_ID
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_closed = 0
  path = "/functions/" .. args[2] .. "/runs/start"
  headers = { ["Authorization"] = "Bearer " .. args[1], ["Content-Type"] = "application/json" }
  body = '{"workflow_id": "' .. args[2] .. '", "variables": {}, "stream": false}'
end

function request()
  return wrk.format("POST", path, headers, body)
end

function response(status, _, answer)
  if status ~= 200 or not answer:find('"status":%s*"closed"') then
    not_closed = not_closed + 1
    if not_closed <= 2 then
      io.stderr:write(string.format("not a closed run: HTTP %d %s\n", status, answer:sub(1, 300)))
    end
  end
end

function done(summary, latency, _)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_closed")
  end
  io.write(string.format("RESULT requests=%d seconds=%.3f not_closed=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, summary.duration / 1e6, bad, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
