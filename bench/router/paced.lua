-- wrk script: each connection waits DELAY_MS between requests, so that
-- connections * 1000 / (DELAY_MS + latency) approximates a fixed request rate.
local delay_ms = tonumber(os.getenv("DELAY_MS") or "1")
function delay()
  return delay_ms
end
