-- Appended to each scenario script by bench/lib/wrk.ts: prints one JSON line with what wrk saw
-- (requests, non-2xx answers, socket errors, latency percentiles in microseconds).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "durationUs": %d, "bytes": %d, "non2xx": %d, "connectErrors": %d, "readErrors": %d, "writeErrors": %d, "timeouts": %d, ' ..
    '"latencyUs": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
