-- wrk script: each connection waits PACE_MS after an answer before its next
-- request, so the load stays steady below what the port range sustains (wrk
-- itself has no rate limit). With -cN the request rate is at most
-- N × 1000 / (PACE_MS + the response time).
--
--   wrk -s paced.lua ...
local PACE_MS = 10

function delay()
  return PACE_MS
end
