-- wrk script: POSTs a request body of BODY_BYTES, and backs off after an error
-- answer as backoff.lua does (see there why the pause lands on the connection
-- that got the error). The body is what an upstream that does not read leaves
-- in nginx's send queue.
--
--   wrk -s post-backoff.lua ...
local BODY_BYTES = 65536
local BACKOFF_MS = 100
wrk.method = "POST"
wrk.body = string.rep("x", BODY_BYTES)
wrk.headers["Content-Type"] = "application/octet-stream"

local queue = {}
local head, tail = 1, 0

function response(status, headers, body)
  tail = tail + 1
  if status >= 200 and status < 300 then
    queue[tail] = 0
  else
    queue[tail] = BACKOFF_MS
  end
end

function delay()
  if head > tail then
    return 0
  end
  local pause = queue[head]
  queue[head] = nil
  head = head + 1
  return pause
end
