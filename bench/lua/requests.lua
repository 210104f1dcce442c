-- wrk script: replay request lines from a file, round robin.
--   wrk ... -s bench/lua/requests.lua http://127.0.0.1:PORT -- requests.tsv
-- Each line: METHOD <tab> path <tab> Cookie header (or empty) <tab> form body (or
-- empty). bench/http.py writes the file after logging in, so login cookies and CSRF
-- tokens come from real sessions. Each wrk thread starts at its own offset, so two
-- threads do not send the same line (e.g. the same participant's check-in) at once.

local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local requests = {}
local position = 0

function init(args)
  local file = assert(io.open(args[1]), "cannot open " .. tostring(args[1]))
  for line in file:lines() do
    local method, path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if method and method ~= "" then
      local headers = {}
      if cookie ~= "" then headers["Cookie"] = cookie end
      if body ~= "" then
        headers["Content-Type"] = "application/x-www-form-urlencoded"
      else
        body = nil
      end
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
  end
  file:close()
  assert(#requests > 0, "no request lines in " .. args[1])
  position = ((id or 0) * math.floor(#requests / 2)) % #requests
end

function request()
  position = position % #requests + 1
  return requests[position]
end
