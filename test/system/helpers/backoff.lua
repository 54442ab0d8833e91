-- wrk script: a client that backs off after an error answer, as real clients
-- retrying a 502 do. Without it every wrk connection nginx cannot serve (its
-- upstream connect() fails with EADDRNOTAVAIL) turns into a loop of instant 502s,
-- tens of thousands per second, each one a crit line in nginx's error log.
--
--   wrk -s backoff.lua ...
--
-- wrk's Lua API does not say which connection an answer came on. It calls
-- response() when an answer is complete and asks delay() when that connection
-- is next writable, and connections become writable in the order their answers
-- completed (wrk re-arms EPOLLOUT in response_complete, and epoll's ready list is
-- first in, first out). So response() queues the pause the answer calls for and
-- delay() takes the oldest: the pause lands on the connection that got the error,
-- not on every connection of the thread.
local BACKOFF_MS = 100
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
