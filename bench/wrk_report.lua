-- wrk script: cycle through the request paths in the file named by WRK_PATHS (one per line),
-- each connection starting at a different place, and print a JSON summary at the end.
local paths = {}
local file = os.getenv("WRK_PATHS")
for line in io.lines(file) do
  if line ~= "" then paths[#paths + 1] = line end
end
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end

function init(args)
  index = offset or 0
end

function request()
  index = index + 1
  local path = paths[(index % #paths) + 1]
  -- What each client asks for: JSON from the API, HTML from the pages (bench/load.py accept_for).
  local accept = "text/html"
  if path:sub(1, 5) == "/api/" then accept = "application/json" end
  return wrk.format("GET", path, {["Accept"] = accept})
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non_2xx": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
